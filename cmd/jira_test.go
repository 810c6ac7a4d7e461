package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osprey-bot/osprey/internal/fakejira"
	"github.com/osprey-bot/osprey/internal/testdb"
)

func TestJiraCheck(t *testing.T) {
	_, dbURL := testdb.New(t)
	account := fakejira.Account{AccountID: "1", Email: "osprey@example.org", DisplayName: "osprey bot", Token: "tok-good"}
	good := fakejira.New(fakejira.Cloud, account)
	t.Cleanup(good.Close)
	dir := t.TempDir()
	mapping := filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(mapping, []byte("defaults: {type: Task}\nrepos:\n  - name: \"openedx/*\"\n    project: OSPR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	servers := filepath.Join(dir, "servers.yaml")
	file := "Test1:\n  server: " + good.URL + "\n  email: osprey@example.org\n  token_env: JIRA_GOOD\n  mapping: " + mapping +
		"\nbad:\n  server: " + good.URL + "\n  email: osprey@example.org\n  token: tok-wrong\n  mapping: " + filepath.Join(dir, "missing.yaml") + "\n"
	if err := os.WriteFile(servers, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OSPREY_JIRA_SERVERS", servers)
	t.Setenv("JIRA_GOOD", "tok-good")
	out, err := run(t, dbURL, "jira", "check", "--repo", "openedx/widgets")
	if err == nil || !strings.Contains(err.Error(), "problem(s)") {
		t.Errorf("exit: %v", err)
	}
	for _, want := range []string{
		"jira:Test1 (" + good.URL + " as osprey@example.org): credentials work (osprey bot)",
		"  openedx/widgets: project OSPR, issue type Task",
		"jira:bad (" + good.URL + " as osprey@example.org): credentials FAIL: ",
		"problem: jira:bad mapping: reading " + filepath.Join(dir, "missing.yaml"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tok-good") || strings.Contains(out, "tok-wrong") {
		t.Errorf("a token was printed:\n%s", out)
	}
	out, err = run(t, dbURL, "jira", "check", "--repo", "closed/shop")
	if !strings.Contains(out, "closed/shop: not mapped") {
		t.Errorf("unmapped repository: %v\n%s", err, out)
	}
}
