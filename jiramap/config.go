// Package jiramap owns osprey's Jira configuration: the servers file (which
// Jira a `jira:<nick>` label means, and how to reach it) and each server's
// mapping file (which project and issue type a repository's pull requests
// go to). Everything here is pure: parsing, validating and matching; the
// reconcile decides when to call Jira.
package jiramap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// LabelPrefix starts the labels that ask for a Jira issue: `jira:<nick>`.
const LabelPrefix = "jira:"

// NickOf returns the server nickname a label names, lower-cased, and
// whether the label is a Jira label at all. Nicknames are case-insensitive:
// `jira:Test1` and `jira:test1` are the same server.
func NickOf(label string) (string, bool) {
	if len(label) <= len(LabelPrefix) || !strings.EqualFold(label[:len(LabelPrefix)], LabelPrefix) {
		return "", false
	}
	nick := strings.ToLower(strings.TrimSpace(label[len(LabelPrefix):]))
	return nick, nick != ""
}

// nickPattern is what a nickname may hold.
var nickPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Server is one Jira server of the servers file.
type Server struct {
	// Nick is the nickname as the file spells it.
	Nick string
	// URL is the server's base URL, without a trailing slash.
	URL string
	// Email is the account osprey authenticates as.
	Email string
	// Mapping is where the server's mapping file is (a path, a URL, or
	// github:OWNER/REPO/PATH).
	Mapping string
	// Description completes "… in {description}." in the pull request's
	// comment; Contact, when set, "Contact {contact} …".
	Description, Contact string

	token string
}

// Token is the API token osprey authenticates with. It is kept out of
// String so that a server printed in a log line never shows it.
func (s Server) Token() string { return s.token }

// String names the server without its secrets.
func (s Server) String() string { return fmt.Sprintf("jira:%s (%s as %s)", s.Nick, s.URL, s.Email) }

// Browse is the address of issue key on the server.
func (s Server) Browse(key string) string { return s.URL + "/browse/" + key }

// Servers are the servers of the file, by lower-cased nickname.
type Servers map[string]Server

// Lookup finds the server a nickname (any case) names.
func (s Servers) Lookup(nick string) (Server, bool) {
	srv, ok := s[strings.ToLower(nick)]
	return srv, ok
}

// Nicks lists the nicknames, lower-cased and sorted.
func (s Servers) Nicks() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// serverEntry is one server as the file writes it.
type serverEntry struct {
	Server      string `yaml:"server"`
	Email       string `yaml:"email"`
	Token       string `yaml:"token"`
	TokenEnv    string `yaml:"token_env"`
	Mapping     string `yaml:"mapping"`
	Description string `yaml:"description"`
	Contact     string `yaml:"contact"`
}

// ParseServers reads the servers file. Each entry needs server (an http(s)
// URL), email, mapping, and exactly one of token and token_env (the name of
// an environment variable holding the token, looked up with lookupEnv, so
// that the file can be shared without secrets). Errors name the nickname,
// the key and the line, never a token.
func ParseServers(data []byte, lookupEnv func(string) (string, bool)) (Servers, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, plainError(err)
	}
	if len(doc.Content) == 0 {
		return Servers{}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the servers file must map nicknames to servers", root.Line)
	}
	out := Servers{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		nick := strings.TrimSpace(key.Value)
		if !nickPattern.MatchString(nick) {
			return nil, fmt.Errorf("line %d: %q is not a nickname (letters, digits, '.', '_' or '-', as in the label jira:<nick>)", key.Line, nick)
		}
		if other, dup := out[strings.ToLower(nick)]; dup {
			return nil, fmt.Errorf("line %d: nickname %q is already used by %q (nicknames ignore case)", key.Line, nick, other.Nick)
		}
		var e serverEntry
		if err := decodeStrict(value, &e); err != nil {
			return nil, fmt.Errorf("server %s: %w", nick, err)
		}
		srv, err := e.server(nick, value.Line, lookupEnv)
		if err != nil {
			return nil, err
		}
		out[strings.ToLower(nick)] = srv
	}
	return out, nil
}

