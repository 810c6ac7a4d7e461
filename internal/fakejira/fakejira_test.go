package fakejira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	testEmail = "bot@example.com"
	testToken = "api-token-1"
)

var testAccount = Account{AccountID: "5b10ac8d82e05b22cc7d4ef5", Email: testEmail, DisplayName: "Osprey Bot", Token: testToken}

// newFake is a fake of mode with project OSP (id 10000; types Bug 10001
// and Task 10002) and project WEB (id 10003; type Story 10004).
func newFake(t *testing.T, mode Mode) *Server {
	t.Helper()
	s := New(mode, testAccount)
	t.Cleanup(s.Close)
	s.AddProject("OSP", "Bug", "Task")
	s.AddProject("WEB", "Story")
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request with the account's credentials; a non-nil body is
// sent as JSON (a string as it is).
func call(t *testing.T, s *Server, method, path string, body any) answer {
	t.Helper()
	return callWith(t, s, method, path, body, func(r *http.Request) { r.SetBasicAuth(testEmail, testToken) })
}

func callWith(t *testing.T, s *Server, method, path string, body any, auth func(*http.Request)) answer {
	t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// wantJSON fails unless got is the JSON document want.
func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("answer\n%s\nwant\n%s", bytes.TrimSpace(got), want)
	}
}

func wantStatus(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
}

func errorsJSON(messages []string, fields map[string]string) string {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	data, _ := json.Marshal(map[string]any{"errorMessages": messages, "errors": fields})
	return string(data)
}

