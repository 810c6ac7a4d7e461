package ospr

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func TestShouldReconcile(t *testing.T) {
	closed := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	on := func(event, action, sender string) handlers.PullRequestActivity {
		return handlers.PullRequestActivity{Event: event, Action: action, Owner: "openedx", Repo: "widgets",
			PR: store.PullRequestRef{Number: 7}, Sender: sender}
	}
	closeWithComment := on("issue_comment", "created", "bob")
	closeWithComment.CommentCreatedAt, closeWithComment.ClosedAt = closed.Add(400*time.Millisecond), closed
	commentAfterClose := closeWithComment
	commentAfterClose.CommentCreatedAt = closed.Add(2 * time.Second)
	editAtClose := closeWithComment
	editAtClose.Action = "edited"
	noNumber := on("pull_request", "opened", "bob")
	noNumber.PR.Number = 0
	app := []string{"osprey[bot]"}
	for _, c := range []struct {
		name string
		a    handlers.PullRequestActivity
		want bool
	}{
		{"opened", on("pull_request", "opened", "bob"), true},
		{"edited", on("pull_request", "edited", "bob"), true},
		{"closed", on("pull_request", "closed", "alice"), true},
		{"reopened", on("pull_request", "reopened", "alice"), true},
		{"synchronize", on("pull_request", "synchronize", "bob"), true},
		{"ready for review", on("pull_request", "ready_for_review", "bob"), true},
		{"converted to draft", on("pull_request", "converted_to_draft", "bob"), true},
		{"labeled by a person", on("pull_request", "labeled", "alice"), true},
		{"unlabeled", on("pull_request", "unlabeled", "alice"), true},
		{"enqueued", on("pull_request", "enqueued", "alice"), true},
		{"review requested changes nothing", on("pull_request", "review_requested", "alice"), false},
		{"assigned changes nothing", on("pull_request", "assigned", "alice"), false},
		{"review submitted", on("pull_request_review", "submitted", "carol"), true},
		{"review dismissed", on("pull_request_review", "dismissed", "carol"), true},
		{"review comment deleted", on("pull_request_review_comment", "deleted", "carol"), true},
		{"comment created", on("issue_comment", "created", "bob"), true},
		{"comment edited", on("issue_comment", "edited", "bob"), true},
		{"comment deleted", on("issue_comment", "deleted", "bob"), true},
		{"labeled by the app itself", on("pull_request", "labeled", "Osprey[bot]"), false},
		{"comment by the app itself", on("issue_comment", "created", "osprey[bot]"), false},
		{"comment made while closing", closeWithComment, false},
		{"comment after the close", commentAfterClose, true},
		{"comment edited at the close second", editAtClose, true},
		{"a thread event", on("pull_request_review_thread", "resolved", "carol"), false},
		{"no pull request number", noNumber, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ShouldReconcile(c.a, app); got != c.want {
				t.Errorf("ShouldReconcile = %v, want %v", got, c.want)
			}
		})
	}
}

// queued lists the reconcile jobs not yet finished, as "owner/repo#n after".
func queued(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT format('%s/%s#%s after:%s%s', args->>'owner', args->>'repo', args->>'number', coalesce(args->>'after', '0'),
			CASE WHEN (args->>'opened')::boolean THEN ' opened' ELSE '' END)
		FROM river_job WHERE kind = 'reconcile_pr' AND state NOT IN ('completed', 'cancelled', 'discarded') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A burst of requests for one pull request makes one job; a request that
// finds that job running makes exactly one more, to run after it.
func TestEnqueueFoldsBurstsAndFollowsARunningReconcile(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	client, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(owner string, number int) {
		t.Helper()
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			return Enqueue(ctx, client, tx, ReconcilePRArgs{InstallationID: 7, Owner: owner, Repo: "Widgets", Number: number, Opened: true})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		enqueue("OpenedX", 7)
	}
	enqueue("openedx", 8)
	if got := queued(t, db); len(got) != 2 || got[0] != "openedx/widgets#7 after:0 opened" || got[1] != "openedx/widgets#8 after:0 opened" {
		t.Fatalf("after a burst: %v", got)
	}
	var running int64
	if err := db.QueryRow(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()
		WHERE args->>'number' = '7' RETURNING id`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		enqueue("openedx", 7)
	}
	got := queued(t, db)
	// The follow-up of a running reconcile is never fresh: the running
	// one may be writing already.
	if len(got) != 3 || got[2] != "openedx/widgets#7 after:"+itoa(running) {
		t.Errorf("while #7 runs: %v", got)
	}
	// A reconcile waiting for its retry does not hold up a new event.
	if _, err := db.Exec(ctx, `UPDATE river_job SET state = 'retryable' WHERE args->>'number' = '8'`); err != nil {
		t.Fatal(err)
	}
	enqueue("openedx", 8)
	if got := queued(t, db); len(got) != 4 || got[3] != "openedx/widgets#8 after:0 opened" {
		t.Errorf("while #8 waits for a retry: %v", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The pull request lock lets one reconcile in at a time.
func TestPullRequestLockTakesTurns(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	inner := errors.New("inner")
	locked, err := store.WithPullRequestLock(ctx, db, "openedx", "widgets", 7, func() error {
		again, err := store.WithPullRequestLock(ctx, db, "OpenEdx", "Widgets", 7, func() error { return nil })
		if again || err != nil {
			t.Errorf("a second holder got in: %v %v", again, err)
		}
		other, err := store.WithPullRequestLock(ctx, db, "openedx", "widgets", 8, func() error { return nil })
		if !other || err != nil {
			t.Errorf("another pull request was locked out: %v %v", other, err)
		}
		return inner
	})
	if !locked || !errors.Is(err, inner) {
		t.Fatalf("first holder: %v %v", locked, err)
	}
	again, err := store.WithPullRequestLock(ctx, db, "openedx", "widgets", 7, func() error { return nil })
	if !again || err != nil {
		t.Errorf("the lock was not released: %v %v", again, err)
	}
}

// A reconcile whose contributor data is configured but not loaded waits
// (snoozed, no attempt spent) and writes nothing meanwhile.
func TestReconcileWaitsForContributorData(t *testing.T) {
	s := newScenario(t, "stranger")
	db, _ := testdb.New(t)
	s.rc.Directory = func() *Directory { return nil }
	w := &ReconcileWorker{Service: &Service{Clients: s.clients, DB: db, Reconciler: s.rc}}
	err := w.Work(context.Background(), &river.Job[ReconcilePRArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
		Args: ReconcilePRArgs{InstallationID: installationID, Owner: "openedx", Repo: "widgets", Number: 7}})
	var snooze *rivertype.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration != dataSnooze {
		t.Errorf("Work = %v, want a snooze of %s", err, dataSnooze)
	}
	if len(s.comments()) != 0 || len(s.fake.Statuses("openedx", "widgets", "abc123")) != 0 {
		t.Error("wrote without contributor data")
	}
}
