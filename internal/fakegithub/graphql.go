package fakegithub

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// githubSchema is GitHub's published GraphQL schema (see
// testdata/graphql/README.md for where it comes from).
//
//go:embed testdata/graphql/schema.graphql
var githubSchema string

var (
	schemaOnce sync.Once
	schema     *ast.Schema
	schemaErr  error
)

// loadSchema parses GitHub's schema once per test binary: it is 1.2 MB and
// never changes, so every fake shares it (read-only).
func loadSchema() (*ast.Schema, error) {
	schemaOnce.Do(func() {
		s, err := gqlparser.LoadSchema(&ast.Source{Name: "github.graphql", Input: githubSchema})
		if err != nil {
			schemaErr = fmt.Errorf("fakegithub: loading GitHub's GraphQL schema: %w", err)
			return
		}
		schema = s
	})
	return schema, schemaErr
}

// GraphQLResolver answers a GraphQL operation that has passed validation
// against GitHub's schema: the data object, or error messages as GitHub
// would put them in "errors".
type GraphQLResolver func(op *ast.OperationDefinition, variables map[string]any) (data any, errs []string)

// SetGraphQL makes POST /graphql answer with resolve.
func (s *Server) SetGraphQL(resolve GraphQLResolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resolver = resolve
}

type graphqlError struct {
	Message   string         `json:"message"`
	Locations []graphqlPlace `json:"locations,omitempty"`
}

type graphqlPlace struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// graphql validates the document against GitHub's schema, as GitHub does
// before running anything, then lets the resolver answer. Like GitHub, it
// answers 200 with "errors" for a document it refuses.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request, bucket string) {
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || strings.TrimSpace(req.Query) == "" {
		s.rateHeaders(w, bucket, false)
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.rateHeaders(w, bucket, true)
	sch, err := loadSchema()
	if err != nil {
		writeGraphQL(w, nil, []graphqlError{{Message: err.Error()}})
		return
	}
	doc, errs := gqlparser.LoadQuery(sch, req.Query)
	if len(errs) > 0 {
		var out []graphqlError
		for _, e := range errs {
			ge := graphqlError{Message: e.Message}
			for _, l := range e.Locations {
				ge.Locations = append(ge.Locations, graphqlPlace{Line: l.Line, Column: l.Column})
			}
			out = append(out, ge)
		}
		writeGraphQL(w, nil, out)
		return
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		writeGraphQL(w, nil, []graphqlError{{Message: fmt.Sprintf("no operation named %q", req.OperationName)}})
		return
	}
	s.mu.Lock()
	resolve := s.resolver
	s.mu.Unlock()
	if resolve == nil {
		resolve = s.projectsResolver(bucket)
	}
	if resolve == nil {
		writeGraphQL(w, nil, []graphqlError{{Message: "fakegithub: no GraphQL resolver set for this test"}})
		return
	}
	data, messages := resolve(op, req.Variables)
	var out []graphqlError
	for _, m := range messages {
		out = append(out, graphqlError{Message: m})
	}
	writeGraphQL(w, data, out)
}

func writeGraphQL(w http.ResponseWriter, data any, errs []graphqlError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	answer := map[string]any{"data": data}
	if len(errs) > 0 {
		answer["errors"] = errs
	}
	_ = json.NewEncoder(w).Encode(answer)
}