// create makes an issue and returns its key.
func create(t *testing.T, s *Server, projectKey, issueType, summary, description string, labels ...string) string {
	t.Helper()
	fields := map[string]any{"project": map[string]string{"key": projectKey}, "issuetype": map[string]string{"name": issueType}, "summary": summary}
	if description != "" {
		fields["description"] = description
	}
	if labels != nil {
		fields["labels"] = labels
	}
	a := call(t, s, http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": fields})
	wantStatus(t, a, http.StatusCreated)
	var created struct{ Key string }
	if err := json.Unmarshal(a.body, &created); err != nil {
		t.Fatal(err)
	}
	return created.Key
}

// keys reads the issue keys of a search answer, in order.
func keys(t *testing.T, body []byte) []string {
	t.Helper()
	var answer struct {
		Issues []struct{ Key string }
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, issue := range answer.Issues {
		out = append(out, issue.Key)
	}
	return out
}

func TestMyself(t *testing.T) {
	for _, mode := range []Mode{DataCenter, Cloud} {
		s := newFake(t, mode)
		a := call(t, s, http.MethodGet, "/rest/api/2/myself", nil)
		wantStatus(t, a, http.StatusOK)
		if ct := a.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
			t.Errorf("Content-Type %q", ct)
		}
		wantJSON(t, a.body, fmt.Sprintf(`{"self":"%s/rest/api/2/user?accountId=5b10ac8d82e05b22cc7d4ef5",
			"accountId":"5b10ac8d82e05b22cc7d4ef5","accountType":"atlassian","emailAddress":"bot@example.com",
			"displayName":"Osprey Bot","active":true,"timeZone":"UTC"}`, s.URL))

		a = call(t, s, http.MethodGet, "/rest/api/3/myself", nil)
		if mode == Cloud {
			wantStatus(t, a, http.StatusOK)
		} else {
			wantStatus(t, a, http.StatusNotFound) // Data Center has no API 3
		}
		wantStatus(t, call(t, s, http.MethodPut, "/rest/api/2/myself", `{}`), http.StatusMethodNotAllowed)
	}
}

func TestAuthentication(t *testing.T) {
	s := newFake(t, DataCenter)
	cases := []struct {
		name   string
		auth   func(*http.Request)
		seraph string
	}{
		{"no credentials", func(*http.Request) {}, ""},
		{"wrong token", func(r *http.Request) { r.SetBasicAuth(testEmail, "nope") }, "AUTHENTICATED_FAILED"},
		{"wrong email", func(r *http.Request) { r.SetBasicAuth("other@example.com", testToken) }, "AUTHENTICATED_FAILED"},
		{"empty token", func(r *http.Request) { r.SetBasicAuth(testEmail, "") }, "AUTHENTICATED_FAILED"},
		{"bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, "AUTHENTICATED_FAILED"},
	}
	requests := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/rest/api/2/myself", nil},
		{http.MethodPost, "/rest/api/2/issue", `{"fields":{"project":{"key":"OSP"},"issuetype":{"name":"Bug"},"summary":"s"}}`},
		{http.MethodGet, "/rest/api/2/search?jql=project%20%3D%20OSP", nil},
		{http.MethodGet, "/rest/api/2/issue/OSP-1", nil},
		{http.MethodGet, "/no/such/path", nil},
	}
	for _, c := range cases {
		for _, r := range requests {
			a := callWith(t, s, r.method, r.path, r.body, c.auth)
			if a.status != http.StatusUnauthorized || len(a.body) != 0 || a.header.Get("X-Seraph-LoginReason") != c.seraph {
				t.Errorf("%s, %s %s: status %d, body %q, X-Seraph-LoginReason %q; want 401, no body, %q",
					c.name, r.method, r.path, a.status, a.body, a.header.Get("X-Seraph-LoginReason"), c.seraph)
			}
		}
	}
	if issues := s.Issues(); len(issues) != 0 {
		t.Errorf("unauthenticated creates made %v", issues)
	}
	if n := s.Count(http.MethodGet, "/rest/api/2/myself", http.StatusUnauthorized); n != len(cases) {
		t.Errorf("Count of 401s on /myself = %d, want %d", n, len(cases))
	}
}

func TestCreateValidation(t *testing.T) {
	s := newFake(t, DataCenter)
	valid := func(change func(map[string]any)) map[string]any {
		fields := map[string]any{
			"project":   map[string]any{"key": "OSP"},
			"issuetype": map[string]any{"name": "Bug"},
			"summary":   "A summary",
		}
		change(fields)
		return map[string]any{"fields": fields}
	}
	cases := []struct {
		name string
		body any
		want map[string]string
	}{
		{"no fields", `{}`, map[string]string{"project": "project is required", "issuetype": "Specify an issue type", "summary": "You must specify a summary of the issue."}},
		{"no project", valid(func(f map[string]any) { delete(f, "project") }), map[string]string{"project": "project is required"}},
		{"null project", valid(func(f map[string]any) { f["project"] = nil }), map[string]string{"project": "project is required"}},
		{"unknown project", valid(func(f map[string]any) { f["project"] = map[string]any{"key": "NOPE"} }), map[string]string{"project": "Specify a valid project ID or key"}},
		{"project key of the wrong case", valid(func(f map[string]any) { f["project"] = map[string]any{"key": "osp"} }), map[string]string{"project": "Specify a valid project ID or key"}},
		{"no issue type", valid(func(f map[string]any) { delete(f, "issuetype") }), map[string]string{"issuetype": "Specify an issue type"}},
		{"unknown issue type", valid(func(f map[string]any) { f["issuetype"] = map[string]any{"name": "Epic"} }), map[string]string{"issuetype": "Specify a valid issue type"}},
		{"issue type of another project", valid(func(f map[string]any) { f["issuetype"] = map[string]any{"name": "Story"} }), map[string]string{"issuetype": "Specify a valid issue type"}},
		{"unknown issue type id", valid(func(f map[string]any) { f["issuetype"] = map[string]any{"id": "10004"} }), map[string]string{"issuetype": "Specify a valid issue type"}},
		{"no summary", valid(func(f map[string]any) { delete(f, "summary") }), map[string]string{"summary": "You must specify a summary of the issue."}},
		{"blank summary", valid(func(f map[string]any) { f["summary"] = "  \t" }), map[string]string{"summary": "You must specify a summary of the issue."}},
		{"summary of 256 characters", valid(func(f map[string]any) { f["summary"] = strings.Repeat("é", 256) }), map[string]string{"summary": "Summary must be less than 255 characters."}},
		{"summary with a newline", valid(func(f map[string]any) { f["summary"] = "two\nlines" }), map[string]string{"summary": "The summary is invalid because it contains newline characters."}},
		{"summary not a string", valid(func(f map[string]any) { f["summary"] = 7 }), map[string]string{"summary": "Operation value must be a string"}},
		{"description not a string", valid(func(f map[string]any) { f["description"] = map[string]any{"type": "doc"} }), map[string]string{"description": "Operation value must be a string"}},
		{"label with a space", valid(func(f map[string]any) { f["labels"] = []string{"ok", "x y"} }), map[string]string{"labels": "The label 'x y' contains spaces which is invalid."}},
		{"label with a tab", valid(func(f map[string]any) { f["labels"] = []string{"x\ty"} }), map[string]string{"labels": "The label 'x\ty' contains spaces which is invalid."}},
		{"label of 256 characters", valid(func(f map[string]any) { f["labels"] = []string{strings.Repeat("a", 256)} }), map[string]string{"labels": "The label '" + strings.Repeat("a", 256) + "' exceeds the maximum length for a single label of 255 characters."}},
		{"labels not a list", valid(func(f map[string]any) { f["labels"] = "a" }), map[string]string{"labels": "Operation value must be an array of strings"}},
		{"field not on the screen", valid(func(f map[string]any) { f["assignee"] = map[string]any{"accountId": "x"} }), map[string]string{"assignee": "Field 'assignee' cannot be set. It is not on the appropriate screen, or unknown."}},
		{"several problems", valid(func(f map[string]any) { delete(f, "issuetype"); f["summary"] = ""; f["labels"] = []string{"a b"} }),
			map[string]string{"issuetype": "Specify an issue type", "summary": "You must specify a summary of the issue.", "labels": "The label 'a b' contains spaces which is invalid."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, s, http.MethodPost, "/rest/api/2/issue", c.body)
			wantStatus(t, a, http.StatusBadRequest)
			wantJSON(t, a.body, errorsJSON(nil, c.want))
		})
	}

	a := call(t, s, http.MethodPost, "/rest/api/2/issue", `{"fields":`)
	wantStatus(t, a, http.StatusBadRequest)
	var body struct{ ErrorMessages []string }
	if err := json.Unmarshal(a.body, &body); err != nil || len(body.ErrorMessages) != 1 || !strings.HasPrefix(body.ErrorMessages[0], "The request body is not valid JSON") {
		t.Errorf("broken JSON answered %s", a.body)
	}
	if issues := s.Issues(); len(issues) != 0 {
		t.Errorf("rejected creates made %v", issues)
	}
}

