package ospr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

// The actions a new outside pull request by "stranger" (no agreement)
// calls for.
var strangerActions = []string{
	`set-status osprey/cla=failure "No contributor agreement is on file for the author."`,
	`add-label "open-source-contribution"`,
	`create-comment external_pr`,
}

// rescanWorld is a fake GitHub on which the app is installed on openedx
// (installation 7), and a Service on a database of the test's own that
// talks to it through the real client creator.
type rescanWorld struct {
	t    *testing.T
	fake *fakegithub.Server
	svc  *Service
	db   *pgxpool.Pool
	seen *requestLog
}

func newRescanWorld(t *testing.T) *rescanWorld {
	t.Helper()
	seen := &requestLog{base: http.DefaultTransport}
	fake, creator := newFakeGitHub(t, seen)
	fake.SetOrgInstallation("openedx", installationID)
	db, _ := testdb.New(t)
	dir := testDirectory(t)
	rc := &Reconciler{
		Defaults:  testRules(t),
		Directory: func() *Directory { return dir },
		Templates: testTemplates(t),
		BotLogins: func(context.Context) ([]string, error) { return []string{fake.BotLogin()}, nil },
	}
	return &rescanWorld{t: t, fake: fake, db: db, seen: seen, svc: &Service{Clients: creator, Reconciler: rc, DB: db}}
}

// pullRequest returns a pull request of owner/repo as GitHub lists it.
func pullRequest(owner, repo string, number int, author string, created time.Time) map[string]any {
	return map[string]any{
		"number": number, "title": "Change " + fmt.Sprint(number), "state": "open", "draft": false, "merged": false,
		"user":               map[string]any{"login": author, "type": "User"},
		"author_association": "CONTRIBUTOR", "created_at": created.UTC().Format(time.RFC3339),
		"head":   map[string]any{"sha": fmt.Sprintf("sha%d", number), "ref": "fix"},
		"base":   map[string]any{"ref": "main", "repo": map[string]any{"name": repo, "private": false, "owner": map[string]any{"login": owner}}},
		"labels": []any{},
	}
}

// setPulls makes prs readable one by one and lists them (as given, which
// the tests make newest first, as GitHub sorts them).
func (w *rescanWorld) setPulls(owner, repo string, prs ...map[string]any) {
	items := make([]any, len(prs))
	for i, pr := range prs {
		w.fake.AddPullRequest(owner, repo, pr)
		items[i] = pr
	}
	w.fake.SetList(fmt.Sprintf("/repos/%s/%s/pulls", owner, repo), items)
}

// writes counts the requests since the since-th that changed something.
func (w *rescanWorld) writes(since int) int {
	n := 0
	for _, r := range w.fake.Requests()[since:] {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/access_tokens") {
			n++
		}
	}
	return n
}

func (w *rescanWorld) rescan(req RescanRequest) RescanReport {
	w.t.Helper()
	report, err := w.svc.Rescan(context.Background(), req)
	if err != nil {
		w.t.Fatalf("rescan %+v: %v", req, err)
	}
	return report
}

// requestLog remembers the path and query of every request to GitHub.
type requestLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.urls = append(l.urls, r.Method+" "+r.URL.RequestURI())
	l.mu.Unlock()
	return l.base.RoundTrip(r)
}

// matching returns the requests whose "METHOD path?query" starts with prefix.
func (l *requestLog) matching(prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, u := range l.urls {
		if strings.HasPrefix(u, prefix) {
			out = append(out, u)
		}
	}
	return out
}

var day = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func names(prs []PRReport) []string {
	var out []string
	for _, pr := range prs {
		out = append(out, pr.PullRequest)
	}
	return out
}

// A dry run lists, per pull request, what the reconcile would do, in the
// report's JSON shape, and writes nothing.
func TestRescanDryRun(t *testing.T) {
	w := newRescanWorld(t)
	w.setPulls("openedx", "widgets",
		pullRequest("openedx", "widgets", 8, "eve-legacy", day),
		pullRequest("openedx", "widgets", 7, "stranger", day.Add(-time.Hour)))
	before := len(w.fake.Requests())
	report := w.rescan(RescanRequest{Target: "openedx/widgets", DryRun: true})
	if n := w.writes(before); n != 0 {
		t.Errorf("a dry run wrote %d times", n)
	}
	got, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	actions, _ := json.Marshal(strangerActions)
	want := `{"target":"openedx/widgets","dry_run":true,"pull_requests":[` +
		`{"pull_request":"openedx/widgets#8","class":"internal","actions":[` +
		`"set-status osprey/cla=success \"The author is internal: no contributor agreement is needed.\""]},` +
		`{"pull_request":"openedx/widgets#7","class":"ospr","actions":` + string(actions) + `}],"errors":[]}`
	if string(got) != want {
		t.Errorf("report\n got %s\nwant %s", got, want)
	}
	lists := w.seen.matching("GET /repos/openedx/widgets/pulls?")
	if !slices.Equal(lists, []string{"GET /repos/openedx/widgets/pulls?direction=desc&per_page=100&sort=created&state=open"}) {
		t.Errorf("pull request lists asked for: %v", lists)
	}
}

