package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/fakejira"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// triageWorld is an osprey with the triage on, and a fake GitHub holding
// one outside pull request, openedx/widgets#7, its repository's catalog and
// the OSPR board openedx:19.
type triageWorld struct {
	*harness
	pr      map[string]any
	sent    int
	baseReq int // requests to the fake before the step being counted
}

const (
	prNode  = "PR_kwDOwidgets7"
	headSHA = "abc123def"
)

func newTriageWorld(t *testing.T, author string) *triageWorld {
	t.Helper()
	return newTriageWorldWith(t, author, nil)
}

// newTriageWorldWith is newTriageWorld with configure applied to the
// server's configuration.
func newTriageWorldWith(t *testing.T, author string, configure func(*server.Config)) *triageWorld {
	t.Helper()
	h := newHarness(t, func(c *server.Config, _ *server.Options) {
		if configure != nil {
			defer configure(c)
		}
		c.Triage.Enabled = true
		c.Triage.AppLogin = "osprey-test[bot]"
		c.Triage.People = "../testdata/contributors/people.csv"
		c.Triage.Institutions = "../testdata/contributors/orgs.yaml"
		c.Triage.PreviousBotLogins = []string{"openedx-webhooks"}
		c.Triage.Rules.Projects.OSPR = "openedx:19"
		c.Triage.Rules.AgreementURL = "https://example.org/agreement"
	})
	w := &triageWorld{harness: h, pr: map[string]any{
		"id": 7007, "node_id": prNode, "number": 7, "title": "Fix the widgets", "state": "open", "draft": false, "merged": false,
		"user":               map[string]any{"id": 501, "login": author, "type": "User"},
		"author_association": "CONTRIBUTOR", "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z",
		"head":   map[string]any{"sha": headSHA, "ref": "fix"},
		"base":   map[string]any{"ref": "main", "repo": repoJSON()},
		"labels": []any{},
	}}
	h.fake.AddPullRequest("openedx", "widgets", w.pr)
	h.fake.SetFile("openedx", "widgets", "catalog-info.yaml", []byte("metadata:\n  name: widgets\nspec:\n  owner: group:widget-wranglers\n  lifecycle: production\n"))
	h.fake.SetOrgInstallation("openedx", 7)
	h.fake.AddProject("openedx", 19,
		fakegithub.ProjectField{Name: "Date opened", DataType: "DATE"},
		fakegithub.ProjectField{Name: "Date merged/closed", DataType: "DATE"},
		fakegithub.ProjectField{Name: "Repo Owner / Owning Team", DataType: "TEXT"})
	return w
}

func repoJSON() map[string]any {
	return map[string]any{"id": 2001, "node_id": "R_widgets", "name": "widgets", "full_name": "openedx/widgets", "private": false,
		"owner": map[string]any{"id": 1001, "login": "openedx", "type": "Organization"}}
}