func TestCreateAndGet(t *testing.T) {
	s := newFake(t, DataCenter)
	before := time.Now().UTC().Truncate(time.Millisecond)

	a := call(t, s, http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "OSP"}, "issuetype": map[string]any{"name": "Bug"},
		"summary": "First", "description": "Line one\n\nLine three", "labels": []string{"osprey", "gh-42", "osprey"},
	}})
	wantStatus(t, a, http.StatusCreated)
	wantJSON(t, a.body, fmt.Sprintf(`{"id":"10001","key":"OSP-1","self":"%s/rest/api/2/issue/10001"}`, s.URL))

	// By ids instead of key and name, with a trailing slash on the path.
	a = call(t, s, http.MethodPost, "/rest/api/2/issue/", map[string]any{"fields": map[string]any{
		"project": map[string]any{"id": "10000"}, "issuetype": map[string]any{"id": "10002"}, "summary": strings.Repeat("x", 255),
	}})
	wantStatus(t, a, http.StatusCreated)
	wantJSON(t, a.body, fmt.Sprintf(`{"id":"10002","key":"OSP-2","self":"%s/rest/api/2/issue/10002"}`, s.URL))

	if key := create(t, s, "WEB", "Story", "Web one", ""); key != "WEB-1" {
		t.Errorf("first WEB issue is %s, want WEB-1", key)
	}
	if key := create(t, s, "OSP", "Bug", "Third", ""); key != "OSP-3" {
		t.Errorf("third OSP issue is %s, want OSP-3", key)
	}

	issues := s.Issues()
	after := time.Now().UTC()
	for _, issue := range issues {
		if issue.Created.Before(before) || issue.Created.After(after) || issue.Created.Location() != time.UTC {
			t.Errorf("%s created %v, not between %v and %v in UTC", issue.Key, issue.Created, before, after)
		}
	}
	want := []Issue{
		{ID: "10001", Key: "OSP-1", Project: "OSP", Type: "Bug", Summary: "First", Description: "Line one\n\nLine three", Labels: []string{"osprey", "gh-42"}},
		{ID: "10002", Key: "OSP-2", Project: "OSP", Type: "Task", Summary: strings.Repeat("x", 255), Labels: []string{}},
		{ID: "10003", Key: "WEB-1", Project: "WEB", Type: "Story", Summary: "Web one", Labels: []string{}},
		{ID: "10004", Key: "OSP-3", Project: "OSP", Type: "Bug", Summary: "Third", Labels: []string{}},
	}
	for i := range issues {
		issues[i].Created = time.Time{}
	}
	if !reflect.DeepEqual(issues, want) {
		t.Errorf("Issues() = %+v\nwant %+v", issues, want)
	}
	s.Issues()[0].Labels[0] = "changed"
	if got := s.Issues()[0].Labels[0]; got != "osprey" {
		t.Errorf("Issues() shares its labels: %q", got)
	}

	created := s.Issues()[0].Created.Format(JiraTime)
	if _, err := time.Parse("2006-01-02T15:04:05.999-0700", created); err != nil { // go-jira's layout
		t.Errorf("created %q does not parse as go-jira parses it: %v", created, err)
	}
	full := fmt.Sprintf(`{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":"10001","self":"%[1]s/rest/api/2/issue/10001","key":"OSP-1","fields":{
		"summary":"First","description":"Line one\n\nLine three","labels":["osprey","gh-42"],
		"project":{"self":"%[1]s/rest/api/2/project/10000","id":"10000","key":"OSP","name":"OSP"},
		"issuetype":{"self":"%[1]s/rest/api/2/issuetype/10001","id":"10001","name":"Bug","subtask":false},
		"created":"%[2]s"}}`, s.URL, created)
	for _, idOrKey := range []string{"OSP-1", "10001", "osp-1"} {
		a := call(t, s, http.MethodGet, "/rest/api/2/issue/"+idOrKey, nil)
		wantStatus(t, a, http.StatusOK)
		wantJSON(t, a.body, full)
	}

	a = call(t, s, http.MethodGet, "/rest/api/2/issue/OSP-2?fields=summary,description", nil)
	wantStatus(t, a, http.StatusOK)
	wantJSON(t, a.body, fmt.Sprintf(`{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":"10002","self":"%s/rest/api/2/issue/10002","key":"OSP-2","fields":{"summary":"%s","description":null}}`, s.URL, strings.Repeat("x", 255)))

	notFound := errorsJSON([]string{"Issue does not exist or you do not have permission to see it."}, nil)
	for _, idOrKey := range []string{"OSP-9", "10009", "NOPE-1"} {
		a := call(t, s, http.MethodGet, "/rest/api/2/issue/"+idOrKey, nil)
		wantStatus(t, a, http.StatusNotFound)
		wantJSON(t, a.body, notFound)
	}
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/issue/OSP-1/comment", nil), http.StatusNotFound)
	a = call(t, s, http.MethodDelete, "/rest/api/2/issue/OSP-1", nil)
	wantStatus(t, a, http.StatusMethodNotAllowed)
	if allow := a.header.Get("Allow"); allow != "GET" {
		t.Errorf("Allow %q", allow)
	}
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/issue", nil), http.StatusMethodNotAllowed)
	// Creating through API 3 (whose description is a document) is not faked.
	wantStatus(t, call(t, s, http.MethodPost, "/rest/api/3/issue", `{"fields":{}}`), http.StatusNotFound)
}

func TestForbidden(t *testing.T) {
	s := newFake(t, DataCenter)
	s.SetForbidden(true)
	a := call(t, s, http.MethodPost, "/rest/api/2/issue", `{"fields":{"project":{"key":"OSP"},"issuetype":{"name":"Bug"},"summary":"s"}}`)
	wantStatus(t, a, http.StatusForbidden)
	wantJSON(t, a.body, errorsJSON([]string{"You do not have permission to create issues in this project."}, nil))
	if issues := s.Issues(); len(issues) != 0 {
		t.Errorf("a forbidden create made %v", issues)
	}
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/myself", nil), http.StatusOK)
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/search?jql=project%3DOSP", nil), http.StatusOK)

	s.SetForbidden(false)
	if key := create(t, s, "OSP", "Bug", "s", ""); key != "OSP-1" {
		t.Errorf("key %s after a forbidden create, want OSP-1", key)
	}
	if n := s.Count(http.MethodPost, "/rest/api/2/issue", http.StatusForbidden); n != 1 {
		t.Errorf("Count of 403s = %d", n)
	}
}

