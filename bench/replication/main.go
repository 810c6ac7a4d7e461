// Command replication measures replication end to end. It builds a mix of
// deliveries (pull request, issue, comment, review, review comment and label
// events across many repositories and users) from the fixtures in
// testdata/webhooks, then:
//
//  1. full path: starts osprey in-process on a fresh database, posts every
//     delivery, signed, from concurrent senders, and waits until the last
//     one is processed; it prints events per second from the first POST to
//     the last committed row;
//
//  2. ceiling: on another fresh database, calls the same handlers directly
//     (decode + the same upserts, no HTTP, no inbox, no queue) from as many
//     goroutines as osprey has workers, and prints that rate.
//
//     go run ./bench/replication -events 20000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/bench/benchkit"
	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// keepDatabases says not to drop the scratch databases.
var keepDatabases bool

type result struct {
	NoopHandlers     bool           `json:"noop_handlers,omitempty"`
	FollowUps        bool           `json:"follow_ups,omitempty"`
	Events           int            `json:"events"`
	Mix              map[string]int `json:"mix"`
	Repositories     int            `json:"repositories"`
	Users            int            `json:"users"`
	Senders          int            `json:"senders"`
	Workers          int            `json:"workers"`
	DatabaseMaxConns int            `json:"database_max_conns"`
	MeanPayloadBytes int            `json:"mean_payload_bytes"`
	FullSeconds      float64        `json:"full_path_seconds"`
	FullPerSec       float64        `json:"full_path_events_per_second"`
	Failed           int            `json:"failed"`
	CeilingSeconds   float64        `json:"ceiling_seconds"`
	CeilingPerSec    float64        `json:"ceiling_events_per_second"`
	// CeilingGoCPUSeconds is the CPU time osprey's side spent in the
	// ceiling phase; the rest of the machine's busy time is Postgres.
	CeilingGoCPUSeconds float64        `json:"ceiling_go_cpu_seconds"`
	Ratio               float64        `json:"full_path_share_of_ceiling"`
	Rows                map[string]int `json:"rows"`
}

func main() {
	events := flag.Int("events", 20000, "deliveries in the mix")
	repos := flag.Int("repos", 200, "repositories the events spread over")
	users := flag.Int("users", 2000, "users the events spread over")
	senders := flag.Int("senders", 64, "concurrent senders")
	workers := flag.Int("workers", server.DefaultWorkers, "delivery workers (and ceiling goroutines)")
	conns := flag.Int("conns", server.DefaultDatabaseConns, "database pool size")
	adminURL := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server (databases are created and dropped)")
	fixtures := flag.String("fixtures", "testdata/webhooks", "directory of the fixture payloads")
	skipCeiling := flag.Bool("skip-ceiling", false, "measure the full path only")
	followUps := flag.Bool("follow-ups", false, "full path with the triage and the pull request files backfill on: what queueing their jobs in each delivery's transaction costs (GitHub is a refused loopback port, so the jobs fail at once and never leave the machine)")
	noop := flag.Bool("noop", false, "full path with handlers that do nothing (implies -skip-ceiling): what intake, queue and outcome cost without replication")
	jsonOut := flag.String("json", "", "also write the result as JSON to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the full-path phase to this file")
	keep := flag.Bool("keep", false, "keep the databases (their names are printed) to look at the rows")
	flag.Parse()
	keepDatabases = *keep
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200) // what `osprey serve` does
	}
	mix, err := buildMix(*fixtures, *events, *repos, *users)
	if err != nil {
		fail(err)
	}
	if *noop {
		*skipCeiling = true
	}
	res := result{NoopHandlers: *noop, FollowUps: *followUps, Events: len(mix), Mix: map[string]int{}, Repositories: *repos, Users: *users, Senders: *senders,
		Workers: *workers, DatabaseMaxConns: *conns}
	total := 0
	for _, d := range mix {
		res.Mix[d.event]++
		total += len(d.body)
	}
	res.MeanPayloadBytes = total / len(mix)
	fmt.Printf("%d events (%v), mean payload %d bytes, %d repositories, %d users\n", len(mix), res.Mix, res.MeanPayloadBytes, *repos, *users)

	ctx := context.Background()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		_ = pprof.StartCPUProfile(f)
	}
	err = fullPath(ctx, &res, mix, *adminURL)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fail(err)
	}
	fmt.Printf("full path:  %.1fs, %.0f events/s from the first POST to the last committed row (%d failed)\n",
		res.FullSeconds, res.FullPerSec, res.Failed)
	fmt.Printf("rows: %v\n", res.Rows)
	if !*skipCeiling {
		var usage0, usage1 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage0)
		if err := ceiling(ctx, &res, mix, *adminURL); err != nil {
			fail(err)
		}
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage1)
		res.CeilingGoCPUSeconds = cpuSeconds(usage1) - cpuSeconds(usage0)
		res.Ratio = res.FullPerSec / res.CeilingPerSec
		fmt.Printf("ceiling:    %.1fs, %.0f events/s calling the handlers directly (Go CPU %.1fs)\n", res.CeilingSeconds, res.CeilingPerSec, res.CeilingGoCPUSeconds)
		fmt.Printf("full path is %.0f%% of the ceiling\n", 100*res.Ratio)
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
	if res.Failed > 0 {
		fmt.Fprintln(os.Stderr, "bench: some deliveries failed")
		os.Exit(2)
	}
}

