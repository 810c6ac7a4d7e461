package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// newTokenFake is a fake, closed with the test, that knows the token
// "tok" of installation 7.
func newTokenFake(t *testing.T) *Server {
	t.Helper()
	key, err := NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(1, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.tokens["tok"] = 7
	s.mu.Unlock()
	return s
}

// newRESTFake is newTokenFake with the repository acme/widgets readable.
func newRESTFake(t *testing.T) *Server {
	t.Helper()
	s := newTokenFake(t)
	s.SetResource("/repos/acme/widgets", map[string]any{"id": 1, "name": "widgets", "full_name": "acme/widgets"})
	return s
}

// restClient is a go-github client of installation 7 against s. Each call
// makes a new one, which knows nothing of earlier rate limits.
func restClient(t *testing.T, s *Server) *github.Client {
	t.Helper()
	client := github.NewClient(&http.Client{Transport: bearer{"tok"}})
	base, err := url.Parse(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	client.BaseURL = base
	return client
}

// rawGet sends GET path with installation 7's token and extra headers.
func rawGet(t *testing.T, s *Server, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token tok")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Requests wait for the latency together, not one after another.
func TestLatencyOverlapsAcrossParallelRequests(t *testing.T) {
	s := newRESTFake(t)
	const latency = 200 * time.Millisecond
	s.SetLatency(latency)
	client := restClient(t, s)
	ctx := context.Background()

	begin := time.Now()
	if _, _, err := client.Repositories.Get(ctx, "acme", "widgets"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < latency {
		t.Errorf("one request took %v, want at least %v", took, latency)
	}

	const parallel = 5
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	begin = time.Now()
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := client.Repositories.Get(ctx, "acme", "widgets")
			errs <- err
		}()
	}
	wg.Wait()
	wall := time.Since(begin)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if wall < latency || wall >= 2*latency {
		t.Errorf("%d parallel requests took %v, want between %v and %v", parallel, wall, latency, 2*latency)
	}
	if n := s.Count(http.MethodGet, "/repos/acme/widgets", http.StatusOK); n != parallel+1 {
		t.Errorf("%d requests answered, want %d", n, parallel+1)
	}

	s.SetLatency(0)
	begin = time.Now()
	if _, _, err := client.Repositories.Get(ctx, "acme", "widgets"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took >= latency {
		t.Errorf("without latency a request took %v", took)
	}
}

// A spent installation gets GitHub's 403, which go-github reports as a
// primary rate limit with the reset; 304s are still answered; the limit
// counts down from what SetRemaining says.
func TestPrimaryRateLimitExhaustion(t *testing.T) {
	s := newRESTFake(t)
	reset := time.Now().Add(30 * time.Minute)
	s.SetRemaining(7, 2, reset)
	client := restClient(t, s)
	ctx := context.Background()

	for want := 1; want >= 0; want-- {
		_, resp, err := client.Repositories.Get(ctx, "acme", "widgets")
		if err != nil {
			t.Fatalf("with %d left: %v", want+1, err)
		}
		if resp.Rate.Remaining != want || resp.Rate.Reset.Unix() != reset.Unix() {
			t.Errorf("rate = %+v, want %d left until %v", resp.Rate, want, reset)
		}
	}
	// A new client: this one would now refuse by itself, without asking.
	_, _, err := restClient(t, s).Repositories.Get(ctx, "acme", "widgets")
	var limited *github.RateLimitError
	if !errors.As(err, &limited) {
		t.Fatalf("spent: err = %v (%T), want *github.RateLimitError", err, err)
	}
	if limited.Rate.Remaining != 0 || limited.Rate.Limit != RateLimit || limited.Rate.Reset.Unix() != reset.Unix() {
		t.Errorf("rate = %+v, want 0 of %d until %v", limited.Rate, RateLimit, reset)
	}
	if limited.Message != "API rate limit exceeded for installation ID 7." {
		t.Errorf("message = %q", limited.Message)
	}
	if n := s.Count(http.MethodGet, "/repos/acme/widgets", http.StatusForbidden); n != 1 {
		t.Errorf("%d refusals recorded, want 1", n)
	}
	if s.Remaining(7) != 0 {
		t.Errorf("remaining = %d", s.Remaining(7))
	}

	// The documented body, on a list and a write too.
	resp := rawGet(t, s, "/repos/acme/widgets/issues")
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-RateLimit-Remaining") != "0" ||
		resp.Header.Get("X-RateLimit-Reset") != fmt.Sprint(reset.Unix()) ||
		body["documentation_url"] != "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting" {
		t.Errorf("spent list: %d %v %v", resp.StatusCode, resp.Header, body)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/repos/acme/widgets/issues/1/labels", strings.NewReader(`["x"]`))
	req.Header.Set("Authorization", "token tok")
	write, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	write.Body.Close()
	if write.StatusCode != http.StatusForbidden {
		t.Errorf("spent write: %d", write.StatusCode)
	}

	// A conditional request that matches costs nothing and is answered.
	s.SetRemaining(7, 1, reset)
	first := rawGet(t, s, "/repos/acme/widgets")
	if first.StatusCode != http.StatusOK || first.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("last request: %d, %s left", first.StatusCode, first.Header.Get("X-RateLimit-Remaining"))
	}
	if again := rawGet(t, s, "/repos/acme/widgets", "If-None-Match", first.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("a matching If-None-Match when spent: %d, want 304", again.StatusCode)
	}
	if other := rawGet(t, s, "/repos/acme/widgets", "If-None-Match", `"stale"`); other.StatusCode != http.StatusForbidden {
		t.Errorf("a stale If-None-Match when spent: %d, want 403", other.StatusCode)
	}
}

// When the reset comes, the limit refills and the next window ends an
// hour later.
func TestPrimaryRateLimitRefillsAtReset(t *testing.T) {
	s := newRESTFake(t)
	reset := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second)
	s.SetRemaining(7, 0, reset)
	client := restClient(t, s)
	ctx := context.Background()

	_, _, err := client.Repositories.Get(ctx, "acme", "widgets")
	var limited *github.RateLimitError
	if !errors.As(err, &limited) || !limited.Rate.Reset.Time.Equal(reset) {
		t.Fatalf("before the reset: err = %v, want a rate limit until %v", err, reset)
	}
	time.Sleep(time.Until(reset) + 50*time.Millisecond)
	if s.Remaining(7) != RateLimit {
		t.Errorf("after the reset, remaining = %d, want %d", s.Remaining(7), RateLimit)
	}
	_, resp, err := client.Repositories.Get(ctx, "acme", "widgets")
	if err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	if resp.Rate.Remaining != RateLimit-1 || resp.Rate.Reset.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("after the reset, rate = %+v, want %d left for an hour", resp.Rate, RateLimit-1)
	}
	if s.Remaining(7) != RateLimit-1 {
		t.Errorf("remaining = %d", s.Remaining(7))
	}
}

// A secondary rate limit fault is what go-github calls an abuse rate
// limit, with the Retry-After; it is spent after Times requests and
// charges nothing.
func TestSecondaryRateLimitFault(t *testing.T) {
	s := newRESTFake(t)
	s.InjectFault(Fault{Method: http.MethodPost, Path: "/repos/acme/widgets", Status: http.StatusInternalServerError})
	s.InjectFault(Fault{Path: "/repos/acme/widgets", Secondary: true, RetryAfter: 30 * time.Second, Times: 2})
	ctx := context.Background()

	for i := range 2 {
		_, _, err := restClient(t, s).Repositories.Get(ctx, "acme", "widgets")
		var abuse *github.AbuseRateLimitError
		if !errors.As(err, &abuse) {
			t.Fatalf("request %d: err = %v (%T), want *github.AbuseRateLimitError", i, err, err)
		}
		if abuse.RetryAfter == nil || *abuse.RetryAfter != 30*time.Second {
			t.Errorf("retry after = %v, want 30s", abuse.RetryAfter)
		}
		if abuse.Message != secondaryLimitMessage || abuse.Response.StatusCode != http.StatusForbidden {
			t.Errorf("answer %d %q", abuse.Response.StatusCode, abuse.Message)
		}
		if abuse.Response.Header.Get("X-RateLimit-Remaining") != fmt.Sprint(RateLimit) {
			t.Errorf("rate headers of a fault: %v", abuse.Response.Header)
		}
	}
	if _, _, err := restClient(t, s).Repositories.Get(ctx, "acme", "widgets"); err != nil {
		t.Fatalf("after the fault is spent: %v", err)
	}
	if n := s.Count(http.MethodGet, "/repos/acme/widgets", http.StatusForbidden); n != 2 {
		t.Errorf("%d faulted requests recorded, want 2", n)
	}
	if s.Remaining(7) != RateLimit-1 {
		t.Errorf("remaining = %d, want only the answered request charged", s.Remaining(7))
	}
}

// A server error fault fails Times requests, then the request succeeds;
// Requests records each with its status.
func TestServerErrorFaultThenSuccess(t *testing.T) {
	s := newRESTFake(t)
	s.InjectFault(Fault{Method: http.MethodGet, Path: "/repos/acme/widgets", Status: http.StatusBadGateway, Times: 2})
	client := restClient(t, s)
	ctx := context.Background()
	for i := range 2 {
		_, _, err := client.Repositories.Get(ctx, "acme", "widgets")
		var answer *github.ErrorResponse
		if !errors.As(err, &answer) || answer.Response.StatusCode != http.StatusBadGateway || answer.Message != "Server Error" {
			t.Fatalf("request %d: err = %v, want a 502 Server Error", i, err)
		}
	}
	repo, _, err := client.Repositories.Get(ctx, "acme", "widgets")
	if err != nil || repo.GetFullName() != "acme/widgets" {
		t.Fatalf("third request: %v %v", repo, err)
	}
	var statuses []int
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	if fmt.Sprint(statuses) != "[502 502 200]" {
		t.Errorf("statuses = %v", statuses)
	}
	if s.Remaining(7) != RateLimit-1 {
		t.Errorf("remaining = %d, want the faults free", s.Remaining(7))
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 || s.Count(http.MethodGet, "/repos/acme/widgets", http.StatusOK) != 0 {
		t.Errorf("after ResetRequests: %v", s.Requests())
	}
	if _, _, err := client.Repositories.Get(ctx, "acme", "widgets"); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests(); len(got) != 1 || got[0] != (Request{Method: http.MethodGet, Path: "/repos/acme/widgets", Status: http.StatusOK}) {
		t.Errorf("after ResetRequests and one request: %+v", got)
	}
}

// A fault with a query fails only the requests that carry it.
func TestFaultMatchesTheQuery(t *testing.T) {
	s := newRESTFake(t)
	s.SetList("/repos/acme/widgets/issues", issues(250, time.Now()))
	s.InjectFault(Fault{Path: "/repos/acme/widgets/issues", Query: url.Values{"page": {"3"}}, Status: http.StatusServiceUnavailable})
	s.InjectFault(Fault{Path: "/repos/acme/other", Status: http.StatusInternalServerError, Times: 5})
	client := restClient(t, s)
	ctx := context.Background()
	list := func(page int) error {
		_, _, err := client.Issues.ListByRepo(ctx, "acme", "widgets", &github.IssueListByRepoOptions{ListOptions: github.ListOptions{Page: page, PerPage: 100}})
		return err
	}
	for _, page := range []int{1, 2} {
		if err := list(page); err != nil {
			t.Errorf("page %d: %v", page, err)
		}
	}
	if err := list(3); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("page 3: err = %v, want a 503", err)
	}
	if err := list(3); err != nil {
		t.Errorf("page 3 again: %v", err)
	}
	want := []Request{
		{http.MethodGet, "/repos/acme/widgets/issues", "page=1&per_page=100", http.StatusOK},
		{http.MethodGet, "/repos/acme/widgets/issues", "page=2&per_page=100", http.StatusOK},
		{http.MethodGet, "/repos/acme/widgets/issues", "page=3&per_page=100", http.StatusServiceUnavailable},
		{http.MethodGet, "/repos/acme/widgets/issues", "page=3&per_page=100", http.StatusOK},
	}
	if got := s.Requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	s.ClearFaults()
	if resp := rawGet(t, s, "/repos/acme/other"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a cleared fault still answers: %d", resp.StatusCode)
	}
}

// issues is n issues #1..#n, created one a minute after base in that
// order and updated as they were created, the even ones open, kept newest
// first (as GitHub lists them).
func issues(n int, base time.Time) []any {
	items := make([]any, 0, n)
	for i := n; i >= 1; i-- {
		state := "closed"
		if i%2 == 0 {
			state = "open"
		}
		at := base.Add(time.Duration(i) * time.Minute).UTC().Format(time.RFC3339)
		items = append(items, map[string]any{"number": i, "id": i, "state": state, "created_at": at, "updated_at": at})
	}
	return items
}

// since, state and direction select the list before it is paginated.
func TestListFilters(t *testing.T) {
	s := newRESTFake(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.SetList("/repos/acme/widgets/issues", issues(100, base))
	client := restClient(t, s)
	ctx := context.Background()
	type page struct {
		numbers  []int
		lastPage int
	}
	list := func(opts github.IssueListByRepoOptions, n int) page {
		t.Helper()
		opts.PerPage = 10
		opts.Page = n
		got, resp, err := client.Issues.ListByRepo(ctx, "acme", "widgets", &opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		var p page
		for _, issue := range got {
			p.numbers = append(p.numbers, issue.GetNumber())
		}
		p.lastPage = resp.LastPage
		return p
	}
	since := base.Add(61 * time.Minute)
	tests := []struct {
		name      string
		opts      github.IssueListByRepoOptions
		lastPage  int
		first     []int // numbers of the first page
		lastItems []int // numbers of the last page
	}{
		{"nothing", github.IssueListByRepoOptions{}, 10, seq(100, 91), seq(10, 1)},
		{"open", github.IssueListByRepoOptions{State: "open"}, 5, evens(100, 82), evens(20, 2)},
		{"all", github.IssueListByRepoOptions{State: "all", Sort: "updated"}, 10, seq(100, 91), seq(10, 1)},
		{"since", github.IssueListByRepoOptions{Since: since}, 4, seq(100, 91), seq(70, 61)},
		{"since and closed", github.IssueListByRepoOptions{Since: since, State: "closed"}, 2, odds(99, 81), odds(79, 61)},
		{"descending", github.IssueListByRepoOptions{Direction: "desc"}, 10, seq(100, 91), seq(10, 1)},
		{"ascending", github.IssueListByRepoOptions{Direction: "asc"}, 10, seq(1, 10), seq(91, 100)},
		{"ascending since", github.IssueListByRepoOptions{Direction: "asc", Since: since, State: "open"}, 2, evens(62, 80), evens(82, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := list(tt.opts, 1)
			if first.lastPage != tt.lastPage || fmt.Sprint(first.numbers) != fmt.Sprint(tt.first) {
				t.Errorf("page 1 = %v of %d, want %v of %d", first.numbers, first.lastPage, tt.first, tt.lastPage)
			}
			last := list(tt.opts, tt.lastPage)
			if last.lastPage != 0 || fmt.Sprint(last.numbers) != fmt.Sprint(tt.lastItems) {
				t.Errorf("page %d = %v (last page %d), want %v", tt.lastPage, last.numbers, last.lastPage, tt.lastItems)
			}
		})
	}

	// Other lists are kept oldest first: desc reverses them.
	var comments []any
	for i := 1; i <= 5; i++ {
		at := base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		comments = append(comments, map[string]any{"id": i, "created_at": at, "updated_at": at})
	}
	s.SetList("/repos/acme/widgets/issues/comments", comments)
	created := "created"
	for direction, want := range map[string]string{"": "[1 2 3 4 5]", "asc": "[1 2 3 4 5]", "desc": "[5 4 3 2 1]"} {
		opts := &github.IssueListCommentsOptions{Sort: &created}
		if direction != "" {
			opts.Direction = &direction
		}
		got, _, err := client.Issues.ListComments(ctx, "acme", "widgets", 0, opts)
		var ids []int64
		for _, c := range got {
			ids = append(ids, c.GetID())
		}
		if err != nil || fmt.Sprint(ids) != want {
			t.Errorf("comments, direction %q: %v %v, want %s", direction, ids, err, want)
		}
	}

	// Items without the fields are kept.
	s.SetList("/repos/acme/widgets/issues", []any{
		map[string]any{"number": 1},
		map[string]any{"number": 2, "state": "closed"},
		map[string]any{"number": 3, "state": "open", "updated_at": "2020-01-01T00:00:00Z"},
		map[string]any{"number": 4, "state": "open", "updated_at": "2026-01-01T00:00:00.5+01:00"},
	})
	if got := list(github.IssueListByRepoOptions{State: "open", Since: time.Date(2025, 12, 31, 22, 0, 0, 0, time.UTC)}, 1); fmt.Sprint(got.numbers) != "[1 4]" {
		t.Errorf("items without state or updated_at: %v, want [1 4]", got.numbers)
	}

	for _, query := range []string{"since=yesterday", "state=merged", "direction=up"} {
		if resp := rawGet(t, s, "/repos/acme/widgets/issues?"+query); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", query, resp.StatusCode)
		}
	}
}

// The installation's repositories stay wrapped, counted after the filters.
func TestInstallationRepositoriesWithFilters(t *testing.T) {
	s := newRESTFake(t)
	var repos []any
	for i := 1; i <= 5; i++ {
		repos = append(repos, map[string]any{"id": i, "name": fmt.Sprint("r", i)})
	}
	s.SetInstallationRepositories(7, repos)
	resp := rawGet(t, s, "/installation/repositories?per_page=2&direction=desc&page=1")
	var body struct {
		TotalCount   int `json:"total_count"`
		Repositories []struct {
			Name string `json:"name"`
		} `json:"repositories"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body.TotalCount != 5 || len(body.Repositories) != 2 || body.Repositories[0].Name != "r5" ||
		!strings.Contains(resp.Header.Get("Link"), `page=3&per_page=2>; rel="last"`) {
		t.Errorf("%d %+v %s", resp.StatusCode, body, resp.Header.Get("Link"))
	}
	got, _, err := restClient(t, s).Apps.ListRepos(context.Background(), &github.ListOptions{PerPage: 3})
	if err != nil || got.GetTotalCount() != 5 || len(got.Repositories) != 3 || got.Repositories[0].GetName() != "r1" {
		t.Errorf("ListRepos = %+v, %v", got, err)
	}
}

// seq is from, from±1, ... to.
func seq(from, to int) []int {
	var out []int
	step := 1
	if to < from {
		step = -1
	}
	for i := from; i != to+step; i += step {
		out = append(out, i)
	}
	return out
}

// evens is the even numbers of seq(from, to); odds the odd ones.
func evens(from, to int) []int { return keep(seq(from, to), 0) }
func odds(from, to int) []int  { return keep(seq(from, to), 1) }

func keep(numbers []int, parity int) []int {
	var out []int
	for _, n := range numbers {
		if n%2 == parity {
			out = append(out, n)
		}
	}
	return out
}