// seed makes, oldest first, OSP-1 [osprey gh-42], OSP-2 [osprey gh-43],
// WEB-1 [osprey gh-42] and OSP-3 with no labels.
func seed(t *testing.T, s *Server) {
	t.Helper()
	create(t, s, "OSP", "Bug", "One", "First issue", "osprey", "gh-42")
	create(t, s, "OSP", "Task", "Two", "", "osprey", "gh-43")
	create(t, s, "WEB", "Story", "Web", "", "osprey", "gh-42")
	create(t, s, "OSP", "Bug", "Three", "")
}

// searchCases are JQL queries osprey may write and what they find in seed,
// newest first.
var searchCases = []struct {
	jql  string
	want []string
}{
	{`project = OSP`, []string{"OSP-3", "OSP-2", "OSP-1"}},
	{`project = osp`, []string{"OSP-3", "OSP-2", "OSP-1"}},
	{`project = "OSP"`, []string{"OSP-3", "OSP-2", "OSP-1"}},
	{`project = 10000`, []string{"OSP-3", "OSP-2", "OSP-1"}},
	{`project=WEB`, []string{"WEB-1"}},
	{`labels = "gh-42"`, []string{"WEB-1", "OSP-1"}},
	{`labels = gh-42`, []string{"WEB-1", "OSP-1"}},
	{`labels = 'gh-42'`, []string{"WEB-1", "OSP-1"}},
	{`labels = "gh\u002d42"`, []string{"WEB-1", "OSP-1"}},
	{`LABELS = osprey`, []string{"WEB-1", "OSP-2", "OSP-1"}},
	{`labels in ("gh-42", gh-43)`, []string{"WEB-1", "OSP-2", "OSP-1"}},
	{`labels IN ('gh-43')`, []string{"OSP-2"}},
	{`project = OSP AND labels = gh-42`, []string{"OSP-1"}},
	{"project = OSP and\n  labels = osprey AND labels in (gh-43, nope)", []string{"OSP-2"}},
	{`labels = GH-42`, []string{}},
	{`labels = nope`, []string{}},
	{`project = OSP AND project = WEB`, []string{}},
}

func TestSearchDataCenter(t *testing.T) {
	s := newFake(t, DataCenter)
	seed(t, s)
	all := []string{"OSP-3", "WEB-1", "OSP-2", "OSP-1"}
	for _, c := range append(searchCases, struct {
		jql  string
		want []string
	}{"", all}) {
		get := call(t, s, http.MethodGet, "/rest/api/2/search?jql="+url.QueryEscape(c.jql), nil)
		post := call(t, s, http.MethodPost, "/rest/api/2/search", map[string]any{"jql": c.jql})
		for _, a := range []answer{get, post} {
			wantStatus(t, a, http.StatusOK)
			var page struct{ StartAt, MaxResults, Total int }
			if err := json.Unmarshal(a.body, &page); err != nil {
				t.Fatal(err)
			}
			if got := keys(t, a.body); !reflect.DeepEqual(got, c.want) || page.Total != len(c.want) || page.StartAt != 0 || page.MaxResults != 50 {
				t.Errorf("%q found %v (startAt %d, maxResults %d, total %d), want %v", c.jql, got, page.StartAt, page.MaxResults, page.Total, c.want)
			}
		}
	}

	a := call(t, s, http.MethodGet, "/rest/api/2/search?jql=project%3DWEB&fields=summary,labels", nil)
	wantStatus(t, a, http.StatusOK)
	wantJSON(t, a.body, fmt.Sprintf(`{"expand":"schema,names","startAt":0,"maxResults":50,"total":1,"issues":[
		{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		 "id":"10003","self":"%s/rest/api/2/issue/10003","key":"WEB-1","fields":{"summary":"Web","labels":["osprey","gh-42"]}}]}`, s.URL))

	fieldsOf := func(a answer) []string {
		var page struct {
			Issues []struct{ Fields map[string]any }
		}
		if err := json.Unmarshal(a.body, &page); err != nil || len(page.Issues) == 0 {
			t.Fatalf("no issues in %s", a.body)
		}
		var names []string
		for name := range page.Issues[0].Fields {
			names = append(names, name)
		}
		slices.Sort(names)
		return names
	}
	for _, c := range []struct {
		fields []string
		want   []string
	}{
		{nil, []string{"created", "description", "issuetype", "labels", "project", "summary"}},
		{[]string{"*all", "-description", "-created"}, []string{"issuetype", "labels", "project", "summary"}},
		{[]string{"*navigable"}, []string{"created", "description", "issuetype", "labels", "project", "summary"}},
		{[]string{"labels", "nosuchfield"}, []string{"labels"}},
	} {
		a := call(t, s, http.MethodPost, "/rest/api/2/search", map[string]any{"jql": "project = OSP", "fields": c.fields})
		if got := fieldsOf(a); !reflect.DeepEqual(got, c.want) {
			t.Errorf("fields %q gave %v, want %v", c.fields, got, c.want)
		}
	}

	for _, c := range []struct {
		query          string
		want           []string
		startAt, limit int
	}{
		{"maxResults=2", []string{"OSP-3", "WEB-1"}, 0, 2},
		{"maxResults=2&startAt=2", []string{"OSP-2", "OSP-1"}, 2, 2},
		{"maxResults=2&startAt=4", []string{}, 4, 2},
		{"startAt=3", []string{"OSP-1"}, 3, 50},
		{"maxResults=0", []string{}, 0, 0},
		{"maxResults=5000", all, 0, 1000},
		{"startAt=-4", all, 0, 50},
	} {
		a := call(t, s, http.MethodGet, "/rest/api/2/search?jql=&"+c.query, nil)
		wantStatus(t, a, http.StatusOK)
		var page struct{ StartAt, MaxResults, Total int }
		if err := json.Unmarshal(a.body, &page); err != nil {
			t.Fatal(err)
		}
		if got := keys(t, a.body); !reflect.DeepEqual(got, c.want) || page.StartAt != c.startAt || page.MaxResults != c.limit || page.Total != 4 {
			t.Errorf("%s: %v startAt %d maxResults %d total %d; want %v %d %d 4", c.query, got, page.StartAt, page.MaxResults, page.Total, c.want, c.startAt, c.limit)
		}
	}
	a = call(t, s, http.MethodPost, "/rest/api/2/search", map[string]any{"jql": "project = OSP", "startAt": 1, "maxResults": 1})
	if got := keys(t, a.body); !reflect.DeepEqual(got, []string{"OSP-2"}) {
		t.Errorf("POST startAt 1 maxResults 1 found %v", got)
	}

	a = call(t, s, http.MethodGet, "/rest/api/2/search?jql=&startAt=abc", nil)
	wantStatus(t, a, http.StatusBadRequest)
	wantJSON(t, a.body, errorsJSON([]string{"The value 'abc' of the parameter 'startAt' is not a number."}, nil))
	a = call(t, s, http.MethodGet, "/rest/api/2/search?jql=project%20%3D%20NOPE", nil)
	wantStatus(t, a, http.StatusBadRequest)
	wantJSON(t, a.body, errorsJSON([]string{"The value 'NOPE' does not exist for the field 'project'."}, nil))

	// Cloud's endpoints do not exist on Data Center.
	for _, path := range []string{"/rest/api/2/search/jql?jql=project%3DOSP", "/rest/api/3/search/jql?jql=project%3DOSP", "/rest/api/3/search?jql=project%3DOSP"} {
		wantStatus(t, call(t, s, http.MethodGet, path, nil), http.StatusNotFound)
	}
	wantStatus(t, call(t, s, http.MethodDelete, "/rest/api/2/search", nil), http.StatusMethodNotAllowed)
}

