package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/server"
)

// fakeRepo is a repository the fake GitHub serves, with as many objects of
// each kind as it says.
type fakeRepo struct {
	owner, name                                 string
	id                                          int64
	pulls, issues, comments, labels, milestones int
}

func (r fakeRepo) fullName() string { return r.owner + "/" + r.name }

// serveRepo makes the fake GitHub serve r and every list a repository scan
// reads, oldest first as the scans ask.
func (h *harness) serveRepo(r fakeRepo) {
	h.t.Helper()
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) string { return start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }
	user := map[string]any{"id": 3001, "login": "alice", "type": "User"}
	repo := map[string]any{"id": r.id, "node_id": fmt.Sprintf("R_%d", r.id), "name": r.name, "full_name": r.fullName(),
		"private": false, "owner": map[string]any{"id": 5001, "login": r.owner, "type": "Organization"},
		"created_at": at(0), "updated_at": at(0)}
	h.fake.SetResource("/repos/"+r.fullName(), repo)
	id := func(i int) int64 { return r.id*100_000 + int64(i) }
	var pulls, issues, comments, labels, milestones []any
	for i := 1; i <= r.pulls; i++ {
		pulls = append(pulls, map[string]any{"id": id(i), "number": i, "title": fmt.Sprintf("Pull %d", i), "state": "open",
			"user": user, "created_at": at(i), "updated_at": at(i),
			"head": map[string]any{"ref": fmt.Sprintf("topic-%d", i), "sha": fmt.Sprintf("%040d", i)},
			"base": map[string]any{"ref": "main", "sha": strings.Repeat("b", 40), "repo": repo}})
	}
	for i := 1; i <= r.issues; i++ {
		n := r.pulls + i
		issues = append(issues, map[string]any{"id": id(n), "number": n, "title": fmt.Sprintf("Issue %d", n), "state": "open",
			"user": user, "created_at": at(n), "updated_at": at(n), "labels": []any{}})
	}
	for i := 1; i <= r.comments; i++ {
		n := r.pulls + 1 + (i-1)%max(r.issues, 1)
		comments = append(comments, map[string]any{"id": id(i), "body": fmt.Sprintf("Comment %d", i), "user": user,
			"issue_url":  fmt.Sprintf("%s/repos/%s/issues/%d", h.fake.URL, r.fullName(), n),
			"html_url":   fmt.Sprintf("https://github.com/%s/issues/%d#issuecomment-%d", r.fullName(), n, id(i)),
			"created_at": at(i), "updated_at": at(i)})
	}
	for i := 1; i <= r.labels; i++ {
		labels = append(labels, map[string]any{"id": id(i), "name": fmt.Sprintf("label-%d", i), "color": "ededed", "default": false})
	}
	for i := 1; i <= r.milestones; i++ {
		milestones = append(milestones, map[string]any{"id": id(i), "number": i, "title": fmt.Sprintf("Milestone %d", i),
			"state": "open", "creator": user, "created_at": at(i), "updated_at": at(i)})
	}
	base := "/repos/" + r.fullName()
	for path, items := range map[string][]any{"/pulls": pulls, "/issues": issues, "/issues/comments": comments,
		"/labels": labels, "/milestones": milestones} {
		if items == nil {
			items = []any{}
		}
		h.fake.SetList(base+path, items)
	}
}