// inParallel runs fn(0) … fn(n-1) from workers goroutines, each taking the
// next index, and returns when all are done.
func inParallel(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// scratchDatabase creates a database for one phase and returns its URL and
// what drops it (nothing, with -keep: the name is printed instead).
func scratchDatabase(ctx context.Context, adminURL string) (string, func(), error) {
	dbURL, drop, err := benchkit.CreateDatabase(ctx, adminURL, fmt.Sprintf("osprey_bench_%d", time.Now().UnixNano()))
	if err != nil {
		return "", nil, err
	}
	if keepDatabases {
		fmt.Println("database:", dbURL)
		return dbURL, func() {}, nil
	}
	return dbURL, drop, nil
}

func cpuSeconds(u syscall.Rusage) float64 {
	return float64(u.Utime.Sec+u.Stime.Sec) + float64(u.Utime.Usec+u.Stime.Usec)/1e6
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func fullPath(ctx context.Context, res *result, mix []delivery, adminURL string) error {
	dbURL, drop, err := scratchDatabase(ctx, adminURL)
	if err != nil {
		return err
	}
	defer drop()
	var opts server.Options
	if res.NoopHandlers {
		// Every event taken by a handler that does nothing: the cost of
		// intake, queue and outcome alone, without replication.
		opts.Handlers = func(handlers.Base) []githubapp.EventHandler {
			var all []githubapp.EventHandler
			for event := range res.Mix {
				all = append(all, noopHandler{event})
			}
			return all
		}
	}
	cfg, err := benchkit.Config(dbURL, res.Workers, res.DatabaseMaxConns)
	if err != nil {
		return err
	}
	if res.FollowUps {
		cfg.Triage.Enabled, cfg.Triage.AppLogin, cfg.Backfill.PullRequestFiles = true, "osprey-bench[bot]", true
		cfg.Triage.Workers = min(cfg.Triage.Workers, cfg.DatabaseMaxConns-2)
		cfg.GitHub.V3APIURL, cfg.GitHub.V4APIURL = "http://127.0.0.1:9/", "http://127.0.0.1:9/graphql" // refused
	}
	srv, err := benchkit.StartConfigured(ctx, cfg, opts, true)
	if err != nil {
		return err
	}
	defer srv.Close()
	signatures := make([]string, len(mix))
	for i, d := range mix {
		signatures[i] = benchkit.Sign(d.body)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: res.Senders, MaxConnsPerHost: res.Senders}}
	var refused atomic.Int64
	start := time.Now()
	inParallel(len(mix), res.Senders, func(i int) {
		status, err := benchkit.Post(client, srv.HookURL, mix[i].event, fmt.Sprintf("bench-%d", i), mix[i].body, signatures[i])
		if err != nil || status != http.StatusOK {
			refused.Add(1)
		}
	})
	if n := refused.Load(); n > 0 {
		return fmt.Errorf("%d deliveries were refused", n)
	}
	for {
		counts, err := store.CountDeliveries(ctx, srv.DB())
		if err != nil {
			return err
		}
		if counts[store.StatusRetrying] > 0 || counts[store.StatusFailed] > 0 {
			return fmt.Errorf("some deliveries failed (see their last_error in the deliveries table): %v", counts)
		}
		if counts[store.StatusProcessed] >= len(mix) {
			res.Failed = counts[store.StatusFailed]
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("deliveries still unprocessed after 10 minutes: %v", counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.FullSeconds = time.Since(start).Seconds()
	res.FullPerSec = float64(len(mix)) / res.FullSeconds
	res.Rows, err = store.CountReplicatedRows(ctx, srv.DB())
	return err
}

func ceiling(ctx context.Context, res *result, mix []delivery, adminURL string) error {
	dbURL, drop, err := scratchDatabase(ctx, adminURL)
	if err != nil {
		return err
	}
	defer drop()
	srv, err := benchkit.Start(ctx, dbURL, res.Workers, res.DatabaseMaxConns, server.Options{}, false)
	if err != nil {
		return err
	}
	defer srv.Close()
	byEvent := map[string]githubapp.EventHandler{}
	for _, h := range handlers.All(handlers.Base{DB: srv.DB(), Recent: store.NewRecentWrites(100_000)}) {
		for _, e := range h.Handles() {
			byEvent[e] = h
		}
	}
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	inParallel(len(mix), res.Workers, func(i int) {
		d := mix[i]
		if err := byEvent[d.event].Handle(ctx, d.event, fmt.Sprintf("bench-%d", i), d.body); err != nil {
			errOnce.Do(func() { firstErr = err })
		}
	})
	res.CeilingSeconds = time.Since(start).Seconds()
	res.CeilingPerSec = float64(len(mix)) / res.CeilingSeconds
	return firstErr
}

// noopHandler takes its event and does nothing, and records nothing: the
// processor records the outcome itself.
type noopHandler struct{ event string }

func (h noopHandler) Handles() []string { return []string{h.event} }

func (noopHandler) Handle(context.Context, string, string, []byte) error { return nil }