func TestJQLErrors(t *testing.T) {
	cases := []struct{ jql, want string }{
		{`project = OSP OR labels = x`, "Expecting 'AND' but got 'OR'; fakejira understands only AND of project =, labels = and labels in. (line 1, character 15)"},
		{`project = OSP ORDER BY created DESC`, "Expecting 'AND' but got 'ORDER'; fakejira understands only AND of project =, labels = and labels in. (line 1, character 15)"},
		{`labels = a && project = OSP`, "Expecting 'AND' but got '&&'; fakejira understands only AND of project =, labels = and labels in. (line 1, character 12)"},
		{"project = OSP\nOR labels = x", "Expecting 'AND' but got 'OR'; fakejira understands only AND of project =, labels = and labels in. (line 2, character 1)"},
		{`labels = currentUser()`, "Expecting 'AND' but got '('; fakejira understands only AND of project =, labels = and labels in. (line 1, character 21)"},
		{`status = Open`, "fakejira does not support the field 'status'; it understands only project and labels. (line 1, character 1)"},
		{`(project = OSP)`, "Expecting a field name but got '('. (line 1, character 1)"},
		{`project = OSP AND`, "Expecting a field name but got the end of the query. (line 1, character 18)"},
		{`project`, "Expecting an operator after 'project' but got the end of the query. (line 1, character 8)"},
		{`project in (OSP)`, "fakejira does not support the operator 'in' for the field 'project'. (line 1, character 9)"},
		{`labels != x`, "fakejira does not support the operator '!=' for the field 'labels'. (line 1, character 8)"},
		{`labels ~ x`, "fakejira does not support the operator '~' for the field 'labels'. (line 1, character 8)"},
		{`labels not in (x)`, "fakejira does not support the operator 'not' for the field 'labels'. (line 1, character 8)"},
		{`labels is EMPTY`, "fakejira does not support the operator 'is' for the field 'labels'. (line 1, character 8)"},
		{`labels ! x`, "'!' is not an operator. (line 1, character 8)"},
		{`project =`, "Expecting a value but got the end of the query. (line 1, character 10)"},
		{`labels = empty`, "'empty' is a reserved JQL word. You must surround it in quotation marks to use it in a query. (line 1, character 10)"},
		{`labels = v1.2`, `The character '.' is a reserved JQL character. You must enclose it in a string or use the escape '\u002e' instead. (line 1, character 12)`},
		{`labels = "unfinished`, "The quoted string 'unfinished' has not been completed. (line 1, character 10)"},
		{`labels = "abc\`, `The quoted string 'abc\' has not been completed. (line 1, character 10)`},
		{`labels = "a\qb"`, `The escape sequence '\q' is not valid. (line 1, character 10)`},
		{`labels = "a\u00zzb"`, `The escape sequence '\u00zz' is not valid. (line 1, character 10)`},
		{`labels in "a"`, `Expecting '(' but got '"a"'. (line 1, character 11)`},
		{`labels in ()`, "Expecting a value but got ')'. (line 1, character 12)"},
		{`labels in ("a" "b")`, `Expecting ',' or ')' but got '"b"'. (line 1, character 16)`},
		{`labels in ("a",`, "Expecting a value but got the end of the query. (line 1, character 16)"},
	}
	dc, cloud := newFake(t, DataCenter), newFake(t, Cloud)
	for _, c := range cases {
		want := errorsJSON([]string{"Error in the JQL Query: " + c.want}, nil)
		a := call(t, dc, http.MethodGet, "/rest/api/2/search?jql="+url.QueryEscape(c.jql), nil)
		wantStatus(t, a, http.StatusBadRequest)
		wantJSON(t, a.body, want)
		a = call(t, cloud, http.MethodPost, "/rest/api/3/search/jql", map[string]any{"jql": c.jql})
		wantStatus(t, a, http.StatusBadRequest)
		wantJSON(t, a.body, want)
	}
}

func TestSearchCloud(t *testing.T) {
	s := newFake(t, Cloud)
	seed(t, s)

	gone := errorsJSON([]string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"}, nil)
	for _, path := range []string{"/rest/api/2/search", "/rest/api/3/search"} {
		a := call(t, s, http.MethodGet, path+"?jql=project%3DOSP", nil)
		wantStatus(t, a, http.StatusGone)
		wantJSON(t, a.body, gone)
		a = call(t, s, http.MethodPost, path, map[string]any{"jql": "project = OSP"})
		wantStatus(t, a, http.StatusGone)
		wantJSON(t, a.body, gone)
	}

	// Without fields, issues are ids only.
	for _, path := range []string{"/rest/api/3/search/jql", "/rest/api/2/search/jql"} {
		a := call(t, s, http.MethodGet, path+"?jql="+url.QueryEscape("project = OSP"), nil)
		wantStatus(t, a, http.StatusOK)
		wantJSON(t, a.body, `{"issues":[{"id":"10004"},{"id":"10002"},{"id":"10001"}],"isLast":true}`)
		a = call(t, s, http.MethodPost, path, map[string]any{"jql": "project = OSP", "fields": []string{"id"}})
		wantJSON(t, a.body, `{"issues":[{"id":"10004"},{"id":"10002"},{"id":"10001"}],"isLast":true}`)
	}

	for _, c := range searchCases {
		get := call(t, s, http.MethodGet, "/rest/api/3/search/jql?fields=key&jql="+url.QueryEscape(c.jql), nil)
		post := call(t, s, http.MethodPost, "/rest/api/3/search/jql", map[string]any{"jql": c.jql, "fields": []string{"key"}})
		for _, a := range []answer{get, post} {
			wantStatus(t, a, http.StatusOK)
			if got := keys(t, a.body); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%q found %v, want %v", c.jql, got, c.want)
			}
		}
	}

	// API 3 writes descriptions as documents, API 2 as text.
	a := call(t, s, http.MethodPost, "/rest/api/3/search/jql", map[string]any{"jql": "labels = gh-42 AND project = OSP", "fields": []string{"summary", "description"}})
	wantStatus(t, a, http.StatusOK)
	wantJSON(t, a.body, fmt.Sprintf(`{"isLast":true,"issues":[{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":"10001","self":"%s/rest/api/3/issue/10001","key":"OSP-1","fields":{"summary":"One",
		"description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"First issue"}]}]}}}]}`, s.URL))
	a = call(t, s, http.MethodGet, "/rest/api/2/search/jql?fields=description&jql="+url.QueryEscape("labels = gh-42 AND project = OSP"), nil)
	wantJSON(t, a.body, fmt.Sprintf(`{"isLast":true,"issues":[{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":"10001","self":"%s/rest/api/2/issue/10001","key":"OSP-1","fields":{"description":"First issue"}}]}`, s.URL))
	create(t, s, "WEB", "Story", "Doc", "para one\n\npara three")
	a = call(t, s, http.MethodGet, "/rest/api/3/issue/WEB-2?fields=description", nil)
	wantStatus(t, a, http.StatusOK)
	wantJSON(t, a.body, fmt.Sprintf(`{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":"10005","self":"%s/rest/api/3/issue/10005","key":"WEB-2","fields":{"description":{"type":"doc","version":1,"content":[
		{"type":"paragraph","content":[{"type":"text","text":"para one"}]},{"type":"paragraph"},
		{"type":"paragraph","content":[{"type":"text","text":"para three"}]}]}}}`, s.URL))

	// Paging by token, through GET and POST alike.
	jql := "labels = osprey"
	a = call(t, s, http.MethodGet, "/rest/api/3/search/jql?maxResults=2&fields=key&jql="+url.QueryEscape(jql), nil)
	wantStatus(t, a, http.StatusOK)
	var page struct {
		IsLast        bool
		NextPageToken *string
		Total         *int
	}
	if err := json.Unmarshal(a.body, &page); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, a.body); !reflect.DeepEqual(got, []string{"WEB-1", "OSP-2"}) || page.IsLast || page.NextPageToken == nil || page.Total != nil {
		t.Fatalf("first page %s", a.body)
	}
	token := *page.NextPageToken
	create(t, s, "OSP", "Bug", "Newer than the first page", "", "osprey")
	a = call(t, s, http.MethodPost, "/rest/api/3/search/jql", map[string]any{"jql": jql, "maxResults": 2, "fields": []string{"key"}, "nextPageToken": token})
	wantStatus(t, a, http.StatusOK)
	wantJSON(t, a.body, fmt.Sprintf(`{"isLast":true,"issues":[{"expand":"renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":"10001","self":"%s/rest/api/3/issue/10001","key":"OSP-1","fields":{}}]}`, s.URL))
	a = call(t, s, http.MethodGet, "/rest/api/3/search/jql?maxResults=2&jql="+url.QueryEscape(jql)+"&nextPageToken="+url.QueryEscape(token), nil)
	wantJSON(t, a.body, `{"isLast":true,"issues":[{"id":"10001"}]}`)

	badToken := errorsJSON([]string{"The nextPageToken is not one this query handed out."}, nil)
	for _, body := range []map[string]any{
		{"jql": "project = OSP", "nextPageToken": token},
		{"jql": jql, "nextPageToken": "bogus"},
	} {
		a = call(t, s, http.MethodPost, "/rest/api/3/search/jql", body)
		wantStatus(t, a, http.StatusBadRequest)
		wantJSON(t, a.body, badToken)
	}

	unbounded := errorsJSON([]string{"Unbounded JQL queries are not allowed here. Please add a search restriction to your query."}, nil)
	for _, a := range []answer{
		call(t, s, http.MethodGet, "/rest/api/3/search/jql", nil),
		call(t, s, http.MethodPost, "/rest/api/3/search/jql", map[string]any{"jql": "  "}),
	} {
		wantStatus(t, a, http.StatusBadRequest)
		wantJSON(t, a.body, unbounded)
	}
	a = call(t, s, http.MethodGet, "/rest/api/3/search/jql?jql=project%3DNOPE", nil)
	wantStatus(t, a, http.StatusBadRequest)
	wantJSON(t, a.body, errorsJSON([]string{"The value 'NOPE' does not exist for the field 'project'."}, nil))
	a = call(t, s, http.MethodGet, "/rest/api/3/search/jql?jql=project%3DOSP&maxResults=x", nil)
	wantStatus(t, a, http.StatusBadRequest)
	wantStatus(t, call(t, s, http.MethodPut, "/rest/api/3/search/jql", `{}`), http.StatusMethodNotAllowed)
}