// A real rescan applies the plan, and the next one finds nothing to do.
func TestRescanApplies(t *testing.T) {
	w := newRescanWorld(t)
	w.setPulls("openedx", "widgets", pullRequest("openedx", "widgets", 7, "stranger", day))
	report := w.rescan(RescanRequest{Target: "openedx/widgets"})
	if len(report.PullRequests) != 1 || !slices.Equal(report.PullRequests[0].Actions, strangerActions) ||
		report.PullRequests[0].Error != "" || len(report.PullRequests[0].Failed) != 0 || report.DryRun {
		t.Fatalf("report = %+v", report)
	}
	if labels := w.fake.Labels("openedx", "widgets", 7); !slices.Equal(labels, []string{"open-source-contribution"}) {
		t.Errorf("labels = %v", labels)
	}
	if c := w.fake.Comments("openedx", "widgets", 7); len(c) != 1 || !strings.Contains(c[0].Body, Marker("external_pr")) {
		t.Errorf("comments = %+v", c)
	}
	if s := w.fake.Statuses("openedx", "widgets", "sha7"); len(s) != 1 || s[0]["state"] != "failure" {
		t.Errorf("statuses = %v", s)
	}
	again := w.rescan(RescanRequest{Target: "openedx/widgets"})
	if want := []PRReport{{PullRequest: "openedx/widgets#7", Class: "ospr", Actions: []string{}}}; !reportsEqual(again.PullRequests, want) {
		t.Errorf("second rescan = %+v", again.PullRequests)
	}
}

func reportsEqual(a, b []PRReport) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// The window keeps pull requests created in [since, until); the pages
// stop at the first one older than since.
func TestRescanWindow(t *testing.T) {
	w := newRescanWorld(t)
	// 105 pull requests, #105 the newest, one an hour: two pages.
	var prs []map[string]any
	for n := 105; n >= 1; n-- {
		prs = append(prs, pullRequest("openedx", "widgets", n, "eve-legacy", day.Add(time.Duration(n-105)*time.Hour)))
	}
	w.setPulls("openedx", "widgets", prs...)
	at := func(n int) time.Time { return day.Add(time.Duration(n-105) * time.Hour) }
	tests := []struct {
		name         string
		req          RescanRequest
		want         []string
		wantSecond   bool // the second page was asked for
		wantStateAll bool
	}{
		{"since keeps the newest and reads one page", RescanRequest{Since: at(103)},
			[]string{"#105", "#104", "#103"}, false, false},
		{"until and since, on the second page", RescanRequest{Since: at(2), Until: at(4)},
			[]string{"#3", "#2"}, true, false},
		{"until alone reads to the end", RescanRequest{Until: at(3)},
			[]string{"#2", "#1"}, true, false},
		{"all pull requests", RescanRequest{AllPRs: true, Since: at(105)},
			[]string{"#105"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.seen.matching("GET /repos/openedx/widgets/pulls?"))
			tt.req.Target, tt.req.DryRun = "openedx/widgets", true
			report := w.rescan(tt.req)
			var want []string
			for _, n := range tt.want {
				want = append(want, "openedx/widgets"+n)
			}
			if got := names(report.PullRequests); !slices.Equal(got, want) {
				t.Errorf("pull requests = %v, want %v", got, want)
			}
			lists := w.seen.matching("GET /repos/openedx/widgets/pulls?")[before:]
			wantPages := 1
			if tt.wantSecond {
				wantPages = 2
			}
			if len(lists) != wantPages {
				t.Errorf("%d pages read, want %d: %v", len(lists), wantPages, lists)
			}
			if state := strings.Contains(lists[0], "state=all"); state != tt.wantStateAll {
				t.Errorf("listed %s; want state=all %v", lists[0], tt.wantStateAll)
			}
		})
	}
}

