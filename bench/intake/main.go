// Command intake measures webhook intake: it starts osprey in-process on a
// fresh database of the local Postgres, sends signed pull_request deliveries
// (a realistic ~20 KB payload) from N concurrent senders over loopback, and
// prints deliveries per second and acknowledgement latency percentiles. It
// then checks that every acknowledged delivery is committed and waits for the
// workers to finish processing them.
//
//	go run ./bench/intake -senders 64 -duration 20s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/bench/benchkit"
	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

type result struct {
	Senders            int     `json:"senders"`
	Processing         bool    `json:"processing_while_sending"`
	PullRequestHandler bool    `json:"pull_request_handler"`
	DurationSeconds    float64 `json:"duration_seconds"`
	PayloadBytes       int     `json:"payload_bytes"`
	Acknowledged       int     `json:"acknowledged"`
	Errors             int     `json:"errors"`
	DeliveriesPerSec   float64 `json:"deliveries_per_second"`
	P50Millis          float64 `json:"p50_ms"`
	P90Millis          float64 `json:"p90_ms"`
	P99Millis          float64 `json:"p99_ms"`
	MaxMillis          float64 `json:"max_ms"`
	Committed          int     `json:"committed"`
	DrainSeconds       float64 `json:"drain_seconds"`
	DeliveryWorkers    int     `json:"delivery_workers"`
	DatabaseMaxConns   int     `json:"database_max_conns"`
	ProcessedOrIgnored int     `json:"processed_or_ignored"`
}

func main() {
	senders := flag.Int("senders", 64, "concurrent senders")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 2*time.Second, "sending before measuring starts")
	payloadPath := flag.String("payload", "testdata/webhooks/pull_request_opened.json", "payload file (compacted before sending)")
	adminURL := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server (a database is created and dropped)")
	workers := flag.Int("workers", server.DefaultWorkers, "delivery workers")
	conns := flag.Int("conns", server.DefaultDatabaseConns, "database pool size")
	process := flag.Bool("process", true, "run the delivery workers while sending (false: start them after the last send)")
	withHandler := flag.Bool("handler", false, "register a pull_request handler that does nothing, so that every delivery is queued and run by a worker (by default no handler is registered: deliveries are stored as ignored, which measures intake alone)")
	jsonOut := flag.String("json", "", "also write the result as JSON to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured sending window to this file")
	flag.Parse()
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200) // what `osprey serve` does; see cmd/serve.go
	}

	res, err := run(*senders, *duration, *warmup, *payloadPath, *adminURL, *workers, *conns, *process, *withHandler, *cpuProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("senders %d, payload %d bytes, pull_request handler %v, %d workers (running while sending: %v), pool %d\n",
		res.Senders, res.PayloadBytes, res.PullRequestHandler, res.DeliveryWorkers, res.Processing, res.DatabaseMaxConns)
	fmt.Printf("acknowledged %d in %.1fs: %.0f deliveries/s, errors %d\n", res.Acknowledged, res.DurationSeconds, res.DeliveriesPerSec, res.Errors)
	fmt.Printf("ack latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", res.P50Millis, res.P90Millis, res.P99Millis, res.MaxMillis)
	fmt.Printf("committed %d of %d acknowledged; processing drained %.1fs after the last send (%d processed or ignored)\n",
		res.Committed, res.Acknowledged, res.DrainSeconds, res.ProcessedOrIgnored)
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if res.Committed < res.Acknowledged || res.Errors > 0 {
		fmt.Fprintln(os.Stderr, "bench: some deliveries were refused or not committed")
		os.Exit(2)
	}
}

