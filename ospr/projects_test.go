package ospr

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/shurcooL/githubv4"

	"github.com/osprey-bot/osprey/internal/fakegithub"
)

// The pull request and boards of these tests: openedx:19 is the OSPR board
// with the four kinds of fields osprey sets, acme:4 is another
// organisation's board, and nobody has not installed the app.
const boardPR = "PR_kwDOtest7"

var (
	osprBoard  = ProjectRef{"openedx", 19}
	acmeBoard  = ProjectRef{"acme", 4}
	otherBoard = ProjectRef{"nobody", 3}
)

var osprFields = []fakegithub.ProjectField{
	{Name: "Date opened", DataType: "DATE"},
	{Name: "Repo Owner / Owning Team", DataType: "TEXT"},
	{Name: "Priority", DataType: "NUMBER"},
	{Name: "Status", DataType: "SINGLE_SELECT", Options: []string{"Needs triage", "In review"}},
	{Name: "Sprint", DataType: "ITERATION"},
}

// boardFixture is a fake GitHub holding the boards, and GraphQLProjects
// reaching it through the real client creator and installation lookup.
type boardFixture struct {
	t         *testing.T
	fake      *fakegithub.Server
	creator   githubapp.ClientCreator
	clientFor func(context.Context, string) (*githubv4.Client, error)
	projects  *GraphQLProjects
}

func newBoardFixture(t *testing.T) *boardFixture {
	t.Helper()
	fake, creator := newFakeGitHub(t, nil)
	fake.SetOrgInstallation("openedx", 11)
	fake.SetOrgInstallation("acme", 12)
	fake.AddProject(osprBoard.Owner, osprBoard.Number, osprFields...)
	fake.AddProject(acmeBoard.Owner, acmeBoard.Number, fakegithub.ProjectField{Name: "Date opened", DataType: "DATE"})
	fake.AddProject(otherBoard.Owner, otherBoard.Number)
	fake.AddPullRequestNode(boardPR)
	clientFor := InstallationV4ClientFor(creator)
	return &boardFixture{t: t, fake: fake, creator: creator, clientFor: clientFor, projects: NewGraphQLProjects(clientFor)}
}

// graphqlRequests counts the GraphQL requests sent since mark.
func (f *boardFixture) graphqlRequests(mark int) int {
	n := 0
	for _, r := range f.fake.Requests()[mark:] {
		if r.Method == http.MethodPost && r.Path == "/graphql" {
			n++
		}
	}
	return n
}

func (f *boardFixture) mark() int { return len(f.fake.Requests()) }

func (f *boardFixture) add(board ProjectRef) ProjectItem {
	f.t.Helper()
	item, err := f.projects.AddItem(context.Background(), board, boardPR)
	if err != nil {
		f.t.Fatalf("AddItem(%s): %v", board, err)
	}
	return item
}

func TestProjectsSetFieldsAndReadThemBack(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	item := f.add(osprBoard)
	if item.ID == "" || len(item.Fields) != 0 {
		t.Fatalf("new item = %+v", item)
	}
	for _, tc := range []struct{ field, value string }{
		{"Date opened", "2026-11-20"},
		{"Repo Owner / Owning Team", "openedx/wg-build-test-release"},
		{"Priority", "2.5"},
		{"Priority", "3"},
		{"Status", "In review"},
	} {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			if err := f.projects.SetField(ctx, osprBoard, item.ID, tc.field, tc.value); err != nil {
				t.Fatal(err)
			}
			if got := f.fake.ProjectItems("openedx", 19)[0].Fields[tc.field]; got != tc.value {
				t.Errorf("the board holds %q, want %q", got, tc.value)
			}
		})
	}
	want := map[string]string{
		"Date opened": "2026-11-20", "Repo Owner / Owning Team": "openedx/wg-build-test-release",
		"Priority": "3", "Status": "In review",
	}
	items, err := f.projects.Items(ctx, boardPR, []ProjectRef{osprBoard, acmeBoard})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(items, map[ProjectRef]ProjectItem{osprBoard: {ID: item.ID, Fields: want}}) {
		t.Errorf("Items = %+v", items)
	}
	// Adding it again returns the same item, with the values it has.
	again := f.add(osprBoard)
	if !reflect.DeepEqual(again, ProjectItem{ID: item.ID, Fields: want}) {
		t.Errorf("second AddItem = %+v, want the same item %s with %v", again, item.ID, want)
	}
	if got := f.fake.ProjectItems("openedx", 19); len(got) != 1 || got[0].Content != boardPR {
		t.Errorf("the board holds %+v, want one item for %s", got, boardPR)
	}
}

