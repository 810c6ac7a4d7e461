package ospr

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/internal/testlog"
)

func installation(id int64, login string, suspended bool) any {
	inst := map[string]any{"id": id, "account": map[string]any{"login": login, "type": "Organization"}}
	if suspended {
		inst["suspended_at"] = "2026-01-01T00:00:00Z"
	}
	return inst
}

func repository(owner, name string, archived bool) any {
	return map[string]any{"name": name, "full_name": owner + "/" + name, "archived": archived, "owner": map[string]any{"login": owner}}
}

func openPulls(numbers ...int) []any {
	var out []any
	for _, n := range numbers {
		out = append(out, map[string]any{"number": n, "state": "open", "created_at": day.Add(-time.Duration(n) * time.Hour).Format(time.RFC3339)})
	}
	return out
}

// The drift repair queues a reconcile of every open pull request of every
// installation's repositories, archived repositories and suspended
// installations left out; a repository that cannot be listed does not stop
// the others; a second run queues nothing new.
func TestDriftRepairQueuesEveryOpenPullRequest(t *testing.T) {
	fake, creator := newFakeGitHub(t, nil)
	fake.SetInstallations([]any{installation(7, "openedx", false), installation(8, "acme", false), installation(9, "sleepy", true)})
	fake.SetInstallationRepositories(7, []any{repository("openedx", "widgets", false), repository("openedx", "attic", true)})
	fake.SetInstallationRepositories(8, []any{repository("acme", "gizmo", false), repository("acme", "quiet", false), repository("acme", "broken", false)})
	fake.SetInstallationRepositories(9, []any{repository("sleepy", "bed", false)})
	fake.SetList("/repos/openedx/widgets/pulls", openPulls(7, 5))
	fake.SetList("/repos/openedx/attic/pulls", openPulls(1))
	fake.SetList("/repos/acme/gizmo/pulls", openPulls(2))
	fake.SetList("/repos/acme/quiet/pulls", nil)
	fake.SetList("/repos/sleepy/bed/pulls", openPulls(99))
	db, _ := testdb.New(t)
	var logs testlog.Buffer
	ctx := context.Background()
	client := startRiver(ctx, t, db, &DriftRepairWorker{Service: &Service{Clients: creator, DB: db}, Logger: zerolog.New(&logs)})

	// The drift repair meets acme/broken, whose pull requests cannot be
	// listed, and queues the others all the same. (One attempt, so that
	// the test sees it fail rather than wait for its retry.)
	state, errs := runDriftRepair(ctx, t, client, db)
	if state != "discarded" || len(errs) != 1 || !strings.HasPrefix(errs[0], "acme/broken: listing the pull requests: GET ") ||
		!strings.Contains(errs[0], "404 Not Found") {
		t.Errorf("drift repair: %s, errors %q; want discarded for acme/broken", state, errs)
	}
	want := []ReconcilePRArgs{
		{InstallationID: 7, Owner: "openedx", Repo: "widgets", Number: 7},
		{InstallationID: 7, Owner: "openedx", Repo: "widgets", Number: 5},
		{InstallationID: 8, Owner: "acme", Repo: "gizmo", Number: 2},
	}
	if got := queuedReconciles(ctx, t, db); !slices.Equal(got, want) {
		t.Errorf("queued %+v\nwant %+v", got, want)
	}
	if !strings.Contains(logs.String(), `"installations":2,"repositories":4,"pull_requests_queued":3`) {
		t.Errorf("no summary in the logs:\n%s", logs.String())
	}

	// The next run, acme/broken mended, finds the others queued already:
	// uniqueness folds them, and only the new one is added.
	fake.SetList("/repos/acme/broken/pulls", openPulls(4))
	if state, errs := runDriftRepair(ctx, t, client, db); state != "completed" || len(errs) != 0 {
		t.Errorf("second drift repair: %s, errors %q", state, errs)
	}
	want = append(want, ReconcilePRArgs{InstallationID: 8, Owner: "acme", Repo: "broken", Number: 4})
	if got := queuedReconciles(ctx, t, db); !slices.Equal(got, want) {
		t.Errorf("after a second run: %+v\nwant %+v", got, want)
	}
}

// startRiver runs River with the drift repair's queue, as the server does;
// the triage's queue does not run, so queued reconciles stay queued.
func startRiver(ctx context.Context, t *testing.T, db *pgxpool.Pool, drift *DriftRepairWorker, periodic ...*river.PeriodicJob) *river.Client[pgx.Tx] {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &ReconcileWorker{Service: drift.Service})
	river.AddWorker(workers, drift)
	client, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Queues:            map[string]river.QueueConfig{inbox.QueueMaintenance: {MaxWorkers: 1}},
		Workers:           workers,
		PeriodicJobs:      periodic,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	})
	return client
}

