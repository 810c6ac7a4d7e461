package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
)

// backfillWorld is a fake GitHub on which openedx (installation 7) has
// the repository widgets, with 250 pull requests (3 pages), 150 issues (2
// pages), 30 comments, 3 labels and a milestone, and gadgets, which GitHub
// answers but whose lists are all missing; and a test database.
type backfillWorld struct {
	t    *testing.T
	fake *fakegithub.Server
	db   *pgxpool.Pool
}

const widgetsID = 5151

func newBackfillWorld(t *testing.T) *backfillWorld {
	t.Helper()
	fake, app, err := fakegithub.NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	owner := map[string]any{"login": "openedx", "id": 40, "type": "Organization"}
	widgets := map[string]any{"id": widgetsID, "name": "widgets", "full_name": "openedx/widgets", "owner": owner}
	gadgets := map[string]any{"id": widgetsID + 1, "name": "gadgets", "full_name": "openedx/gadgets", "owner": owner}
	fake.SetResource("/repos/openedx/widgets", widgets)
	fake.SetResource("/repos/openedx/gadgets", gadgets)
	fake.SetOrgInstallation("openedx", 7)
	fake.SetInstallationRepositories(7, []any{widgets, gadgets})

	at := func(i int) string { return time.Date(2025, 3, 1, 12, i, 0, 0, time.UTC).Format(time.RFC3339) }
	user := map[string]any{"login": "alice", "id": 1001, "type": "User"}
	var pulls, issues, comments []any
	for i := range 250 {
		pulls = append(pulls, map[string]any{"id": 50000 + i, "number": i + 1, "state": "closed", "title": fmt.Sprintf("PR %d", i+1),
			"user": user, "created_at": at(i), "updated_at": at(i),
			"head": map[string]any{"sha": fmt.Sprintf("h%d", i), "ref": "topic", "repo": widgets},
			"base": map[string]any{"sha": "b", "ref": "main", "repo": widgets}})
	}
	for i := range 150 {
		issues = append(issues, map[string]any{"id": 70000 + i, "number": 300 + i, "state": "open", "title": fmt.Sprintf("Issue %d", i),
			"user": user, "created_at": at(i), "updated_at": at(i), "labels": []any{}})
	}
	for i := range 30 {
		comments = append(comments, map[string]any{"id": 90000 + i, "body": "hello", "user": user, "created_at": at(i), "updated_at": at(i),
			"issue_url": "https://api.github.com/repos/openedx/widgets/issues/300",
			"html_url":  fmt.Sprintf("https://github.com/openedx/widgets/issues/300#issuecomment-%d", 90000+i)})
	}
	fake.SetList("/repos/openedx/widgets/pulls", pulls)
	fake.SetList("/repos/openedx/widgets/issues", issues)
	fake.SetList("/repos/openedx/widgets/issues/comments", comments)
	fake.SetList("/repos/openedx/widgets/labels", []any{
		map[string]any{"id": 30001, "name": "bug", "color": "ff0000"},
		map[string]any{"id": 30002, "name": "docs", "color": "00ff00"},
		map[string]any{"id": 30003, "name": "help wanted", "color": "0000ff"},
	})
	fake.SetList("/repos/openedx/widgets/milestones", []any{map[string]any{"id": 600, "number": 1, "title": "v1", "state": "open"}})

	db, dbURL := testdb.New(t)
	for name, value := range map[string]string{
		"OSPREY_DATABASE_URL": dbURL, "OSPREY_CREDENTIALS_FILE": "", "OSPREY_LOG_LEVEL": "warn",
		"GITHUB_APP_INTEGRATION_ID": strconv.FormatInt(app.App.IntegrationID, 10), "GITHUB_APP_PRIVATE_KEY": app.App.PrivateKey,
		"GITHUB_APP_WEBHOOK_SECRET": "s", "GITHUB_V3_API_URL": app.V3APIURL, "GITHUB_V4_API_URL": app.V4APIURL, "GITHUB_WEB_URL": app.WebURL,
	} {
		t.Setenv(name, value)
	}
	return &backfillWorld{t: t, fake: fake, db: db}
}

// run runs `osprey backfill ARGS` until it ends or ctx does.
func (w *backfillWorld) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	root := newRoot(Build{Version: "test"})
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"backfill"}, args...))
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// summary runs `osprey backfill ARGS --json` and reads its summary.
func (w *backfillWorld) summary(args ...string) (backfillSummary, string, error) {
	w.t.Helper()
	out, stderr, err := w.run(context.Background(), append(args, "--json")...)
	var s backfillSummary
	if jsonErr := json.Unmarshal([]byte(out), &s); jsonErr != nil {
		w.t.Fatalf("the summary is not JSON (%v; the command said %v)\nstdout: %s\nstderr: %s", jsonErr, err, out, stderr)
	}
	return s, stderr, err
}

