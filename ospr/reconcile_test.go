package ospr

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

// scenario is a fake GitHub holding one pull request, and a reconciler
// talking to it through the real installation client (ETag cache included).
type scenario struct {
	t    *testing.T
	fake *fakegithub.Server
	gh   GitHub
	rc   *Reconciler
	pr   map[string]any
	// boards reaches the fake's Projects (v2) boards; the reconciler
	// leaves boards alone until a test sets rc.Projects to it.
	boards *GraphQLProjects
	// clients creates the fake's clients, for a Service.
	clients githubapp.ClientCreator
}

const installationID = 7

func newScenario(t *testing.T, author string) *scenario {
	t.Helper()
	fake, creator := newFakeGitHub(t, nil)
	client, err := creator.NewInstallationClient(installationID)
	if err != nil {
		t.Fatal(err)
	}
	pr := map[string]any{
		"id": 7007, "node_id": "PR_kwDOwidgets7", "number": 7, "title": "Fix the widgets", "state": "open", "draft": false, "merged": false,
		"user":               map[string]any{"login": author, "type": "User"},
		"author_association": "CONTRIBUTOR", "created_at": "2026-11-20T10:00:00Z",
		"head": map[string]any{"sha": "abc123", "ref": "fix"},
		"base": map[string]any{"ref": "main", "repo": map[string]any{"id": 2001, "name": "widgets", "full_name": "openedx/widgets", "private": false,
			"owner": map[string]any{"id": 1001, "login": "openedx"}}},
		"labels": []any{},
	}
	fake.AddPullRequest("openedx", "widgets", pr)
	rules := testRules(t)
	dir := testDirectory(t)
	s := &scenario{t: t, fake: fake, gh: RESTGitHub{Client: client}, pr: pr, boards: NewGraphQLProjects(InstallationV4ClientFor(creator)), clients: creator, rc: &Reconciler{
		Defaults:          rules,
		Directory:         func() *Directory { return dir },
		Templates:         testTemplates(t),
		BotLogins:         func(context.Context) ([]string, error) { return []string{fake.BotLogin()}, nil },
		PreviousBotLogins: []string{"openedx-webhooks"},
	}}
	return s
}