func TestProjectsItemsOnSeveralOwnersBoards(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	ospr, acme := f.add(osprBoard), f.add(acmeBoard)
	if err := f.projects.SetField(ctx, acmeBoard, acme.ID, "Date opened", "2026-01-02"); err != nil {
		t.Fatal(err)
	}
	mark := f.mark()
	items, err := f.projects.Items(ctx, boardPR, []ProjectRef{osprBoard, acmeBoard, {"openedx", 20}, osprBoard})
	if err != nil {
		t.Fatal(err)
	}
	want := map[ProjectRef]ProjectItem{
		osprBoard: {ID: ospr.ID, Fields: map[string]string{}},
		acmeBoard: {ID: acme.ID, Fields: map[string]string{"Date opened": "2026-01-02"}},
	}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("Items = %+v, want %+v", items, want)
	}
	if n := f.graphqlRequests(mark); n != 2 {
		t.Errorf("Items sent %d GraphQL requests, want 2 (one per owner)", n)
	}
}

func TestProjectsConfigurationErrors(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	item := f.add(osprBoard)
	for _, tc := range []struct {
		name         string
		board        ProjectRef
		field, value string
		want         error // nil: an error that is not a configuration error
		mentions     string
	}{
		{"missing field", osprBoard, "Date merged/closed", "2026-11-21", ErrNoSuchField, `"Date merged/closed"`},
		{"missing option", osprBoard, "Status", "Done", ErrNoSuchField, `"Done"`},
		{"option names are case-sensitive", osprBoard, "Status", "in review", ErrNoSuchField, `"in review"`},
		{"a kind osprey cannot set", osprBoard, "Sprint", "Sprint 3", ErrNoSuchField, "ITERATION"},
		{"missing project", ProjectRef{"openedx", 99}, "Date opened", "2026-11-21", ErrNoSuchProject, "openedx:99"},
		{"owner without the app", otherBoard, "Date opened", "2026-11-21", ErrNoInstallation, "nobody"},
		{"not a date", osprBoard, "Date opened", "20 Nov 2026", nil, `"20 Nov 2026"`},
		{"not a number", osprBoard, "Priority", "high", nil, `"high"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.projects.SetField(ctx, tc.board, item.ID, tc.field, tc.value)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("error %v is not %v", err, tc.want)
			case tc.want == nil && IsConfigProblem(err):
				t.Errorf("error %v is a configuration error", err)
			case !strings.Contains(err.Error(), tc.mentions) || !strings.Contains(err.Error(), tc.board.String()):
				t.Errorf("error %q names neither %s nor %s", err, tc.mentions, tc.board)
			}
		})
	}
	if got := f.fake.ProjectItems("openedx", 19)[0].Fields; len(got) != 0 {
		t.Errorf("failed calls changed the item: %v", got)
	}
	if _, err := f.projects.AddItem(ctx, ProjectRef{"openedx", 99}, boardPR); !errors.Is(err, ErrNoSuchProject) {
		t.Errorf("AddItem on a missing project: %v", err)
	}
}

func TestProjectsOwnerWithoutTheApp(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	ospr := f.add(osprBoard)
	items, err := f.projects.Items(ctx, boardPR, []ProjectRef{osprBoard, otherBoard})
	if !errors.Is(err, ErrNoInstallation) || !strings.Contains(err.Error(), "nobody:3") {
		t.Errorf("Items error = %v, want ErrNoInstallation naming nobody:3", err)
	}
	if !reflect.DeepEqual(items, map[ProjectRef]ProjectItem{osprBoard: {ID: ospr.ID, Fields: map[string]string{}}}) {
		t.Errorf("Items = %+v, want the readable board's item", items)
	}
	if _, err := f.projects.AddItem(ctx, otherBoard, boardPR); !errors.Is(err, ErrNoInstallation) || !strings.Contains(err.Error(), "nobody:3") {
		t.Errorf("AddItem error = %v, want ErrNoInstallation naming nobody:3", err)
	}
	if got := f.fake.ProjectItems("nobody", 3); len(got) != 0 {
		t.Errorf("the board of an owner without the app got items: %+v", got)
	}
	// Once the owner installs the app, the next call finds it.
	f.fake.SetOrgInstallation("nobody", 13)
	if item := f.add(otherBoard); item.ID == "" {
		t.Errorf("after installing: %+v", item)
	}
}

// The ids of a board are looked up once; each later call is one request.
func TestProjectsRememberBoardIDs(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want int
	}{
		{"cold AddItem: look-up and mutation", func() error { _, err := f.projects.AddItem(ctx, osprBoard, boardPR); return err }, 2},
		{"warm AddItem", func() error { _, err := f.projects.AddItem(ctx, osprBoard, boardPR); return err }, 1},
		{"warm SetField", func() error {
			return f.projects.SetField(ctx, osprBoard, f.fake.ProjectItems("openedx", 19)[0].ID, "Date opened", "2026-11-20")
		}, 1},
		{"second SetField", func() error {
			return f.projects.SetField(ctx, osprBoard, f.fake.ProjectItems("openedx", 19)[0].ID, "Status", "In review")
		}, 1},
		{"Items, one owner", func() error { _, err := f.projects.Items(ctx, boardPR, []ProjectRef{osprBoard}); return err }, 1},
	} {
		mark := f.mark()
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := f.graphqlRequests(mark); n != tc.want {
			t.Errorf("%s: %d GraphQL requests, want %d", tc.name, n, tc.want)
		}
	}
	// A cold SetField also costs the look-up.
	cold := NewGraphQLProjects(f.clientFor)
	mark := f.mark()
	if err := cold.SetField(ctx, osprBoard, f.fake.ProjectItems("openedx", 19)[0].ID, "Priority", "1"); err != nil {
		t.Fatal(err)
	}
	if n := f.graphqlRequests(mark); n != 2 {
		t.Errorf("cold SetField: %d GraphQL requests, want 2", n)
	}
}

// A board deleted and created again under the same number has new ids: the
// first call with the old ids fails (an error the job retries, not a
// configuration error) and forgets them; the next call looks the board up
// again and succeeds.
func TestProjectsForgetIDsThatAreGone(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	old := f.add(osprBoard)
	f.fake.RemoveProject("openedx", 19)
	f.fake.AddProject("openedx", 19, osprFields...)

	mark := f.mark()
	_, err := f.projects.AddItem(ctx, osprBoard, boardPR)
	if err == nil || IsConfigProblem(err) || !strings.Contains(err.Error(), "Could not resolve") {
		t.Fatalf("AddItem with the old ids: %v", err)
	}
	if n := f.graphqlRequests(mark); n != 1 {
		t.Errorf("the failing call sent %d GraphQL requests, want 1", n)
	}
	mark = f.mark()
	item := f.add(osprBoard)
	if item.ID == "" || item.ID == old.ID {
		t.Errorf("item on the new board = %+v (old item %s)", item, old.ID)
	}
	if n := f.graphqlRequests(mark); n != 2 {
		t.Errorf("the next call sent %d GraphQL requests, want 2 (look-up and mutation)", n)
	}
	if err := f.projects.SetField(ctx, osprBoard, item.ID, "Status", "Needs triage"); err != nil {
		t.Fatal(err)
	}
	if got := f.fake.ProjectItems("openedx", 19); len(got) != 1 || got[0].Fields["Status"] != "Needs triage" {
		t.Errorf("new board = %+v", got)
	}
}

// A field removed from a board whose ids are remembered: the call with the
// stale field id fails (retried, not a configuration error) and forgets the
// board; the next call looks it up and answers ErrNoSuchField.
func TestProjectsFieldRemovedFromTheBoard(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	item := f.add(osprBoard)
	if err := f.projects.SetField(ctx, osprBoard, item.ID, "Status", "In review"); err != nil {
		t.Fatal(err)
	}
	f.fake.RemoveProjectField("openedx", 19, "Status")
	mark := f.mark()
	err := f.projects.SetField(ctx, osprBoard, item.ID, "Status", "Needs triage")
	if err == nil || IsConfigProblem(err) || !strings.Contains(err.Error(), "Could not resolve") {
		t.Fatalf("SetField with a stale field id: %v", err)
	}
	if n := f.graphqlRequests(mark); n != 1 {
		t.Errorf("the failing call sent %d GraphQL requests, want 1", n)
	}
	mark = f.mark()
	if err := f.projects.SetField(ctx, osprBoard, item.ID, "Status", "Needs triage"); !errors.Is(err, ErrNoSuchField) {
		t.Errorf("SetField of the removed field: %v", err)
	}
	if n := f.graphqlRequests(mark); n != 1 {
		t.Errorf("the next call sent %d GraphQL requests, want 1 (the look-up)", n)
	}
	// The other fields still work, with the ids just looked up.
	mark = f.mark()
	if err := f.projects.SetField(ctx, osprBoard, item.ID, "Priority", "1"); err != nil {
		t.Fatal(err)
	}
	if n := f.graphqlRequests(mark); n != 1 {
		t.Errorf("SetField after the look-up sent %d GraphQL requests, want 1", n)
	}
}

// A field added to a board after its ids were remembered is found: a name
// missing from the remembered ids makes SetField look the board up again
// before it answers ErrNoSuchField.
func TestProjectsFieldAddedLater(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	item := f.add(acmeBoard)
	mark := f.mark()
	if err := f.projects.SetField(ctx, acmeBoard, item.ID, "Owner", "x"); !errors.Is(err, ErrNoSuchField) {
		t.Fatalf("SetField of a field the board lacks: %v", err)
	}
	if n := f.graphqlRequests(mark); n != 1 {
		t.Errorf("SetField of a missing field sent %d GraphQL requests, want 1 (a fresh look-up)", n)
	}
	f.fake.AddProjectField(acmeBoard.Owner, acmeBoard.Number, fakegithub.ProjectField{Name: "Owner", DataType: "TEXT"})
	mark = f.mark()
	if err := f.projects.SetField(ctx, acmeBoard, item.ID, "Owner", "x"); err != nil {
		t.Fatalf("SetField of the new field: %v", err)
	}
	if n := f.graphqlRequests(mark); n != 2 {
		t.Errorf("SetField of the new field sent %d GraphQL requests, want 2 (look-up and mutation)", n)
	}
	if got := f.fake.ProjectItems("acme", 4)[0].Fields; !reflect.DeepEqual(got, map[string]string{"Owner": "x"}) {
		t.Errorf("item fields = %v", got)
	}
}

func TestProjectsClientForRemembersInstallations(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	lookups := func() int {
		return f.fake.Count(http.MethodGet, "/orgs/openedx/installation", http.StatusOK)
	}
	for i := 0; i < 3; i++ {
		if _, err := f.clientFor(ctx, "openedx"); err != nil {
			t.Fatal(err)
		}
	}
	if n := lookups(); n != 1 {
		t.Errorf("%d installation look-ups for three calls, want 1", n)
	}
	// An owner without the app is asked again each time (as an
	// organisation, then as a user), so that installing it later is seen.
	for i := 0; i < 2; i++ {
		if _, err := f.clientFor(ctx, "nobody"); !errors.Is(err, ErrNoInstallation) {
			t.Fatalf("owner without the app: %v", err)
		}
	}
	if n := f.fake.Count(http.MethodGet, "/users/nobody/installation", http.StatusNotFound); n != 2 {
		t.Errorf("%d user look-ups for nobody, want 2", n)
	}
}

// A document GitHub's schema refuses is an error from the client: the fake
// checks every document osprey sends.
func TestProjectsSchemaRefusesABadDocument(t *testing.T) {
	f := newBoardFixture(t)
	client, err := f.clientFor(context.Background(), "openedx")
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		RepositoryOwner struct {
			Login  string
			Boards int `graphql:"projectsCount"`
		} `graphql:"repositoryOwner(login: \"openedx\")"`
	}
	err = client.Query(context.Background(), &q, nil)
	if err == nil || !strings.Contains(err.Error(), "projectsCount") {
		t.Errorf("bad document: %v", err)
	}
}

func TestProjectsItemsOfAnUnknownPullRequest(t *testing.T) {
	f := newBoardFixture(t)
	items, err := f.projects.Items(context.Background(), "PR_gone", []ProjectRef{osprBoard})
	if err == nil || IsConfigProblem(err) || !strings.Contains(err.Error(), "openedx:19") || len(items) != 0 {
		t.Errorf("Items of an unknown pull request: %v, %v", items, err)
	}
}

// Several fields go in one request; a field the board lacks is named, and
// the others are still set.
func TestProjectsSetFieldsInOneRequest(t *testing.T) {
	f := newBoardFixture(t)
	ctx := context.Background()
	item := f.add(osprBoard)
	mark := f.mark()
	err := f.projects.SetFields(ctx, osprBoard, item.ID, map[string]string{
		"Date opened": "2026-11-20", "Priority": "4", "Status": "Needs triage", "Repo Owner / Owning Team": "openedx/wg",
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.graphqlRequests(mark); n != 1 {
		t.Errorf("%d GraphQL requests for four fields, want 1", n)
	}
	want := map[string]string{"Date opened": "2026-11-20", "Priority": "4", "Status": "Needs triage", "Repo Owner / Owning Team": "openedx/wg"}
	if got := f.fake.ProjectItems("openedx", 19)[0].Fields; !reflect.DeepEqual(got, want) {
		t.Errorf("the board holds %v, want %v", got, want)
	}
	err = f.projects.SetFields(ctx, osprBoard, item.ID, map[string]string{"Nope": "x", "Priority": "5"})
	if !errors.Is(err, ErrNoSuchField) || !strings.Contains(err.Error(), `"Nope"`) {
		t.Errorf("missing field: %v", err)
	}
	if got := f.fake.ProjectItems("openedx", 19)[0].Fields["Priority"]; got != "5" {
		t.Errorf("the field the board has was not set: %q", got)
	}
}

// A missing permission is a configuration problem; a pull request GitHub
// does not resolve yet is worth another try.
func TestRefusalsAreConfigurationProblems(t *testing.T) {
	if err := refused(errors.New("Resource not accessible by integration")); !IsConfigProblem(err) || !errors.Is(err, ErrNoAccess) {
		t.Errorf("permission refused: %v", err)
	}
	if err := refused(errors.New("Could not resolve to a node with the global id of 'PR_x'")); IsConfigProblem(err) {
		t.Errorf("an unresolved node is not a configuration problem: %v", err)
	}
	if err := refused(errors.New("non-200 OK status code: 403 Forbidden body: \"You have exceeded a secondary rate limit\"")); IsConfigProblem(err) {
		t.Errorf("a secondary rate limit is not a configuration problem: %v", err)
	}
}