func TestSearchCloudPageCaps(t *testing.T) {
	s := newFake(t, Cloud)
	for i := range 101 {
		create(t, s, "OSP", "Bug", fmt.Sprintf("Issue %d", i), "")
	}
	count := func(a answer) (int, bool) {
		var page struct {
			Issues []any
			IsLast bool
		}
		if err := json.Unmarshal(a.body, &page); err != nil {
			t.Fatal(err)
		}
		return len(page.Issues), page.IsLast
	}
	if n, last := count(call(t, s, http.MethodGet, "/rest/api/3/search/jql?jql=project%3DOSP", nil)); n != 50 || last {
		t.Errorf("default page: %d issues, isLast %v; want 50, false", n, last)
	}
	if n, last := count(call(t, s, http.MethodGet, "/rest/api/3/search/jql?jql=project%3DOSP&maxResults=500&fields=summary", nil)); n != 100 || last {
		t.Errorf("page with fields: %d issues, isLast %v; want 100, false", n, last)
	}
	if n, last := count(call(t, s, http.MethodGet, "/rest/api/3/search/jql?jql=project%3DOSP&maxResults=500", nil)); n != 101 || !last {
		t.Errorf("page of ids: %d issues, isLast %v; want 101, true", n, last)
	}
}

func TestSearchLag(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		path string
	}{
		{DataCenter, "/rest/api/2/search?jql=labels%3Dosprey"},
		{Cloud, "/rest/api/3/search/jql?fields=key&jql=labels%3Dosprey"},
	} {
		s := newFake(t, c.mode)
		create(t, s, "OSP", "Bug", "Indexed", "", "osprey")
		s.SetSearchLag(time.Hour)
		create(t, s, "OSP", "Bug", "Not indexed yet", "", "osprey")
		if got := keys(t, call(t, s, http.MethodGet, c.path, nil).body); !reflect.DeepEqual(got, []string{}) {
			t.Errorf("mode %d with a lag found %v", c.mode, got)
		}
		wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/issue/OSP-2", nil), http.StatusOK)
		s.SetSearchLag(0)
		if got := keys(t, call(t, s, http.MethodGet, c.path, nil).body); !reflect.DeepEqual(got, []string{"OSP-2", "OSP-1"}) {
			t.Errorf("mode %d without a lag found %v", c.mode, got)
		}
	}
}

