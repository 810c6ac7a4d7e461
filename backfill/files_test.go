package backfill

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// A job for a head the pull request has left does nothing: it would write
// the newer head's files under the old head.
func TestFilesOfAnOldHeadAreLeftAlone(t *testing.T) {
	db, _ := testdb.New(t)
	fake, cfg, err := fakegithub.NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	clients, err := ghclient.NewCreator(cfg, ghclient.Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 1 << 20,
		Metrics: ghclient.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetList("/repos/acme/widgets/pulls/7/files", []any{map[string]any{"filename": "a.go", "status": "added"}})
	r := store.NewReplicator(store.ViaWebhook, time.Now())
	id, num, head, repoID := int64(77), 7, "newhead", int64(5)
	r.PullRequest(&github.PullRequest{ID: &id, Number: &num, Head: &github.PullRequestBranch{SHA: &head},
		Base: &github.PullRequestBranch{Repo: &github.Repository{ID: &repoID}}})
	if err := r.Commit(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	w := &FilesWorker{Clients: clients, DB: db, Logger: zerolog.Nop()}
	run := func(head string) {
		t.Helper()
		err := w.Work(context.Background(), &river.Job[SyncPRFilesArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
			Args: SyncPRFilesArgs{InstallationID: 7, RepositoryID: 5, PullRequestID: 77, Owner: "acme", Repo: "widgets", Number: 7, HeadSHA: head}})
		if err != nil {
			t.Fatal(err)
		}
	}
	files := func() int {
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM pull_request_files WHERE pull_request_id = 77`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	run("oldhead")
	if n := files(); n != 0 {
		t.Errorf("the old head's job wrote %d files", n)
	}
	run("newhead")
	if n := files(); n != 1 {
		t.Errorf("the current head's job wrote %d files, want 1", n)
	}
}