func (s *scenario) reconcile() Result {
	s.t.Helper()
	res, err := s.rc.Reconcile(context.Background(), s.gh, "openedx", "widgets", 7, false)
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

// writes counts the requests that changed something, and the reads that
// were not answered 304.
func (s *scenario) counts(since int) (writes, fullReads int) {
	for _, r := range s.fake.Requests()[since:] {
		switch {
		case r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/access_tokens"):
			writes++
		case r.Method == http.MethodGet && r.Status != http.StatusNotModified:
			fullReads++
		}
	}
	return writes, fullReads
}

func (s *scenario) comments() []fakegithub.Comment { return s.fake.Comments("openedx", "widgets", 7) }

func TestReconcileANewOutsidePullRequest(t *testing.T) {
	s := newScenario(t, "stranger")
	before := len(s.fake.Requests())
	s.reconcile()
	comments := s.comments()
	if len(comments) != 1 || comments[0].User != s.fake.BotLogin() ||
		!strings.Contains(comments[0].Body, Marker("external_pr")) || !strings.Contains(comments[0].Body, Marker("no_cla")) {
		t.Fatalf("comments = %+v", comments)
	}
	if labels := s.fake.Labels("openedx", "widgets", 7); !slices.Equal(labels, []string{"open-source-contribution"}) {
		t.Errorf("labels = %v", labels)
	}
	statuses := s.fake.Statuses("openedx", "widgets", "abc123")
	if len(statuses) != 1 || statuses[0]["state"] != "failure" || statuses[0]["context"] != "osprey/cla" {
		t.Errorf("statuses = %v", statuses)
	}
	writes, reads := s.counts(before)
	if writes != 3 {
		t.Errorf("%d writes for a new pull request, want 3 (status, label, comment)", writes)
	}
	t.Logf("new outside pull request: %d writes, %d reads that spent rate limit", writes, reads)

	// The next reconcile reads what its writes changed, and plans nothing.
	if res := s.reconcile(); len(res.Actions) != 0 {
		t.Errorf("second reconcile planned %v", res.Actions)
	}
	// Nothing changed since: no writes, and every read is a free 304 or
	// a file remembered as missing (the catalog, both osprey.yml).
	before = len(s.fake.Requests())
	if res := s.reconcile(); len(res.Actions) != 0 {
		t.Errorf("third reconcile planned %v", res.Actions)
	}
	writes, reads = s.counts(before)
	if writes != 0 || reads != 0 {
		t.Errorf("no-op reconcile: %d writes, %d full reads; want none", writes, reads)
	}
}

func TestReconcileFollowsThePullRequest(t *testing.T) {
	s := newScenario(t, "bob-contrib")
	s.reconcile()
	// The author marks it WIP: the comment gains the draft section, in place.
	s.pr["title"] = "WIP: fix the widgets"
	s.reconcile()
	if c := s.comments(); len(c) != 1 || !strings.Contains(c[0].Body, Marker("end_of_wip")) {
		t.Fatalf("after WIP: %+v", c)
	}
	s.pr["title"] = "Fix the widgets"
	s.reconcile()
	if c := s.comments(); len(c) != 1 || strings.Contains(c[0].Body, Marker("end_of_wip")) {
		t.Fatalf("after WIP was removed: %+v", c)
	}
	// Someone labels it; then it is merged: obsolete labels go, the person's
	// other labels stay, the comment is frozen.
	s.fake.AddLabelByHand("openedx", "widgets", 7, "waiting on author")
	s.fake.AddLabelByHand("openedx", "widgets", 7, "needs triage")
	frozen := s.comments()[0].Body
	s.pr["state"], s.pr["merged"], s.pr["merged_at"], s.pr["closed_at"] = "closed", true, "2026-11-24T12:00:00Z", "2026-11-24T12:00:00Z"
	s.pr["title"] = "WIP: merged anyway"
	s.reconcile()
	if labels := s.fake.Labels("openedx", "widgets", 7); !slices.Equal(labels, []string{"open-source-contribution", "needs triage"}) {
		t.Errorf("labels after merge = %v", labels)
	}
	if c := s.comments(); len(c) != 1 || c[0].Body != frozen {
		t.Errorf("the comment changed after the merge: %+v", c)
	}
	// Reopened and reconciled twice (the same event delivered twice).
	s.pr["state"], s.pr["merged"] = "open", false
	s.reconcile()
	s.reconcile()
	if c := s.comments(); len(c) != 1 {
		t.Errorf("%d comments after a reopen delivered twice", len(c))
	}
}

// A label a person adds between observe and apply survives: the reconcile
// adds and removes single labels, never sets the whole list.
func TestReconcileKeepsALabelAddedMeanwhile(t *testing.T) {
	s := newScenario(t, "bob-contrib")
	s.gh = meddler{GitHub: s.gh, before: func() { s.fake.AddLabelByHand("openedx", "widgets", 7, "needs triage") }}
	s.reconcile()
	if labels := s.fake.Labels("openedx", "widgets", 7); !slices.Equal(labels, []string{"needs triage", "open-source-contribution"}) {
		t.Errorf("labels = %v", labels)
	}
}

// meddler runs before once, just before the first label is added.
type meddler struct {
	GitHub
	before func()
}

func (m meddler) AddLabel(ctx context.Context, owner, repo string, number int, label string) error {
	if m.before != nil {
		m.before()
	}
	return m.GitHub.AddLabel(ctx, owner, repo, number, label)
}

func TestReconcileAPullRequestFirstSeenMerged(t *testing.T) {
	s := newScenario(t, "bob-contrib")
	s.pr["state"], s.pr["merged"], s.pr["merged_at"], s.pr["closed_at"] = "closed", true, "2026-11-24T12:00:00Z", "2026-11-24T12:00:00Z"
	s.pr["labels"] = []any{map[string]any{"name": "open-source-contribution"}}
	s.reconcile()
	if c := s.comments(); len(c) != 1 || !strings.Contains(c[0].Body, Marker("welcome_closed")) || !strings.Contains(c[0].Body, "merged") {
		t.Errorf("comments = %+v", c)
	}
}

// The previous bot's first comment is adopted: no second comment, no edit
// (osprey cannot edit another account's comment).
func TestReconcileAdoptsThePreviousBotsComment(t *testing.T) {
	s := newScenario(t, "stranger")
	s.fake.AddComment("openedx", "widgets", 7, "openedx-webhooks", "Thanks for the pull request!\n"+Marker("external_pr")+"\n")
	res := s.reconcile()
	if c := s.comments(); len(c) != 1 || c[0].User != "openedx-webhooks" {
		t.Errorf("comments = %+v", c)
	}
	for _, a := range res.Actions {
		if a.Kind == CreateComment || a.Kind == EditComment {
			t.Errorf("planned %v", a)
		}
	}
}

// A dry run plans and writes nothing.
func TestReconcileDryRun(t *testing.T) {
	s := newScenario(t, "stranger")
	before := len(s.fake.Requests())
	res, err := s.rc.Reconcile(context.Background(), s.gh, "openedx", "widgets", 7, true)
	if err != nil || len(res.Actions) != 3 || res.Class != OSPR {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	if writes, _ := s.counts(before); writes != 0 {
		t.Errorf("a dry run wrote %d times", writes)
	}
}

// A failing action is reported; the others still run.
func TestReconcileRunsEveryActionDespiteAFailure(t *testing.T) {
	s := newScenario(t, "stranger")
	s.gh = failingLabels{s.gh}
	res, err := s.rc.Reconcile(context.Background(), s.gh, "openedx", "widgets", 7, false)
	if err == nil || !strings.Contains(err.Error(), "add-label") || len(res.Failed) != 1 {
		t.Fatalf("err %v, failed %v", err, res.Failed)
	}
	if len(s.comments()) != 1 || len(s.fake.Statuses("openedx", "widgets", "abc123")) != 1 {
		t.Error("the other actions did not run")
	}
}

type failingLabels struct{ GitHub }

func (failingLabels) AddLabel(context.Context, string, string, int, string) error {
	return &github.ErrorResponse{Response: &http.Response{StatusCode: 500, Request: &http.Request{}}, Message: "boom"}
}

// A fresh reconcile (the first attempt after "opened") reads the pull
// request from the replica and writes without reading GitHub first; once
// the replica holds osprey's comment, a fresh request reads GitHub as usual
// and writes nothing twice.
func TestFreshReconcileTrustsTheReplicaOnlyWithoutABotComment(t *testing.T) {
	s := newScenario(t, "stranger")
	db, _ := testdb.New(t)
	s.rc.Replica = StoreReplica{DB: db}
	s.rc.PreviousBotLogins = nil // with one, the comments are listed anyway
	replicate(t, db, s.pr)
	fresh := Request{Owner: "openedx", Repo: "widgets", Number: 7, Fresh: true}

	before := len(s.fake.Requests())
	if _, err := s.rc.Run(context.Background(), s.gh, fresh); err != nil {
		t.Fatal(err)
	}
	for _, req := range s.fake.Requests()[before:] {
		if req.Method == http.MethodGet && (strings.Contains(req.Path, "/pulls/") || strings.HasSuffix(req.Path, "/comments") || strings.HasSuffix(req.Path, "/statuses")) {
			t.Errorf("a fresh reconcile read %s", req.Path)
		}
	}
	if c := s.comments(); len(c) != 1 {
		t.Fatalf("comments = %+v", c)
	}
	commented, err := store.HasCommentBy(context.Background(), db, "OpenEdX", "Widgets", 7, []string{s.fake.BotLogin()})
	if err != nil || !commented {
		t.Fatalf("the comment osprey wrote is not in the replica: %v %v", commented, err)
	}

	// Another fresh request (a rescan got there first, say): GitHub is
	// read, and nothing is written twice.
	before = len(s.fake.Requests())
	res, err := s.rc.Run(context.Background(), s.gh, fresh)
	if err != nil || len(res.Actions) != 0 {
		t.Fatalf("second fresh request: %v, planned %v", err, res.Actions)
	}
	if c := s.comments(); len(c) != 1 {
		t.Errorf("comments = %+v", c)
	}
	if writes, _ := s.counts(before); writes != 0 {
		t.Errorf("%d writes", writes)
	}
}

// A field the board lacks is a problem of its own action: the other field
// of the same request is set and reported applied, and nothing is retried.
func TestReconcileReportsAMissingBoardFieldAlone(t *testing.T) {
	s := newScenario(t, "stranger")
	s.rc.Projects = s.boards
	s.fake.SetOrgInstallation("openedx", installationID)
	s.fake.AddProject("openedx", 19, fakegithub.ProjectField{Name: "Date opened", DataType: "DATE"})
	s.fake.SetFile("openedx", "widgets", "catalog-info.yaml", []byte("spec:\n  owner: group:wranglers\n"))
	res, err := s.rc.Reconcile(context.Background(), s.gh, "openedx", "widgets", 7, false)
	if err != nil {
		t.Fatalf("a configuration problem failed the reconcile: %v", err)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], `no field "Repo Owner / Owning Team"`) || len(res.Failed) != 0 {
		t.Errorf("problems %q, failed %v", res.Problems, res.Failed)
	}
	items := s.fake.ProjectItems("openedx", 19)
	if len(items) != 1 || items[0].Fields["Date opened"] != "2026-11-20" {
		t.Errorf("board items = %+v", items)
	}
}

// An earlier reconcile whose comment reached GitHub but whose answer was
// lost (so the replica never heard of it) still makes a fresh request read
// GitHub: it had recorded that it was about to write.
func TestFreshReconcileAfterALostAnswer(t *testing.T) {
	s := newScenario(t, "stranger")
	db, _ := testdb.New(t)
	replica := StoreReplica{DB: db}
	s.rc.Replica = replica
	pr := replicate(t, db, s.pr)
	// The earlier reconcile: marked, then its comment landed unseen.
	if err := replica.MarkWrite(context.Background(), pr); err != nil {
		t.Fatal(err)
	}
	s.fake.AddComment("openedx", "widgets", 7, s.fake.BotLogin(), "Welcome!\n"+Marker("external_pr")+"\n")
	if _, err := s.rc.Run(context.Background(), s.gh, Request{Owner: "openedx", Repo: "widgets", Number: 7, Fresh: true}); err != nil {
		t.Fatal(err)
	}
	if c := s.comments(); len(c) != 1 {
		t.Errorf("comments = %+v, want the one already there", c)
	}
}

// A wrong app login (triage.app_login) is corrected by the first comment
// osprey writes: the next reconcile knows the comment as its own and
// writes no second one.
func TestReconcileLearnsItsLoginFromItsComment(t *testing.T) {
	s := newScenario(t, "stranger")
	identity := NewAppIdentity(nil, "osprey-typo[bot]")
	s.rc.BotLogins, s.rc.OwnCommentBy = identity.Logins, identity.Learn
	s.reconcile()
	if got, _ := identity.Login(context.Background()); got != s.fake.BotLogin() {
		t.Errorf("login = %q, want %q", got, s.fake.BotLogin())
	}
	if res := s.reconcile(); len(res.Actions) != 0 || len(s.comments()) != 1 {
		t.Errorf("second reconcile planned %v; comments %d", res.Actions, len(s.comments()))
	}
}

// An osprey.yml that points at a file that does not exist is the
// repository's to fix: reported in the status, not retried.
func TestReconcileReportsABrokenRemoteConfig(t *testing.T) {
	s := newScenario(t, "stranger")
	s.fake.SetFile("openedx", "widgets", ".github/osprey.yml", []byte("remote: openedx/nowhere\n"))
	res, err := s.rc.Reconcile(context.Background(), s.gh, "openedx", "widgets", 7, false)
	if err != nil {
		t.Fatalf("retried: %v", err)
	}
	statuses := s.fake.Statuses("openedx", "widgets", "abc123")
	if res.ConfigError == "" || len(statuses) != 1 || statuses[0]["state"] != "error" ||
		!strings.Contains(statuses[0]["description"].(string), "openedx/nowhere") {
		t.Errorf("config error %q, statuses %v", res.ConfigError, statuses)
	}
	if len(s.comments()) != 0 {
		t.Error("commented under a broken config")
	}
}

// With a previous bot configured, a fresh reconcile still lists the
// comments: that bot's comment may not have reached the replica yet.
func TestFreshReconcileListsCommentsWhileAPreviousBotMayComment(t *testing.T) {
	s := newScenario(t, "stranger")
	db, _ := testdb.New(t)
	s.rc.Replica = StoreReplica{DB: db}
	replicate(t, db, s.pr)
	s.fake.AddComment("openedx", "widgets", 7, "openedx-webhooks", "Thanks!\n"+Marker("external_pr")+"\n")
	if _, err := s.rc.Run(context.Background(), s.gh, Request{Owner: "openedx", Repo: "widgets", Number: 7, Fresh: true}); err != nil {
		t.Fatal(err)
	}
	if c := s.comments(); len(c) != 1 || c[0].User != "openedx-webhooks" {
		t.Errorf("comments = %+v, want only the previous bot's", c)
	}
}

// replicate writes the pull request (as the fake holds it) into the
// replica, as its opened delivery would, and returns it.
func replicate(t *testing.T, db *pgxpool.Pool, object map[string]any) PR {
	t.Helper()
	data, err := json.Marshal(object)
	if err != nil {
		t.Fatal(err)
	}
	var pr github.PullRequest
	if err := json.Unmarshal(data, &pr); err != nil {
		t.Fatal(err)
	}
	r := store.NewReplicator(store.ViaWebhook, time.Now())
	r.PullRequest(&pr)
	if err := r.Commit(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return FromGitHub(&pr)
}