func TestFailNext(t *testing.T) {
	s := newFake(t, DataCenter)
	body := `{"fields":{"project":{"key":"OSP"},"issuetype":{"name":"Bug"},"summary":"s"}}`

	s.FailNext(http.MethodPost, "/rest/api/2/issue", 2, http.StatusServiceUnavailable, "")
	for range 2 {
		a := call(t, s, http.MethodPost, "/rest/api/2/issue", body)
		wantStatus(t, a, http.StatusServiceUnavailable)
		wantJSON(t, a.body, errorsJSON([]string{"Service Unavailable"}, nil))
		if ra := a.header.Get("Retry-After"); ra != "" {
			t.Errorf("Retry-After %q", ra)
		}
	}
	if key := create(t, s, "OSP", "Bug", "s", ""); key != "OSP-1" {
		t.Errorf("failed creates changed the keys: %s", key)
	}

	s.FailNext(http.MethodGet, "/rest/api/2/search", 1, http.StatusTooManyRequests, "7")
	wantStatus(t, call(t, s, http.MethodPost, "/rest/api/2/search", `{"jql":""}`), http.StatusOK) // other method
	a := call(t, s, http.MethodGet, "/rest/api/2/search?jql=", nil)
	wantStatus(t, a, http.StatusTooManyRequests)
	wantJSON(t, a.body, errorsJSON([]string{"Rate limit exceeded."}, nil))
	if ra := a.header.Get("Retry-After"); ra != "7" {
		t.Errorf("Retry-After %q, want 7", ra)
	}
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/search?jql=", nil), http.StatusOK)

	// Failures come before authentication, and in the order injected.
	s.FailNext(http.MethodGet, "/rest/api/2/", 1, http.StatusInternalServerError, "")
	s.FailNext(http.MethodGet, "/rest/api/2/issue/", 1, http.StatusBadGateway, "")
	a = callWith(t, s, http.MethodGet, "/rest/api/2/issue/OSP-1", nil, func(*http.Request) {})
	wantStatus(t, a, http.StatusInternalServerError)
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/myself", nil), http.StatusOK)
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/issue/OSP-1", nil), http.StatusBadGateway)
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/issue/OSP-1", nil), http.StatusOK)

	for _, c := range []struct {
		status, want int
	}{
		{http.StatusServiceUnavailable, 2}, {http.StatusCreated, 1},
	} {
		if n := s.Count(http.MethodPost, "/rest/api/2/issue", c.status); n != c.want {
			t.Errorf("Count(POST issue, %d) = %d, want %d", c.status, n, c.want)
		}
	}
	for _, f := range []func(){
		func() { s.FailNext(http.MethodGet, "/", 0, 500, "") },
		func() { s.FailNext(http.MethodGet, "/", 1, 0, "") },
		func() { s.FailNext(http.MethodGet, "/", 1, http.StatusOK, "") },
		func() { s.HangNext(http.MethodGet, "/", -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a senseless failure was accepted")
				}
			}()
			f()
		}()
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestHangNext(t *testing.T) {
	s := newFake(t, DataCenter)
	s.HangNext(http.MethodGet, "/rest/api/2/myself", 1)
	s.HangNext(http.MethodPost, "/rest/api/2/issue", 1)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/rest/api/2/myself", ""},
		{http.MethodPost, "/rest/api/2/issue", `{"fields":{"project":{"key":"OSP"},"issuetype":{"name":"Bug"},"summary":"s"}}`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, r.method, s.URL+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(testEmail, testToken)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s %s answered %d", r.method, r.path, resp.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 100*time.Millisecond {
			t.Errorf("%s %s: %v after %v, want the deadline", r.method, r.path, err, time.Since(start))
		}
		waitFor(t, "the hung request to be logged", func() bool { return s.Count(r.method, r.path, 0) == 1 })
	}
	if issues := s.Issues(); len(issues) != 0 {
		t.Errorf("a hung create made %v", issues)
	}
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/myself", nil), http.StatusOK)
	if key := create(t, s, "OSP", "Bug", "s", ""); key != "OSP-1" {
		t.Errorf("key %s", key)
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	s := newFake(t, DataCenter)
	s.HangNext(http.MethodGet, "/rest/api/2/myself", 1)
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/rest/api/2/myself", nil)
		req.SetBasicAuth(testEmail, testToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
			done <- err
			return
		}
		done <- nil
	}()
	waitFor(t, "the request to hang", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.hanging == 1
	})
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the hung request %v, want a closed connection", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hung request never ended")
	}
}

