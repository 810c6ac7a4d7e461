package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
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
	fake, clients, budget := newTestGitHub(t)
	fake.SetList("/repos/acme/widgets/pulls/7/files", []any{map[string]any{"filename": "a.go", "status": "added"}})
	r := store.NewReplicator(store.ViaWebhook, time.Now())
	id, num, head, repoID := int64(77), 7, "newhead", int64(5)
	r.PullRequest(&github.PullRequest{ID: &id, Number: &num, Head: &github.PullRequestBranch{SHA: &head},
		Base: &github.PullRequestBranch{Repo: &github.Repository{ID: &repoID}}})
	if err := r.Commit(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	w := &FilesWorker{Clients: clients, DB: db, Logger: zerolog.Nop(), Budget: budget, Reserve: 500}
	work := func(head string) error {
		return w.Work(context.Background(), &river.Job[SyncPRFilesArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
			Args: SyncPRFilesArgs{InstallationID: 7, RepositoryID: 5, PullRequestID: 77, Owner: "acme", Repo: "widgets", Number: 7, HeadSHA: head}})
	}
	run := func(head string) {
		t.Helper()
		if err := work(head); err != nil {
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

	// The installation is nearly out of its rate limit: the next job
	// waits for the reset instead of spending the reserve.
	reset := time.Now().Add(10 * time.Minute)
	fake.SetRemaining(7, 100, reset)
	fake.SetList("/repos/acme/widgets/pulls/7/files", []any{map[string]any{"filename": "b.go", "status": "added"}})
	run("newhead") // learns the budget from its answer
	requests := len(fake.Requests())
	var snooze *rivertype.JobSnoozeError
	if err := work("newhead"); !errors.As(err, &snooze) || snooze.Duration < 9*time.Minute || snooze.Duration > 11*time.Minute {
		t.Errorf("Work = %v, want a snooze until the reset", err)
	}
	if n := len(fake.Requests()); n != requests {
		t.Errorf("the waiting job made %d requests", n-requests)
	}
}

// newTestGitHub is a fake GitHub for the test app 99 and the clients of
// it, feeding budget.
func newTestGitHub(t *testing.T) (*fakegithub.Server, githubapp.ClientCreator, *ghclient.Budget) {
	t.Helper()
	fake, cfg, err := fakegithub.NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	budget := ghclient.NewBudget()
	clients, err := ghclient.NewCreator(cfg, ghclient.Options{UserAgent: "osprey/test", Timeout: 10 * time.Second, CacheBytes: 64 << 20,
		Metrics: ghclient.NewMetrics(prometheus.NewRegistry()), Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	return fake, clients, budget
}

func TestRateLimitedSnoozes(t *testing.T) {
	reset := time.Now().Add(5 * time.Minute)
	retry := 30 * time.Second
	tooMany := func(header http.Header) error {
		return &github.ErrorResponse{Response: &http.Response{StatusCode: http.StatusTooManyRequests, Header: header}}
	}
	for _, tt := range []struct {
		name     string
		err      error
		snoozes  int
		min, max time.Duration
	}{
		{"primary", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: reset}}}, 0, 4 * time.Minute, 6 * time.Minute},
		{"primary, reset already past here", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: time.Now().Add(-time.Minute)}}}, 0, minSnooze, minSnooze},
		{"secondary with retry-after", &github.AbuseRateLimitError{RetryAfter: &retry}, 0, retry, retry},
		{"secondary without", &github.AbuseRateLimitError{}, 0, secondaryBackoff, secondaryBackoff},
		{"secondary without, third wait", &github.AbuseRateLimitError{}, 2, 4 * secondaryBackoff, 4 * secondaryBackoff},
		{"secondary without, many waits", &github.AbuseRateLimitError{}, 20, maxBackoff, maxBackoff},
		{"429 with retry-after", tooMany(http.Header{"Retry-After": {"90"}}), 0, 90 * time.Second, 90 * time.Second},
		{"429 out of limit", tooMany(http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(reset.Unix())}}), 0, 4 * time.Minute, 6 * time.Minute},
		{"429 saying nothing", tooMany(http.Header{}), 1, 2 * secondaryBackoff, 2 * secondaryBackoff},
	} {
		var snooze *rivertype.JobSnoozeError
		if err := rateLimited(tt.err, tt.snoozes); !errors.As(err, &snooze) || snooze.Duration < tt.min || snooze.Duration > tt.max {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	for _, other := range []error{errors.New("boom"), &github.ErrorResponse{Response: &http.Response{StatusCode: http.StatusBadGateway}}} {
		if err := rateLimited(other, 0); err != other {
			t.Errorf("%v became %v", other, err)
		}
	}
}

// Right after the webhook GitHub may answer 404 for a pull request it has
// just told osprey about: the files job tries again a couple of times,
// then gives up (cancelled, not retried for hours).
func TestFilesNotFoundRightAfterTheWebhook(t *testing.T) {
	db, _ := testdb.New(t)
	fake, clients, _ := newTestGitHub(t)
	w := &FilesWorker{Clients: clients, DB: db, Logger: zerolog.Nop(), Reserve: 500}
	work := func(attempt int) error {
		return w.Work(context.Background(), &river.Job[SyncPRFilesArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt},
			Args: SyncPRFilesArgs{InstallationID: 7, RepositoryID: 5, PullRequestID: 88, Owner: "acme", Repo: "widgets", Number: 8, HeadSHA: "h"}})
	}
	var cancel *rivertype.JobCancelError
	for attempt := 1; attempt < notFoundTries; attempt++ {
		if err := work(attempt); err == nil || errors.As(err, &cancel) || !notFound(err) {
			t.Errorf("attempt %d: %v, want the 404 back for a retry", attempt, err)
		}
	}
	if err := work(notFoundTries); !errors.As(err, &cancel) {
		t.Errorf("attempt %d: %v, want the job cancelled", notFoundTries, err)
	}
	// Once GitHub lists the pull request, the files land.
	fake.SetList("/repos/acme/widgets/pulls/8/files", []any{map[string]any{"filename": "x.go", "status": "added"}})
	if err := work(2); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM pull_request_files WHERE pull_request_id = 88`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d files, %v; want 1", n, err)
	}
}