// all:ORG takes the installation's repositories of that owner, except
// archived ones; a repository whose pull requests cannot be listed is
// reported and the others still run.
func TestRescanAllOfAnOrganisation(t *testing.T) {
	w := newRescanWorld(t)
	repo := func(owner, name string, archived bool) any {
		return map[string]any{"name": name, "full_name": owner + "/" + name, "archived": archived, "owner": map[string]any{"login": owner}}
	}
	w.fake.SetList("/installation/repositories", []any{
		repo("openedx", "widgets", false), repo("openedx", "attic", true), repo("someone-else", "widgets", false),
		repo("OpenEdx", "gadgets", false), repo("openedx", "gone", false),
	})
	w.setPulls("openedx", "widgets", pullRequest("openedx", "widgets", 7, "stranger", day))
	w.setPulls("OpenEdx", "gadgets", pullRequest("OpenEdx", "gadgets", 3, "eve-legacy", day))
	report := w.rescan(RescanRequest{Target: "all:openedx", DryRun: true})
	if got := names(report.PullRequests); !slices.Equal(got, []string{"openedx/widgets#7", "OpenEdx/gadgets#3"}) {
		t.Errorf("pull requests = %v", got)
	}
	if len(report.Errors) != 1 || !strings.HasPrefix(report.Errors[0], "openedx/gone: listing the pull requests: GET ") ||
		!strings.Contains(report.Errors[0], "404 Not Found") {
		t.Errorf("errors = %q", report.Errors)
	}
	for _, skipped := range []string{"GET /repos/openedx/attic/", "GET /repos/someone-else/"} {
		if asked := w.seen.matching(skipped); len(asked) != 0 {
			t.Errorf("asked for %v", asked)
		}
	}
}

// A pull request that fails is reported; the ones after it still run.
func TestRescanCarriesOnAfterAFailure(t *testing.T) {
	w := newRescanWorld(t)
	// #8 is listed but cannot be read (404).
	eight := pullRequest("openedx", "widgets", 8, "stranger", day.Add(-time.Hour))
	w.setPulls("openedx", "widgets",
		pullRequest("openedx", "widgets", 9, "stranger", day),
		pullRequest("openedx", "widgets", 7, "stranger", day.Add(-2*time.Hour)))
	w.fake.SetList("/repos/openedx/widgets/pulls", []any{
		pullRequest("openedx", "widgets", 9, "stranger", day), eight, pullRequest("openedx", "widgets", 7, "stranger", day.Add(-2*time.Hour))})
	report := w.rescan(RescanRequest{Target: "openedx/widgets"})
	if got := names(report.PullRequests); !slices.Equal(got, []string{"openedx/widgets#9", "openedx/widgets#8", "openedx/widgets#7"}) {
		t.Fatalf("pull requests = %v", got)
	}
	failed := report.PullRequests[1]
	if failed.Error == "" || failed.Class != "" || len(failed.Actions) != 0 {
		t.Errorf("#8 = %+v", failed)
	}
	for _, i := range []int{0, 2} {
		if pr := report.PullRequests[i]; pr.Error != "" || !slices.Equal(pr.Actions, strangerActions) {
			t.Errorf("%s = %+v", pr.PullRequest, pr)
		}
	}
	if c := w.fake.Comments("openedx", "widgets", 7); len(c) != 1 {
		t.Errorf("#7 after the failure of #8: %d comments", len(c))
	}
}

// A pull request another reconcile holds is tried again until its turn.
func TestRescanWaitsForABusyPullRequest(t *testing.T) {
	w := newRescanWorld(t)
	w.setPulls("openedx", "widgets", pullRequest("openedx", "widgets", 7, "stranger", day))
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := store.WithPullRequestLock(context.Background(), w.db, "openedx", "widgets", 7, func() error {
			close(held)
			<-release
			return nil
		})
		done <- err
	}()
	<-held
	time.AfterFunc(1500*time.Millisecond, func() { close(release) })
	start := time.Now()
	report := w.rescan(RescanRequest{Target: "openedx/widgets"})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pr := report.PullRequests[0]; pr.Error != "" || !slices.Equal(pr.Actions, strangerActions) {
		t.Errorf("report = %+v", pr)
	}
	if waited := time.Since(start); waited < busyPause {
		t.Errorf("the rescan did not wait for the lock (%s)", waited)
	}
	if c := w.fake.Comments("openedx", "widgets", 7); len(c) != 1 {
		t.Errorf("%d comments", len(c))
	}
}

// A pull request that stays busy is reported busy once ctx ends.
func TestRescanGivesUpOnABusyPullRequestWhenCancelled(t *testing.T) {
	w := newRescanWorld(t)
	w.setPulls("openedx", "widgets", pullRequest("openedx", "widgets", 7, "stranger", day))
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = store.WithPullRequestLock(context.Background(), w.db, "openedx", "widgets", 7, func() error {
			close(held)
			<-release
			return nil
		})
	}()
	defer close(release)
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	report, err := w.svc.Rescan(ctx, RescanRequest{Target: "openedx/widgets"})
	if err != nil {
		t.Fatal(err)
	}
	want := "busy, and stopped waiting: context deadline exceeded"
	if len(report.PullRequests) != 1 || report.PullRequests[0].Error != want {
		t.Errorf("report = %+v, want the error %q", report.PullRequests, want)
	}
}