func TestDropNext(t *testing.T) {
	s := newFake(t, DataCenter)
	s.DropNext(http.MethodPost, "/rest/api/2/issue", 1)
	body := `{"fields":{"project":{"key":"OSP"},"issuetype":{"name":"Bug"},"summary":"Lost answer","labels":["osprey-run-1"]}}`
	req, err := http.NewRequest(http.MethodPost, s.URL+"/rest/api/2/issue", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testEmail, testToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped create answered %d", resp.StatusCode)
	}

	issues := s.Issues()
	if len(issues) != 1 || issues[0].Key != "OSP-1" || issues[0].Summary != "Lost answer" {
		t.Fatalf("after the dropped create Issues() = %+v", issues)
	}
	if n := s.Count(http.MethodPost, "/rest/api/2/issue", 0); n != 1 {
		t.Errorf("Count of unanswered creates = %d, want 1", n)
	}
	// The client can find the issue it never heard of, and carry on.
	a := call(t, s, http.MethodGet, "/rest/api/2/search?jql="+url.QueryEscape(`labels = "osprey-run-1"`), nil)
	if got := keys(t, a.body); !reflect.DeepEqual(got, []string{"OSP-1"}) {
		t.Errorf("search after the dropped create found %v", got)
	}
	if key := create(t, s, "OSP", "Bug", "Next", ""); key != "OSP-2" {
		t.Errorf("next key %s, want OSP-2", key)
	}

	// A dropped request that fails still loses its answer, and changes nothing.
	s.DropNext(http.MethodPost, "/rest/api/2/issue", 1)
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/rest/api/2/issue", strings.NewReader(`{"fields":{}}`))
	req.SetBasicAuth(testEmail, testToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped bad create answered %d", resp.StatusCode)
	}
	if n := len(s.Issues()); n != 2 {
		t.Errorf("%d issues after a dropped bad create, want 2", n)
	}
}

func TestRequests(t *testing.T) {
	s := newFake(t, Cloud)
	call(t, s, http.MethodGet, "/rest/api/2/myself", nil)
	create(t, s, "OSP", "Bug", "s", "")
	call(t, s, http.MethodGet, "/rest/api/2/search?jql=project%3DOSP", nil)
	call(t, s, http.MethodPost, "/rest/api/3/search/jql", `{"jql":"project = OSP"}`)
	callWith(t, s, http.MethodGet, "/rest/api/2/issue/OSP-1", nil, func(*http.Request) {})
	want := []Request{
		{http.MethodGet, "/rest/api/2/myself", http.StatusOK},
		{http.MethodPost, "/rest/api/2/issue", http.StatusCreated},
		{http.MethodGet, "/rest/api/2/search", http.StatusGone},
		{http.MethodPost, "/rest/api/3/search/jql", http.StatusOK},
		{http.MethodGet, "/rest/api/2/issue/OSP-1", http.StatusUnauthorized},
	}
	if got := s.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("Requests() = %v\nwant %v", got, want)
	}
	if n := s.Count(http.MethodGet, "/rest/api/2/search", http.StatusGone); n != 1 {
		t.Errorf("Count = %d", n)
	}
	if n := s.Count(http.MethodGet, "/rest/api/2/search", http.StatusOK); n != 0 {
		t.Errorf("Count = %d", n)
	}
}

func TestAddProjectAgain(t *testing.T) {
	s := newFake(t, DataCenter)
	create(t, s, "OSP", "Bug", "s", "")
	s.AddProject("OSP", "Incident")
	a := call(t, s, http.MethodPost, "/rest/api/2/issue", `{"fields":{"project":{"key":"OSP"},"issuetype":{"name":"Bug"},"summary":"s"}}`)
	wantStatus(t, a, http.StatusBadRequest)
	wantJSON(t, a.body, errorsJSON(nil, map[string]string{"issuetype": "Specify a valid issue type"}))
	if key := create(t, s, "OSP", "Incident", "s", ""); key != "OSP-2" {
		t.Errorf("key %s after re-adding the project, want OSP-2", key)
	}
	wantStatus(t, call(t, s, http.MethodGet, "/rest/api/2/issue/OSP-1", nil), http.StatusOK)
}
