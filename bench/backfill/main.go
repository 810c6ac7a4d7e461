// Command backfill measures a repository scan end to end. It runs osprey
// in-process on a fresh database against a fake GitHub (internal/fakegithub)
// that answers every request after a fixed latency (50 ms by default) and
// holds one repository with 5,000 pull requests, 20,000 issues, a comment
// on each of them, labels and milestones. It scans the repository twice
// through the same path `osprey backfill` and the load endpoints use, and
// prints, for each run: wall time, API requests made (against the page
// count), items per second, and the share of requests answered 304.
//
//	go run ./bench/backfill
//
// The target: wall time at most 1.2 × pages × latency ÷ page workers, API
// requests = pages + a constant, and a second run with ≥ 99% 304s. It
// writes bench/results/backfill.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/bench/benchkit"
	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/server"
)

// run is one scan's figures.
type run struct {
	WallSeconds   float64 `json:"wall_seconds"`
	TargetSeconds float64 `json:"target_seconds"`
	Pages         int     `json:"pages"`
	Requests      int     `json:"requests"`      // answered by the fake, tokens excluded
	Overhead      int     `json:"overhead"`      // requests - pages
	NotModified   int     `json:"not_modified"`  // of those, 304s
	Share304      float64 `json:"share_304"`     // not_modified / requests
	Items         int64   `json:"items"`         // as the scan counted them
	ItemsPerSec   float64 `json:"items_per_sec"` // items / wall
	ScanAPICalls  int64   `json:"scan_api_calls"`
	Scan304s      int64   `json:"scan_304s"`
}

func main() {
	adminURL := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server to create the scratch database on")
	out := flag.String("out", "bench/results/backfill.json", "where to write the results")
	pulls := flag.Int("pulls", 5000, "pull requests in the repository")
	issues := flag.Int("issues", 20000, "issues in the repository (besides the pull requests' issue side)")
	latency := flag.Duration("latency", 50*time.Millisecond, "the fake GitHub's latency per request")
	workers := flag.Int("workers", 6, "page workers: requests of the installation in flight (backfill.installation_workers)")
	jobs := flag.Int("jobs", 12, "backfill jobs at once (backfill.workers): page workers plus those writing pages to the database")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "backfill bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := measure(*adminURL, *out, *pulls, *issues, *latency, *workers, *jobs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "backfill bench:", err)
		os.Exit(1)
	}
}

