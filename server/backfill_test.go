package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// With backfill.pull_request_files on, an opened pull request's files are
// read (every page) and replicated; new commits read them again, and a
// file no longer in the list is marked deleted.
func TestPullRequestFilesFollowTheHead(t *testing.T) {
	h := newHarness(t, func(c *server.Config, _ *server.Options) { c.Backfill.PullRequestFiles = true })
	files := func(names ...string) []any {
		var out []any
		for _, n := range names {
			out = append(out, map[string]any{"sha": "s-" + n, "filename": n, "status": "modified", "additions": 1, "deletions": 0, "changes": 1})
		}
		return out
	}
	var many []string
	for i := range 130 { // two pages
		many = append(many, fmt.Sprintf("src/file%03d.go", i))
	}
	h.fake.SetList("/repos/acme/widgets/pulls/1234/files", files(many...))
	h.send("pull_request", "files-1", fixture(t, "pull_request_opened.json"))
	h.waitFor("files-1", store.StatusProcessed, 10*time.Second)
	count := func(where string) int {
		var n int
		if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM pull_request_files WHERE pull_request_id = 1800000001 AND `+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitUntil(t, func() bool { return count("deleted_at IS NULL") == 130 })
	if n := count("last_replicated_via_api_at IS NOT NULL AND head_sha = '6dcb09b5b57875f334f61aebed695e2e4193db5e'"); n != 130 {
		t.Errorf("%d files replicated via the API at the opened head, want 130", n)
	}

	h.fake.SetList("/repos/acme/widgets/pulls/1234/files", files("src/file000.go", "README.md"))
	h.send("pull_request", "files-2", fixture(t, "pull_request_synchronize.json"))
	h.waitFor("files-2", store.StatusProcessed, 10*time.Second)
	waitUntil(t, func() bool { return count("deleted_at IS NULL") == 2 })
	if n := count("deleted_at IS NOT NULL"); n != 129 {
		t.Errorf("%d files marked deleted, want 129", n)
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}