func (e serverEntry) server(nick string, line int, lookupEnv func(string) (string, bool)) (Server, error) {
	bad := func(format string, args ...any) (Server, error) {
		return Server{}, fmt.Errorf("server %s (line %d): %s", nick, line, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(strings.TrimSpace(e.Server))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("server must be the Jira's base URL, like https://example.atlassian.net")
	}
	if u.User != nil || u.RawQuery != "" {
		return bad("server must hold no credentials or query; use email and token")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return bad("server must be https: the token would cross the network in clear (http is allowed on this machine only)")
	}
	srv := Server{Nick: nick, URL: strings.TrimRight(u.String(), "/"), Email: strings.TrimSpace(e.Email),
		Mapping: strings.TrimSpace(e.Mapping), Description: strings.TrimSpace(e.Description), Contact: strings.TrimSpace(e.Contact)}
	switch {
	case srv.Email == "":
		return bad("email is missing (the account osprey authenticates as)")
	case srv.Mapping == "":
		return bad("mapping is missing (where the mapping file is)")
	case e.Token != "" && e.TokenEnv != "":
		return bad("give token or token_env, not both")
	case e.Token != "":
		srv.token = e.Token
	case e.TokenEnv != "":
		v, ok := lookupEnv(e.TokenEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return bad("token_env names %s, which is not set", e.TokenEnv)
		}
		srv.token = strings.TrimSpace(v)
	default:
		return bad("token or token_env is missing")
	}
	if srv.Description == "" {
		srv.Description = srv.URL
	}
	return srv, nil
}

// loopback reports whether host is this machine (where http is harmless:
// a local proxy, a test).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Target is where a repository's issues go on one server.
type Target struct {
	Project string `yaml:"project"`
	Type    string `yaml:"type"`
}

// Mapping is a server's mapping file: defaults, then the first matching
// repository rule over them.
type Mapping struct {
	Defaults Target
	Repos    []RepoRule
}

// RepoRule maps the repositories Name matches (owner/name, or a shell
// pattern such as "openedx/*" or "*", compared without case). A pattern
// without a "/" matches repository names of any owner: "*" matches every
// repository, "frontend-*" every owner's frontend-… repositories.
type RepoRule struct {
	Name string
	Target
}

// ParseMapping reads a mapping file: `defaults: {project, type}` and
// `repos: [{name, project, type}]`. A pattern that does not compile is an
// error naming its entry.
func ParseMapping(data []byte) (Mapping, error) {
	var doc struct {
		Defaults Target `yaml:"defaults"`
		Repos    []struct {
			Name    string `yaml:"name"`
			Project string `yaml:"project"`
			Type    string `yaml:"type"`
		} `yaml:"repos"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Mapping{}, plainError(err)
	}
	m := Mapping{Defaults: trimTarget(doc.Defaults)}
	for i, r := range doc.Repos {
		name := strings.ToLower(strings.TrimSpace(r.Name))
		if name == "" {
			return Mapping{}, fmt.Errorf("repos entry %d: name is missing", i+1)
		}
		if !strings.Contains(name, "/") {
			name = "*/" + name
		}
		if _, err := path.Match(name, ""); err != nil {
			return Mapping{}, fmt.Errorf("repos entry %d: %q is not a pattern: %v", i+1, strings.TrimSpace(r.Name), err)
		}
		m.Repos = append(m.Repos, RepoRule{Name: name, Target: trimTarget(Target{Project: r.Project, Type: r.Type})})
	}
	return m, nil
}

func trimTarget(t Target) Target {
	return Target{Project: strings.TrimSpace(t.Project), Type: strings.TrimSpace(t.Type)}
}

// Resolve says where repository owner/name's issues go: the defaults, with
// the first matching rule's values over them. ok is false when no project
// or no type is left: the repository is not mapped.
func (m Mapping) Resolve(repo string) (Target, bool) {
	t := m.Defaults
	repo = strings.ToLower(repo)
	for _, r := range m.Repos {
		if matched, _ := path.Match(r.Name, repo); matched {
			if r.Project != "" {
				t.Project = r.Project
			}
			if r.Type != "" {
				t.Type = r.Type
			}
			break
		}
	}
	return t, t.Project != "" && t.Type != ""
}

// decodeStrict decodes node into v, refusing keys v does not have.
func decodeStrict(node *yaml.Node, v any) error {
	data, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			// Lines counted from the entry; say which key instead.
			return errors.New(strings.Join(unknownKeys(te.Errors, false), "; "))
		}
		return plainError(err)
	}
	return nil
}

// unknownKeys turns yaml.v3's complaints into the file's words, with their
// "line N: " when withLines (lines of a re-encoded entry mean nothing).
func unknownKeys(msgs []string, withLines bool) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		line, rest, ok := strings.Cut(m, ": field ")
		name, _, found := strings.Cut(rest, " not found")
		switch {
		case ok && found && withLines:
			out[i] = line + ": unknown key " + name
		case ok && found:
			out[i] = "unknown key " + name
		default:
			out[i] = m
		}
	}
	return out
}

// plainError drops yaml.v3's prefix and Go type names.
func plainError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(unknownKeys(te.Errors, true), "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}
