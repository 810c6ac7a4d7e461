// Package fakejira is an httptest server that answers like Jira's REST API
// for the calls osprey makes through go-jira, so tests exercise the real
// client against real request and response shapes: Basic auth with the
// account's email and API token, GET /rest/api/2/myself, issue creation
// validated field by field the way Jira validates it, issue lookup, and
// JQL search in either of Jira's two dialects: Data Center's offset-paged
// /rest/api/2/search, or Cloud's token-paged /search/jql (where the old
// search endpoints answer 410 Gone). The JQL it understands is the small
// subset osprey writes, parsed strictly. Tests can make the next requests
// to a path fail with a status, hang past the client's deadline, or be
// carried out and then lose their answer, and can count the requests the
// fake served.
package fakejira

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Mode is which Jira the fake pretends to be; it decides the search API.
type Mode int

const (
	// DataCenter is a self-hosted Jira: GET and POST /rest/api/2/search,
	// paged with startAt and answering a total. There is no /rest/api/3.
	DataCenter Mode = iota
	// Cloud is Jira Cloud after Atlassian removed the old search: GET and
	// POST /rest/api/{2,3}/search answer 410 Gone, and search is GET and
	// POST /rest/api/{2,3}/search/jql, paged with nextPageToken and
	// answering isLast but no total.
	Cloud
)

// JiraTime is the layout of the timestamps Jira writes (and go-jira parses).
const JiraTime = "2006-01-02T15:04:05.000-0700"

// Default and largest page sizes, as Jira applies them.
const (
	defaultPage    = 50
	maxPageDC      = 1000 // Data Center's cap on maxResults
	maxPageCloud   = 100  // Cloud's cap when issues carry fields
	maxPageCloudID = 5000 // Cloud's cap when only ids are asked for
)

// Account is the user the fake knows. Requests authenticate with HTTP
// Basic auth: Email as the user name and Token as the password.
type Account struct {
	AccountID, Email, DisplayName, Token string
}

// Issue is an issue the fake holds, as it was created.
type Issue struct {
	ID, Key     string
	Project     string // project key
	Type        string // issue type name
	Summary     string
	Description string
	Labels      []string
	Created     time.Time // to the millisecond, UTC
}

// Request is one request the server served. Status is 0 when the server
// answered nothing: the connection was dropped or the request hung until
// the client gave up.
type Request struct {
	Method, Path string
	Status       int
}

// Server is a fake Jira. Create it with New; its URL is the base URL a
// Jira client is given.
type Server struct {
	*httptest.Server

	Mode    Mode    // which Jira it is, fixed by New
	Account Account // the only user it lets in, fixed by New

	mu        sync.Mutex
	projects  map[string]*project // key → project
	issues    []*record           // in the order they were created
	nextID    int64               // id of the next issue
	nextMeta  int64               // id of the next project or issue type
	forbidden bool                // creating issues answers 403
	searchLag time.Duration       // how long a new issue stays out of search results
	faults    []*fault            // injected failures, first match wins
	tokens    map[string]pageToken
	requests  []Request
	hanging   int // requests held by HangNext right now

	closeOnce sync.Once
	closed    chan struct{} // closed by Close, to release hanging requests
}

type project struct {
	id, key string
	types   []issueType
	lastNum int // number in the key of the project's last issue
}

type issueType struct{ id, name string }

// record is a created issue with the ids Jira reports alongside it. It is
// never changed once stored.
type record struct {
	Issue
	id      int64
	project *project
	itype   issueType
}

// pageToken is what a Cloud nextPageToken stands for: the rest of the
// query's results after the issue with id after.
type pageToken struct {
	jql   string
	after int64
}

// fault is a failure injected for the next left requests of method to
// paths starting with prefix.
type fault struct {
	method, prefix string
	left           int
	status         int // answer this status, unless hang or drop
	retryAfter     string
	hang, drop     bool
}

