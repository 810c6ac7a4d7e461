package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// installedScan is a scan that an installation asked for.
type installedScan struct {
	Repository string
	State      string
	Kinds      []string
	Since      *time.Time
}

// installScans reads the repository scans requested by installations, by
// repository.
func (h *harness) installScans() []installedScan {
	h.t.Helper()
	rows, err := h.db.Query(context.Background(), `SELECT owner || '/' || repo, state, coalesce(kinds, '{}'), since
		FROM scans WHERE requested_by = 'install' AND parent_id IS NULL ORDER BY owner, repo`)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []installedScan
	for rows.Next() {
		var s installedScan
		if err := rows.Scan(&s.Repository, &s.State, &s.Kinds, &s.Since); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// waitInstallScansOver waits until n scans requested by installations
// exist and none is queued or running, and returns them.
func (h *harness) waitInstallScansOver(n int) []installedScan {
	h.t.Helper()
	deadline := time.Now().Add(scanWait)
	for {
		scans := h.installScans()
		over := len(scans) == n
		for _, s := range scans {
			over = over && (s.State == store.ScanDone || s.State == store.ScanFailed)
		}
		if over {
			return scans
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("install scans not over after %s: %+v, want %d", scanWait, scans, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An installation created and repositories added to it each get their
// repositories backfilled: a repository scan per repository, run to the
// end, whose pull requests land in Postgres.
func TestInstallationBackfillsItsRepositories(t *testing.T) {
	h := newHarness(t, func(c *server.Config, _ *server.Options) {
		c.Backfill.OnInstall = true
		c.Backfill.OnInstallSince = 0
	})
	repos := []fakeRepo{
		{owner: "acme", name: "widgets", id: 2001, pulls: 120, issues: 4, comments: 3, labels: 2, milestones: 1},
		{owner: "acme", name: "gadgets", id: 2002, pulls: 3},
		{owner: "acme", name: "internal-tools", id: 2003},
		{owner: "acme", name: "sprockets", id: 2004, pulls: 5, issues: 1},
	}
	for _, r := range repos {
		h.serveRepo(r)
	}

	h.send("installation", "install-created", fixture(t, "installation_created.json"))
	h.waitFor("install-created", store.StatusProcessed, 10*time.Second)
	scans := h.waitInstallScansOver(3)
	var names []string
	for _, s := range scans {
		names = append(names, s.Repository)
		if s.State != store.ScanDone || !slices.Equal(s.Kinds, []string{"pulls", "issues", "comments", "labels", "milestones"}) || s.Since != nil {
			t.Errorf("scan of %s: %+v; want done, of the default kinds, everything", s.Repository, s)
		}
	}
	if want := []string{"acme/gadgets", "acme/internal-tools", "acme/widgets"}; !slices.Equal(names, want) {
		t.Errorf("scans of %v, want %v", names, want)
	}
	for _, r := range repos[:3] {
		if n := h.countRows("pull_requests", r.id); n != r.pulls {
			t.Errorf("%s: %d pull requests, want %d", r.fullName(), n, r.pulls)
		}
	}
	if n := h.countRows("issue_comments", 2001); n != 3 {
		t.Errorf("acme/widgets: %d comments, want 3", n)
	}

	h.send("installation_repositories", "install-added", fixture(t, "installation_repositories_added.json"))
	h.waitFor("install-added", store.StatusProcessed, 10*time.Second)
	scans = h.waitInstallScansOver(4)
	if s := scans[2]; s.Repository != "acme/sprockets" || s.State != store.ScanDone {
		t.Errorf("scan of the added repository: %+v", s)
	}
	if n := h.countRows("pull_requests", 2004); n != 5 {
		t.Errorf("acme/sprockets: %d pull requests, want 5", n)
	}
	if n := h.countRows("issues", 2004); n != 1 {
		t.Errorf("acme/sprockets: %d issues, want 1", n)
	}
}

// backfill.on_install_since limits the scans to what changed lately, and
// backfill.pull_request_files adds the files to them.
func TestInstallationBackfillSinceAndFiles(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, func(c *server.Config, o *server.Options) {
		c.Backfill.OnInstallSince = 30 * 24 * time.Hour
		c.Backfill.PullRequestFiles = true
		o.Now = func() time.Time { return now }
	})
	h.send("installation_repositories", "added-since", fixture(t, "installation_repositories_added.json"))
	h.waitFor("added-since", store.StatusProcessed, 10*time.Second)
	scans := h.installScans()
	if len(scans) != 1 {
		t.Fatalf("scans %+v, want one of acme/sprockets", scans)
	}
	s := scans[0]
	if want := now.Add(-30 * 24 * time.Hour); s.Repository != "acme/sprockets" || s.Since == nil || !s.Since.Equal(want) ||
		!slices.Equal(s.Kinds, []string{"pulls", "issues", "comments", "labels", "milestones", "files"}) {
		t.Errorf("scan %+v (since %v); want acme/sprockets since %v with files", s, s.Since, want)
	}
}

// With backfill.on_install off, installing queues nothing.
func TestInstallationBackfillOff(t *testing.T) {
	h := newHarness(t, func(c *server.Config, _ *server.Options) { c.Backfill.OnInstall = false })
	h.serveRepo(fakeRepo{owner: "acme", name: "widgets", id: 2001, pulls: 3})
	h.send("installation", "off-created", fixture(t, "installation_created.json"))
	h.send("installation_repositories", "off-added", fixture(t, "installation_repositories_added.json"))
	h.waitFor("off-created", store.StatusProcessed, 10*time.Second)
	h.waitFor("off-added", store.StatusProcessed, 10*time.Second)
	if n := h.countScans(""); n != 0 {
		t.Errorf("%d scans recorded with on_install off", n)
	}
	if n := h.countRows("pull_requests", 2001); n != 0 {
		t.Errorf("%d pull requests replicated with on_install off", n)
	}
}
