// Command triage counts the GitHub requests the OSPR triage spends, the
// figure its rate-limit target is about. It runs osprey in-process with the
// triage on, against a fake GitHub (internal/fakegithub: ETags and 304s,
// rate-limit headers, GraphQL validated against GitHub's schema) holding an
// organisation, a repository with a catalog-info.yaml and an OSPR board,
// then sends signed deliveries through the hook and counts, per step, the
// requests that cost rate limit:
//
//	go run ./bench/triage
//
// It prints a table and writes bench/results/triage-requests.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/bench/benchkit"
	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// step is one measured delivery and what it cost.
type step struct {
	Name        string `json:"name"`
	Event       string `json:"event"`
	RESTReads   int    `json:"rest_reads"`   // GETs answered in full (not 304)
	RESTWrites  int    `json:"rest_writes"`  // POST, PATCH, DELETE
	GraphQL     int    `json:"graphql"`      // GraphQL requests (never 304)
	NotModified int    `json:"not_modified"` // 304s: free
	AppRequests int    `json:"app_requests"` // app-level (tokens, installation look-ups): not the installation's limit
	RateLimited int    `json:"rate_limited"` // RESTReads + RESTWrites + GraphQL
}

func main() {
	adminURL := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server to create the scratch database on")
	out := flag.String("out", "bench/results/triage-requests.json", "where to write the results")
	flag.Parse()
	if err := run(*adminURL, *out); err != nil {
		fmt.Fprintln(os.Stderr, "triage bench:", err)
		os.Exit(1)
	}
}