// New starts a fake Jira of the given mode that accepts only account's
// credentials. It holds no projects until AddProject.
func New(mode Mode, account Account) *Server {
	s := &Server{
		Mode:     mode,
		Account:  account,
		projects: map[string]*project{},
		nextID:   10001,
		nextMeta: 10000,
		tokens:   map[string]pageToken{},
		closed:   make(chan struct{}),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close releases requests held by HangNext, then shuts the server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.Server.Close()
}

// AddProject makes a project with key whose issues can be of the named
// types (names are matched exactly, as ids are). Adding a key again
// replaces its issue types and keeps its issues.
func (s *Server) AddProject(key string, issueTypes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[key]
	if !ok {
		p = &project{id: s.meta(), key: key}
		s.projects[key] = p
	}
	p.types = nil
	for _, name := range issueTypes {
		p.types = append(p.types, issueType{id: s.meta(), name: name})
	}
}

// meta hands out the next project or issue type id; s.mu must be held.
func (s *Server) meta() string {
	id := strconv.FormatInt(s.nextMeta, 10)
	s.nextMeta++
	return id
}

// SetForbidden makes creating issues answer 403, as Jira does to an
// account without the Create Issues permission, until called with false.
func (s *Server) SetForbidden(forbidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden = forbidden
}

// SetSearchLag keeps an issue out of search results until lag has passed
// since it was created, like Jira's search index catching up (Cloud's
// search is documented as eventually consistent). GET of the issue finds
// it at once. Zero, the default, makes new issues searchable at once.
func (s *Server) SetSearchLag(lag time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchLag = lag
}

// FailNext makes the next n requests of method to a path starting with
// pathPrefix answer status (400 to 599), with a Jira error body and, if retryAfter is
// not empty, a Retry-After header. They fail before authentication, as a
// proxy or an overloaded Jira would, and change nothing.
func (s *Server) FailNext(method, pathPrefix string, n, status int, retryAfter string) {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("fakejira: FailNext with status %d", status))
	}
	s.addFault(&fault{method: method, prefix: pathPrefix, left: n, status: status, retryAfter: retryAfter})
}

// HangNext makes the next n requests of method to a path starting with
// pathPrefix go unanswered until the client gives up (its context ends
// or it closes the connection) or the server is closed; the connection
// is then closed without an answer. They change nothing.
func (s *Server) HangNext(method, pathPrefix string, n int) {
	s.addFault(&fault{method: method, prefix: pathPrefix, left: n, hang: true})
}

// DropNext makes the next n requests of method to a path starting with
// pathPrefix be carried out in full and then lose their answer: the fake
// closes the connection instead of answering. A dropped create therefore
// leaves an issue behind that the client never heard of.
func (s *Server) DropNext(method, pathPrefix string, n int) {
	s.addFault(&fault{method: method, prefix: pathPrefix, left: n, drop: true})
}

func (s *Server) addFault(f *fault) {
	if f.left < 1 {
		panic(fmt.Sprintf("fakejira: a failure for %d requests", f.left))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault spends one request of the first injected failure that matches.
func (s *Server) takeFault(method, path string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.method == method && strings.HasPrefix(path, f.prefix) {
			f.left--
			if f.left == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f
		}
	}
	return nil
}

// Issues returns the issues created so far, oldest first.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, r := range s.issues {
		issue := r.Issue
		issue.Labels = slices.Clone(r.Labels)
		out = append(out, issue)
	}
	return out
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests for method and path got status (0 for
// those answered with nothing).
func (s *Server) Count(method, path string, status int) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path && r.Status == status {
			n++
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := 0
	defer func() { // deferred, to log requests aborted by a panic too
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: status})
		s.mu.Unlock()
	}()
	switch f := s.takeFault(r.Method, r.URL.Path); {
	case f != nil && f.hang:
		s.hang(r)
		closeConnection(w)
	case f != nil && f.drop:
		s.route(httptest.NewRecorder(), r) // the work is done, the answer is lost
		closeConnection(w)
	case f != nil:
		rec := &statusRecorder{ResponseWriter: w}
		if f.retryAfter != "" {
			rec.Header().Set("Retry-After", f.retryAfter)
		}
		message := http.StatusText(f.status)
		if f.status == http.StatusTooManyRequests {
			message = "Rate limit exceeded."
		}
		writeErrors(rec, f.status, []string{message}, nil)
		status = rec.status
	default:
		rec := &statusRecorder{ResponseWriter: w}
		s.route(rec, r)
		status = rec.status
	}
}

