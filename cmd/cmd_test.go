package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// run executes the command line with a configured app on the test database
// and returns its output and error.
func run(t *testing.T, dbURL string, args ...string) (string, error) {
	t.Helper()
	key, err := fakegithub.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return runWithKey(t, dbURL, key, args...)
}

// runWithKey is run for an app whose private key is key (a fake GitHub's).
func runWithKey(t *testing.T, dbURL string, key []byte, args ...string) (string, error) {
	t.Helper()
	t.Setenv("OSPREY_DATABASE_URL", dbURL)
	t.Setenv("OSPREY_CREDENTIALS_FILE", "")
	t.Setenv("OSPREY_LOG_LEVEL", "warn")
	t.Setenv("GITHUB_APP_INTEGRATION_ID", "99")
	t.Setenv("GITHUB_APP_PRIVATE_KEY", string(key))
	t.Setenv("GITHUB_APP_WEBHOOK_SECRET", "s")
	root := newRoot(Build{Version: "test"})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestReplay(t *testing.T) {
	db, dbURL := testdb.New(t)
	ctx := context.Background()
	payload := filepath.Join("..", "testdata", "webhooks", "installation_created.json")

	out, err := run(t, dbURL, "replay", "--event", "installation", "--payload", payload, "--delivery", "r1")
	if err != nil || !strings.Contains(out, "delivery r1 (installation.created): processed after 1 attempt(s)") {
		t.Fatalf("replay of a payload file: %v\n%s", err, out)
	}
	inst, err := store.GetInstallation(ctx, db, 1001)
	if err != nil || !slices.Contains(inst.Repositories, "acme/widgets") {
		t.Fatalf("the replayed payload was not processed: %+v, %v", inst, err)
	}

	out, err = run(t, dbURL, "replay", "--delivery", "r1")
	if err != nil || !strings.Contains(out, "processed after 2 attempt(s)") {
		t.Errorf("replay of a stored delivery: %v\n%s", err, out)
	}

	_, err = run(t, dbURL, "replay", "--event", "installation", "--payload", payload, "--delivery", "r1")
	if err == nil || !strings.Contains(err.Error(), "osprey replay --delivery r1") {
		t.Errorf("replaying a payload under a stored GUID: err = %v, want advice to use --delivery", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"action":"created","installation":{"id":"x"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, dbURL, "replay", "--event", "installation", "--payload", bad)
	if err == nil || !strings.Contains(err.Error(), "handler failed") || !strings.Contains(out, ": failed after 1 attempt(s)") {
		t.Errorf("a failing handler: err = %v, want non-nil\n%s", err, out)
	}

	if _, err = run(t, dbURL, "replay", "--delivery", "no-such-guid"); err == nil || err.Error() != "no delivery with GUID no-such-guid is stored" {
		t.Errorf("replay of an unknown GUID: err = %v", err)
	}
	if _, err = run(t, dbURL, "replay", "--event", "installation"); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("--event without --payload: err = %v", err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	if err := os.WriteFile(garbage, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = run(t, dbURL, "replay", "--event", "ping", "--payload", garbage); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("a payload that is not JSON: err = %v", err)
	}
}

func TestMigrateAndVersion(t *testing.T) {
	_, dbURL := testdb.New(t)
	out, err := run(t, dbURL, "migrate", "status")
	if err != nil || !strings.Contains(out, "the database is up to date") {
		t.Errorf("migrate status: %v\n%s", err, out)
	}
	out, err = run(t, dbURL, "migrate")
	if err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("migrate: %v\n%s", err, out)
	}
	if _, err := run(t, dbURL, "migrate", "sideways"); err == nil {
		t.Error("migrate accepted an unknown direction")
	}
	out, err = run(t, dbURL, "version")
	if err != nil || !strings.HasPrefix(out, "osprey test (go") {
		t.Errorf("version: %v %q", err, out)
	}
}