func (w *backfillWorld) count(sql string) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Every page is read once, every object lands in Postgres, and the
// summary's figures add up to what was read.
func TestBackfillCommand(t *testing.T) {
	w := newBackfillWorld(t)
	s, stderr, err := w.summary("openedx/widgets")
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "openedx/widgets") {
		t.Errorf("--json printed progress on stderr:\n%s", stderr)
	}
	// The repository itself (a page of one), then pulls, issues,
	// comments, labels, milestones.
	const pages, items = 1 + 3 + 2 + 1 + 1 + 1, 1 + 250 + 150 + 30 + 3 + 1
	// Every page was asked for once, and GitHub answered each afresh.
	var requests int
	for _, r := range w.fake.Requests() {
		if strings.HasPrefix(r.Path, "/repos/openedx/widgets") {
			requests++
		}
	}
	want := backfillTotal{Repositories: 1, Done: 1, Items: items, Pages: pages, APICalls: pages}
	if s.Total != want || requests != pages {
		t.Errorf("total = %+v\n want %+v; GitHub answered %d requests", s.Total, want, requests)
	}
	if s.Target != "openedx/widgets" || strings.Join(s.Kinds, ",") != "pulls,issues,comments,labels,milestones" ||
		s.Since != nil || s.Interrupted || s.WallSeconds <= 0 {
		t.Errorf("summary = %+v", s)
	}
	if len(s.Repositories) != 1 {
		t.Fatalf("%d repositories in the summary, want 1", len(s.Repositories))
	}
	p := s.Repositories[0]
	if p.Repository != "openedx/widgets" || p.State != "done" || p.RequestedBy != "cli" ||
		p.PagesTotal == nil || *p.PagesTotal != pages || p.PagesDone != pages || p.Items != items || len(p.Scans) != 5 ||
		p.APICalls != s.Total.APICalls || p.NotModified != s.Total.NotModified || p.Errors != 0 {
		t.Errorf("repository = %+v", p)
	}
	for table, want := range map[string]int{"pull_requests": 250, "issues": 150, "issue_comments": 30, "labels": 3, "milestones": 1} {
		if n := w.count(`SELECT count(*) FROM ` + table + ` WHERE repository_id = ` + strconv.Itoa(widgetsID) + ` AND deleted_at IS NULL`); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if n := w.fake.Count("GET", "/repos/openedx/widgets/pulls", 200); n != 3 {
		t.Errorf("%d pages of pull requests read, want 3", n)
	}

	// Without --json: progress lines on stderr (not a terminal: printed
	// as they change), a table on stdout.
	out, stderr, err := w.run(context.Background(), "openedx/widgets", "--only", "labels,milestones")
	if err != nil {
		t.Fatalf("backfill --only labels,milestones: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "openedx/widgets  done     [####################] 100%  items 5  pages 3/3  API calls 3  304s 0  errors 0  took ") ||
		strings.Contains(stderr, "\x1b[") {
		t.Errorf("progress on stderr:\n%s", stderr)
	}
	table := strings.Split(out, "\n")
	if len(table) != 5 || !strings.HasPrefix(table[0], "backfill of openedx/widgets (labels,milestones): 1 repositories, 1 done, 0 failed, in ") ||
		strings.Join(strings.Fields(table[1]), " ") != "REPOSITORY STATE ITEMS PAGES API CALLS 304s ERRORS SWEPT TIME" ||
		!strings.HasPrefix(strings.Join(strings.Fields(table[2]), " "), "openedx/widgets done 5 3 3 0 (0%) 0 0 ") ||
		!strings.HasPrefix(strings.Join(strings.Fields(table[3]), " "), "total 5 3 3 0 (0%) 0 0 ") {
		t.Errorf("summary on stdout:\n%s", out)
	}
}

// --only reads only the kinds it names.
func TestBackfillCommandOnly(t *testing.T) {
	w := newBackfillWorld(t)
	s, stderr, err := w.summary("openedx/widgets", "--only", "labels")
	if err != nil {
		t.Fatalf("backfill --only labels: %v\n%s", err, stderr)
	}
	if strings.Join(s.Kinds, ",") != "labels" || len(s.Repositories) != 1 || len(s.Repositories[0].Scans) != 1 ||
		s.Repositories[0].Scans[0].Kind != "labels" || s.Total.Items != 1+3 || s.Total.Pages != 2 {
		t.Errorf("summary = %+v", s)
	}
	if n := w.count(`SELECT count(*) FROM pull_requests`); n != 0 {
		t.Errorf("%d pull requests replicated by a backfill of labels only", n)
	}
	if n := w.count(`SELECT count(*) FROM labels WHERE repository_id = ` + strconv.Itoa(widgetsID)); n != 3 {
		t.Errorf("%d labels replicated, want 3", n)
	}
	if n := w.fake.Count("GET", "/repos/openedx/widgets/pulls", 200) + w.fake.Count("GET", "/repos/openedx/widgets/issues", 200); n != 0 {
		t.Errorf("%d requests for pull requests or issues", n)
	}
}

// all:ORG scans every repository of the installation; one that fails is
// in the summary, and the error names it and says why.
func TestBackfillCommandOrganisationWithAFailure(t *testing.T) {
	w := newBackfillWorld(t)
	s, stderr, err := w.summary("all:openedx", "--only", "labels")
	if err == nil || !strings.HasPrefix(err.Error(), "the backfill of 1 of 2 repositories failed: openedx/gadgets (labels: ") ||
		!strings.Contains(err.Error(), "404") {
		t.Errorf("err = %v\n%s", err, stderr)
	}
	if s.Total.Repositories != 2 || s.Total.Done != 1 || s.Total.Failed != 1 || len(s.Repositories) != 2 {
		t.Fatalf("total = %+v", s.Total)
	}
	byName := map[string]string{}
	for _, p := range s.Repositories {
		byName[p.Repository] = p.State
	}
	if byName["openedx/widgets"] != "done" || byName["openedx/gadgets"] != "failed" {
		t.Errorf("states = %v", byName)
	}
}

// Interrupted, the command stops its workers and says the scans stay
// queued; run again, it follows the same scan to its end, and each page
// counts once.
func TestBackfillCommandInterruptedAndResumed(t *testing.T) {
	w := newBackfillWorld(t)
	w.fake.SetLatency(400 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Interrupt once the scan has started.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			var n int
			_ = w.db.QueryRow(ctx, `SELECT count(*) FROM scans WHERE state = 'running'`).Scan(&n)
			if n > 0 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	out, _, err := w.run(ctx, "openedx/widgets", "--only", "pulls", "--json")
	if err == nil || !strings.Contains(err.Error(), "interrupted: the scans of openedx/widgets are not over and stay queued in the database") {
		t.Fatalf("err = %v", err)
	}
	var first backfillSummary
	if err := json.Unmarshal([]byte(out), &first); err != nil || !first.Interrupted || first.Total.Unfinished != 1 {
		t.Fatalf("summary of the interrupted run (%v): %s", err, out)
	}
	if n := w.count(`SELECT count(*) FROM scans WHERE state IN ('queued', 'running')`); n == 0 {
		t.Fatal("no scan left queued or running after the interruption")
	}

	w.fake.SetLatency(0)
	out, stderr, err := w.run(context.Background(), "openedx/widgets", "--only", "pulls")
	if err != nil {
		t.Fatalf("resumed: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("openedx/widgets: a scan is already running (scan %d, asked by cli): following it\n", first.Repositories[0].ID)) {
		t.Errorf("stderr of the resumed run:\n%s", stderr)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "openedx/widgets done 251 4 ") {
		t.Errorf("summary of the resumed run:\n%s", out)
	}
	if n := w.count(`SELECT count(*) FROM pull_requests`); n != 250 {
		t.Errorf("%d pull requests, want 250", n)
	}
}

// Bad input fails with a precise error before anything connects (the
// database here does not exist).
func TestBackfillCommandRefusesBadArguments(t *testing.T) {
	t.Setenv("OSPREY_DATABASE_URL", "postgres://nobody@127.0.0.1:1/nowhere?connect_timeout=1")
	t.Setenv("GITHUB_APP_INTEGRATION_ID", "99")
	t.Setenv("GITHUB_APP_PRIVATE_KEY", "not a key")
	t.Setenv("GITHUB_APP_WEBHOOK_SECRET", "s")
	t.Setenv("OSPREY_CREDENTIALS_FILE", "")
	w := &backfillWorld{t: t}
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"openedx"}, `target "openedx": want OWNER/REPO or all:ORG`},
		{[]string{"all:"}, `target "all:": name the organisation after all:`},
		{[]string{"openedx/widgets", "--only", "pulls,prs"},
			`--only "pulls,prs": unknown kind "prs" (want some of pulls,issues,comments,labels,milestones,files)`},
		{[]string{"openedx/widgets", "--only", ""}, `--only "": no kind given (want some of pulls,issues,comments,labels,milestones,files)`},
		{[]string{"openedx/widgets", "--since", "last week"},
			`--since "last week" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)`},
		{[]string{"openedx/widgets", "--since", "2999-01-01"}, `--since "2999-01-01" is in the future: nothing would be read`},
		{[]string{}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if _, _, err := w.run(context.Background(), tt.args...); err == nil || err.Error() != tt.err {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

// A target the app is not installed on is refused with the reason.
func TestBackfillCommandNotInstalled(t *testing.T) {
	w := newBackfillWorld(t)
	_, _, err := w.run(context.Background(), "nobody/widgets")
	if err == nil || err.Error() != "the app is not installed on nobody (neither an organisation nor a user of that name has installed it)" {
		t.Errorf("err = %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	ptr := func(n int) *int { return &n }
	eta := 65.4
	tests := []struct {
		name string
		p    backfill.Progress
		want string
	}{
		{"size unknown", backfill.Progress{Repository: "openedx/widgets", State: "running", PagesDone: 1, Items: 1, APICalls: 1},
			"openedx/widgets  running  [                    ]    ?  items 1  pages 1/?  API calls 1  304s 0  errors 0  ETA ?"},
		{"queued", backfill.Progress{Repository: "openedx/gadgets", State: "queued"},
			"openedx/gadgets  queued   [                    ]    ?  items 0  pages 0/?  API calls 0  304s 0  errors 0  ETA ?"},
		{"halfway", backfill.Progress{Repository: "a/b", State: "running", PagesDone: 50, PagesTotal: ptr(100), Items: 4900,
			APICalls: 60, NotModified: 40, Errors: 2, ETASeconds: &eta},
			"a/b              running  [##########..........]  50%  items 4900  pages 50/100  API calls 60  304s 40  errors 2  ETA 1m5s"},
		{"done", backfill.Progress{Repository: "openedx/widgets", State: "done", PagesDone: 9, PagesTotal: ptr(9), Items: 435,
			APICalls: 9, ElapsedSeconds: 3.24},
			"openedx/widgets  done     [####################] 100%  items 435  pages 9/9  API calls 9  304s 0  errors 0  took 3.2s"},
		{"failed", backfill.Progress{Repository: "openedx/gadgets", State: "failed", PagesDone: 1, Items: 1, APICalls: 2, Errors: 1,
			ElapsedSeconds: 0.5, LastError: "labels: GET https://api.github.com/repos/openedx/gadgets/labels: 404 Not Found []"},
			"openedx/gadgets  failed   [                    ]    ?  items 1  pages 1/?  API calls 2  304s 0  errors 1  took 500ms" +
				"  error: labels: GET https://api.github.com/repos/openedx/gadgets/labels: 404 Not Found []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := progressLine(tt.p, 15); got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// On a terminal each frame goes back up over the last one; a log line
// clears the frame first, so the next frame is drawn below it.
func TestProgressDisplayRedrawsInPlace(t *testing.T) {
	var buf bytes.Buffer
	d := newProgressDisplay(&buf, true, false)
	ps := []backfill.Progress{{ID: 1, Repository: "a/b", State: "queued"}, {ID: 2, Repository: "a/c", State: "queued"}}
	d.update(ps, time.Now())
	if strings.Contains(buf.String(), "\x1b[2A") || strings.Count(buf.String(), "\n") != 2 {
		t.Errorf("first frame: %q", buf.String())
	}
	buf.Reset()
	d.update(ps, time.Now())
	if !strings.HasPrefix(buf.String(), "\x1b[2A") {
		t.Errorf("second frame does not go back up 2 lines: %q", buf.String())
	}
	buf.Reset()
	_, _ = d.Write([]byte("a log line\n"))
	d.update(ps, time.Now())
	if !strings.HasPrefix(buf.String(), "\x1b[2A\x1b[Ja log line\n\x1b[?7l") {
		t.Errorf("a log line between frames: %q", buf.String())
	}
}

// Not on a terminal, a repository's line is printed again only when its
// figures change, and at most every 5 s unless it is over.
func TestProgressDisplayThrottlesLogLines(t *testing.T) {
	var buf bytes.Buffer
	d := newProgressDisplay(&buf, false, false)
	start := time.Now()
	p := backfill.Progress{ID: 1, Repository: "a/b", State: "running", PagesDone: 1}
	d.update([]backfill.Progress{p}, start)
	d.update([]backfill.Progress{p}, start.Add(6*time.Second)) // unchanged
	p.PagesDone = 2
	d.update([]backfill.Progress{p}, start.Add(7*time.Second)) // changed, 5 s after the last line
	p.PagesDone = 3
	d.update([]backfill.Progress{p}, start.Add(8*time.Second)) // changed, too soon
	p.State = "done"
	d.update([]backfill.Progress{p}, start.Add(9*time.Second)) // over: at once
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != 3 || !strings.Contains(got[0], "pages 1/?") || !strings.Contains(got[1], "pages 2/?") ||
		!strings.Contains(got[2], "done") || !strings.Contains(got[2], "pages 3/?") {
		t.Errorf("lines:\n%s", buf.String())
	}
}