func run(adminURL, out string) error {
	ctx := context.Background()
	dbURL, drop, err := benchkit.CreateDatabase(ctx, adminURL, fmt.Sprintf("osprey_bench_triage_%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	defer drop()
	cfg, fake, err := benchkit.FakeGitHubConfig(dbURL)
	if err != nil {
		return err
	}
	defer fake.Close()
	w := &world{fake: fake}
	w.seed()

	cfg.Triage.Enabled = true
	cfg.Triage.AppLogin = fake.BotLogin()
	cfg.Triage.People = "testdata/contributors/people.csv"
	cfg.Triage.Institutions = "testdata/contributors/orgs.yaml"
	cfg.Triage.Rules.Projects.OSPR = "openedx:19"
	srv, err := benchkit.StartConfigured(ctx, cfg, server.Options{}, true)
	if err != nil {
		return err
	}
	defer srv.Close()
	w.srv = srv
	if w.db, err = pgxpool.New(ctx, dbURL); err != nil {
		return err
	}
	defer w.db.Close()

	steps := []struct {
		name, event string
		body        func() []byte
	}{
		{"(a) new outside PR, first of its repository", "pull_request", func() []byte { return w.prEvent(1, "opened") }},
		{"(a) new outside PR, repository known", "pull_request", func() []byte { return w.prEvent(2, "opened") }},
		{"comment: first reconcile after osprey's writes", "issue_comment", func() []byte { return w.commentEvent(2) }},
		{"(b) no-op reconcile (another comment)", "issue_comment", func() []byte { return w.commentEvent(2) }},
		{"title edited to WIP", "pull_request", func() []byte { w.prs[2]["title"] = "WIP: widgets"; return w.prEvent(2, "edited") }},
		{"comment: reads back the comment osprey edited", "issue_comment", func() []byte { return w.commentEvent(2) }},
		{"(b) no-op reconcile again", "issue_comment", func() []byte { return w.commentEvent(2) }},
		{"osprey's own label event", "pull_request", func() []byte { return w.prEvent(2, "labeled") }},
	}
	var results []step
	for _, s := range steps {
		r, err := w.measure(ctx, s.name, s.event, s.body())
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, r)
	}
	fmt.Printf("%-48s %6s %6s %7s %5s %6s\n", "step", "reads", "writes", "graphql", "304s", "total")
	for _, r := range results {
		fmt.Printf("%-48s %6d %6d %7d %5d %6d\n", r.Name, r.RESTReads, r.RESTWrites, r.GraphQL, r.NotModified, r.RateLimited)
	}
	data, err := json.MarshalIndent(map[string]any{"steps": results, "at": time.Now().UTC().Format(time.RFC3339)}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(data, '\n'), 0o644)
}

// world is the fake GitHub's organisation and the deliveries about it.
type world struct {
	fake *fakegithub.Server
	srv  *benchkit.Server
	db   *pgxpool.Pool
	prs  map[int]map[string]any
	sent int
}

func (w *world) seed() {
	w.fake.SetOrgInstallation("openedx", 7)
	w.fake.SetFile("openedx", "widgets", "catalog-info.yaml",
		[]byte("metadata:\n  name: widgets\nspec:\n  owner: group:widget-wranglers\n  lifecycle: production\n"))
	w.fake.AddProject("openedx", 19,
		fakegithub.ProjectField{Name: "Date opened", DataType: "DATE"},
		fakegithub.ProjectField{Name: "Date merged/closed", DataType: "DATE"},
		fakegithub.ProjectField{Name: "Repo Owner / Owning Team", DataType: "TEXT"})
	w.prs = map[int]map[string]any{}
	for n := 1; n <= 2; n++ {
		w.prs[n] = map[string]any{
			"id": 7000 + n, "node_id": fmt.Sprintf("PR_bench%d", n), "number": n, "title": "Fix the widgets", "state": "open",
			"draft": false, "merged": false, "user": map[string]any{"id": 501, "login": "dana-nosign", "type": "User"},
			"author_association": "CONTRIBUTOR", "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z",
			"head": map[string]any{"sha": fmt.Sprintf("head%d", n), "ref": "fix"}, "base": map[string]any{"ref": "main", "repo": repo()},
			"labels": []any{},
		}
		w.fake.AddPullRequest("openedx", "widgets", w.prs[n])
	}
}

func repo() map[string]any {
	return map[string]any{"id": 2001, "node_id": "R_widgets", "name": "widgets", "full_name": "openedx/widgets", "private": false,
		"owner": map[string]any{"id": 1001, "login": "openedx", "type": "Organization"}}
}

func (w *world) prEvent(n int, action string) []byte {
	sender := map[string]any{"id": 501, "login": "dana-nosign", "type": "User"}
	if action == "labeled" {
		sender = map[string]any{"id": 9, "login": w.fake.BotLogin(), "type": "Bot"}
	}
	body, _ := json.Marshal(map[string]any{"action": action, "number": n, "pull_request": w.prs[n], "repository": repo(),
		"installation": map[string]any{"id": 7}, "sender": sender})
	return body
}

func (w *world) commentEvent(n int) []byte {
	at := time.Date(2026, 11, 21, 9, w.sent, 0, 0, time.UTC).Format(time.RFC3339)
	user := map[string]any{"id": 501, "login": "dana-nosign", "type": "User"}
	body, _ := json.Marshal(map[string]any{"action": "created", "repository": repo(), "installation": map[string]any{"id": 7}, "sender": user,
		"issue": map[string]any{"id": 7100 + n, "number": n, "title": w.prs[n]["title"], "state": "open", "user": user,
			"pull_request": map[string]any{"url": "x"}, "created_at": "2026-11-20T10:00:00Z", "updated_at": at},
		"comment": map[string]any{"id": 880000 + w.sent, "body": "ping", "user": user, "created_at": at, "updated_at": at}})
	return body
}

// measure sends one delivery, waits for it and its reconciles, and counts
// the requests made meanwhile.
func (w *world) measure(ctx context.Context, name, event string, body []byte) (step, error) {
	w.sent++
	before := len(w.fake.Requests())
	status, err := benchkit.Post(http.DefaultClient, w.srv.HookURL, event, fmt.Sprintf("bench-%d", w.sent), body, benchkit.Sign(body))
	if err != nil || status != http.StatusOK {
		return step{}, fmt.Errorf("delivery: status %d, %v", status, err)
	}
	if err := w.settle(ctx); err != nil {
		return step{}, err
	}
	s := step{Name: name, Event: event}
	for _, r := range w.fake.Requests()[before:] {
		switch {
		case strings.HasSuffix(r.Path, "/access_tokens") || strings.HasSuffix(r.Path, "/installation"):
			s.AppRequests++
		case r.Path == "/graphql":
			s.GraphQL++
		case r.Method == http.MethodGet && r.Status == http.StatusNotModified:
			s.NotModified++
		case r.Method == http.MethodGet:
			s.RESTReads++
		default:
			s.RESTWrites++
		}
	}
	s.RateLimited = s.RESTReads + s.RESTWrites + s.GraphQL
	return s, nil
}

// settle waits until no delivery and no reconcile is left to run.
func (w *world) settle(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		depths, err := store.QueueDepths(ctx, w.db)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(depths, func(d store.QueueDepth) bool { return d.Queue == inbox.QueueWebhooks || d.Queue == ospr.QueueTriage }) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("still pending after 30s")
}