func run(senders int, duration, warmup time.Duration, payloadPath, adminURL string, workers, conns int, process, withHandler bool, cpuProfile string) (result, error) {
	res := result{Senders: senders, DeliveryWorkers: workers, DatabaseMaxConns: conns, Processing: process, PullRequestHandler: withHandler}
	raw, err := os.ReadFile(payloadPath)
	if err != nil {
		return res, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return res, err
	}
	payload := compact.Bytes()
	res.PayloadBytes = len(payload)

	ctx := context.Background()
	dbURL, drop, err := benchkit.CreateDatabase(ctx, adminURL, fmt.Sprintf("osprey_bench_%d", time.Now().UnixNano()))
	if err != nil {
		return res, err
	}
	defer drop()
	var opts server.Options
	if withHandler {
		// A handler that does nothing makes every delivery take the whole
		// path (job queued, fetched, run, outcome recorded) at the least
		// cost: it replaces the replicating pull_request handler.
		opts.Handlers = func(b handlers.Base) []githubapp.EventHandler {
			return append([]githubapp.EventHandler{noopHandler{"pull_request"}}, handlers.All(b)...)
		}
	} else {
		// Intake alone: no handler takes pull_request, so deliveries are
		// stored as ignored and queue no job.
		opts.Handlers = func(handlers.Base) []githubapp.EventHandler { return nil }
	}
	srv, err := benchkit.Start(ctx, dbURL, workers, conns, opts, process)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	hookURL := srv.HookURL
	signature := benchkit.Sign(payload)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}}

	var seq atomic.Int64
	var measuring atomic.Bool
	var errorsSeen atomic.Int64
	latencies := make([][]time.Duration, senders)
	acked := make([]int, senders)
	deadline := time.Now().Add(warmup + duration)
	var measureStart time.Time
	var profileFile *os.File
	if cpuProfile != "" {
		if profileFile, err = os.Create(cpuProfile); err != nil {
			return res, err
		}
		defer profileFile.Close()
	}
	go func() {
		time.Sleep(warmup)
		if profileFile != nil {
			_ = pprof.StartCPUProfile(profileFile)
		}
		measureStart = time.Now()
		measuring.Store(true)
	}()
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		s := s
		go pprof.Do(ctx, pprof.Labels("role", "sender"), func(context.Context) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				guid := fmt.Sprintf("bench-%d", seq.Add(1))
				start := time.Now()
				status, err := benchkit.Post(client, hookURL, "pull_request", guid, payload, signature)
				elapsed := time.Since(start)
				if err != nil || status != http.StatusOK {
					errorsSeen.Add(1)
					continue
				}
				acked[s]++
				if measuring.Load() {
					latencies[s] = append(latencies[s], elapsed)
				}
			}
		})
	}
	wg.Wait()
	sendEnd := time.Now()
	if profileFile != nil {
		pprof.StopCPUProfile()
	}

	var all []time.Duration
	for s := range latencies {
		all = append(all, latencies[s]...)
		res.Acknowledged += acked[s]
	}
	slices.Sort(all)
	res.Errors = int(errorsSeen.Load())
	res.DurationSeconds = sendEnd.Sub(measureStart).Seconds()
	res.DeliveriesPerSec = float64(len(all)) / res.DurationSeconds
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	res.P50Millis, res.P90Millis, res.P99Millis, res.MaxMillis = pct(.50), pct(.90), pct(.99), pct(1)

	counts, err := store.CountDeliveries(ctx, srv.DB())
	if err != nil {
		return res, err
	}
	for _, n := range counts {
		res.Committed += n
	}
	if !process {
		if err := srv.StartWorkers(); err != nil {
			return res, err
		}
	}
	for {
		counts, err = store.CountDeliveries(ctx, srv.DB())
		if err != nil {
			return res, err
		}
		done := counts[store.StatusProcessed] + counts[store.StatusIgnored]
		if done >= res.Committed || time.Since(sendEnd) > 5*time.Minute {
			res.ProcessedOrIgnored = done
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.DrainSeconds = time.Since(sendEnd).Seconds()
	return res, nil
}

// noopHandler accepts its event and does nothing: the cheapest handler.
type noopHandler struct{ event string }

func (h noopHandler) Handles() []string { return []string{h.event} }

func (noopHandler) Handle(context.Context, string, string, []byte) error { return nil }