// hang waits until the client gives up on r or the server closes.
func (s *Server) hang(r *http.Request) {
	// net/http notices a client going away only once the body is read.
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.hanging++
	s.mu.Unlock()
	select {
	case <-r.Context().Done():
	case <-s.closed:
	}
	s.mu.Lock()
	s.hanging--
	s.mu.Unlock()
}

// closeConnection ends the request's connection without an answer.
func closeConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http's way to abort, for HTTP/2
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !s.authenticated(w, r) {
		return
	}
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	version := 0
	if rest, ok := strings.CutPrefix(path, "/rest/api/2/"); ok {
		version, path = 2, rest
	} else if rest, ok := strings.CutPrefix(path, "/rest/api/3/"); ok && s.Mode == Cloud {
		version, path = 3, rest
	}
	key, isIssue := strings.CutPrefix(path, "issue/")
	switch {
	case version == 0:
		notFound(w, r)
	case path == "myself":
		if allow(w, r, http.MethodGet) {
			s.myself(w, version)
		}
	case path == "issue" && version == 2:
		if allow(w, r, http.MethodPost) {
			s.create(w, r)
		}
	case isIssue && key != "" && !strings.Contains(key, "/"):
		if allow(w, r, http.MethodGet) {
			s.getIssue(w, r, key, version)
		}
	case path == "search" && s.Mode == Cloud:
		if allow(w, r, http.MethodGet, http.MethodPost) {
			writeErrors(w, http.StatusGone, []string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"}, nil)
		}
	case path == "search":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			s.searchDC(w, r)
		}
	case path == "search/jql" && s.Mode == Cloud:
		if allow(w, r, http.MethodGet, http.MethodPost) {
			s.searchCloud(w, r, version)
		}
	default:
		notFound(w, r)
	}
}

// authenticated checks Basic auth against the account; a failure answers
// 401 with no body, and the header Jira sets when credentials were wrong.
func (s *Server) authenticated(w http.ResponseWriter, r *http.Request) bool {
	email, token, ok := r.BasicAuth()
	if ok && email == s.Account.Email && subtle.ConstantTimeCompare([]byte(token), []byte(s.Account.Token)) == 1 {
		return true
	}
	if r.Header.Get("Authorization") != "" {
		w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
	}
	w.WriteHeader(http.StatusUnauthorized)
	return false
}

// allow answers 405 unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeErrors(w, http.StatusNotFound, []string{"fakejira has no resource at " + r.URL.Path}, nil)
}

func (s *Server) myself(w http.ResponseWriter, version int) {
	a := s.Account
	writeJSON(w, http.StatusOK, map[string]any{
		"self":         fmt.Sprintf("%s/rest/api/%d/user?accountId=%s", s.URL, version, a.AccountID),
		"accountId":    a.AccountID,
		"accountType":  "atlassian",
		"emailAddress": a.Email,
		"displayName":  a.DisplayName,
		"active":       true,
		"timeZone":     "UTC",
	})
}