// runDriftRepair queues one drift repair of a single attempt, waits for it
// to end, and returns its final state and errors.
func runDriftRepair(ctx context.Context, t *testing.T, client *river.Client[pgx.Tx], db *pgxpool.Pool) (string, []string) {
	t.Helper()
	res, err := client.Insert(ctx, DriftRepairArgs{}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil || res.UniqueSkippedAsDuplicate {
		t.Fatalf("queueing the drift repair: %v, %+v", err, res)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var state string
		var errs []rivertype.AttemptError
		if err := db.QueryRow(ctx, `SELECT state::text, coalesce(errors, '{}') FROM river_job WHERE id = $1`, res.Job.ID).Scan(&state, &errs); err != nil {
			t.Fatal(err)
		}
		if state == "completed" || state == "discarded" {
			var messages []string
			for _, e := range errs {
				messages = append(messages, e.Error)
			}
			return state, messages
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the drift repair did not finish within 20s")
	return "", nil
}

// A drift repair queued less than the interval after one that completed
// is skipped: a restart runs one on start, and it lists nothing when the
// last one is recent. A skipped repair does not count as one: once the
// last real one is old, the next runs.
func TestDriftRepairSkipsAfterARecentRepair(t *testing.T) {
	fake, creator := newFakeGitHub(t, nil)
	fake.SetInstallations([]any{installation(7, "openedx", false)})
	fake.SetInstallationRepositories(7, []any{repository("openedx", "widgets", false)})
	fake.SetList("/repos/openedx/widgets/pulls", openPulls(7, 5))
	db, _ := testdb.New(t)
	var logs testlog.Buffer
	ctx := context.Background()
	drift := &DriftRepairWorker{Service: &Service{Clients: creator, DB: db}, Logger: zerolog.New(&logs), Interval: time.Hour}
	// A listing may be answered 304: the app's client revalidates its
	// cached copy, and whether the ETag matches depends on whether the
	// app's token was renewed in between.
	listings := func() int {
		return fake.Count("GET", "/app/installations", 200) + fake.Count("GET", "/app/installations", 304)
	}

	// No repair on record: the first one runs.
	first := startRiver(ctx, t, db, drift)
	if state, errs := runDriftRepair(ctx, t, first, db); state != "completed" || len(errs) != 0 || listings() != 1 {
		t.Fatalf("first drift repair: %s, errors %q, %d listings", state, errs, listings())
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := first.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}

	// A restart: the periodic job runs on start, finds the repair just
	// done, and skips without listing anything.
	second := startRiver(ctx, t, db, drift, DriftRepairPeriodicJob(time.Hour))
	outputs := waitForDriftRepairs(ctx, t, db, 2)
	if outputs[1] != `{"skipped": true}` || listings() != 1 {
		t.Errorf("the repair on start: output %s, %d listings; want skipped, 1 listing", outputs[1], listings())
	}
	if !strings.Contains(logs.String(), "Drift repair skipped: the last one is less than an interval old") {
		t.Errorf("no skip in the logs:\n%s", logs.String())
	}

	// The repair that ran is made two hours old; the skipped one, recent,
	// does not count: the next one runs.
	if _, err := db.Exec(ctx, `UPDATE river_job SET created_at = created_at - interval '2 hours'
		WHERE kind = 'triage_drift_repair' AND NOT metadata @> '{"output": {"skipped": true}}'`); err != nil {
		t.Fatal(err)
	}
	if state, errs := runDriftRepair(ctx, t, second, db); state != "completed" || len(errs) != 0 || listings() != 2 {
		t.Errorf("drift repair after an old one: %s, errors %q, %d listings; want 2", state, errs, listings())
	}
	if outputs := waitForDriftRepairs(ctx, t, db, 3); outputs[2] != "" {
		t.Errorf("the third repair recorded %s", outputs[2])
	}
	want := []ReconcilePRArgs{
		{InstallationID: 7, Owner: "openedx", Repo: "widgets", Number: 7},
		{InstallationID: 7, Owner: "openedx", Repo: "widgets", Number: 5},
	}
	if got := queuedReconciles(ctx, t, db); !slices.Equal(got, want) {
		t.Errorf("queued %+v\nwant %+v", got, want)
	}
}

// waitForDriftRepairs waits until n drift repairs have completed, and
// returns the recorded output of each ("" for none), in the order queued.
func waitForDriftRepairs(ctx context.Context, t *testing.T, db *pgxpool.Pool, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		rows, err := db.Query(ctx, `SELECT coalesce(metadata->'output', 'null')::text FROM river_job
			WHERE kind = 'triage_drift_repair' AND state = 'completed' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		outputs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(outputs) >= n {
			for i, o := range outputs {
				if o == "null" {
					outputs[i] = ""
				} else {
					// Only whether it says skipped matters here.
					var out struct{ Skipped bool }
					if err := json.Unmarshal([]byte(o), &out); err != nil {
						t.Fatal(err)
					}
					outputs[i] = fmt.Sprintf(`{"skipped": %t}`, out.Skipped)
				}
			}
			return outputs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d drift repairs completed within 20s", n)
	return nil
}

// queuedReconciles reads the jobs other than drift repairs in the order
// they were queued: all must be reconciles waiting in the triage's queue.
func queuedReconciles(ctx context.Context, t *testing.T, db *pgxpool.Pool) []ReconcilePRArgs {
	t.Helper()
	rows, err := db.Query(ctx, `SELECT kind, queue, state::text, args FROM river_job WHERE kind <> 'triage_drift_repair' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ReconcilePRArgs
	for rows.Next() {
		var kind, queue, state string
		var raw []byte
		if err := rows.Scan(&kind, &queue, &state, &raw); err != nil {
			t.Fatal(err)
		}
		var args ReconcilePRArgs
		if err := json.Unmarshal(raw, &args); err != nil {
			t.Fatal(err)
		}
		if kind != "reconcile_pr" || queue != QueueTriage || state != "available" {
			t.Errorf("job %+v: kind %s, queue %s, state %s", args, kind, queue, state)
		}
		out = append(out, args)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDriftRepairJob(t *testing.T) {
	args := DriftRepairArgs{}
	if opts := args.InsertOpts(); args.Kind() != "triage_drift_repair" || opts.Queue != inbox.QueueMaintenance || !opts.UniqueOpts.ByArgs {
		t.Errorf("kind %q, options %+v", args.Kind(), opts)
	}
	if DriftRepairPeriodicJob(time.Hour) == nil {
		t.Fatal("no periodic job")
	}
}
