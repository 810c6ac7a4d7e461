package ghclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/osprey-bot/osprey/internal/fakegithub"
)

func newFake(t *testing.T) (*fakegithub.Server, githubapp.Config) {
	t.Helper()
	fake, cfg, err := fakegithub.NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake, cfg
}

func TestInstallationClientRevalidatesWithETags(t *testing.T) {
	fake, cfg := newFake(t)
	fake.SetResource("/repos/acme/widgets", map[string]any{"id": 1, "full_name": "acme/widgets"})
	metrics := NewMetrics(prometheus.NewRegistry())
	creator, err := NewCreator(cfg, Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 1 << 20, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		client, err := creator.NewInstallationClient(7)
		if err != nil {
			t.Fatal(err)
		}
		repo, _, err := client.Repositories.Get(ctx, "acme", "widgets")
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if repo.GetFullName() != "acme/widgets" {
			t.Fatalf("get %d: full name %q", i, repo.GetFullName())
		}
	}

	if n := fake.Count(http.MethodPost, "/app/installations/7/access_tokens", http.StatusCreated); n != 1 {
		t.Errorf("installation tokens issued = %d, want 1 (the client and its token are reused)", n)
	}
	if n := fake.Count(http.MethodGet, "/repos/acme/widgets", http.StatusOK); n != 1 {
		t.Errorf("full answers = %d, want 1", n)
	}
	if n := fake.Count(http.MethodGet, "/repos/acme/widgets", http.StatusNotModified); n != 2 {
		t.Errorf("304 answers = %d, want 2 (every later GET is revalidated)", n)
	}
	if got := testutil.ToFloat64(metrics.requests.WithLabelValues("2xx", "true")); got != 2 {
		t.Errorf("cached requests metric = %v, want 2", got)
	}
	if got := testutil.ToFloat64(metrics.requests.WithLabelValues("2xx", "false")); got != 1 {
		t.Errorf("uncached requests metric = %v, want 1", got)
	}
	if got, want := testutil.ToFloat64(metrics.remaining.WithLabelValues("7", "core")), float64(fake.Remaining(7)); got != want {
		t.Errorf("rate limit remaining metric = %v, want %v", got, want)
	}
	if fake.Remaining(7) != fakegithub.RateLimit-1 {
		t.Errorf("rate limit spent = %d, want 1 (304s are free)", fakegithub.RateLimit-fake.Remaining(7))
	}
}

func TestNewCreatorRejectsABadKey(t *testing.T) {
	var cfg githubapp.Config
	cfg.V3APIURL = "https://api.github.com/"
	cfg.App.IntegrationID = 1
	cfg.App.PrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n"
	_, err := NewCreator(cfg, Options{CacheBytes: 1 << 20, Metrics: NewMetrics(prometheus.NewRegistry())})
	if err == nil {
		t.Fatal("NewCreator accepted a private key that is not one")
	}
}