// The fields a create may set: the fake's create screen holds just these.
var creatable = []string{"project", "issuetype", "summary", "description", "labels"}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	forbidden := s.forbidden
	s.mu.Unlock()
	if forbidden {
		writeErrors(w, http.StatusForbidden, []string{"You do not have permission to create issues in this project."}, nil)
		return
	}
	var body struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"The request body is not valid JSON: " + err.Error()}, nil)
		return
	}
	fields := body.Fields
	errs := map[string]string{}
	for name := range fields {
		if !slices.Contains(creatable, name) {
			errs[name] = fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", name)
		}
	}

	projectRef, hasProject := readRef(fields["project"], "key")
	typeRef, hasType := readRef(fields["issuetype"], "name")
	summary, summaryOK := readString(fields["summary"])
	description, descriptionOK := readString(fields["description"])
	labels, labelsErr := readLabels(fields["labels"])

	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findProject(projectRef)
	var itype issueType
	switch {
	case !hasProject:
		errs["project"] = "project is required"
	case p == nil:
		errs["project"] = "Specify a valid project ID or key"
	}
	switch {
	case !hasType:
		errs["issuetype"] = "Specify an issue type"
	case p != nil:
		i := slices.IndexFunc(p.types, func(t issueType) bool { return t.id == typeRef.id || t.name == typeRef.name })
		if i < 0 {
			errs["issuetype"] = "Specify a valid issue type"
		} else {
			itype = p.types[i]
		}
	}
	switch {
	case !summaryOK:
		errs["summary"] = "Operation value must be a string"
	case strings.TrimSpace(summary) == "":
		errs["summary"] = "You must specify a summary of the issue."
	case utf8.RuneCountInString(summary) > 255:
		errs["summary"] = "Summary must be less than 255 characters."
	case strings.ContainsAny(summary, "\r\n"):
		errs["summary"] = "The summary is invalid because it contains newline characters."
	}
	if !descriptionOK {
		errs["description"] = "Operation value must be a string"
	}
	if labelsErr != "" {
		errs["labels"] = labelsErr
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}

	p.lastNum++
	rec := &record{
		Issue: Issue{
			ID:          strconv.FormatInt(s.nextID, 10),
			Key:         fmt.Sprintf("%s-%d", p.key, p.lastNum),
			Project:     p.key,
			Type:        itype.name,
			Summary:     summary,
			Description: description,
			Labels:      labels,
			Created:     time.Now().UTC().Truncate(time.Millisecond),
		},
		id: s.nextID, project: p, itype: itype,
	}
	s.nextID++
	s.issues = append(s.issues, rec)
	writeJSON(w, http.StatusCreated, map[string]string{
		"id":   rec.ID,
		"key":  rec.Key,
		"self": fmt.Sprintf("%s/rest/api/2/issue/%s", s.URL, rec.ID),
	})
}

// ref names a project or issue type by id or by the other property.
type ref struct{ id, name string }

// readRef reads {"id": …} or {nameProp: …}; it reports false for a field
// that is absent, null or names nothing.
func readRef(raw json.RawMessage, nameProp string) (ref, bool) {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return ref{}, false
	}
	text := func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	r := ref{id: text(obj["id"]), name: text(obj[nameProp])}
	return r, r.id != "" || r.name != ""
}

