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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/internal/fakegithub"
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
	withHandler := flag.Bool("handler", false, "register a pull_request handler that does nothing, so that every delivery is queued and run by a worker (osprey has no pull_request handler yet, so by default they are stored as ignored)")
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
	dbName := fmt.Sprintf("osprey_bench_%d", time.Now().UnixNano())
	dbURL, drop, err := createDatabase(ctx, adminURL, dbName)
	if err != nil {
		return res, err
	}
	defer drop()

	key, err := fakegithub.NewPrivateKey()
	if err != nil {
		return res, err
	}
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.DatabaseMaxConns = conns
	cfg.CredentialsFile = ""
	cfg.Log.Level = "warn"
	cfg.GitHub.App.IntegrationID = 1
	cfg.GitHub.App.PrivateKey = string(key)
	cfg.GitHub.App.WebhookSecret = "bench-secret"
	cfg.Deliveries.Workers = workers
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	opts := server.Options{Version: "bench"}
	if withHandler {
		// A handler that does nothing makes every delivery take the whole
		// path: job queued, fetched, run, outcome recorded.
		opts.Handlers = func(b handlers.Base) []githubapp.EventHandler {
			return append([]githubapp.EventHandler{noopHandler{"pull_request"}}, handlers.All(b)...)
		}
	}
	srv, err := server.New(srvCtx, cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel), opts)
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	httpServer := &http.Server{Handler: srv.Handler()}
	go func() { _ = httpServer.Serve(ln) }()
	if process {
		if err := srv.StartWorkers(srvCtx); err != nil {
			return res, err
		}
	}
	hookURL := "http://" + ln.Addr().String() + "/api/github/hook"

	mac := hmac.New(sha256.New, []byte(cfg.GitHub.App.WebhookSecret))
	mac.Write(payload)
	signature := "sha256=" + hex.EncodeToString(mac.Sum(nil))
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
				req, _ := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", guid)
				req.Header.Set("X-Hub-Signature-256", signature)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errorsSeen.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				elapsed := time.Since(start)
				if resp.StatusCode != http.StatusOK {
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
		if err := srv.StartWorkers(srvCtx); err != nil {
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
	_ = httpServer.Close()
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	srv.StopWorkers(stopCtx)
	cancel()
	srv.Close()
	return res, nil
}

func createDatabase(ctx context.Context, adminURL, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to Postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// noopHandler accepts its event and does nothing: the cheapest handler.
type noopHandler struct{ event string }

func (h noopHandler) Handles() []string { return []string{h.event} }

func (noopHandler) Handle(context.Context, string, string, []byte) error { return nil }