// A file GitHub said is missing is not asked for again within the TTL, and
// is asked for again after it.
func TestMissingFilesAreRemembered(t *testing.T) {
	fake, cfg := newFake(t)
	c, err := newCreator(cfg, Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 1 << 20,
		Metrics: NewMetrics(prometheus.NewRegistry()), MissingFileTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.missing.now = func() time.Time { return now }
	client, err := c.NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func() int {
		_, _, resp, err := client.Repositories.GetContents(ctx, "acme", "widgets", "catalog-info.yaml", nil)
		if err == nil || resp == nil {
			t.Fatalf("read a missing file: %v", err)
		}
		return resp.StatusCode
	}
	const path = "/repos/acme/widgets/contents/catalog-info.yaml"
	for i := 0; i < 3; i++ {
		if code := read(); code != http.StatusNotFound {
			t.Fatalf("status %d, want 404", code)
		}
	}
	if n := fake.Count(http.MethodGet, path, http.StatusNotFound); n != 1 {
		t.Errorf("GitHub was asked %d times within the TTL, want 1", n)
	}
	now = now.Add(2 * time.Minute)
	fake.SetFile("acme", "widgets", "catalog-info.yaml", []byte("spec: {}\n"))
	if _, _, _, err := client.Repositories.GetContents(ctx, "acme", "widgets", "catalog-info.yaml", nil); err != nil {
		t.Errorf("the file added after the TTL is not seen: %v", err)
	}
	// Other requests are never answered from memory.
	if _, _, err := client.Repositories.Get(ctx, "acme", "nothing"); err == nil {
		t.Error("a missing repository was found")
	}
	if _, _, err := client.Repositories.Get(ctx, "acme", "nothing"); err == nil || fake.Count(http.MethodGet, "/repos/acme/nothing", http.StatusNotFound) != 2 {
		t.Errorf("a repository read was answered from the missing-file memory: %v", err)
	}
}

// The budget learns each installation's limit from its answers, and
// forgets it once the reset has passed.
func TestBudgetLearnsTheRateLimit(t *testing.T) {
	fake, cfg := newFake(t)
	fake.SetResource("/repos/acme/widgets", map[string]any{"id": 1})
	budget := NewBudget()
	creator, err := NewCreator(cfg, Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 1 << 20,
		Metrics: NewMetrics(prometheus.NewRegistry()), Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, known := budget.Of(7); known {
		t.Error("a budget known before any answer")
	}
	reset := time.Now().Add(20 * time.Minute)
	fake.SetRemaining(7, 42, reset)
	client, err := creator.NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Repositories.Get(context.Background(), "acme", "widgets"); err != nil {
		t.Fatal(err)
	}
	left, at, known := budget.Of(7)
	if !known || left != 41 || at.Unix() != reset.Unix() {
		t.Errorf("budget = %d until %v (%v), want 41 until %v", left, at, known, reset)
	}
	fake.SetRemaining(7, 5000, time.Now().Add(-time.Second))
	if _, _, err := client.Repositories.Get(context.Background(), "acme", "widgets"); err != nil {
		t.Fatal(err)
	}
	if _, _, known := budget.Of(7); known {
		t.Error("a budget whose reset has passed is still known")
	}
}

// EachPage follows the Link header to the last page, and stops early when
// told.
func TestEachPage(t *testing.T) {
	fake, cfg := newFake(t)
	var items []any
	for i := range 250 {
		items = append(items, map[string]any{"id": i})
	}
	fake.SetList("/repos/acme/widgets/issues/1/comments", items)
	creator, err := NewCreator(cfg, Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 1 << 20, Metrics: NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	client, err := creator.NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	list := func(page int) ([]*github.IssueComment, *github.Response, error) {
		return client.Issues.ListComments(context.Background(), "acme", "widgets", 1,
			&github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: PerPage, Page: page}})
	}
	seen, pages := 0, 0
	if err := EachPage(list, func(page []*github.IssueComment) bool { seen += len(page); pages++; return true }); err != nil || seen != 250 || pages != 3 {
		t.Errorf("all: %d items in %d pages, %v", seen, pages, err)
	}
	pages = 0
	if err := EachPage(list, func([]*github.IssueComment) bool { pages++; return false }); err != nil || pages != 1 {
		t.Errorf("stopped: %d pages, %v", pages, err)
	}
}

// A page too large for one read is still stored by the ETag cache (its
// body is read to the end when closed), so asking again costs a 304; and
// a RequestCount in the context counts both requests and the 304.
func TestLargePagesAreRevalidatedAndCounted(t *testing.T) {
	fake, cfg := newFake(t)
	items := make([]any, 100)
	for i := range items {
		items[i] = map[string]any{"id": i + 1, "name": fmt.Sprintf("label-%d", i), "description": strings.Repeat("x", 2000)}
	}
	fake.SetList("/repos/acme/widgets/labels", items)
	creator, err := NewCreator(cfg, Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 16 << 20,
		Metrics: NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	client, err := creator.NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	ctx, count := WithRequestCount(context.Background())
	for i := 0; i < 2; i++ {
		labels, _, err := client.Issues.ListLabels(ctx, "acme", "widgets", &github.ListOptions{PerPage: PerPage})
		if err != nil || len(labels) != 100 {
			t.Fatalf("list %d: %d labels, %v", i, len(labels), err)
		}
	}
	if n := fake.Count(http.MethodGet, "/repos/acme/widgets/labels", http.StatusNotModified); n != 1 {
		t.Errorf("304 answers = %d, want 1: the 200 KB page was not cached", n)
	}
	if count.Calls() != 2 || count.NotModified() != 1 {
		t.Errorf("counted %d calls and %d 304s, want 2 and 1", count.Calls(), count.NotModified())
	}
}
