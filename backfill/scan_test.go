package backfill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

const (
	testInstallation = 7
	testRepoID       = 4242
)

// scanWorld is a database, a fake GitHub holding the repository
// acme/widgets, and River clients working the backfill queue.
type scanWorld struct {
	t       *testing.T
	db      *pgxpool.Pool
	fake    *fakegithub.Server
	scanner *Scanner
	// workers registers the scan workers of a River client; a test may
	// swap in its own page worker.
	workers  func() *river.Workers
	inserter *river.Client[pgx.Tx] // inserts only
}

func newScanWorld(t *testing.T) *scanWorld {
	t.Helper()
	db, _ := testdb.New(t)
	fake, clients, budget := newTestGitHub(t)
	w := &scanWorld{t: t, db: db, fake: fake}
	w.scanner = &Scanner{Clients: clients, DB: db, Logger: zerolog.Nop(), Budget: budget, Reserve: 500, PerInstallation: 3}
	w.workers = func() *river.Workers {
		workers := river.NewWorkers()
		AddWorkers(workers, w.scanner)
		return workers
	}
	var err error
	w.inserter, err = river.NewClient(riverpgxv5.New(db), &river.Config{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetResource("/repos/acme/widgets", map[string]any{
		"id": testRepoID, "name": "widgets", "full_name": "acme/widgets",
		"owner": map[string]any{"login": "acme", "id": 1, "type": "Organization"},
	})
	return w
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 4}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// start runs a River client on the backfill queue until the test ends or
// the returned stop is called.
func (w *scanWorld) start() (stop func()) {
	w.t.Helper()
	client, err := river.NewClient(riverpgxv5.New(w.db), &river.Config{
		Queues:            map[string]river.QueueConfig{Queue: {MaxWorkers: 6}},
		Workers:           w.workers(),
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Logger:            quietLogger(),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := client.Start(ctx); err != nil {
		cancel()
		w.t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer stopCancel()
			_ = client.StopAndCancel(stopCtx)
			cancel()
		})
	}
	w.t.Cleanup(stop)
	return stop
}

// queue asks for a scan of acme/widgets.
func (w *scanWorld) queue(req Request) (store.Scan, bool) {
	w.t.Helper()
	req.InstallationID, req.Owner, req.Repo = testInstallation, "acme", "widgets"
	if req.RequestedBy == "" {
		req.RequestedBy = "cli"
	}
	var s store.Scan
	var created bool
	err := pgx.BeginFunc(context.Background(), w.db, func(tx pgx.Tx) (err error) {
		s, created, err = QueueScan(context.Background(), tx, w.inserter, req, 0)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return s, created
}

// wait polls scan id until it is over, and returns its progress.
func (w *scanWorld) wait(id int64) Progress {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, found, err := LoadProgress(context.Background(), w.db, id, time.Now())
		if err != nil || !found {
			w.t.Fatalf("scan %d: found %v, %v", id, found, err)
		}
		if p.State == store.ScanDone || p.State == store.ScanFailed {
			return p
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("scan %d still %s after a minute: %+v", id, p.State, p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *scanWorld) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// jobStates describes the scan jobs, for failure messages.
func (w *scanWorld) jobStates() string {
	rows, err := w.db.Query(context.Background(), `SELECT format('%s page %s: %s attempt %s in %s', kind, args->>'page', state, attempt,
		date_trunc('second', scheduled_at - now())) FROM river_job ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	return strings.Join(lines, "; ")
}

func (w *scanWorld) gets(path string, status int) int { return w.fake.Count("GET", path, status) }

var fixtureTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func stamp(i int) string { return fixtureTime.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }

func user(login string) map[string]any {
	return map[string]any{"login": login, "id": 1000 + len(login), "type": "User"}
}

func pullsFixture(n int) []any {
	repo := map[string]any{"id": testRepoID, "name": "widgets", "full_name": "acme/widgets", "owner": map[string]any{"login": "acme", "id": 1}}
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"id": 50000 + i, "number": i + 1, "state": "closed", "title": fmt.Sprintf("PR %d", i+1),
			"user": user("alice"), "created_at": stamp(i), "updated_at": stamp(i),
			"head": map[string]any{"sha": fmt.Sprintf("h%d", i), "ref": "topic", "repo": repo},
			"base": map[string]any{"sha": "b", "ref": "main", "repo": repo}}
	}
	return out
}

func issuesFixture(n, firstNumber int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"id": 70000 + i, "number": firstNumber + i, "state": "open", "title": fmt.Sprintf("Issue %d", i),
			"user": user("bob"), "created_at": stamp(i), "updated_at": stamp(i), "labels": []any{}}
	}
	return out
}

func commentsFixture(n int) []any {
	out := make([]any, n)
	for i := range out {
		number := i%10 + 1
		out[i] = map[string]any{"id": 90000 + i, "body": "hello", "user": user("carol"), "created_at": stamp(i), "updated_at": stamp(i),
			"issue_url": fmt.Sprintf("https://api.github.com/repos/acme/widgets/issues/%d", number),
			"html_url":  fmt.Sprintf("https://github.com/acme/widgets/pull/%d#issuecomment-%d", number, 90000+i)}
	}
	return out
}

func labelsFixture(names ...string) []any {
	out := make([]any, len(names))
	for i, name := range names {
		out[i] = map[string]any{"id": 30000 + i, "name": name, "color": "ededed"}
	}
	return out
}

// A repository scan spawns a scan per kind; each list is read one page
// per request, and every object lands exactly once, with the progress
// saying so. Run again, every answer is a 304.
func TestRepositoryScanReplicatesEveryObjectOnce(t *testing.T) {
	w := newScanWorld(t)
	w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(250))      // 3 pages
	w.fake.SetList("/repos/acme/widgets/issues", issuesFixture(350, 1)) // 4 pages
	w.fake.SetList("/repos/acme/widgets/issues/comments", commentsFixture(120))
	w.fake.SetList("/repos/acme/widgets/labels", labelsFixture("bug", "docs", "help wanted"))
	w.fake.SetList("/repos/acme/widgets/milestones", []any{map[string]any{"id": 600, "number": 1, "title": "v1", "state": "open"}})
	w.start()

	s, created := w.queue(Request{Kind: KindRepository})
	if !created {
		t.Fatal("the first scan was not created")
	}
	p := w.wait(s.ID)
	if p.State != store.ScanDone {
		t.Fatalf("scan ended %s: %s", p.State, p.LastError)
	}
	wantPages := 1 + 3 + 4 + 2 + 1 + 1
	if p.PagesTotal == nil || *p.PagesTotal != wantPages || p.PagesDone != wantPages {
		t.Errorf("pages %d of %v, want %d of %d", p.PagesDone, p.PagesTotal, wantPages, wantPages)
	}
	if want := int64(1 + 250 + 350 + 120 + 3 + 1); p.Items != want {
		t.Errorf("items %d, want %d", p.Items, want)
	}
	if p.APICalls != int64(wantPages) || p.NotModified != 0 || p.Errors != 0 {
		t.Errorf("api_calls %d, 304s %d, errors %d; want %d, 0, 0", p.APICalls, p.NotModified, p.Errors, wantPages)
	}
	if len(p.Scans) != 5 {
		t.Fatalf("%d child scans, want 5: %+v", len(p.Scans), p.Scans)
	}
	for _, c := range p.Scans {
		if c.State != store.ScanDone || !c.Complete {
			t.Errorf("%s scan: state %s, complete %v", c.Kind, c.State, c.Complete)
		}
	}
	for table, want := range map[string]int{"pull_requests": 250, "issues": 350, "issue_comments": 120, "labels": 3, "milestones": 1} {
		if n := w.count(`SELECT count(*) FROM `+table+` WHERE repository_id = $1 AND deleted_at IS NULL`, testRepoID); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if n := w.count(`SELECT count(*) FROM issue_comments WHERE is_pull_request AND issue_number BETWEEN 1 AND 10`); n != 120 {
		t.Errorf("%d comments placed on their pull requests, want 120", n)
	}
	// Each page was asked for once: the spawn's first page is not read again.
	for path, want := range map[string]int{"/repos/acme/widgets/pulls": 3, "/repos/acme/widgets/issues": 4, "/repos/acme/widgets/issues/comments": 2} {
		if n := w.gets(path, 200); n != want {
			t.Errorf("GET %s: %d answers, want %d", path, n, want)
		}
	}
	if n := w.count(`SELECT count(*) FROM repositories WHERE id = $1 AND pulls_last_scanned_at IS NOT NULL
		AND issues_last_scanned_at IS NOT NULL AND comments_last_scanned_at IS NOT NULL
		AND labels_last_scanned_at IS NOT NULL AND milestones_last_scanned_at IS NOT NULL`, testRepoID); n != 1 {
		t.Error("the repository's *_last_scanned_at were not all recorded")
	}

	again, created := w.queue(Request{Kind: KindRepository})
	if !created || again.ID == s.ID {
		t.Fatal("a scan after the first one ended was not a new scan")
	}
	p2 := w.wait(again.ID)
	if p2.State != store.ScanDone || p2.APICalls != int64(wantPages) || p2.NotModified != p2.APICalls {
		t.Errorf("second scan: %s, %d calls, %d 304s; want done with every call a 304", p2.State, p2.APICalls, p2.NotModified)
	}
	if n := w.count(`SELECT count(*) FROM pull_requests WHERE repository_id = $1`, testRepoID); n != 250 {
		t.Errorf("after two scans %d pull requests, want 250", n)
	}
}

// flakyPages wraps the page worker: page 2's first run does its work and
// commits, then reports a failure, as a worker killed between its commit
// and River recording the job done. Page 4 waits until page 2 has run
// again, so the scan is still running when it does.
type flakyPages struct {
	river.WorkerDefaults[ScanPageArgs]
	inner       *PageWorker
	mu          sync.Mutex
	runs        int
	secondRunOf chan struct{}
}

func (f *flakyPages) Work(ctx context.Context, job *river.Job[ScanPageArgs]) error {
	if job.Args.Page == 4 {
		select {
		case <-f.secondRunOf:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := f.inner.Work(ctx, job)
	if job.Args.Page != 2 {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs++
	if f.runs == 1 && err == nil {
		return errors.New("killed after the commit")
	}
	if f.runs == 2 {
		close(f.secondRunOf)
	}
	return err
}

// A page whose job ran twice (its first run committed, then died) counts
// once: no item, page or row twice, and the second run does not ask
// GitHub again.
func TestPageRunTwiceCountsOnce(t *testing.T) {
	w := newScanWorld(t)
	w.fake.SetList("/repos/acme/widgets/issues", issuesFixture(450, 1)) // 5 pages
	flaky := &flakyPages{inner: &PageWorker{Scanner: w.scanner}, secondRunOf: make(chan struct{})}
	w.workers = func() *river.Workers {
		workers := river.NewWorkers()
		river.AddWorker(workers, &SpawnWorker{Scanner: w.scanner})
		river.AddWorker(workers, flaky)
		return workers
	}
	w.start()
	s, _ := w.queue(Request{Kind: KindIssues})
	p := w.wait(s.ID)
	if p.State != store.ScanDone || p.PagesDone != 5 || p.Items != 450 {
		t.Fatalf("scan %s, %d pages, %d items; want done, 5, 450", p.State, p.PagesDone, p.Items)
	}
	if flaky.runs != 2 {
		t.Fatalf("page 2 ran %d times, want 2", flaky.runs)
	}
	page2 := 0
	for _, r := range w.fake.Requests() {
		if r.Path == "/repos/acme/widgets/issues" && strings.Contains(r.Query, "page=2&") {
			page2++
		}
	}
	if page2 != 1 {
		t.Errorf("page 2 asked for %d times, want 1", page2)
	}
	if p.APICalls != 6 { // the repository and 5 pages
		t.Errorf("api_calls %d, want 6", p.APICalls)
	}
	if n := w.count(`SELECT count(*) FROM issues WHERE repository_id = $1`, testRepoID); n != 450 {
		t.Errorf("%d issues, want 450", n)
	}
}

// A worker process stopped in the middle of a scan (its jobs cancelled)
// leaves the scan to the next one, which ends it without duplicates.
func TestStoppedWorkersResumeTheScan(t *testing.T) {
	w := newScanWorld(t)
	w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(1200)) // 12 pages
	w.fake.SetLatency(150 * time.Millisecond)
	stop := w.start()
	s, _ := w.queue(Request{Kind: KindPulls})
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _, err := store.GetScan(context.Background(), w.db, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PagesDone >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scan never got going")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	mid, _, _ := store.GetScan(context.Background(), w.db, s.ID)
	if mid.State != store.ScanRunning || mid.PagesDone >= 12 {
		t.Fatalf("after the stop the scan is %s with %d pages: the test stopped too late", mid.State, mid.PagesDone)
	}
	w.fake.SetLatency(0)
	w.start()
	p := w.wait(s.ID)
	if p.State != store.ScanDone || p.PagesDone != 12 || p.Items != 1200 {
		t.Fatalf("scan %s, %d pages, %d items; want done, 12, 1200", p.State, p.PagesDone, p.Items)
	}
	if n := w.count(`SELECT count(*) FROM scan_pages WHERE scan_id = $1`, s.ID); n != 12 {
		t.Errorf("%d pages recorded, want 12", n)
	}
	if n := w.count(`SELECT count(*) FROM pull_requests WHERE repository_id = $1`, testRepoID); n != 1200 {
		t.Errorf("%d pull requests, want 1200", n)
	}
}

// A files scan reads the files of the pull requests the pulls scan found;
// one pull request GitHub refuses is an error of the scan, not its end.
func TestFilesScanGoesOnPastARefusedPullRequest(t *testing.T) {
	w := newScanWorld(t)
	w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(5))
	for n := 1; n <= 5; n++ {
		if n != 3 { // #3's files: 404
			w.fake.SetList(fmt.Sprintf("/repos/acme/widgets/pulls/%d/files", n), []any{map[string]any{"filename": fmt.Sprintf("f%d.go", n), "status": "added"}})
		}
	}
	w.start()
	s, _ := w.queue(Request{Kind: KindRepository, Kinds: []string{KindPulls, KindFiles}})
	p := w.wait(s.ID)
	if p.State != store.ScanDone || len(p.Scans) != 2 {
		t.Fatalf("scan %s with %d scans: %s", p.State, len(p.Scans), p.LastError)
	}
	files := p.Scans[1]
	if files.Kind != KindFiles || files.State != store.ScanDone || files.PagesDone != 5 || files.Errors != 1 || !strings.Contains(files.LastError, "#3") {
		t.Errorf("files scan: %+v", files)
	}
	if n := w.count(`SELECT count(*) FROM pull_request_files`); n != 4 {
		t.Errorf("%d files, want 4", n)
	}
}

// Right after an installation, GitHub may answer 404 for a repository it
// has just given the app: a scan the installation asked for tries again;
// one an operator asked for fails at once with GitHub's answer.
func TestInstallScanRetriesANotFoundRepository(t *testing.T) {
	w := newScanWorld(t)
	w.fake.SetList("/repos/acme/widgets/labels", labelsFixture("bug"))
	w.fake.InjectFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/widgets", Status: 404, Times: 1})
	w.start()
	s, _ := w.queue(Request{Kind: KindLabels, RequestedBy: RequestedByInstall})
	if p := w.wait(s.ID); p.State != store.ScanDone || p.Errors != 1 || p.Items != 1 {
		t.Errorf("install scan: %s, %d errors, %d items; want done after one 404", p.State, p.Errors, p.Items)
	}
	w.fake.InjectFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/widgets", Status: 404, Times: 1})
	s, _ = w.queue(Request{Kind: KindMilestones, RequestedBy: RequestedByCLI})
	if p := w.wait(s.ID); p.State != store.ScanFailed || !strings.Contains(p.LastError, "404") {
		t.Errorf("operator's scan: %s (%q); want failed with the 404", p.State, p.LastError)
	}
}

// One-object scans read one pull request (with its files) or one issue.
func TestOneObjectScans(t *testing.T) {
	w := newScanWorld(t)
	pr := pullsFixture(5)[4].(map[string]any)
	w.fake.SetResource("/repos/acme/widgets/pulls/5", pr)
	w.fake.SetList("/repos/acme/widgets/pulls/5/files", []any{
		map[string]any{"filename": "a.go", "status": "added"}, map[string]any{"filename": "b.go", "status": "modified"}})
	w.fake.SetResource("/repos/acme/widgets/issues/9", issuesFixture(1, 9)[0])
	w.start()
	for _, c := range []struct {
		kind   string
		number int
		check  string
		want   int
	}{
		{KindPull, 5, `SELECT count(*) FROM pull_requests WHERE number = 5 AND title = 'PR 5'`, 1},
		{KindPullFiles, 5, `SELECT count(*) FROM pull_request_files WHERE pull_request_id = 50004 AND head_sha = 'h4'`, 2},
		{KindIssue, 9, `SELECT count(*) FROM issues WHERE number = 9 AND repository_id = 4242`, 1},
	} {
		s, _ := w.queue(Request{Kind: c.kind, Number: c.number})
		p := w.wait(s.ID)
		if p.State != store.ScanDone || p.PagesDone != 1 || p.Number != c.number {
			t.Errorf("%s #%d: %s, %d pages (%s)", c.kind, c.number, p.State, p.PagesDone, p.LastError)
		}
		if n := w.count(c.check); n != c.want {
			t.Errorf("%s #%d: %d rows, want %d", c.kind, c.number, n, c.want)
		}
	}
}

// Asked for again while it runs, a scan is not started twice: the request
// gets the running one, even when many ask at once.
func TestOneScanAtATime(t *testing.T) {
	w := newScanWorld(t)
	first, created := w.queue(Request{Kind: KindLabels})
	if !created {
		t.Fatal("first scan not created")
	}
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = pgx.BeginFunc(context.Background(), w.db, func(tx pgx.Tx) error {
				s, _, err := QueueScan(context.Background(), tx, w.inserter,
					Request{InstallationID: testInstallation, Owner: "ACME", Repo: "Widgets", Kind: KindLabels, RequestedBy: "api"}, 0)
				ids[i] = s.ID
				return err
			})
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != first.ID {
			t.Errorf("a request while scan %d is queued got scan %d", first.ID, id)
		}
	}
	if n := w.count(`SELECT count(*) FROM river_job WHERE kind = 'backfill_scan_spawn'`); n != 1 {
		t.Errorf("%d spawn jobs queued, want 1", n)
	}
	// Another kind of the same repository is another scan.
	if _, created := w.queue(Request{Kind: KindMilestones}); !created {
		t.Error("a milestones scan waited for the labels scan")
	}
	// Quiet for longer than stale_after but with its job still waiting
	// its turn in River, a scan is not abandoned.
	if _, err := w.db.Exec(context.Background(), `UPDATE scans SET heartbeat_at = now() - interval '3 hours' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	if s, created := w.queue(Request{Kind: KindLabels}); created || s.ID != first.ID {
		t.Error("a scan whose job waits its turn was taken as abandoned")
	}
	// Its job lost (discarded after a crash), it is.
	if _, err := w.db.Exec(context.Background(), `UPDATE river_job SET state = 'discarded', finalized_at = now()
		WHERE kind = 'backfill_scan_spawn' AND (args->>'scan_id')::bigint = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	if s, created := w.queue(Request{Kind: KindLabels}); !created || s.ID == first.ID {
		t.Error("a stalled scan still blocked a new one")
	}
	old, _, _ := store.GetScan(context.Background(), w.db, first.ID)
	if old.State != store.ScanFailed || old.LastError == "" {
		t.Errorf("the stalled scan is %s (%q), want failed with a reason", old.State, old.LastError)
	}
}

// Only a complete scan that ended sweeps: what it did not list is marked
// deleted. A scan with a since, or one that failed, deletes nothing.
func TestSweepOnlyAfterACompleteScan(t *testing.T) {
	w := newScanWorld(t)
	issues := issuesFixture(3, 1)
	w.fake.SetList("/repos/acme/widgets/issues", issues)
	w.start()
	run := func(req Request) Progress {
		t.Helper()
		s, _ := w.queue(req)
		return w.wait(s.ID)
	}
	if p := run(Request{Kind: KindIssues}); p.State != store.ScanDone || p.Swept != 0 {
		t.Fatalf("first scan: %s, swept %d", p.State, p.Swept)
	}
	deleted := func() int {
		return w.count(`SELECT count(*) FROM issues WHERE repository_id = $1 AND deleted_at IS NOT NULL`, testRepoID)
	}
	// Issue #2 is deleted on GitHub.
	w.fake.SetList("/repos/acme/widgets/issues", []any{issues[0], issues[2]})

	if p := run(Request{Kind: KindIssues, Since: fixtureTime.Add(-time.Hour)}); p.State != store.ScanDone || p.Complete || p.Swept != 0 {
		t.Errorf("scan with since: %s, complete %v, swept %d", p.State, p.Complete, p.Swept)
	}
	if n := deleted(); n != 0 {
		t.Errorf("after a scan with since, %d issues deleted", n)
	}

	w.fake.InjectFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/widgets/issues", Status: 404, Times: 1})
	if p := run(Request{Kind: KindIssues}); p.State != store.ScanFailed || p.LastError == "" {
		t.Errorf("scan refused by GitHub: %s (%q), want failed with the reason", p.State, p.LastError)
	}
	if n := deleted(); n != 0 {
		t.Errorf("after a failed scan, %d issues deleted", n)
	}

	if p := run(Request{Kind: KindIssues}); p.State != store.ScanDone || p.Swept != 1 {
		t.Errorf("complete scan: %s, swept %d; want done, 1", p.State, p.Swept)
	}
	if n := w.count(`SELECT count(*) FROM issues WHERE number = 2 AND deleted_at IS NOT NULL`); n != 1 || deleted() != 1 {
		t.Errorf("issue #2 deleted: %d; all deleted: %d; want 1, 1", n, deleted())
	}
}

// An installation under the reserve waits for the reset: its page jobs are
// scheduled then, not run and not failed.
func TestExhaustedBudgetSnoozesUntilReset(t *testing.T) {
	w := newScanWorld(t)
	w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(300))
	reset := time.Now().Add(40 * time.Minute).Truncate(time.Second)
	w.fake.SetRemaining(testInstallation, 100, reset)
	w.start()
	s, _ := w.queue(Request{Kind: KindPulls})
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := w.count(`SELECT count(*) FROM river_job WHERE kind = 'backfill_scan_page' AND state = 'scheduled'
			AND scheduled_at BETWEEN $1 AND $2`, reset, reset.Add(5*time.Second))
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d page jobs waiting for the reset, want 2", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, _, _ := store.GetScan(context.Background(), w.db, s.ID)
	if got.State != store.ScanRunning || got.PagesDone != 1 || got.Errors != 0 {
		t.Errorf("scan %s with %d pages and %d errors; want running, 1 (the spawn's), 0", got.State, got.PagesDone, got.Errors)
	}
	if n := w.gets("/repos/acme/widgets/pulls", 200); n != 1 {
		t.Errorf("%d pages read under the reserve, want only the spawn's", n)
	}
}

// GitHub's own answers: a 5xx is retried with backoff; a secondary limit
// makes every page of the installation wait for retry-after (go-github
// itself then refuses to ask before that), a primary limit hit waits for
// the reset.
func TestRateLimitAnswersAndServerErrors(t *testing.T) {
	pageWaits := func(w *scanWorld, from, to time.Time) int {
		return w.count(`SELECT count(*) FROM river_job WHERE kind = 'backfill_scan_page' AND state = 'scheduled'
			AND scheduled_at BETWEEN $1 AND $2`, from, to)
	}
	eventually := func(t *testing.T, w *scanWorld, what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s; page jobs: %s", what, w.jobStates())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Run("5xx", func(t *testing.T) {
		w := newScanWorld(t)
		w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(400))
		w.fake.InjectFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/widgets/pulls", Query: url.Values{"page": {"3"}},
			Status: 502, Times: 1})
		w.start()
		s, _ := w.queue(Request{Kind: KindPulls})
		p := w.wait(s.ID)
		if p.State != store.ScanDone || p.PagesDone != 4 || p.Items != 400 || p.Errors != 1 || p.APICalls != 6 {
			t.Errorf("scan %s, %d pages, %d items, %d errors, %d calls; want done, 4, 400, 1, 6", p.State, p.PagesDone, p.Items, p.Errors, p.APICalls)
		}
		if !strings.Contains(p.LastError, "502") {
			t.Errorf("last error %q does not name the 502", p.LastError)
		}
	})
	t.Run("secondary", func(t *testing.T) {
		w := newScanWorld(t)
		w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(400))
		w.scanner.Reserve = 0
		w.scanner.PerInstallation = 1 // pages in turn
		w.fake.InjectFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/widgets/pulls", Query: url.Values{"page": {"2"}},
			Status: 403, Secondary: true, RetryAfter: 17 * time.Minute, Times: 1})
		w.start()
		s, _ := w.queue(Request{Kind: KindPulls})
		// Page 2 may come after other pages; once it is refused, every page
		// not done waits for retry-after.
		eventually(t, w, "every page left waits for retry-after", func() bool {
			got, _, _ := store.GetScan(context.Background(), w.db, s.ID)
			return w.gets("/repos/acme/widgets/pulls", 403) == 1 &&
				pageWaits(w, time.Now().Add(16*time.Minute), time.Now().Add(18*time.Minute)) == 4-got.PagesDone
		})
		got, _, _ := store.GetScan(context.Background(), w.db, s.ID)
		if got.State != store.ScanRunning || got.PagesDone == 4 {
			t.Errorf("scan %s with %d pages; want running, page 2 not done", got.State, got.PagesDone)
		}
		refused := false
		for _, r := range w.fake.Requests() {
			if r.Path != "/repos/acme/widgets/pulls" {
				continue
			}
			if refused {
				t.Errorf("asked GitHub after the secondary limit: %+v", r)
			}
			refused = refused || r.Status == 403
		}
	})
	t.Run("primary", func(t *testing.T) {
		w := newScanWorld(t)
		w.fake.SetList("/repos/acme/widgets/pulls", pullsFixture(400))
		w.scanner.Reserve = 0
		reset := time.Now().Add(25 * time.Minute).Truncate(time.Second)
		w.fake.SetRemaining(testInstallation, 2, reset) // the repository and the first page
		w.start()
		s, _ := w.queue(Request{Kind: KindPulls})
		eventually(t, w, "every page waits for the reset", func() bool {
			return pageWaits(w, reset, reset.Add(5*time.Second)) == 3
		})
		got, _, _ := store.GetScan(context.Background(), w.db, s.ID)
		if got.State != store.ScanRunning || got.PagesDone != 1 {
			t.Errorf("scan %s with %d pages; want running with the spawn's 1", got.State, got.PagesDone)
		}
		// go-github remembers the exhausted limit from the last answer and
		// does not even ask; either way nothing more was read.
		if n := w.gets("/repos/acme/widgets/pulls", 200); n != 1 {
			t.Errorf("%d pages read with the limit exhausted, want only the spawn's", n)
		}
	})
}

// Report adds up a repository scan's own page and its children's, knows
// the total only once every child knows its own, and estimates the time
// left from the pace so far.
func TestReport(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	now := start.Add(30 * time.Second)
	pages := func(n int) *int { return &n }
	parent := store.Scan{ID: 1, Owner: "acme", Repo: "widgets", Kind: KindRepository, Kinds: []string{KindPulls, KindIssues},
		State: store.ScanRunning, PagesTotal: pages(1), PagesDone: 1, Items: 1, APICalls: 1, StartedAt: &start}
	pulls := store.Scan{ID: 2, ParentID: 1, Kind: KindPulls, State: store.ScanRunning, PagesTotal: pages(10), PagesDone: 4,
		Items: 400, APICalls: 4, NotModified: 1, StartedAt: &start}
	issues := store.Scan{ID: 3, ParentID: 1, Kind: KindIssues, State: store.ScanQueued}

	p := Report(parent, []store.Scan{pulls, issues}, now)
	if p.PagesTotal != nil || p.ETASeconds != nil {
		t.Errorf("with a child's size unknown: total %v, eta %v; want both null", p.PagesTotal, p.ETASeconds)
	}
	if p.PagesDone != 5 || p.Items != 401 || p.APICalls != 5 || p.NotModified != 1 || len(p.Scans) != 2 {
		t.Errorf("sums: %+v", p)
	}
	issues.State, issues.PagesTotal, issues.PagesDone, issues.StartedAt = store.ScanRunning, pages(9), 0, &start
	p = Report(parent, []store.Scan{pulls, issues}, now)
	if p.PagesTotal == nil || *p.PagesTotal != 20 {
		t.Fatalf("total %v, want 20", p.PagesTotal)
	}
	if p.ETASeconds == nil || *p.ETASeconds != 90 { // 5 pages in 30 s, 15 left
		t.Errorf("eta %v, want 90", p.ETASeconds)
	}
	if p.ElapsedSeconds != 30 {
		t.Errorf("elapsed %v, want 30", p.ElapsedSeconds)
	}
	pulls.State, issues.State, parent.State = store.ScanDone, store.ScanFailed, store.ScanFailed
	p = Report(parent, []store.Scan{pulls, issues}, now)
	if p.ETASeconds == nil || *p.ETASeconds != 0 {
		t.Errorf("eta of a scan over: %v, want 0", p.ETASeconds)
	}
	single := Report(store.Scan{ID: 9, Owner: "acme", Repo: "widgets", Kind: KindPull, Number: 5, State: store.ScanQueued}, nil, now)
	if single.Repository != "acme/widgets" || single.Number != 5 || single.PagesTotal != nil || single.ETASeconds != nil {
		t.Errorf("a queued one-object scan: %+v", single)
	}
}

func TestParseKinds(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "issues,pulls", want: []string{KindPulls, KindIssues}},
		{in: " files , labels,labels", want: []string{KindLabels, KindFiles}},
		{in: "pulls,reviews", err: `unknown kind "reviews"`},
		{in: " , ", err: "no kind given"},
	} {
		got, err := ParseKinds(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseKinds(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("ParseKinds(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