// readString reads an optional string field; false means it is present
// but not a string.
func readString(raw json.RawMessage) (string, bool) {
	if raw == nil || string(raw) == "null" {
		return "", true
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// readLabels reads the labels field, without repeats, or says what is
// wrong with it.
func readLabels(raw json.RawMessage) ([]string, string) {
	if raw == nil || string(raw) == "null" {
		return []string{}, ""
	}
	var labels []string
	if json.Unmarshal(raw, &labels) != nil {
		return nil, "Operation value must be an array of strings"
	}
	out := []string{}
	for _, l := range labels {
		switch {
		case l == "" || strings.IndexFunc(l, unicode.IsSpace) >= 0:
			return nil, fmt.Sprintf("The label '%s' contains spaces which is invalid.", l)
		case utf8.RuneCountInString(l) > 255:
			return nil, fmt.Sprintf("The label '%s' exceeds the maximum length for a single label of 255 characters.", l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, ""
}

// findProject finds a project by id or key; s.mu must be held.
func (s *Server) findProject(r ref) *project {
	for _, p := range s.projects {
		if (r.id != "" && p.id == r.id) || (r.name != "" && p.key == r.name) {
			return p
		}
	}
	return nil
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, idOrKey string, version int) {
	s.mu.Lock()
	var found *record
	for _, rec := range s.issues {
		if rec.ID == idOrKey || strings.EqualFold(rec.Key, idOrKey) {
			found = rec
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeErrors(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
		return
	}
	writeJSON(w, http.StatusOK, s.render(found, version, parseFields(r.URL.Query()["fields"], false)))
}

// fieldSet is which fields of an issue an answer carries.
type fieldSet struct {
	idOnly bool // Cloud search's default: the issue id and nothing else
	all    bool
	names  map[string]bool
	minus  map[string]bool
}

// parseFields reads a fields parameter, given as a list, comma-separated
// or both. Without one, Cloud search answers ids only and the rest answer
// every field.
func parseFields(list []string, cloudSearch bool) fieldSet {
	f := fieldSet{names: map[string]bool{}, minus: map[string]bool{}}
	var items []string
	for _, l := range list {
		for _, item := range strings.Split(l, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
	}
	if len(items) == 0 || (cloudSearch && slices.Equal(items, []string{"id"})) {
		f.idOnly, f.all = cloudSearch, !cloudSearch
		return f
	}
	for _, item := range items {
		switch {
		case item == "*all" || item == "*navigable":
			f.all = true
		case strings.HasPrefix(item, "-"):
			f.minus[item[1:]] = true
		default:
			f.names[item] = true
		}
	}
	return f
}

func (f fieldSet) has(name string) bool {
	return !f.minus[name] && (f.all || f.names[name])
}

// render is an issue as Jira answers it in API version (2 or 3, whose
// descriptions are Atlassian Document Format).
func (s *Server) render(r *record, version int, fields fieldSet) map[string]any {
	if fields.idOnly {
		return map[string]any{"id": r.ID}
	}
	base := fmt.Sprintf("%s/rest/api/%d", s.URL, version)
	f := map[string]any{}
	if fields.has("summary") {
		f["summary"] = r.Summary
	}
	if fields.has("description") {
		switch {
		case r.Description == "":
			f["description"] = nil
		case version == 3:
			f["description"] = adf(r.Description)
		default:
			f["description"] = r.Description
		}
	}
	if fields.has("labels") {
		f["labels"] = slices.Clone(r.Labels)
	}
	if fields.has("project") {
		f["project"] = map[string]any{"self": base + "/project/" + r.project.id, "id": r.project.id, "key": r.project.key, "name": r.project.key}
	}
	if fields.has("issuetype") {
		f["issuetype"] = map[string]any{"self": base + "/issuetype/" + r.itype.id, "id": r.itype.id, "name": r.itype.name, "subtask": false}
	}
	if fields.has("created") {
		f["created"] = r.Created.Format(JiraTime)
	}
	return map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     r.ID,
		"self":   base + "/issue/" + r.ID,
		"key":    r.Key,
		"fields": f,
	}
}

// adf is plain text as an Atlassian Document Format document, a paragraph
// a line.
func adf(text string) map[string]any {
	var paragraphs []any
	for _, line := range strings.Split(text, "\n") {
		p := map[string]any{"type": "paragraph"}
		if line != "" {
			p["content"] = []any{map[string]any{"type": "text", "text": line}}
		}
		paragraphs = append(paragraphs, p)
	}
	return map[string]any{"type": "doc", "version": 1, "content": paragraphs}
}

// searchDC answers Data Center's GET and POST /rest/api/2/search.
func (s *Server) searchDC(w http.ResponseWriter, r *http.Request) {
	var params struct {
		JQL        string   `json:"jql"`
		StartAt    *int     `json:"startAt"`
		MaxResults *int     `json:"maxResults"`
		Fields     []string `json:"fields"`
	}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&params); err != nil {
			writeErrors(w, http.StatusBadRequest, []string{"The request body is not valid JSON: " + err.Error()}, nil)
			return
		}
	} else {
		q := r.URL.Query()
		params.JQL, params.Fields = q.Get("jql"), q["fields"]
		for name, dst := range map[string]**int{"startAt": &params.StartAt, "maxResults": &params.MaxResults} {
			if v := q.Get(name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					writeErrors(w, http.StatusBadRequest, []string{fmt.Sprintf("The value '%s' of the parameter '%s' is not a number.", v, name)}, nil)
					return
				}
				*dst = &n
			}
		}
	}
	startAt, limit := 0, defaultPage
	if params.StartAt != nil && *params.StartAt > 0 {
		startAt = *params.StartAt
	}
	if params.MaxResults != nil && *params.MaxResults >= 0 {
		limit = min(*params.MaxResults, maxPageDC)
	}
	matches, msg := s.search(params.JQL, true)
	if msg != "" {
		writeErrors(w, http.StatusBadRequest, []string{msg}, nil)
		return
	}
	page := matches[min(startAt, len(matches)):]
	page = page[:min(limit, len(page))]
	fields := parseFields(params.Fields, false)
	issues := []any{}
	for _, rec := range page {
		issues = append(issues, s.render(rec, 2, fields))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"expand":     "schema,names",
		"startAt":    startAt,
		"maxResults": limit,
		"total":      len(matches),
		"issues":     issues,
	})
}

// searchCloud answers Cloud's GET and POST /rest/api/{2,3}/search/jql.
func (s *Server) searchCloud(w http.ResponseWriter, r *http.Request, version int) {
	var params struct {
		JQL           string   `json:"jql"`
		MaxResults    *int     `json:"maxResults"`
		Fields        []string `json:"fields"`
		NextPageToken string   `json:"nextPageToken"`
	}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&params); err != nil {
			writeErrors(w, http.StatusBadRequest, []string{"The request body is not valid JSON: " + err.Error()}, nil)
			return
		}
	} else {
		q := r.URL.Query()
		params.JQL, params.Fields, params.NextPageToken = q.Get("jql"), q["fields"], q.Get("nextPageToken")
		if v := q.Get("maxResults"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				writeErrors(w, http.StatusBadRequest, []string{fmt.Sprintf("The value '%s' of the parameter 'maxResults' is not a number.", v)}, nil)
				return
			}
			params.MaxResults = &n
		}
	}
	if strings.TrimSpace(params.JQL) == "" {
		writeErrors(w, http.StatusBadRequest, []string{"Unbounded JQL queries are not allowed here. Please add a search restriction to your query."}, nil)
		return
	}
	fields := parseFields(params.Fields, true)
	limit := defaultPage
	if params.MaxResults != nil && *params.MaxResults > 0 {
		limit = *params.MaxResults
	}
	if fields.idOnly {
		limit = min(limit, maxPageCloudID)
	} else {
		limit = min(limit, maxPageCloud)
	}
	matches, msg := s.search(params.JQL, false)
	if msg != "" {
		writeErrors(w, http.StatusBadRequest, []string{msg}, nil)
		return
	}
	if params.NextPageToken != "" {
		s.mu.Lock()
		tok, ok := s.tokens[params.NextPageToken]
		s.mu.Unlock()
		if !ok || tok.jql != params.JQL {
			writeErrors(w, http.StatusBadRequest, []string{"The nextPageToken is not one this query handed out."}, nil)
			return
		}
		i := slices.IndexFunc(matches, func(r *record) bool { return r.id < tok.after })
		if i < 0 {
			i = len(matches)
		}
		matches = matches[i:]
	}
	page := matches[:min(limit, len(matches))]
	issues := []any{}
	for _, rec := range page {
		issues = append(issues, s.render(rec, version, fields))
	}
	answer := map[string]any{"issues": issues, "isLast": len(page) == len(matches)}
	if len(page) < len(matches) {
		token := newToken()
		s.mu.Lock()
		s.tokens[token] = pageToken{jql: params.JQL, after: page[len(page)-1].id}
		s.mu.Unlock()
		answer["nextPageToken"] = token
	}
	writeJSON(w, http.StatusOK, answer)
}

func newToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// search runs jql over the searchable issues, newest first, or returns the
// message Jira would answer it with. An empty query matches everything
// when emptyOK is set.
func (s *Server) search(jql string, emptyOK bool) ([]*record, string) {
	var q query
	if strings.TrimSpace(jql) != "" || !emptyOK {
		var err error
		if q, err = parseJQL(jql); err != nil {
			return nil, err.Error()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var projects []*project
	for _, v := range q.projects {
		var found *project
		for _, p := range s.projects {
			if strings.EqualFold(p.key, v) || p.id == v {
				found = p
			}
		}
		if found == nil {
			return nil, fmt.Sprintf("The value '%s' does not exist for the field 'project'.", v)
		}
		projects = append(projects, found)
	}
	cutoff := time.Now().Add(-s.searchLag)
	matches := []*record{}
	for _, r := range slices.Backward(s.issues) {
		if s.searchLag > 0 && r.Created.After(cutoff) {
			continue
		}
		if q.matches(r, projects) {
			matches = append(matches, r)
		}
	}
	return matches, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors answers Jira's error shape: general messages and messages
// by field, both always present.
func writeErrors(w http.ResponseWriter, status int, messages []string, fields map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": messages, "errors": fields})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// query is the JQL osprey writes: clauses joined by AND, each either
// project = KEY, or labels = value or labels in (values).
type query struct {
	projects []string   // each must be the issue's project (key or id)
	labels   [][]string // the issue must have one label of each
}

// matches reports whether r satisfies q, whose project clauses resolved
// to projects.
func (q query) matches(r *record, projects []*project) bool {
	for _, p := range projects {
		if r.project != p {
			return false
		}
	}
	for _, anyOf := range q.labels {
		if !slices.ContainsFunc(anyOf, func(l string) bool { return slices.Contains(r.Labels, l) }) {
			return false
		}
	}
	return true
}

type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokWord             // unquoted: a field, keyword or value
	tokString           // quoted, text unescaped
	tokOp               // = != ~ !~ < <= > >=
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind      tokenKind
	text      string // the word, the unescaped string or the operator
	raw       string // as written
	line, col int    // where it starts, from 1
}

// jqlError is a JQL mistake, worded as Jira words them.
type jqlError string

func (e jqlError) Error() string { return string(e) }

func jqlErrorAt(line, col int, format string, args ...any) error {
	return jqlError(fmt.Sprintf("Error in the JQL Query: %s (line %d, character %d)", fmt.Sprintf(format, args...), line, col))
}

// JQL's reserved characters and (some of its) reserved words: unquoted
// values may use neither.
const reservedChars = "+.;?|*/%^$#@[]"

var reservedWords = []string{"and", "or", "not", "in", "is", "was", "changed", "empty", "null", "order", "by", "asc", "desc", "from", "to", "on", "before", "after", "during"}

// lexJQL splits src into tokens, ending with tokEOF.
func lexJQL(src string) ([]token, error) {
	runes := []rune(src)
	var toks []token
	line, col := 1, 1
	advance := func(n int) {
		for _, r := range runes[:n] {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		runes = runes[n:]
	}
	for {
		for len(runes) > 0 && unicode.IsSpace(runes[0]) {
			advance(1)
		}
		if len(runes) == 0 {
			return append(toks, token{kind: tokEOF, line: line, col: col}), nil
		}
		t := token{line: line, col: col}
		c := runes[0]
		n := 1
		switch {
		case c == '(':
			t.kind = tokLParen
		case c == ')':
			t.kind = tokRParen
		case c == ',':
			t.kind = tokComma
		case strings.ContainsRune("=!<>~", c):
			t.kind = tokOp
			if len(runes) > 1 && runes[1] == '=' && c != '=' || len(runes) > 1 && runes[1] == '~' && c == '!' {
				n = 2
			}
			if n == 1 && c == '!' {
				return nil, jqlErrorAt(line, col, "'!' is not an operator.")
			}
		case c == '"' || c == '\'':
			var b strings.Builder
			for {
				if n >= len(runes) {
					return nil, jqlErrorAt(line, col, "The quoted string '%s' has not been completed.", string(runes[1:]))
				}
				r := runes[n]
				n++
				if r == c {
					break
				}
				if r != '\\' {
					b.WriteRune(r)
					continue
				}
				if n >= len(runes) {
					continue // the unfinished string is reported next round
				}
				e := runes[n]
				n++
				switch e {
				case '"', '\'', '\\', ' ':
					b.WriteRune(e)
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case 'u':
					if n+4 > len(runes) {
						return nil, jqlErrorAt(line, col, "The escape sequence '\\u%s' is not complete.", string(runes[n:]))
					}
					v, err := strconv.ParseUint(string(runes[n:n+4]), 16, 16)
					if err != nil {
						return nil, jqlErrorAt(line, col, "The escape sequence '\\u%s' is not valid.", string(runes[n:n+4]))
					}
					b.WriteRune(rune(v))
					n += 4
				default:
					return nil, jqlErrorAt(line, col, "The escape sequence '\\%c' is not valid.", e)
				}
			}
			t.kind, t.text = tokString, b.String()
		default:
			for n = 0; n < len(runes) && !unicode.IsSpace(runes[n]) && !strings.ContainsRune("(),\"'=!<>~", runes[n]); n++ {
				if r := runes[n]; strings.ContainsRune(reservedChars, r) {
					return nil, jqlErrorAt(line, col+n, "The character '%c' is a reserved JQL character. You must enclose it in a string or use the escape '\\u%04x' instead.", r, r)
				}
			}
			t.kind = tokWord
		}
		t.raw = string(runes[:n])
		if t.kind != tokString {
			t.text = t.raw
		}
		toks = append(toks, t)
		advance(n)
	}
}

// parseJQL reads src strictly; anything outside osprey's subset of JQL is
// an error.
func parseJQL(src string) (query, error) {
	toks, err := lexJQL(src)
	if err != nil {
		return query{}, err
	}
	p := &jqlParser{toks: toks}
	var q query
	for {
		if err := p.clause(&q); err != nil {
			return q, err
		}
		switch t := p.next(); {
		case t.kind == tokEOF:
			return q, nil
		case t.kind != tokWord || !strings.EqualFold(t.text, "and"):
			return q, jqlErrorAt(t.line, t.col, "Expecting 'AND' but got %s; fakejira understands only AND of project =, labels = and labels in.", t)
		}
	}
}

type jqlParser struct {
	toks []token
	i    int
}

// String is the token for a message: quoted as written, or the end.
func (t token) String() string {
	if t.kind == tokEOF {
		return "the end of the query"
	}
	return "'" + t.raw + "'"
}

func (p *jqlParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *jqlParser) clause(q *query) error {
	t := p.next()
	if t.kind != tokWord {
		return jqlErrorAt(t.line, t.col, "Expecting a field name but got %s.", t)
	}
	field := strings.ToLower(t.text)
	if field != "project" && field != "labels" {
		return jqlErrorAt(t.line, t.col, "fakejira does not support the field '%s'; it understands only project and labels.", t.raw)
	}
	op := p.next()
	switch {
	case op.kind == tokOp && op.text == "=":
		v, err := p.value()
		if err != nil {
			return err
		}
		if field == "project" {
			q.projects = append(q.projects, v)
		} else {
			q.labels = append(q.labels, []string{v})
		}
		return nil
	case field == "labels" && op.kind == tokWord && strings.EqualFold(op.text, "in"):
		if t := p.next(); t.kind != tokLParen {
			return jqlErrorAt(t.line, t.col, "Expecting '(' but got %s.", t)
		}
		var values []string
		for {
			v, err := p.value()
			if err != nil {
				return err
			}
			values = append(values, v)
			switch t := p.next(); t.kind {
			case tokComma:
				continue
			case tokRParen:
				q.labels = append(q.labels, values)
				return nil
			default:
				return jqlErrorAt(t.line, t.col, "Expecting ',' or ')' but got %s.", t)
			}
		}
	case op.kind == tokEOF:
		return jqlErrorAt(op.line, op.col, "Expecting an operator after '%s' but got %s.", t.raw, op)
	default:
		return jqlErrorAt(op.line, op.col, "fakejira does not support the operator '%s' for the field '%s'.", op.raw, t.raw)
	}
}

func (p *jqlParser) value() (string, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return t.text, nil
	case tokWord:
		if slices.Contains(reservedWords, strings.ToLower(t.text)) {
			return "", jqlErrorAt(t.line, t.col, "'%s' is a reserved JQL word. You must surround it in quotation marks to use it in a query.", t.raw)
		}
		return t.text, nil
	}
	return "", jqlErrorAt(t.line, t.col, "Expecting a value but got %s.", t)
}