// event is a pull_request delivery carrying the pull request as it is now.
func (w *triageWorld) event(action, sender string) []byte {
	w.t.Helper()
	body, err := json.Marshal(map[string]any{
		"action": action, "number": w.pr["number"], "pull_request": w.pr, "repository": repoJSON(),
		"installation": map[string]any{"id": 7}, "sender": map[string]any{"id": 900, "login": sender, "type": userType(sender)},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return body
}

// comment is an issue_comment delivery about the pull request.
func (w *triageWorld) comment(action, sender string, at time.Time) []byte {
	w.t.Helper()
	issue := map[string]any{"id": 7107, "number": w.pr["number"], "title": w.pr["title"], "state": w.pr["state"],
		"user": w.pr["user"], "pull_request": map[string]any{"url": "https://api.github.com/repos/openedx/widgets/pulls/7"},
		"created_at": "2026-11-20T10:00:00Z", "updated_at": at.Format(time.RFC3339)}
	if closed, ok := w.pr["closed_at"]; ok {
		issue["closed_at"] = closed
	}
	body, err := json.Marshal(map[string]any{
		"action": action, "issue": issue, "repository": repoJSON(), "installation": map[string]any{"id": 7},
		"comment": map[string]any{"id": 880000 + w.sent, "body": "ping", "user": map[string]any{"id": 900, "login": sender, "type": userType(sender)},
			"created_at": at.Format(time.RFC3339), "updated_at": at.Format(time.RFC3339)},
		"sender": map[string]any{"id": 900, "login": sender, "type": userType(sender)},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return body
}

func userType(login string) string {
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	return "User"
}

// deliver sends one delivery under a new GUID and waits until it and every
// reconcile it caused are done.
func (w *triageWorld) deliver(event string, body []byte) string {
	w.t.Helper()
	w.sent++
	guid := fmt.Sprintf("triage-%03d", w.sent)
	w.send(event, guid, body)
	w.settle()
	return guid
}

// settle waits until no delivery and no reconcile is left to run, and fails
// the test if a reconcile recorded an error.
func (w *triageWorld) settle() {
	w.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var pending int
		err := w.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries WHERE status IN ('queued', 'retrying'))
			+ (SELECT count(*) FROM river_job WHERE kind = 'reconcile_pr' AND state IN ('available', 'pending', 'running', 'scheduled', 'retryable'))`).Scan(&pending)
		if err != nil {
			w.t.Fatal(err)
		}
		if pending == 0 {
			var errs []string
			rows, err := w.db.Query(ctx, `SELECT errors::text FROM river_job WHERE kind = 'reconcile_pr' AND errors IS NOT NULL`)
			if err != nil {
				w.t.Fatal(err)
			}
			for rows.Next() {
				var e string
				_ = rows.Scan(&e)
				errs = append(errs, e)
			}
			rows.Close()
			if len(errs) > 0 {
				w.t.Fatalf("reconciles failed: %v", errs)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatal("deliveries or reconciles still pending after 20s")
}

// reconciles counts the reconcile jobs that ran so far.
func (w *triageWorld) reconciles() int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'reconcile_pr' AND state = 'completed'`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// mark starts counting the requests osprey sends to GitHub.
func (w *triageWorld) mark() { w.baseReq = len(w.fake.Requests()) }

// spent counts the requests since mark that cost rate limit: REST reads
// not answered 304, REST writes, and GraphQL requests (which GitHub never
// answers 304).
func (w *triageWorld) spent() (restReads, restWrites, graphql int) {
	for _, r := range w.fake.Requests()[w.baseReq:] {
		switch {
		case strings.HasSuffix(r.Path, "/access_tokens") || strings.HasSuffix(r.Path, "/installation"):
			// app-level requests, outside the installation's limit
		case r.Path == "/graphql":
			graphql++
		case r.Method == http.MethodGet && r.Status != http.StatusNotModified:
			restReads++
		case r.Method != http.MethodGet:
			restWrites++
		}
	}
	return
}

func (w *triageWorld) comments() []fakegithub.Comment {
	return w.fake.Comments("openedx", "widgets", 7)
}

func (w *triageWorld) labels() []string { return w.fake.Labels("openedx", "widgets", 7) }

// item is the pull request's item on the OSPR board.
func (w *triageWorld) item() fakegithub.FakeProjectItem {
	w.t.Helper()
	items := w.fake.ProjectItems("openedx", 19)
	if len(items) != 1 || items[0].Content != prNode {
		w.t.Fatalf("board items = %+v, want one for %s", items, prNode)
	}
	return items[0]
}

func (w *triageWorld) newestStatus() map[string]any {
	w.t.Helper()
	statuses := w.fake.Statuses("openedx", "widgets", headSHA)
	if len(statuses) == 0 {
		w.t.Fatal("no commit status")
	}
	return statuses[0] // newest first, as GitHub lists them
}

// The story of one outside pull request, each event delivered through the
// hook and reconciled by the job, with exact outcomes on GitHub.
func TestTriageFollowsAnOutsidePullRequestThroughItsLife(t *testing.T) {
	w := newTriageWorld(t, "dana-nosign")

	// Opened: one welcome comment with the agreement section, the category
	// label, a failing agreement status, the board item and its fields.
	w.mark()
	w.deliver("pull_request", w.event("opened", "dana-nosign"))
	reads, writes, graphql := w.spent()
	t.Logf("new outside pull request: %d REST reads, %d REST writes, %d GraphQL requests", reads, writes, graphql)
	c := w.comments()
	if len(c) != 1 || c[0].User != "osprey-test[bot]" || !strings.Contains(c[0].Body, ospr.Marker("external_pr")) ||
		!strings.Contains(c[0].Body, ospr.Marker("no_cla")) || !strings.Contains(c[0].Body, "@dana-nosign") ||
		!strings.Contains(c[0].Body, "`openedx/widget-wranglers`") {
		t.Fatalf("comments after opened: %+v", c)
	}
	if got := w.labels(); !slices.Equal(got, []string{"open-source-contribution"}) {
		t.Errorf("labels after opened: %v", got)
	}
	if s := w.newestStatus(); s["state"] != "failure" || s["context"] != "osprey/cla" {
		t.Errorf("status after opened: %v", s)
	}
	want := map[string]string{"Date opened": "2026-11-20", "Repo Owner / Owning Team": "openedx/widget-wranglers"}
	if got := w.item().Fields; !maps.Equal(got, want) {
		t.Errorf("board fields after opened: %v, want %v", got, want)
	}
	// The first pull request of a repository reads its osprey.yml (two)
	// and catalog; the board's ids are looked up once. With a previous bot
	// configured, the comments are listed too (its comment may not have
	// reached the replica).
	if reads != 4 || writes != 3 || graphql != 3 {
		t.Errorf("opened: %d REST reads, %d REST writes, %d GraphQL requests; want 4 (osprey.yml twice, catalog, comments), 3 (status, label, comment) and 3 (board ids, add, both fields)",
			reads, writes, graphql)
	}

	// A comment by the author: the reconcile finds nothing to change. It
	// reads back what the first one wrote (the pull request's labels, its
	// comments, the statuses: 3 full reads); the next spends no REST rate
	// limit at all.
	w.mark()
	w.deliver("issue_comment", w.comment("created", "dana-nosign", time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)))
	if reads, writes, _ := w.spent(); reads != 3 || writes != 0 {
		t.Errorf("first reconcile after the writes: %d REST reads, %d writes; want 3 and 0", reads, writes)
	}
	w.mark()
	w.deliver("issue_comment", w.comment("edited", "dana-nosign", time.Date(2026, 11, 21, 9, 5, 0, 0, time.UTC)))
	reads, writes, graphql = w.spent()
	t.Logf("no-op reconcile: %d REST reads, %d REST writes, %d GraphQL requests", reads, writes, graphql)
	if reads != 0 || writes != 0 || graphql != 1 {
		t.Errorf("no-op reconcile: %d REST reads, %d writes, %d GraphQL; want 0, 0 and 1 (the board items, which GraphQL cannot revalidate)", reads, writes, graphql)
	}
	if len(w.comments()) != 1 {
		t.Errorf("a second comment appeared: %+v", w.comments())
	}

	// The title says WIP: the comment gains the draft section in place;
	// then the WIP goes and so does the section.
	welcome := w.comments()[0].Body
	w.pr["title"], w.pr["updated_at"] = "WIP: fix the widgets", "2026-11-21T10:00:00Z"
	w.deliver("pull_request", w.event("edited", "dana-nosign"))
	if c := w.comments(); len(c) != 1 || !strings.Contains(c[0].Body, ospr.Marker("end_of_wip")) {
		t.Fatalf("after WIP: %+v", c)
	}
	w.pr["title"], w.pr["updated_at"] = "Fix the widgets", "2026-11-21T11:00:00Z"
	w.deliver("pull_request", w.event("edited", "dana-nosign"))
	if c := w.comments(); len(c) != 1 || c[0].Body != welcome {
		t.Fatalf("after WIP went: %+v", c)
	}

	// A maintainer labels it (a person's label) and closes it: the
	// obsolete label goes, the person's other label stays, the board gets
	// the closing date, the comment is frozen.
	w.fake.AddLabelByHand("openedx", "widgets", 7, "waiting on author")
	w.fake.AddLabelByHand("openedx", "widgets", 7, "needs triage")
	w.pr["labels"] = []any{map[string]any{"name": "open-source-contribution"}, map[string]any{"name": "waiting on author"}, map[string]any{"name": "needs triage"}}
	w.pr["state"], w.pr["closed_at"], w.pr["updated_at"] = "closed", "2026-11-24T12:00:00Z", "2026-11-24T12:00:00Z"
	w.pr["title"] = "WIP: abandoned"
	w.deliver("pull_request", w.event("closed", "alice-maint"))
	if got := w.labels(); !slices.Equal(got, []string{"open-source-contribution", "needs triage"}) {
		t.Errorf("labels after close: %v", got)
	}
	if c := w.comments(); len(c) != 1 || c[0].Body != welcome {
		t.Errorf("the comment changed after the close: %+v", c)
	}
	want = map[string]string{"Date opened": "2026-11-20", "Date merged/closed": "2026-11-24", "Repo Owner / Owning Team": "openedx/widget-wranglers"}
	if got := w.item().Fields; !maps.Equal(got, want) {
		t.Errorf("board fields after close: %v, want %v", got, want)
	}
	// "Close with comment": the comment made in the same second as the
	// close asks for no reconcile of its own.
	before := w.reconciles()
	w.deliver("issue_comment", w.comment("created", "alice-maint", time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)))
	if n := w.reconciles() - before; n != 0 {
		t.Errorf("the close-with-comment ran %d reconciles", n)
	}

	// Reopened, and the same delivery sent twice (GitHub's redelivery
	// keeps its GUID), and once more under another GUID.
	w.pr["state"], w.pr["updated_at"], w.pr["title"] = "open", "2026-11-25T08:00:00Z", "Fix the widgets"
	delete(w.pr, "closed_at")
	w.pr["labels"] = []any{map[string]any{"name": "open-source-contribution"}, map[string]any{"name": "needs triage"}}
	reopened := w.event("reopened", "alice-maint")
	guid := w.deliver("pull_request", reopened)
	w.send("pull_request", guid, reopened)
	w.deliver("pull_request", reopened)
	if c := w.comments(); len(c) != 1 {
		t.Errorf("%d comments after the reopen", len(c))
	}
	if got := w.labels(); !slices.Equal(got, []string{"open-source-contribution", "needs triage"}) {
		t.Errorf("labels after reopen: %v", got)
	}
	if items := w.fake.ProjectItems("openedx", 19); len(items) != 1 {
		t.Errorf("board items after reopen: %+v", items)
	}

	// The app's own label event asks for no reconcile (no loop).
	before = w.reconciles()
	w.deliver("pull_request", w.event("labeled", "osprey-test[bot]"))
	if n := w.reconciles() - before; n != 0 {
		t.Errorf("the app's own event ran %d reconciles", n)
	}
}

// What a new outside pull request costs once osprey knows its repository
// and board: the writes, and the comments list (a previous bot is
// configured, whose comment may not have reached the replica yet).
func TestTriageRequestsForANewPullRequest(t *testing.T) {
	w := newTriageWorld(t, "dana-nosign")
	w.deliver("pull_request", w.event("opened", "dana-nosign"))
	// A second pull request in the same repository.
	w.pr = maps.Clone(w.pr)
	w.pr["id"], w.pr["number"], w.pr["node_id"] = 7008, 8, "PR_kwDOwidgets8"
	w.pr["head"], w.pr["labels"] = map[string]any{"sha": "fedcba987", "ref": "other"}, []any{}
	w.fake.AddPullRequest("openedx", "widgets", w.pr)
	w.mark()
	w.deliver("pull_request", w.event("opened", "dana-nosign"))
	reads, writes, graphql := w.spent()
	t.Logf("new outside pull request, known repository: %d REST reads, %d REST writes, %d GraphQL requests", reads, writes, graphql)
	if reads != 1 || writes != 3 || graphql != 2 {
		t.Errorf("%d REST reads, %d REST writes, %d GraphQL requests; want 1 (comments), 3 (status, label, comment) and 2 (add, both fields)", reads, writes, graphql)
	}
	if c := w.fake.Comments("openedx", "widgets", 8); len(c) != 1 {
		t.Errorf("comments on #8: %+v", c)
	}
	if items := w.fake.ProjectItems("openedx", 19); len(items) != 2 || items[1].Fields["Date opened"] != "2026-11-20" {
		t.Errorf("board items: %+v", items)
	}
	// Its next reconcile reads back what the first wrote: the pull request
	// (labels), comments and statuses, once; after that, nothing.
	for i, want := range []int{3, 0} {
		w.mark()
		w.deliver("issue_comment", w.comment("created", "dana-nosign", time.Date(2026, 11, 21, 9, i, 0, 0, time.UTC)))
		reads, writes, graphql := w.spent()
		t.Logf("reconcile %d after it: %d REST reads, %d REST writes, %d GraphQL requests", i+1, reads, writes, graphql)
		if reads != want || writes != 0 || graphql != 1 {
			t.Errorf("reconcile %d after: %d REST reads, %d writes, %d GraphQL; want %d, 0 and 1 (the board items)", i+1, reads, writes, graphql, want)
		}
	}
}

// Two deliveries for one pull request processed at once: the reconciles
// take turns (or fold into one), and the pull request ends with exactly
// one comment, one status write per change and one board item.
func TestTriageTwoEventsAtOnce(t *testing.T) {
	w := newTriageWorld(t, "bob-contrib")
	var wg sync.WaitGroup
	bodies := map[string][]byte{
		"a": w.event("opened", "bob-contrib"),
		"b": w.comment("created", "bob-contrib", time.Date(2026, 11, 20, 10, 0, 5, 0, time.UTC)),
		"c": w.event("edited", "bob-contrib"),
	}
	events := map[string]string{"a": "pull_request", "b": "issue_comment", "c": "pull_request"}
	for key, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.send(events[key], "at-once-"+key, body)
		}()
	}
	wg.Wait()
	w.settle()
	if c := w.comments(); len(c) != 1 || strings.Contains(c[0].Body, ospr.Marker("no_cla")) {
		t.Errorf("comments: %+v", c)
	}
	if got := w.labels(); !slices.Equal(got, []string{"open-source-contribution"}) {
		t.Errorf("labels: %v", got)
	}
	if s := w.fake.Statuses("openedx", "widgets", headSHA); len(s) != 1 || s[0]["state"] != "success" {
		t.Errorf("statuses: %v", s)
	}
	if items := w.fake.ProjectItems("openedx", 19); len(items) != 1 {
		t.Errorf("board items: %+v", items)
	}
}

