package jiramap

import (
	"fmt"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

const serversFile = `
Test1:
  server: https://test1.example.org/
  email: bot@example.org
  token_env: JIRA_TEST1_TOKEN
  mapping: https://example.org/jira/test1-mapping.yaml
  description: the Test1 Jira
  contact: jira-admins@example.org
edx:
  server: https://edx.atlassian.net
  email: osprey@example.org
  token: s3cret-inline
  mapping: github:openedx/jira-data/mapping.yaml
`

func TestParseServers(t *testing.T) {
	servers, err := ParseServers([]byte(serversFile), env(map[string]string{"JIRA_TEST1_TOKEN": "tok-from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(servers.Nicks()); got != "[edx test1]" {
		t.Errorf("nicks = %s", got)
	}
	t1, ok := servers.Lookup("TEST1")
	if !ok || t1.Nick != "Test1" || t1.URL != "https://test1.example.org" || t1.Token() != "tok-from-env" ||
		t1.Description != "the Test1 Jira" || t1.Contact != "jira-admins@example.org" || t1.Browse("OSPR-7") != "https://test1.example.org/browse/OSPR-7" {
		t.Errorf("test1 = %+v", t1)
	}
	edx, _ := servers.Lookup("edx")
	if edx.Token() != "s3cret-inline" || edx.Description != "https://edx.atlassian.net" {
		t.Errorf("edx = %+v", edx)
	}
	for _, printed := range []string{fmt.Sprint(edx), fmt.Sprintf("%v %s %+v", edx, edx, edx)} {
		if strings.Contains(printed, "s3cret") {
			t.Errorf("a printed server shows its token: %s", printed)
		}
	}
}

func TestParseServersErrors(t *testing.T) {
	entry := func(lines string) string {
		return "Test1:\n  server: https://j.example.org\n  email: a@b\n  mapping: m.yaml\n" + lines
	}
	for _, tt := range []struct{ name, file, want string }{
		{"no token", entry(""), "server Test1 (line 2): token or token_env is missing"},
		{"both tokens", entry("  token: x\n  token_env: Y\n"), "give token or token_env, not both"},
		{"unset variable", entry("  token_env: NOPE\n"), "token_env names NOPE, which is not set"},
		{"misspelt key", entry("  token: x\n  contcat: me\n"), "server Test1: unknown key contcat"},
		{"not a URL", "A:\n  server: jira.example.org\n  email: a\n  token: x\n  mapping: m\n", "server A (line 2): server must be the Jira's base URL"},
		{"http to another machine", "A:\n  server: http://jira.example.org\n  email: a\n  token: x\n  mapping: m\n", "server must be https"},
		{"credentials in the URL", "A:\n  server: https://u:p@j.example.org\n  email: a\n  token: x\n  mapping: m\n", "no credentials"},
		{"no mapping", "A:\n  server: https://j.example.org\n  email: a\n  token: x\n", "mapping is missing"},
		{"nicknames differing in case", entry("  token: x\n") + "TEST1:\n  server: https://k.example.org\n  email: a\n  token: y\n  mapping: m\n",
			`line 6: nickname "TEST1" is already used by "Test1"`},
		{"a nickname with a space", "two words:\n  server: https://j.example.org\n", "is not a nickname"},
		{"broken YAML", "A: [\n", "did not find expected"},
		{"not a map", "- a\n", "must map nicknames to servers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseServers([]byte(tt.file), env(map[string]string{"Y": "secret-y"}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}
}

func TestMappingResolve(t *testing.T) {
	m, err := ParseMapping([]byte(`
defaults:
  project: OSPR
  type: Task
repos:
  - name: openedx/edx-platform
    project: PLAT
  - name: "openedx/frontend-*"
    type: Story
  - name: "openedx/*"
    project: GEN
  - name: "closed/*"
    project: ""
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		repo string
		want Target
		ok   bool
	}{
		{"openedx/edx-platform", Target{"PLAT", "Task"}, true},
		{"OpenEdX/Edx-Platform", Target{"PLAT", "Task"}, true},
		{"openedx/frontend-app-learning", Target{"OSPR", "Story"}, true}, // first match wins, not the broader one
		{"openedx/xblock", Target{"GEN", "Task"}, true},
		{"someone/else", Target{"OSPR", "Task"}, true},
	} {
		if got, ok := m.Resolve(tt.repo); got != tt.want || ok != tt.ok {
			t.Errorf("Resolve(%s) = %v %v, want %v %v", tt.repo, got, ok, tt.want, tt.ok)
		}
	}
	noDefaults, err := ParseMapping([]byte("repos:\n  - name: \"openedx/*\"\n    project: GEN\n  - name: \"*\"\n    project: ALL\n    type: Bug\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := noDefaults.Resolve("openedx/xblock"); ok {
		t.Error("a rule with a project but no type, and no default type, mapped a repository")
	}
	if got, ok := noDefaults.Resolve("acme/widgets"); !ok || got != (Target{"ALL", "Bug"}) {
		t.Errorf("catch-all = %v %v", got, ok)
	}
	if _, ok := (Mapping{}).Resolve("a/b"); ok {
		t.Error("an empty mapping mapped a repository")
	}
}

func TestParseMappingErrors(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{"repos:\n  - name: \"[openedx\"\n", `repos entry 1: "[openedx" is not a pattern`},
		{"repos:\n  - project: X\n", "repos entry 1: name is missing"},
		{"defaults:\n  projekt: X\n", "line 2: unknown key projekt"},
		{"repos: [\n", "did not find expected"},
	} {
		if _, err := ParseMapping([]byte(tt.file)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestNickOf(t *testing.T) {
	for label, want := range map[string]string{"jira:Test1": "test1", "JIRA:edx": "edx", "jira: spaced ": "spaced", "jira:": "", "bug": "", "jirafication": ""} {
		got, ok := NickOf(label)
		if got != want || ok != (want != "") {
			t.Errorf("NickOf(%q) = %q %v", label, got, ok)
		}
	}
}
