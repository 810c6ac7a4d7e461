package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shurcooL/githubv4"
	"github.com/vektah/gqlparser/v2/ast"
)

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func newGraphQLFake(t *testing.T) (*Server, *int) {
	t.Helper()
	s := newTokenFake(t)
	calls := 0
	s.SetGraphQL(func(op *ast.OperationDefinition, vars map[string]any) (any, []string) {
		calls++
		switch op.SelectionSet[0].(*ast.Field).Name {
		case "viewer":
			return map[string]any{"viewer": map[string]any{"login": "osprey[bot]"}}, nil
		case "addProjectV2ItemById":
			input, _ := vars["input"].(map[string]any)
			return map[string]any{"addProjectV2ItemById": map[string]any{"item": map[string]any{"id": "PVTI_" + input["contentId"].(string)}}}, nil
		}
		return nil, []string{"unexpected operation"}
	})
	return s, &calls
}

func TestGraphQLAnswersValidDocuments(t *testing.T) {
	s, calls := newGraphQLFake(t)
	client := githubv4.NewEnterpriseClient(s.URL+"/graphql", &http.Client{Transport: bearer{"tok"}})
	var q struct {
		Viewer struct{ Login string }
	}
	if err := client.Query(context.Background(), &q, nil); err != nil || q.Viewer.Login != "osprey[bot]" {
		t.Fatalf("viewer: %v %+v", err, q)
	}
	var m struct {
		AddProjectV2ItemByID struct {
			Item struct{ ID string }
		} `graphql:"addProjectV2ItemById(input: $input)"`
	}
	input := githubv4.AddProjectV2ItemByIdInput{ProjectID: githubv4.ID("PVT_1"), ContentID: githubv4.ID("PR_9")}
	if err := client.Mutate(context.Background(), &m, input, nil); err != nil || m.AddProjectV2ItemByID.Item.ID != "PVTI_PR_9" {
		t.Fatalf("mutation: %v %+v", err, m)
	}
	if *calls != 2 {
		t.Errorf("resolver calls = %d, want 2", *calls)
	}
	if got := s.Count(http.MethodPost, "/graphql", http.StatusOK); got != 2 {
		t.Errorf("%d GraphQL requests counted", got)
	}
}

// A document GitHub's schema rejects never reaches the resolver, and the
// answer says why, like GitHub's.
func TestGraphQLRefusesWhatGitHubWouldRefuse(t *testing.T) {
	s, calls := newGraphQLFake(t)
	for _, doc := range []string{
		`query { viewer { login nickname } }`,
		`mutation { addProjectV2ItemById(input: {projectId: "P", itemId: "I"}) { item { id } } }`,
		`query { viewer { login }`,
	} {
		body, _ := json.Marshal(map[string]any{"query": doc})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			Data   any `json:"data"`
			Errors []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(answer.Errors) == 0 || answer.Data != nil {
			t.Errorf("%s: status %d, answer %+v", doc, resp.StatusCode, answer)
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("%s: no rate-limit headers", doc)
		}
	}
	if *calls != 0 {
		t.Errorf("the resolver ran %d times for invalid documents", *calls)
	}
	// Unauthenticated: 401, as GitHub answers.
	resp, err := http.Post(s.URL+"/graphql", "application/json", strings.NewReader(`{"query":"query { viewer { login } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: %d", resp.StatusCode)
	}
}