// countRows counts the rows of table that belong to repository repoID and
// are not deleted.
func (h *harness) countRows(table string, repoID int64) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM `+table+
		` WHERE repository_id = $1 AND deleted_at IS NULL`, repoID).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// loadHarness is an osprey whose operator API has token (empty: off) and
// whose fake GitHub has the app installed on acme (installation 1001).
func loadHarness(t *testing.T, token string) *harness {
	t.Helper()
	h := newHarness(t, func(c *server.Config, _ *server.Options) { c.AdminToken = token })
	h.fake.SetOrgInstallation("acme", 1001)
	return h
}

// api sends method path with the Authorization header auth (none when
// empty) and returns the answer.
func (h *harness) api(method, path, auth string) (int, http.Header, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

// loadAnswer is the body of a load's 202.
type loadAnswer struct {
	Scan      backfill.Progress `json:"scan"`
	Created   bool              `json:"created"`
	FilesScan *struct {
		Scan    backfill.Progress `json:"scan"`
		Created bool              `json:"created"`
	} `json:"files_scan"`
}

// load posts to the load path and requires a 202 whose Location names the
// scan of the body.
func (h *harness) load(path string) loadAnswer {
	h.t.Helper()
	status, header, body := h.api(http.MethodPost, path, "Bearer "+apiToken)
	if status != http.StatusAccepted {
		h.t.Fatalf("POST %s: status %d: %s", path, status, body)
	}
	var answer loadAnswer
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		h.t.Fatalf("POST %s: %v: %s", path, err, body)
	}
	if want := fmt.Sprintf("/api/scans/%d", answer.Scan.ID); answer.Scan.ID == 0 || header.Get("Location") != want {
		h.t.Fatalf("POST %s: Location %q, scan %d: %s", path, header.Get("Location"), answer.Scan.ID, body)
	}
	return answer
}

// progress reads GET /api/scans/{id}.
func (h *harness) progress(id int64) backfill.Progress {
	h.t.Helper()
	status, _, body := h.api(http.MethodGet, fmt.Sprintf("/api/scans/%d", id), "Bearer "+apiToken)
	if status != http.StatusOK {
		h.t.Fatalf("GET /api/scans/%d: status %d: %s", id, status, body)
	}
	var p backfill.Progress
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		h.t.Fatalf("GET /api/scans/%d: %v: %s", id, err, body)
	}
	return p
}

// scanWait is how long a test waits for scans to end: they take a second
// or two, but a job that fails on a transient database error is retried
// only after River's backoff.
const scanWait = 90 * time.Second

// waitScanDone polls GET /api/scans/{id} until the scan is over, and
// requires it done.
func (h *harness) waitScanDone(id int64) backfill.Progress {
	h.t.Helper()
	deadline := time.Now().Add(scanWait)
	for {
		p := h.progress(id)
		switch {
		case p.State == "done":
			return p
		case p.State == "failed":
			h.t.Fatalf("scan %d failed: %+v", id, p)
		case time.Now().After(deadline):
			h.t.Fatalf("scan %d not done after %s: %+v", id, scanWait, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLoadEndpointsOffWithoutAToken(t *testing.T) {
	h := loadHarness(t, "")
	want := "the operator API is off: set admin_token (OSPREY_ADMIN_TOKEN) to turn on the load endpoints (POST /api/load/repos/…) and GET /api/scans/{id}"
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/api/load/repos/acme/widgets"},
		{http.MethodPost, "/api/load/repos/acme/widgets/pulls/7"},
		{http.MethodPost, "/api/load/nonsense"},
		{http.MethodGet, "/api/load/repos/acme/widgets"},
		{http.MethodGet, "/api/scans/1"},
		{http.MethodGet, "/api/scans/1/more"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, _, body := h.api(tt.method, tt.path, "Bearer anything")
			if status != http.StatusNotFound || apiError(t, body) != want {
				t.Errorf("status %d, answer %s", status, body)
			}
		})
	}
	if n := h.countScans(""); n != 0 {
		t.Errorf("%d scans recorded with the API off", n)
	}
}

// countScans counts the scans whose requested_by is by (any when empty).
func (h *harness) countScans(by string) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM scans WHERE $1 = '' OR requested_by = $1`, by).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestLoadEndpointRefusals(t *testing.T) {
	h := loadHarness(t, apiToken)
	bearer := "Bearer " + apiToken
	const paths = "POST /api/load/repos/{owner}/{repo}, and after it /pulls, /pulls/{number}, /pulls/{number}/files, " +
		"/issues, /issues/{number}, /issues/comments, /labels or /milestones"
	tests := []struct {
		name, method, path, auth string
		status                   int
		err                      string
	}{
		// Credentials.
		{"no token", "POST", "/api/load/repos/acme/widgets", "", 401, "missing API token: send the header Authorization: Bearer <admin_token>"},
		{"another scheme", "POST", "/api/load/repos/acme/widgets/pulls", "Basic " + apiToken, 401, "missing API token: send the header Authorization: Bearer <admin_token>"},
		{"a wrong token", "POST", "/api/load/repos/acme/widgets/labels", "Bearer x" + apiToken, 401, "wrong API token: it is not the server's admin_token"},
		{"a wrong token for a progress", "GET", "/api/scans/1", "Bearer x" + apiToken, 401, "wrong API token: it is not the server's admin_token"},
		{"no token on no path", "POST", "/api/load/nonsense", "", 401, "missing API token: send the header Authorization: Bearer <admin_token>"},

		// Paths.
		{"a number that is not one", "POST", "/api/load/repos/acme/widgets/pulls/abc", bearer, 404,
			`no such load path: the pull request number "abc" is not a positive integer`},
		{"number zero", "POST", "/api/load/repos/acme/widgets/pulls/0/files", bearer, 404,
			`no such load path: the pull request number "0" is not a positive integer`},
		{"a negative number", "POST", "/api/load/repos/acme/widgets/issues/-3", bearer, 404,
			`no such load path: the issue number "-3" is not a positive integer`},
		{"a signed number", "POST", "/api/load/repos/acme/widgets/issues/+3", bearer, 404,
			`no such load path: the issue number "+3" is not a positive integer`},
		{"a number too big", "POST", "/api/load/repos/acme/widgets/pulls/99999999999", bearer, 404,
			`no such load path: the pull request number "99999999999" is not a positive integer`},
		{"an unknown suffix", "POST", "/api/load/repos/acme/widgets/commits", bearer, 404,
			`no such load path /api/load/repos/acme/widgets/commits: "/commits" is nothing to load of a repository; the load paths are ` + paths},
		{"an unknown suffix after a number", "POST", "/api/load/repos/acme/widgets/pulls/1/commits", bearer, 404,
			`no such load path /api/load/repos/acme/widgets/pulls/1/commits: "/pulls/1/commits" is nothing to load of a repository; the load paths are ` + paths},
		{"a trailing slash", "POST", "/api/load/repos/acme/widgets/", bearer, 404,
			`no such load path /api/load/repos/acme/widgets/: "/" is nothing to load of a repository; the load paths are ` + paths},
		{"no repository", "POST", "/api/load/repos/acme", bearer, 404,
			"no such load path /api/load/repos/acme: the load paths are " + paths},
		{"not repos", "POST", "/api/load/orgs/acme/widgets", bearer, 404,
			"no such load path /api/load/orgs/acme/widgets: the load paths are " + paths},
		{"a bad repository name", "POST", "/api/load/repos/acme/wid%20gets/pulls", bearer, 404,
			`no such load path: the repository is wrong: target "acme/wid gets": "wid gets" is not a repository name (letters, digits, '.', '-' and '_')`},
		{"a bad owner name", "POST", "/api/load/repos/ac_me/widgets", bearer, 404,
			`no such load path: the repository is wrong: target "ac_me/widgets": "ac_me" is not a GitHub organisation or user name (letters, digits and '-')`},
		{"a bad owner under an unknown suffix", "POST", "/api/load/repos/ac_me/widgets/wiki", bearer, 404,
			`no such load path: the repository is wrong: target "ac_me/widgets": "ac_me" is not a GitHub organisation or user name (letters, digits and '-')`},
		{"GET on a load path", "GET", "/api/load/repos/acme/widgets/pulls", bearer, 405, "GET /api/load/repos/acme/widgets/pulls: use POST"},
		{"POST on a progress", "POST", "/api/scans/1", bearer, 405, "POST /api/scans/1: use GET"},
		{"a since in the future", "POST", "/api/load/repos/acme/widgets/issues?since=2999-01-01", bearer, 400, `query parameter since="2999-01-01" is in the future: nothing would be read`},
		{"a scan id that is not a number", "GET", "/api/scans/abc", bearer, 404, `no such scan path: the scan id "abc" is not a positive integer`},
		{"an unknown scan", "GET", "/api/scans/987654", bearer, 404, "there is no scan 987654"},
		{"under a scan", "GET", "/api/scans/1/pages", bearer, 404, "no such path /api/scans/1/pages: a scan's progress is at GET /api/scans/{id}"},

		// Flags.
		{"an unknown flag", "POST", "/api/load/repos/acme/widgets/pulls?state=open", bearer, 400,
			`unknown query parameter "state" (this path takes files, since)`},
		{"since on labels", "POST", "/api/load/repos/acme/widgets/labels?since=2026-01-01", bearer, 400,
			`query parameter "since" does not apply to POST /api/load/repos/{owner}/{repo}/labels (this path takes none)`},
		{"since on milestones", "POST", "/api/load/repos/acme/widgets/milestones?since=2026-01-01", bearer, 400,
			`query parameter "since" does not apply to POST /api/load/repos/{owner}/{repo}/milestones (this path takes none)`},
		{"only on labels", "POST", "/api/load/repos/acme/widgets/labels?only=pulls", bearer, 400,
			`query parameter "only" does not apply to POST /api/load/repos/{owner}/{repo}/labels (this path takes none)`},
		{"since on one pull request", "POST", "/api/load/repos/acme/widgets/pulls/7?since=2026-01-01", bearer, 400,
			`query parameter "since" does not apply to POST /api/load/repos/{owner}/{repo}/pulls/{number} (this path takes files)`},
		{"files on one issue", "POST", "/api/load/repos/acme/widgets/issues/7?files=true", bearer, 400,
			`query parameter "files" does not apply to POST /api/load/repos/{owner}/{repo}/issues/{number} (this path takes none)`},
		{"only on pulls", "POST", "/api/load/repos/acme/widgets/pulls?only=issues", bearer, 400,
			`query parameter "only" does not apply to POST /api/load/repos/{owner}/{repo}/pulls (this path takes files, since)`},
		{"a flag twice", "POST", "/api/load/repos/acme/widgets/issues?since=2026-01-01&since=2026-02-01", bearer, 400,
			`query parameter "since" is given 2 times`},
		{"a bool that is none", "POST", "/api/load/repos/acme/widgets?files=maybe", bearer, 400,
			`query parameter files="maybe" must be true or false`},
		{"a bad date", "POST", "/api/load/repos/acme/widgets/issues/comments?since=2026-02-30", bearer, 400,
			`since "2026-02-30" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)`},
		{"an empty date", "POST", "/api/load/repos/acme/widgets/issues?since=", bearer, 400,
			"query parameter since needs a date (YYYY-MM-DD) or an RFC 3339 time (2026-01-02T15:04:05Z)"},
		{"an unknown kind", "POST", "/api/load/repos/acme/widgets?only=pulls,wikis", bearer, 400,
			`query parameter only: unknown kind "wikis" (want some of pulls,issues,comments,labels,milestones,files)`},
		{"no kind", "POST", "/api/load/repos/acme/widgets?only=", bearer, 400,
			"query parameter only: no kind given (want some of pulls,issues,comments,labels,milestones,files)"},
		{"files both ways", "POST", "/api/load/repos/acme/widgets?only=pulls,files&files=false", bearer, 400,
			"only names files but files=false: say one or the other"},

		// The app.
		{"an owner without the app", "POST", "/api/load/repos/elsewhere/widgets", bearer, 422,
			"the app is not installed on elsewhere (neither an organisation nor a user of that name has installed it)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := h.api(tt.method, tt.path, tt.auth)
			if status != tt.status || apiError(t, body) != tt.err {
				t.Errorf("%s %s: status %d, answer %s; want %d, %q", tt.method, tt.path, status, body, tt.status, tt.err)
			}
			if status == http.StatusUnauthorized && header.Get("WWW-Authenticate") != `Bearer realm="osprey"` {
				t.Errorf("401 without WWW-Authenticate: %v", header)
			}
			if status == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
				t.Errorf("405 without Allow: %v", header)
			}
		})
	}
	if n := h.countScans(""); n != 0 {
		t.Errorf("refused requests recorded %d scans", n)
	}
	if strings.Contains(h.logs.String(), apiToken) {
		t.Error("the API token is in the logs")
	}
}