func TestRescanRefusesWhatItCannotDo(t *testing.T) {
	w := newRescanWorld(t)
	_, err := w.svc.Rescan(context.Background(), RescanRequest{Target: "nobody/widgets"})
	var notInstalled *NotInstalledError
	if !errors.As(err, &notInstalled) || err.Error() !=
		"the app is not installed on nobody (neither an organisation nor a user of that name has installed it)" {
		t.Errorf("no installation: %v", err)
	}
	if _, err := w.svc.Rescan(context.Background(), RescanRequest{Target: "openedx"}); err == nil ||
		err.Error() != `target "openedx": want OWNER/REPO or all:ORG` {
		t.Errorf("bad target: %v", err)
	}
	_, err = w.svc.Rescan(context.Background(), RescanRequest{Target: "openedx/widgets", Since: day, Until: day})
	if err == nil || err.Error() != "since 2026-03-10T12:00:00Z is not before until 2026-03-10T12:00:00Z: the window is empty" {
		t.Errorf("empty window: %v", err)
	}
	if n := len(w.seen.matching("GET /repos/")); n != 0 {
		t.Errorf("%d repository requests for rescans that could not run", n)
	}
}

func TestParseRescanTarget(t *testing.T) {
	tests := []struct {
		in          string
		owner, repo string
		all         bool
		err         string
	}{
		{"openedx/widgets", "openedx", "widgets", false, ""},
		{" openedx/edx-platform.git_2 ", "openedx", "edx-platform.git_2", false, ""},
		{"all:openedx", "openedx", "", true, ""},
		{"", "", "", false, "no target: give OWNER/REPO or all:ORG"},
		{"openedx", "", "", false, `target "openedx": want OWNER/REPO or all:ORG`},
		{"all:", "", "", false, `target "all:": name the organisation after all:`},
		{"all:openedx/widgets", "", "", false, `target "all:openedx/widgets": all: takes an organisation or user, not a repository`},
		{"/widgets", "", "", false, `target "/widgets": the owner before the slash is missing`},
		{"openedx/", "", "", false, `target "openedx/": "" is not a repository name (letters, digits, '.', '-' and '_')`},
		{"openedx/a/b", "", "", false, `target "openedx/a/b": want OWNER/REPO with a single slash`},
		{"openedx/..", "", "", false, `target "openedx/..": ".." is not a repository name (letters, digits, '.', '-' and '_')`},
		{"open_edx/widgets", "", "", false, `target "open_edx/widgets": "open_edx" is not a GitHub organisation or user name (letters, digits and '-')`},
		{"all:-x", "", "", false, `target "all:-x": "-x" is not a GitHub organisation or user name (letters, digits and '-')`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			owner, repo, all, err := ParseRescanTarget(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.err || owner != tt.owner || repo != tt.repo || all != tt.all {
				t.Errorf("ParseRescanTarget(%q) = %q, %q, %v, %q; want %q, %q, %v, %q",
					tt.in, owner, repo, all, gotErr, tt.owner, tt.repo, tt.all, tt.err)
			}
		})
	}
}

func TestParseRescanDates(t *testing.T) {
	tests := []struct {
		since, until string
		from, to     time.Time
		err          string
	}{
		{"", "", time.Time{}, time.Time{}, ""},
		{"2026-01-01", "2026-01-31", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-01-01T10:00:00+02:00", "2026-01-01T12:00:00Z",
			time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), ""},
		{"", "2026-01-01", time.Time{}, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), ""},
		{"2026-01-01", "2026-01-01", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), ""},
		{"2026-13-01", "", time.Time{}, time.Time{},
			`since "2026-13-01" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)`},
		{"", "yesterday", time.Time{}, time.Time{},
			`until "yesterday" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)`},
		{"2026-02-01", "2026-01-01", time.Time{}, time.Time{}, "since 2026-02-01 is not before until 2026-01-01: the window is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.since+"_"+tt.until, func(t *testing.T) {
			from, to, err := ParseRescanDates(tt.since, tt.until)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !from.Equal(tt.from) || !to.Equal(tt.to) {
				t.Errorf("= %s, %s, %v; want %s, %s", from, to, err, tt.from, tt.to)
			}
		})
	}
}
