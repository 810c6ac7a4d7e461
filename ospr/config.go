package ospr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Layer is one source of triage settings: the organisation's osprey.yml or
// the repository's .github/osprey.yml, over the server's defaults.
type Layer struct {
	Name string // where it came from, for messages and `osprey config check`
	YAML []byte
}

// LayerError says what is wrong with one layer (it does not parse, or names
// a setting that does not exist). The caller tells the repository.
type LayerError struct {
	Layer string
	Err   error
}

func (e *LayerError) Error() string { return fmt.Sprintf("%s: %v", e.Layer, e.Err) }

func (e *LayerError) Unwrap() error { return e.Err }

// Effective applies layers, in order, over base: maps merge key by key,
// lists and single values replace. It returns the effective rules,
// validated, and for each setting (by its dotted path) the name of the
// layer its value came from ("" for base).
func Effective(base Rules, baseName string, layers ...Layer) (Rules, map[string]string, error) {
	var merged yaml.Node
	if err := merged.Encode(base); err != nil {
		return Rules{}, nil, fmt.Errorf("encoding the server's triage settings: %w", err)
	}
	sources := map[string]string{}
	recordSources(&merged, "", baseName, sources)
	for _, layer := range layers {
		if len(bytes.TrimSpace(layer.YAML)) == 0 {
			continue
		}
		// Strict decoding first: a misspelt key is reported, not ignored.
		dec := yaml.NewDecoder(bytes.NewReader(layer.YAML))
		dec.KnownFields(true)
		var check Rules
		if err := dec.Decode(&check); errors.Is(err, io.EOF) {
			continue // only comments
		} else if err != nil {
			return Rules{}, nil, &LayerError{Layer: layer.Name, Err: plainYAMLError(err)}
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(layer.YAML, &doc); err != nil {
			return Rules{}, nil, &LayerError{Layer: layer.Name, Err: err}
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			if len(doc.Content) > 0 && doc.Content[0].Tag == "!!null" {
				continue
			}
			return Rules{}, nil, &LayerError{Layer: layer.Name, Err: errors.New("the file must be a map of settings")}
		}
		mergeNode(&merged, doc.Content[0], "", layer.Name, sources)
	}
	var rules Rules
	if err := merged.Decode(&rules); err != nil {
		return Rules{}, nil, fmt.Errorf("applying triage settings: %w", err)
	}
	if err := rules.Validate(); err != nil {
		name := baseName
		var se *SettingError
		if errors.As(err, &se) {
			name = sources[se.Key]
		}
		return Rules{}, nil, &LayerError{Layer: name, Err: err}
	}
	return rules, sources, nil
}

// Two of yaml.v3's complaints, reworded by plainYAMLError.
var (
	unknownField = regexp.MustCompile(`^(line \d+): field (\S+) not found in type \S+$`)
	wrongType    = regexp.MustCompile(`^(line \d+): cannot unmarshal !!(\w+) (?:` + "`" + `[^` + "`" + `]*` + "`" + ` )?into .*$`)
)

// yamlKinds names YAML's tags as a settings file's reader knows them.
var yamlKinds = map[string]string{"seq": "a list", "map": "a map", "str": "text", "int": "a number",
	"float": "a number", "bool": "true or false", "null": "nothing"}

// plainYAMLError says what yaml.v3 found wrong in the words of a settings
// file, not of Go types: "line 2: unknown setting osrp".
func plainYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var msgs []string
	for _, m := range te.Errors {
		switch {
		case unknownField.MatchString(m):
			m = unknownField.ReplaceAllString(m, "$1: unknown setting $2")
		case wrongType.MatchString(m):
			parts := wrongType.FindStringSubmatch(m)
			m = fmt.Sprintf("%s: %s is not what this setting takes", parts[1], yamlKinds[parts[2]])
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// mergeNode merges the mapping over into into: maps key by key, anything
// else replaced. sources records which layer set each leaf.
func mergeNode(into, over *yaml.Node, path, layer string, sources map[string]string) {
	for i := 0; i+1 < len(over.Content); i += 2 {
		key, value := over.Content[i], over.Content[i+1]
		p := joinPath(path, key.Value)
		j := mapIndex(into, key.Value)
		switch {
		case j < 0:
			into.Content = append(into.Content, key, value)
			recordSources(value, p, layer, sources)
		case value.Kind == yaml.MappingNode && into.Content[j+1].Kind == yaml.MappingNode:
			mergeNode(into.Content[j+1], value, p, layer, sources)
		default:
			into.Content[j+1] = value
			clearSources(p, sources)
			recordSources(value, p, layer, sources)
		}
	}
}

func mapIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func recordSources(n *yaml.Node, path, layer string, sources map[string]string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			recordSources(n.Content[i+1], joinPath(path, n.Content[i].Value), layer, sources)
		}
		return
	}
	if path != "" {
		sources[path] = layer
	}
}

func clearSources(path string, sources map[string]string) {
	for k := range sources {
		if k == path || strings.HasPrefix(k, path+".") {
			delete(sources, k)
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Describe prints the effective settings, one per line with the layer each
// came from: what `osprey config check` shows.
func Describe(rules Rules, sources map[string]string) (string, error) {
	var n yaml.Node
	if err := n.Encode(rules); err != nil {
		return "", err
	}
	var lines []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], joinPath(path, n.Content[i].Value))
			}
			return
		}
		if n.Kind == yaml.SequenceNode {
			n.Style = yaml.FlowStyle // one line per setting, lists included
		}
		value, err := yaml.Marshal(n)
		if err != nil {
			value = []byte("?")
		}
		lines = append(lines, fmt.Sprintf("%s: %s    # %s", path, strings.TrimSpace(string(value)), sources[path]))
	}
	walk(&n, "")
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n", nil
}