// A repository whose .github/osprey.yml does not parse gets one clear
// commit status naming the file and the line, and nothing else.
func TestTriageReportsABrokenRepositoryConfig(t *testing.T) {
	w := newTriageWorld(t, "dana-nosign")
	w.fake.SetFile("openedx", "widgets", ".github/osprey.yml", []byte("labels:\n  ospr: [unclosed\n"))
	w.deliver("pull_request", w.event("opened", "dana-nosign"))
	s := w.newestStatus()
	desc, _ := s["description"].(string)
	if s["state"] != "error" || !strings.Contains(desc, ".github/osprey.yml") || !strings.Contains(desc, "line") {
		t.Errorf("status: %v", s)
	}
	if len(w.comments()) != 0 || len(w.labels()) != 0 || len(w.fake.ProjectItems("openedx", 19)) != 0 {
		t.Errorf("changes made under a broken config: comments %v labels %v", w.comments(), w.labels())
	}
	if !strings.Contains(w.logs.String(), "triage settings of this repository are broken") {
		t.Error("the broken config was not logged")
	}
	// Fixed: the next event reconciles as usual.
	w.fake.SetFile("openedx", "widgets", ".github/osprey.yml", []byte("labels:\n  ospr: outside contribution\n"))
	w.deliver("pull_request", w.event("edited", "dana-nosign"))
	if got := w.labels(); !slices.Equal(got, []string{"outside contribution"}) {
		t.Errorf("labels once fixed: %v", got)
	}
	if s := w.newestStatus(); s["state"] != "failure" {
		t.Errorf("status once fixed: %v", s)
	}
	_ = store.StatusProcessed
}

