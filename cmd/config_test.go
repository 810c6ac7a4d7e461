package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
)

// `osprey config check` prints each setting with the layer it came from,
// and names every problem a reconcile would only meet when it failed.
func TestConfigCheck(t *testing.T) {
	_, dbURL := testdb.New(t)
	key, err := fakegithub.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := fakegithub.New(99, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.SetOrgInstallation("openedx", 7)
	fake.AddProject("openedx", 19, fakegithub.ProjectField{Name: "Date opened", DataType: "DATE"})
	fake.SetFile("openedx", ".github", "osprey.yml", []byte("labels:\n  blended: bd-label\n"))
	fake.SetFile("openedx", "widgets", ".github/osprey.yml", []byte("agreement_url: https://example.org/sign\nprojects:\n  blended: \"elsewhere:3\"\n"))
	fake.SetFile("openedx", "widgets", "catalog-info.yaml", []byte("metadata:\n  annotations:\n    openedx.org/add-to-projects: \"openedx:20\"\n"))
	config := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(config, []byte("triage:\n  enabled: true\n  app_login: osprey-test[bot]\n  rules:\n    projects:\n      ospr: \"openedx:19\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_V3_API_URL", fake.URL+"/")
	t.Setenv("GITHUB_V4_API_URL", fake.URL+"/graphql")
	out, err := runWithKey(t, dbURL, key, "--config", config, "config", "check", "openedx/widgets")
	if err == nil || !strings.Contains(err.Error(), "4 problem(s)") {
		t.Errorf("exit: %v", err)
	}
	for _, want := range []string{
		"# layers, lowest first: server config, openedx/.github:osprey.yml, openedx/widgets:.github/osprey.yml",
		"labels.blended: bd-label    # openedx/.github:osprey.yml",
		"agreement_url: https://example.org/sign    # openedx/widgets:.github/osprey.yml",
		"projects.ospr: openedx:19    # server config",
		"labels.ospr: open-source-contribution    # server config",
		`board openedx:19 has no field "Date merged/closed"`,
		`board openedx:19 has no field "Repo Owner / Owning Team"`,
		"board elsewhere:3: ",
		"board openedx:20: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "not installed") || !strings.Contains(out, "no such project") {
		t.Errorf("the board problems do not say what is wrong:\n%s", out)
	}

	// A broken layer is named, with its line.
	fake.SetFile("openedx", "widgets", ".github/osprey.yml", []byte("labels:\n  ospr: [oops\n"))
	out, err = runWithKey(t, dbURL, key, "--config", config, "config", "check", "openedx/widgets")
	if err == nil || !strings.Contains(out, "openedx/widgets:.github/osprey.yml: line 1: did not find expected") {
		t.Errorf("broken layer: %v\n%s", err, out)
	}
	if _, err := runWithKey(t, dbURL, key, "config", "check", "not-a-repo"); err == nil || !strings.Contains(err.Error(), "is not OWNER/REPO") {
		t.Errorf("bad argument: %v", err)
	}
}
