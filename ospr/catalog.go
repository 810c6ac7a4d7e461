package ospr

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ProjectRef names a GitHub Projects (v2) board: its owner and number.
type ProjectRef struct {
	Owner  string
	Number int
}

func (p ProjectRef) String() string { return fmt.Sprintf("%s:%d", p.Owner, p.Number) }

// ParseProjectRef reads "org:number".
func ParseProjectRef(s string) (ProjectRef, error) {
	owner, num, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if !ok || strings.TrimSpace(owner) == "" || err != nil || n <= 0 {
		return ProjectRef{}, fmt.Errorf("%q is not a project (want owner:number, like openedx:19)", s)
	}
	return ProjectRef{Owner: strings.TrimSpace(owner), Number: n}, nil
}

// Catalog is what a repository's catalog-info.yaml tells the triage.
type Catalog struct {
	Owner         string       // spec.owner: "group:x", "user:x" or "x"; empty when there is none
	Lifecycle     string       // spec.lifecycle
	AddToProjects []ProjectRef // the add-to-projects annotation
}

// ParseCatalog reads catalog-info.yaml; annotation is the one that lists
// extra boards. A board in it that does not parse is an error naming it.
func ParseCatalog(data []byte, annotation string) (Catalog, error) {
	var doc struct {
		Metadata struct {
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Spec struct {
			Owner     string `yaml:"owner"`
			Lifecycle string `yaml:"lifecycle"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Catalog{}, fmt.Errorf("parsing catalog-info.yaml: %w", err)
	}
	c := Catalog{Owner: strings.TrimSpace(doc.Spec.Owner), Lifecycle: strings.TrimSpace(doc.Spec.Lifecycle)}
	if list := doc.Metadata.Annotations[annotation]; strings.TrimSpace(list) != "" {
		for _, item := range strings.Split(list, ",") {
			ref, err := ParseProjectRef(item)
			if err != nil {
				return Catalog{}, fmt.Errorf("catalog-info.yaml annotation %s: %w", annotation, err)
			}
			c.AddToProjects = append(c.AddToProjects, ref)
		}
	}
	return c, nil
}

// Maintainer is how a comment names the owner without pinging anyone:
// "group:x" is the team org/x, "user:x" and "x" the login x. Empty when the
// catalog names no owner.
func (c Catalog) Maintainer(org string) string {
	kind, name, found := strings.Cut(c.Owner, ":")
	switch {
	case c.Owner == "":
		return ""
	case !found:
		return c.Owner
	case kind == "group":
		return org + "/" + name
	default:
		return name
	}
}

// OwnerField is the project field value naming the owner: the team org/x,
// or "Full Name (@x)" for a person (fullName may be empty).
func (c Catalog) OwnerField(org, fullName string) string {
	kind, name, found := strings.Cut(c.Owner, ":")
	if c.Owner == "" {
		return ""
	}
	if found && kind == "group" {
		return org + "/" + name
	}
	if !found {
		name = c.Owner
	}
	if fullName == "" {
		return "@" + name
	}
	return fmt.Sprintf("%s (@%s)", fullName, name)
}

// PersonOwner is the login of the person the catalog names as owner, and
// whether it names a person at all (a "group:" owner is a team).
func (c Catalog) PersonOwner() (string, bool) {
	kind, name, found := strings.Cut(c.Owner, ":")
	switch {
	case c.Owner == "":
		return "", false
	case !found:
		return c.Owner, true
	case kind == "user":
		return name, true
	}
	return "", false
}
