package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/vektah/gqlparser/v2/ast"
)

// newProjectsFake is a fake with the board openedx:19 (owner installed as
// 11), the board solo:2 (owner never registered), a pull request node, and
// tokens of installations 11 and 12.
func newProjectsFake(t *testing.T) (*Server, githubapp.Config, string) {
	t.Helper()
	s, cfg, err := NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.tokens["tok11"], s.tokens["tok12"] = 11, 12
	s.mu.Unlock()
	s.SetOrgInstallation("openedx", 11)
	project := s.AddProject("openedx", 19,
		ProjectField{Name: "Date opened", DataType: "DATE"},
		ProjectField{Name: "Owner", DataType: "TEXT"},
		ProjectField{Name: "Points", DataType: "NUMBER"},
		ProjectField{Name: "Status", DataType: "SINGLE_SELECT", Options: []string{"New", "Done"}},
		ProjectField{Name: "Sprint", DataType: "ITERATION"},
	)
	s.AddProject("solo", 2, ProjectField{Name: "Owner", DataType: "TEXT"})
	s.AddPullRequestNode("PR_1")
	return s, cfg, project
}

type gqlAnswer struct {
	Data   any `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

func (a gqlAnswer) messages() []string {
	var out []string
	for _, e := range a.Errors {
		out = append(out, e.Message)
	}
	return out
}

// post sends a GraphQL document with an installation token.
func post(t *testing.T, s *Server, token, query string, vars map[string]any) gqlAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var answer gqlAnswer
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	return answer
}

// asJSON turns a Go value into what decoding its JSON gives, to compare
// with an answer.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

func addItem(t *testing.T, s *Server, token, project, content string) string {
	t.Helper()
	a := post(t, s, token, `mutation($input: AddProjectV2ItemByIdInput!) { addProjectV2ItemById(input: $input) { item { id } } }`,
		map[string]any{"input": map[string]any{"projectId": project, "contentId": content}})
	if len(a.Errors) > 0 {
		t.Fatalf("adding %s: %v", content, a.messages())
	}
	return a.Data.(map[string]any)["addProjectV2ItemById"].(map[string]any)["item"].(map[string]any)["id"].(string)
}

func TestProjectsInstallationEndpoints(t *testing.T) {
	s, cfg, _ := newProjectsFake(t)
	app, err := githubapp.NewClientCreator(cfg.V3APIURL, cfg.V4APIURL, cfg.App.IntegrationID, []byte(cfg.App.PrivateKey)).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		find  func(context.Context, string) (*github.Installation, *github.Response, error)
		owner string
		want  int64 // 0: 404
	}{
		{"organisation", app.Apps.FindOrganizationInstallation, "openedx", 11},
		{"organisation, other case", app.Apps.FindOrganizationInstallation, "OpenEdX", 11},
		{"user", app.Apps.FindUserInstallation, "openedx", 11},
		{"organisation without the app", app.Apps.FindOrganizationInstallation, "solo", 0},
		{"user without the app", app.Apps.FindUserInstallation, "nobody", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, resp, err := tc.find(ctx, tc.owner)
			if tc.want == 0 {
				var ghErr *github.ErrorResponse
				if !errors.As(err, &ghErr) || resp.StatusCode != http.StatusNotFound || ghErr.Message != "Not Found" {
					t.Errorf("want 404 Not Found, got %v", err)
				}
				return
			}
			if err != nil || inst.GetID() != tc.want || inst.GetAccount().GetLogin() != tc.owner {
				t.Errorf("installation = %+v, %v", inst, err)
			}
		})
	}
	// go-githubapp's look-up maps the 404s to InstallationNotFound.
	if _, err := githubapp.NewInstallationsService(app).GetByOwner(ctx, "nobody"); !errors.As(err, new(githubapp.InstallationNotFound)) {
		t.Errorf("GetByOwner(nobody) = %v", err)
	}
	// An installation token is not an app JWT.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/orgs/openedx/installation", nil)
	req.Header.Set("Authorization", "token tok11")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with an installation token: %d, want 401", resp.StatusCode)
	}
}

// The executor answers what the selection asks: aliases, __typename,
// inline fragments on interfaces and unions, named fragments, variables
// and literal arguments.
func TestProjectsExecutorAnswersTheSelection(t *testing.T) {
	s, _, project := newProjectsFake(t)
	item := addItem(t, s, "tok11", project, "PR_1")
	set := post(t, s, "tok11", `mutation { updateProjectV2ItemFieldValue(input: {projectId: "`+project+`", itemId: "`+item+`",
		fieldId: "`+fieldID(t, s, "openedx", 19, "Points")+`", value: {number: 3}}) { clientMutationId } }`, nil)
	if !reflect.DeepEqual(set.Data, map[string]any{"updateProjectV2ItemFieldValue": map[string]any{"clientMutationId": nil}}) {
		t.Fatalf("literal input: %v %v", set.Data, set.messages())
	}
	a := post(t, s, "tok11", `
		query($pr: ID!, $n: Int!) {
			pr: node(id: $pr) {
				__typename
				... on PullRequest { projectItems(first: 10) { totalCount nodes { ...itemParts } } }
			}
			board: repositoryOwner(login: "openedx") { login ... on ProjectV2Owner { projectV2(number: $n) { number title } } }
		}
		fragment itemParts on ProjectV2Item {
			id
			project { owner { __typename ... on Organization { login } ... on User { login } } }
			fieldValues(first: 5) { nodes {
				__typename
				... on ProjectV2ItemFieldNumberValue { number field { ... on ProjectV2FieldCommon { name dataType } } }
				... on ProjectV2ItemFieldTextValue { text }
			} }
		}`, map[string]any{"pr": "PR_1", "n": 19})
	want := map[string]any{
		"pr": map[string]any{"__typename": "PullRequest", "projectItems": map[string]any{"totalCount": 1, "nodes": []any{
			map[string]any{
				"id":      item,
				"project": map[string]any{"owner": map[string]any{"__typename": "Organization", "login": "openedx"}},
				"fieldValues": map[string]any{"nodes": []any{map[string]any{
					"__typename": "ProjectV2ItemFieldNumberValue", "number": 3,
					"field": map[string]any{"name": "Points", "dataType": "NUMBER"},
				}}},
			},
		}}},
		"board": map[string]any{"login": "openedx", "projectV2": map[string]any{"number": 19, "title": "Board 19"}},
	}
	if len(a.Errors) > 0 || !reflect.DeepEqual(a.Data, asJSON(t, want)) {
		got, _ := json.MarshalIndent(a.Data, "", " ")
		t.Errorf("errors %v, data %s", a.messages(), got)
	}
}

// fieldID reads a field's id the way a client does.
func fieldID(t *testing.T, s *Server, owner string, number int, name string) string {
	t.Helper()
	a := post(t, s, "tok11", `query($o: String!, $n: Int!) { organization(login: $o) { projectV2(number: $n) {
		fields(first: 100) { nodes { ... on ProjectV2FieldCommon { id name } } } } } }`, map[string]any{"o": owner, "n": number})
	nodes := a.Data.(map[string]any)["organization"].(map[string]any)["projectV2"].(map[string]any)["fields"].(map[string]any)["nodes"].([]any)
	for _, n := range nodes {
		if f := n.(map[string]any); f["name"] == name {
			return f["id"].(string)
		}
	}
	t.Fatalf("no field %s", name)
	return ""
}

// optionID reads the id of a single-select option.
func optionID(t *testing.T, s *Server, field, option string) string {
	t.Helper()
	a := post(t, s, "tok11", `query($id: ID!) { node(id: $id) { ... on ProjectV2SingleSelectField { options { id name } } } }`,
		map[string]any{"id": field})
	for _, o := range a.Data.(map[string]any)["node"].(map[string]any)["options"].([]any) {
		if o := o.(map[string]any); o["name"] == option {
			return o["id"].(string)
		}
	}
	t.Fatalf("no option %s", option)
	return ""
}

func TestProjectsAccessFollowsInstallations(t *testing.T) {
	s, _, project := newProjectsFake(t)
	item := addItem(t, s, "tok11", project, "PR_1")
	a := post(t, s, "tok12", `query { organization(login: "openedx") { login projectV2(number: 19) { id } } }`, nil)
	want := map[string]any{"organization": map[string]any{"login": "openedx", "projectV2": nil}}
	if !reflect.DeepEqual(a.Data, want) || !reflect.DeepEqual(a.messages(), []string{"Could not resolve to a ProjectV2 with the number 19."}) {
		t.Errorf("another installation reading the board: %v %v", a.Data, a.messages())
	}
	a = post(t, s, "tok12", `mutation { addProjectV2ItemById(input: {projectId: "`+project+`", contentId: "PR_1"}) { item { id } } }`, nil)
	if !reflect.DeepEqual(a.messages(), []string{"Could not resolve to a node with the global id of '" + project + "'"}) {
		t.Errorf("another installation adding an item: %v", a.messages())
	}
	// The pull request's items list only the boards the installation sees.
	query := `query { node(id: "PR_1") { ... on PullRequest { projectItems(first: 10) { nodes { id } } } } }`
	for token, want := range map[string]int{"tok11": 1, "tok12": 0} {
		a := post(t, s, token, query, nil)
		nodes := a.Data.(map[string]any)["node"].(map[string]any)["projectItems"].(map[string]any)["nodes"].([]any)
		if len(nodes) != want {
			t.Errorf("%s sees %d items, want %d", token, len(nodes), want)
		}
	}
	// A board whose owner was never registered is open to every installation.
	solo := post(t, s, "tok12", `query { organization(login: "solo") { projectV2(number: 2) { id } } }`, nil)
	if len(solo.Errors) > 0 {
		t.Errorf("unregistered owner's board: %v", solo.messages())
	}
	if got := s.ProjectItems("openedx", 19); len(got) != 1 || got[0].ID != item {
		t.Errorf("items = %+v", got)
	}
}

func TestProjectsUpdateChecksTheValue(t *testing.T) {
	s, _, project := newProjectsFake(t)
	item := addItem(t, s, "tok11", project, "PR_1")
	if again := addItem(t, s, "tok11", project, "PR_1"); again != item {
		t.Errorf("adding twice gave %s then %s", item, again)
	}
	status := fieldID(t, s, "openedx", 19, "Status")
	done := optionID(t, s, status, "Done")
	for _, tc := range []struct {
		field string
		value map[string]any
		want  string // the value ProjectItems shows; "" for an error
	}{
		{"Date opened", map[string]any{"date": "2026-11-20"}, "2026-11-20"},
		{"Date opened", map[string]any{"date": "2026-11-21T00:00:00Z"}, "2026-11-21"},
		{"Date opened", map[string]any{"text": "2026-11-20"}, ""},
		{"Date opened", map[string]any{"date": "soon"}, ""},
		{"Owner", map[string]any{"text": "openedx/widgets"}, "openedx/widgets"},
		{"Points", map[string]any{"number": 2.5}, "2.5"},
		{"Points", map[string]any{"number": 2.5, "text": "x"}, ""},
		{"Status", map[string]any{"singleSelectOptionId": done}, "Done"},
		{"Status", map[string]any{"singleSelectOptionId": "PVTSSO_other"}, ""},
		{"Sprint", map[string]any{"iterationId": "x"}, ""},
	} {
		before := s.ProjectItems("openedx", 19)[0].Fields[tc.field]
		a := post(t, s, "tok11", `mutation($input: UpdateProjectV2ItemFieldValueInput!) {
			updateProjectV2ItemFieldValue(input: $input) { projectV2Item { id } } }`,
			map[string]any{"input": map[string]any{"projectId": project, "itemId": item,
				"fieldId": fieldID(t, s, "openedx", 19, tc.field), "value": tc.value}})
		got := s.ProjectItems("openedx", 19)[0].Fields[tc.field]
		switch {
		case tc.want == "" && (len(a.Errors) == 0 || got != before):
			t.Errorf("%s=%v: accepted (now %q)", tc.field, tc.value, got)
		case tc.want != "" && (len(a.Errors) > 0 || got != tc.want):
			t.Errorf("%s=%v: %v, holds %q, want %q", tc.field, tc.value, a.messages(), got, tc.want)
		}
	}
}

// A resolver a test sets wins over the boards, and a document the schema
// refuses reaches neither.
func TestProjectsResolverOfTheTestWins(t *testing.T) {
	s, _, project := newProjectsFake(t)
	a := post(t, s, "tok11", `mutation { addProjectV2ItemById(input: {projectId: "`+project+`", contentId: "PR_1", itemId: "x"}) { item { id } } }`, nil)
	if len(a.Errors) == 0 || a.Data != nil || len(s.ProjectItems("openedx", 19)) != 0 {
		t.Errorf("a refused document: %v %v, items %v", a.Data, a.messages(), s.ProjectItems("openedx", 19))
	}
	s.SetGraphQL(func(*ast.OperationDefinition, map[string]any) (any, []string) {
		return map[string]any{"viewer": map[string]any{"login": "mine"}}, nil
	})
	a = post(t, s, "tok11", `query { viewer { login } }`, nil)
	if !reflect.DeepEqual(a.Data, map[string]any{"viewer": map[string]any{"login": "mine"}}) {
		t.Errorf("the test's resolver did not answer: %v %v", a.Data, a.messages())
	}
}

func TestProjectsRemoveProject(t *testing.T) {
	s, _, project := newProjectsFake(t)
	addItem(t, s, "tok11", project, "PR_1")
	s.RemoveProject("openedx", 19)
	a := post(t, s, "tok11", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": project})
	if a.Data.(map[string]any)["node"] != nil || !reflect.DeepEqual(a.messages(), []string{"Could not resolve to a node with the global id of '" + project + "'"}) {
		t.Errorf("removed board: %v %v", a.Data, a.messages())
	}
	if again := s.AddProject("openedx", 19); again == project || len(s.ProjectItems("openedx", 19)) != 0 {
		t.Errorf("re-added board kept its id %s or its items", again)
	}
}
