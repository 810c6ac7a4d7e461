package ospr

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestEffectiveRules(t *testing.T) {
	org := Layer{Name: "acme/.github:osprey.yml", YAML: []byte(`
labels:
  ospr: ospr
  obsolete_when_closed: [stale, waiting]
projects:
  ospr: "acme:7"
`)}
	repo := Layer{Name: "acme/widgets:.github/osprey.yml", YAML: []byte(`
labels:
  blended: bd
  obsolete_when_closed: [waiting on author]
accepts_outside_contributions: false
`)}
	rules, sources, err := Effective(DefaultRules(), "server", org, repo)
	if err != nil {
		t.Fatal(err)
	}
	if rules.Labels.OSPR != "ospr" || rules.Labels.Blended != "bd" || rules.Labels.CoreContributor != "core contributor" {
		t.Errorf("labels = %+v (maps merge key by key)", rules.Labels)
	}
	if !slices.Equal(rules.Labels.ObsoleteWhenClosed, []string{"waiting on author"}) {
		t.Errorf("obsolete_when_closed = %v (lists replace)", rules.Labels.ObsoleteWhenClosed)
	}
	if rules.AcceptsOutsideContributions == nil || *rules.AcceptsOutsideContributions || !rules.Enabled {
		t.Errorf("accepts %v enabled %v", rules.AcceptsOutsideContributions, rules.Enabled)
	}
	if p := rules.OSPRProject(); p == nil || *p != (ProjectRef{"acme", 7}) {
		t.Errorf("OSPR project = %v", p)
	}
	for key, want := range map[string]string{
		"labels.ospr": org.Name, "labels.blended": repo.Name, "labels.obsolete_when_closed": repo.Name,
		"labels.core_contributor": "server", "projects.ospr": org.Name, "status.context": "server",
	} {
		if sources[key] != want {
			t.Errorf("source of %s = %q, want %q", key, sources[key], want)
		}
	}
	text, err := Describe(rules, sources)
	if err != nil || !strings.Contains(text, "labels.blended: bd    # acme/widgets:.github/osprey.yml") {
		t.Errorf("describe: %v\n%s", err, text)
	}
}

func TestEffectiveRulesErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"a misspelt key", "labels:\n  osrp: x\n", "line 2: unknown setting osrp"},
		{"broken YAML", "labels: [\n", "did not find expected"},
		{"not a map", "- a\n- b\n", "line 1: a list is not what this setting takes"},
		{"a list for a word", "labels:\n  ospr: [a, b]\n", "line 2: a list is not what this setting takes"},
		{"a bad value", "blended_pattern: \"[BD\"\n", "blended_pattern"},
		{"a bad project", "projects:\n  ospr: acme\n", "projects.ospr"},
		{"an empty status description", "status:\n  descriptions:\n    bot: \"\"\n", "status.descriptions.bot: must not be empty"},
		{"a status description GitHub would cut", "status:\n  descriptions:\n    refused: \"" + strings.Repeat("x", 141) + "\"\n", "141 characters long"},
		{"no catalog annotation", "catalog_projects_annotation: \"\"\n", "catalog_projects_annotation"},
		{"a status link that is no URL", "status:\n  target_url: example.org/cla\n", "status.target_url"},
		{"a label GitHub refuses", "labels:\n  ospr: \"" + strings.Repeat("l", 51) + "\"\n", "labels.ospr: is 51 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Effective(DefaultRules(), "server", Layer{Name: "acme/widgets:.github/osprey.yml", YAML: []byte(tt.yaml)})
			var le *LayerError
			if !errors.As(err, &le) || le.Layer != "acme/widgets:.github/osprey.yml" || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a LayerError for the repo layer saying %q", err, tt.want)
			}
		})
	}
	// An empty file, or one holding only comments, changes nothing.
	if _, _, err := Effective(DefaultRules(), "server", Layer{Name: "x", YAML: []byte("# nothing yet\n")}); err != nil {
		t.Errorf("comment-only file: %v", err)
	}
}

func TestTurnedOff(t *testing.T) {
	rules, _, err := Effective(DefaultRules(), "server", Layer{Name: "repo", YAML: []byte("enabled: false\n")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Desire(Facts{PR: openPR("bob-contrib")}, rules, testTemplates(t))
	if err != nil || !d.Off || len(Plan(openPR("bob-contrib"), d, Observed{}, nil)) != 0 {
		t.Errorf("turned off: %+v %v", d, err)
	}
}

// The status descriptions and the catalog's board annotation are settings
// like the others.
func TestDescriptionsAndAnnotationAreSettings(t *testing.T) {
	rules, _, err := Effective(DefaultRules(), "server", Layer{Name: "repo", YAML: []byte(
		"status:\n  descriptions:\n    no_agreement: Sign the CLA first.\ncatalog_projects_annotation: example.org/boards\n")})
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := ParseCatalog([]byte("metadata:\n  annotations:\n    example.org/boards: \"acme:3\"\n    openedx.org/add-to-projects: \"openedx:9\"\n"),
		rules.CatalogProjectsAnnotation)
	if err != nil || !slices.Equal(catalog.AddToProjects, []ProjectRef{{"acme", 3}}) {
		t.Fatalf("catalog = %+v, %v", catalog, err)
	}
	d, err := Desire(Facts{PR: openPR("dana-nosign"), Catalog: &catalog}, rules, testTemplates(t))
	if err != nil || d.Status.Description != "Sign the CLA first." || d.Status.State != StatusFailure {
		t.Errorf("status = %+v, %v", d.Status, err)
	}
	if rules.Status.Descriptions.Bot != DefaultRules().Status.Descriptions.Bot {
		t.Errorf("the other descriptions were not kept: %+v", rules.Status.Descriptions)
	}
}

func TestDescribeWritesOneLinePerSetting(t *testing.T) {
	rules, sources, err := Effective(DefaultRules(), "server", Layer{Name: "repo", YAML: []byte("labels:\n  obsolete_when_closed: [stale, waiting on author]\n")})
	if err != nil {
		t.Fatal(err)
	}
	text, err := Describe(rules, sources)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "labels.obsolete_when_closed: [stale, waiting on author]    # repo\n") ||
		!strings.Contains(text, "bot_logins: []    # server\n") {
		t.Errorf("describe:\n%s", text)
	}
}