// A jira:<nick> label added on GitHub: the labeled delivery reconciles the
// pull request, which makes the issue on the fake Jira and links it in a
// comment; the label event of osprey's own comment does nothing more.
func TestTriageJiraLabelThroughTheHook(t *testing.T) {
	jira := fakejira.New(fakejira.Cloud, fakejira.Account{AccountID: "1", Email: "osprey@example.org", DisplayName: "osprey", Token: "tok"})
	t.Cleanup(jira.Close)
	jira.AddProject("OSPR", "Task")
	dir := t.TempDir()
	mapping, servers := filepath.Join(dir, "mapping.yaml"), filepath.Join(dir, "servers.yaml")
	if err := os.WriteFile(mapping, []byte("defaults: {project: OSPR, type: Task}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := "Test1:\n  server: " + jira.URL + "\n  email: osprey@example.org\n  token_env: OSPREY_TEST_JIRA_TOKEN\n  mapping: " + mapping + "\n"
	if err := os.WriteFile(servers, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OSPREY_TEST_JIRA_TOKEN", "tok")
	w := newTriageWorldWith(t, "bob-contrib", func(c *server.Config) { c.Jira.Servers = servers })
	w.deliver("pull_request", w.event("opened", "bob-contrib"))
	w.fake.AddLabelByHand("openedx", "widgets", 7, "jira:test1")
	w.pr["labels"] = []any{map[string]any{"name": "open-source-contribution"}, map[string]any{"name": "jira:test1"}}
	w.pr["updated_at"] = "2026-11-21T08:00:00Z"
	w.deliver("pull_request", w.event("labeled", "alice-maint"))
	if issues := jira.Issues(); len(issues) != 1 || issues[0].Key != "OSPR-1" {
		t.Fatalf("issues = %+v", issues)
	}
	var links int
	for _, c := range w.comments() {
		if strings.Contains(c.Body, "[OSPR-1]("+jira.URL+"/browse/OSPR-1)") {
			links++
		}
	}
	if links != 1 {
		t.Errorf("%d link comments: %+v", links, w.comments())
	}
	w.deliver("issue_comment", w.comment("created", "bob-contrib", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)))
	if len(jira.Issues()) != 1 || len(w.comments()) != 2 {
		t.Errorf("after another event: %d issues, %d comments", len(jira.Issues()), len(w.comments()))
	}
}