// The flags choose the scans: files=false means false, a bare files means
// true, and each path its kind.
func TestLoadEndpointsChooseTheScan(t *testing.T) {
	h := loadHarness(t, apiToken)
	h.serveRepo(fakeRepo{owner: "acme", name: "widgets", id: 2001, pulls: 3})
	// The repository loads name repositories the fake does not serve, so
	// that they end at once, spawning nothing that the other loads would
	// find running.
	tests := []struct {
		path      string
		kind      string
		number    int
		kinds     []string
		since     bool
		filesScan bool
	}{
		{path: "/api/load/repos/acme/gadgets?files=false", kind: "repository", kinds: backfill.DefaultKinds},
		{path: "/api/load/repos/acme/gears?files=1&since=2026-01-01", kind: "repository",
			kinds: []string{"pulls", "issues", "comments", "labels", "milestones", "files"}, since: true},
		{path: "/api/load/repos/acme/sprockets?only=labels,pulls&files", kind: "repository", kinds: []string{"pulls", "labels", "files"}},
		{path: "/api/load/repos/acme/cogs?only=issues&files=0", kind: "repository", kinds: []string{"issues"}},
		{path: "/api/load/repos/acme/widgets/pulls?files=false", kind: "pulls"},
		{path: "/api/load/repos/acme/gadgets/pulls?files=true&since=2026-01-01T10:00:00Z", kind: "pulls", since: true, filesScan: true},
		{path: "/api/load/repos/acme/widgets/pulls/2?files=false", kind: "pull", number: 2},
		{path: "/api/load/repos/acme/widgets/pulls/3?files", kind: "pull_files", number: 3},
		{path: "/api/load/repos/acme/widgets/pulls/4/files", kind: "pull_files", number: 4},
		{path: "/api/load/repos/acme/widgets/issues", kind: "issues"},
		{path: "/api/load/repos/acme/widgets/issues/5", kind: "issue", number: 5},
		{path: "/api/load/repos/acme/widgets/issues/comments?since=2026-01-01", kind: "comments", since: true},
		{path: "/api/load/repos/acme/widgets/labels", kind: "labels"},
		{path: "/api/load/repos/acme/widgets/milestones", kind: "milestones"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := h.load(tt.path)
			s := a.Scan
			if s.Kind != tt.kind || s.Number != tt.number || (s.Since != nil) != tt.since || s.RequestedBy != "api" || !a.Created {
				t.Errorf("scan %+v, created %v; want kind %s number %d since %v requested by api, created", s, a.Created, tt.kind, tt.number, tt.since)
			}
			if tt.kind == "repository" && !slices.Equal(s.Kinds, tt.kinds) {
				t.Errorf("kinds %v, want %v", s.Kinds, tt.kinds)
			}
			switch {
			case tt.filesScan && (a.FilesScan == nil || a.FilesScan.Scan.Kind != "files" || !a.FilesScan.Created ||
				a.FilesScan.Scan.ID == s.ID || (a.FilesScan.Scan.Since != nil) != tt.since):
				t.Errorf("files scan %+v, want a files scan of its own", a.FilesScan)
			case !tt.filesScan && a.FilesScan != nil:
				t.Errorf("a files scan %+v was queued", a.FilesScan.Scan)
			}
		})
	}
	var files int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM scans WHERE kind = 'files' AND parent_id IS NULL`).Scan(&files); err != nil {
		t.Fatal(err)
	}
	if files != 1 {
		t.Errorf("%d files scans asked for alone, want 1 (the one of files=true)", files)
	}
	logs := h.logs.String()
	for _, want := range []string{`"endpoint":"/api/load/repos/{owner}/{repo}/pulls"`, `"target":"acme/widgets"`, `"kind":"pull_files"`, `"number":3`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
	if strings.Contains(logs, apiToken) {
		t.Error("the API token is in the logs")
	}
}

// A repository load runs through the workers to the end: its progress adds
// up its scans', every object is in Postgres, a second request while it
// runs is answered with it, and a load of the unchanged repository again
// costs 304s.
func TestLoadRepositoryRunsToTheEnd(t *testing.T) {
	h := loadHarness(t, apiToken)
	repo := fakeRepo{owner: "acme", name: "widgets", id: 2001, pulls: 150, issues: 30, comments: 12, labels: 5, milestones: 3}
	h.serveRepo(repo)
	h.fake.ResetRequests()

	// Slow answers keep the first scan running while the second request
	// comes.
	h.fake.SetLatency(300 * time.Millisecond)
	first := h.load("/api/load/repos/acme/widgets")
	again := h.load("/api/load/repos/acme/widgets")
	h.fake.SetLatency(0)
	if !first.Created || again.Created || again.Scan.ID != first.Scan.ID {
		t.Errorf("first scan %d created %v, second %d created %v: want the second to be the first, running",
			first.Scan.ID, first.Created, again.Scan.ID, again.Created)
	}
	if first.Scan.Kind != "repository" || !slices.Equal(first.Scan.Kinds, backfill.DefaultKinds) {
		t.Errorf("first scan %+v", first.Scan)
	}

	p := h.waitScanDone(first.Scan.ID)
	calls := 0
	for _, r := range h.fake.Requests() {
		if strings.HasPrefix(r.Path, "/repos/acme/widgets") {
			calls++
		}
	}
	objects := int64(1 + repo.pulls + repo.issues + repo.comments + repo.labels + repo.milestones)
	// The repository's page, two of pulls and one of each other kind.
	if p.PagesTotal == nil || *p.PagesTotal != 7 || p.PagesDone != 7 || p.Items != objects ||
		p.APICalls != int64(calls) || calls != 7 || p.NotModified != 0 || p.Errors != 0 || p.Swept != 0 ||
		p.Repository != "acme/widgets" || p.RequestedBy != "api" ||
		p.StartedAt == nil || p.FinishedAt == nil || p.ETASeconds == nil || *p.ETASeconds != 0 {
		t.Errorf("progress %+v (pages_total %v); want 7 pages, %d items, %d API calls, no 304", p, deref(p.PagesTotal), objects, calls)
	}
	wantScans := map[string]int64{"pulls": 150, "issues": 30, "comments": 12, "labels": 5, "milestones": 3}
	var kinds []string
	for _, c := range p.Scans {
		kinds = append(kinds, c.Kind)
		pages := 1
		if c.Kind == "pulls" {
			pages = 2
		}
		if c.State != "done" || c.Items != wantScans[c.Kind] || c.PagesTotal == nil || *c.PagesTotal != pages ||
			c.PagesDone != pages || c.APICalls != int64(pages) || c.NotModified != 0 || !c.Complete || c.RequestedBy != "api" {
			t.Errorf("scan of %s: %+v (pages_total %v)", c.Kind, c, deref(c.PagesTotal))
		}
	}
	if !slices.Equal(kinds, backfill.DefaultKinds) {
		t.Errorf("scans of %v, want %v", kinds, backfill.DefaultKinds)
	}
	for table, want := range map[string]int{"pull_requests": 150, "issues": 30, "issue_comments": 12, "labels": 5, "milestones": 3} {
		if n := h.countRows(table, repo.id); n != want {
			t.Errorf("%d rows in %s, want %d", n, table, want)
		}
	}
	var apiRows int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM pull_requests WHERE repository_id = $1
		AND last_replicated_via_api_at IS NOT NULL`, repo.id).Scan(&apiRows); err != nil {
		t.Fatal(err)
	}
	if apiRows != 150 {
		t.Errorf("%d pull requests replicated via the API, want 150", apiRows)
	}

	second := h.load("/api/load/repos/acme/widgets")
	if !second.Created || second.Scan.ID == first.Scan.ID {
		t.Fatalf("a load after the first ended: scan %d created %v", second.Scan.ID, second.Created)
	}
	p2 := h.waitScanDone(second.Scan.ID)
	if p2.NotModified == 0 || p2.Items != objects || p2.Swept != 0 {
		t.Errorf("second load: %+v; want 304s, %d items, nothing swept", p2, objects)
	}
	t.Logf("second load: %d API calls, %d answered 304", p2.APICalls, p2.NotModified)
	if n := h.countRows("pull_requests", repo.id); n != 150 {
		t.Errorf("%d pull requests after the second load, want 150", n)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