func measure(adminURL, out string, pulls, issues int, latency time.Duration, workers, jobs int) error {
	ctx := context.Background()
	dbURL, drop, err := benchkit.CreateDatabase(ctx, adminURL, fmt.Sprintf("osprey_bench_backfill_%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	defer drop()
	cfg, fake, err := benchkit.FakeGitHubConfig(dbURL)
	if err != nil {
		return err
	}
	defer fake.Close()
	pages := seed(fake, pulls, issues)
	fake.SetLatency(latency)

	cfg.DatabaseMaxConns = jobs + 10
	cfg.GitHub.CacheBytes = 2 << 30 // every page of both runs fits
	cfg.Backfill.Workers = jobs
	cfg.Backfill.InstallationWorkers = workers
	cfg.Backfill.OnInstall = false
	srv, err := benchkit.StartConfigured(ctx, cfg, server.Options{}, true)
	if err != nil {
		return err
	}
	defer srv.Close()

	target := 1.2 * float64(pages) * latency.Seconds() / float64(workers)
	fmt.Printf("repository: %d pull requests, %d issues, %d comments; %d pages; %v per request; %d page workers\n",
		pulls, issues, pulls+issues, pages, latency, workers)
	fmt.Printf("target wall time: 1.2 × %d × %v ÷ %d = %.2f s\n\n", pages, latency, workers, target)
	fmt.Printf("%-6s %8s %8s %9s %9s %8s %10s %7s\n", "run", "wall s", "target", "requests", "overhead", "304s", "items/s", "304 %")
	var runs []run
	for i := 1; i <= 2; i++ {
		fake.ResetRequests()
		r, err := scan(ctx, srv, fake)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		r.Pages, r.TargetSeconds, r.Overhead = pages, target, r.Requests-pages
		runs = append(runs, r)
		fmt.Printf("%-6d %8.2f %8.2f %9d %9d %8d %10.0f %6.2f%%\n", i, r.WallSeconds, target, r.Requests, r.Overhead,
			r.NotModified, r.ItemsPerSec, 100*r.Share304)
	}
	data, err := json.MarshalIndent(map[string]any{
		"at": time.Now().UTC().Format(time.RFC3339), "pulls": pulls, "issues": issues, "comments": pulls + issues,
		"latency_ms": latency.Milliseconds(), "workers": workers, "runs": runs,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(data, '\n'), 0o644)
}

// scan runs one repository scan of acme/widgets and waits for its end.
func scan(ctx context.Context, srv *benchkit.Server, fake *fakegithub.Server) (run, error) {
	start := time.Now()
	queued, err := srv.QueueBackfill(ctx, server.BackfillRequest{Target: "acme/widgets", RequestedBy: "bench"})
	if err != nil {
		return run{}, err
	}
	id := queued[0].Scan.ID
	var p backfill.Progress
	for {
		var found bool
		if p, found, err = srv.ScanProgress(ctx, id); err != nil || !found {
			return run{}, fmt.Errorf("reading scan %d: found %v, %v", id, found, err)
		}
		if p.Over() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	wall := time.Since(start)
	if p.State != "done" {
		return run{}, fmt.Errorf("scan %d failed: %s", id, p.LastError)
	}
	r := run{WallSeconds: wall.Seconds(), Items: p.Items, ItemsPerSec: float64(p.Items) / wall.Seconds(),
		ScanAPICalls: p.APICalls, Scan304s: p.NotModified}
	for _, req := range fake.Requests() {
		if strings.HasSuffix(req.Path, "/access_tokens") || strings.HasSuffix(req.Path, "/installation") {
			continue // the app's own requests: a token, finding the installation
		}
		r.Requests++
		if req.Status == http.StatusNotModified {
			r.NotModified++
		}
	}
	if r.Requests > 0 {
		r.Share304 = float64(r.NotModified) / float64(r.Requests)
	}
	return r, nil
}

// seed fills the fake with the repository acme/widgets and returns how
// many pages a scan of it reads.
func seed(fake *fakegithub.Server, pulls, issues int) int {
	fake.SetOrgInstallation("acme", 7)
	repo := map[string]any{"id": 4242, "name": "widgets", "full_name": "acme/widgets", "private": false,
		"owner": map[string]any{"login": "acme", "id": 1, "type": "Organization"}, "default_branch": "main"}
	fake.SetResource("/repos/acme/widgets", repo)
	t0 := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) string { return t0.Add(time.Duration(i) * time.Hour).Format(time.RFC3339) }
	person := func(i int) map[string]any {
		return map[string]any{"login": fmt.Sprintf("user%d", i%300), "id": 10000 + i%300, "type": "User"}
	}
	labels := []any{}
	for i := 0; i < 30; i++ {
		labels = append(labels, map[string]any{"id": 700 + i, "name": fmt.Sprintf("label-%d", i), "color": "ededed"})
	}
	milestones := []any{}
	for i := 0; i < 5; i++ {
		milestones = append(milestones, map[string]any{"id": 800 + i, "number": i + 1, "title": fmt.Sprintf("v%d", i+1), "state": "open",
			"creator": person(i), "created_at": at(i), "updated_at": at(i)})
	}
	// Numbers are shared by pull requests and issues, as on GitHub: every
	// fifth number is a pull request.
	var prList, issueList, commentList []any
	total := pulls + issues
	for n := 1; n <= total; n++ {
		i := n - 1
		isPR := len(prList) < pulls && (n%5 == 0 || total-n < pulls-len(prList))
		common := map[string]any{"number": n, "title": fmt.Sprintf("Change %d", n), "state": []string{"open", "closed"}[n%2],
			"user": person(n), "body": strings.Repeat("Some words about this. ", 8), "created_at": at(i), "updated_at": at(i + 1),
			"labels": []any{labels[n%30]}, "comments": 1, "author_association": "CONTRIBUTOR"}
		issue := maps.Clone(common)
		issue["id"] = 3_000_000 + n
		if isPR {
			pr := maps.Clone(common)
			pr["id"] = 2_000_000 + n
			pr["head"] = map[string]any{"sha": fmt.Sprintf("%040d", n), "ref": fmt.Sprintf("topic-%d", n), "repo": repo}
			pr["base"] = map[string]any{"sha": fmt.Sprintf("%040d", 0), "ref": "main", "repo": repo}
			prList = append(prList, pr)
			issue["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/acme/widgets/pulls/%d", n)}
		}
		issueList = append(issueList, issue)
		kind := "issues"
		if isPR {
			kind = "pull"
		}
		commentList = append(commentList, map[string]any{"id": 5_000_000 + n, "body": "Thanks!", "user": person(n + 7),
			"created_at": at(i + 1), "updated_at": at(i + 1), "author_association": "MEMBER",
			"issue_url": fmt.Sprintf("https://api.github.com/repos/acme/widgets/issues/%d", n),
			"html_url":  fmt.Sprintf("https://github.com/acme/widgets/%s/%d#issuecomment-%d", kind, n, 5_000_000+n)})
	}
	// The fake keeps pull requests and issues newest first, as GitHub
	// lists them by default; the scan asks for the oldest first.
	slices.Reverse(prList)
	slices.Reverse(issueList)
	fake.SetList("/repos/acme/widgets/pulls", prList)
	fake.SetList("/repos/acme/widgets/issues", issueList)
	fake.SetList("/repos/acme/widgets/issues/comments", commentList)
	fake.SetList("/repos/acme/widgets/labels", labels)
	fake.SetList("/repos/acme/widgets/milestones", milestones)
	pagesOf := func(n int) int { return max(1, (n+99)/100) }
	return pagesOf(len(prList)) + pagesOf(len(issueList)) + pagesOf(len(commentList)) + pagesOf(len(labels)) + pagesOf(len(milestones))
}
