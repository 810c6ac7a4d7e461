package ospr

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCatalog(t *testing.T) {
	c, err := ParseCatalog([]byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: widgets
  annotations:
    openedx.org/add-to-projects: "openedx:19, acme:4"
spec:
  owner: group:widget-maintainers
  lifecycle: production
`), "openedx.org/add-to-projects")
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner != "group:widget-maintainers" || c.Lifecycle != "production" ||
		!slices.Equal(c.AddToProjects, []ProjectRef{{"openedx", 19}, {"acme", 4}}) {
		t.Errorf("catalog = %+v", c)
	}
	for _, bad := range []string{"spec: [", "metadata:\n  annotations:\n    openedx.org/add-to-projects: \"openedx\"\n"} {
		if _, err := ParseCatalog([]byte(bad), "openedx.org/add-to-projects"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseProjectRef(t *testing.T) {
	if p, err := ParseProjectRef(" openedx : 19 "); err != nil || p != (ProjectRef{"openedx", 19}) {
		t.Errorf("got %v %v", p, err)
	}
	for _, bad := range []string{"", "openedx", "openedx:", ":19", "openedx:x", "openedx:0"} {
		if _, err := ParseProjectRef(bad); err == nil || !strings.Contains(err.Error(), "owner:number") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}
