// Package server loads osprey's configuration and wires its parts together:
// Postgres, the GitHub client creator, the handlers, River and the HTTP
// routes. New reads top to bottom like the diagram in ARCHITECTURE.md.
package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/store"
)

// Options are what the server takes besides its configuration.
type Options struct {
	// Version is osprey's version, used in the GitHub user agent.
	Version string
	// AppManifest is app.yml, the GitHub App manifest setup mode registers.
	AppManifest []byte
	// GitHubTransport replaces the HTTP transport to GitHub (tests).
	GitHubTransport http.RoundTripper
	// Now replaces the clock (tests).
	Now func() time.Time
	// Handlers builds the event handlers; nil means handlers.All. Tests use
	// it to add handlers that block or fail on purpose.
	Handlers func(handlers.Base) []githubapp.EventHandler
	// Queues, when not empty, are the only River queues this process
	// works: `osprey backfill` works backfill.Queue and leaves deliveries
	// and reconciles to the servers. A name that is not one of osprey's
	// queues is an error. The periodic jobs stay: River has whichever
	// process leads schedule them for all, and this one may be the leader.
	Queues []string
}

// fetchCooldown is the shortest time between two fetches of jobs by one
// River queue. River's default (100 ms) caps a queue at ten fetches a second,
// that is at 10 × workers jobs a second: too few for a burst of deliveries.
const fetchCooldown = 20 * time.Millisecond

// recentWritesMax bounds the rows handlers remember having written (about
// 100 bytes each): more than the accounts, repositories and labels a busy
// organisation's deliveries carry in a minute.
const recentWritesMax = 100_000

// Server is a running osprey: HTTP routes plus River workers.
type Server struct {
	cfg        Config
	logger     zerolog.Logger
	pool       *pgxpool.Pool
	intakePool *pgxpool.Pool
	river      *river.Client[pgx.Tx]
	processor  *inbox.Processor
	scheduler  *inbox.Scheduler
	handler    http.Handler
	triage     *triage // nil unless triage.enabled
	clients    githubapp.ClientCreator
	// worksTriage says whether this process works the triage's queue (and
	// so keeps its contributor data loaded).
	worksTriage bool
}

// New builds the server. In setup mode (no app configured) it needs no
// database and serves only the setup page, health and metrics.
func New(ctx context.Context, cfg Config, logger zerolog.Logger, opts Options) (*Server, error) {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", health)
	mux.Handle("GET /api/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	s := &Server{cfg: cfg, logger: logger, handler: withLogger(logger, mux)}

	if cfg.SetupMode() {
		logger.Warn().Msg("No GitHub App configured: starting in setup mode; open the server's / page to register the app")
		setup := newSetup(cfg, opts.AppManifest, logger)
		mux.Handle("GET /{$}", http.HandlerFunc(setup.page))
		mux.Handle("GET /setup/callback", http.HandlerFunc(setup.callback))
		mux.HandleFunc("GET /api/ready", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "setup mode: the GitHub App is not configured yet", http.StatusServiceUnavailable)
		})
		return s, nil
	}

	pool, err := store.Open(ctx, cfg.DatabaseURL, int32(cfg.DatabaseMaxConns))
	if err != nil {
		return nil, err
	}
	s.pool = pool
	if err := store.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}

	budget := ghclient.NewBudget()
	clients, err := ghclient.NewCreator(cfg.GitHub.Config, ghclient.Options{
		Budget:         budget,
		UserAgent:      "osprey/" + opts.Version,
		Timeout:        cfg.GitHub.Timeout,
		CacheBytes:     cfg.GitHub.CacheBytes,
		Transport:      opts.GitHubTransport,
		Metrics:        ghclient.NewMetrics(registry),
		MissingFileTTL: cfg.GitHub.MissingFileTTL,
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("github.app.private_key (GITHUB_APP_PRIVATE_KEY): %w", err)
	}

	s.clients = clients

	inboxMetrics := inbox.NewMetrics(registry)
	buildHandlers := opts.Handlers
	if buildHandlers == nil {
		buildHandlers = handlers.All
	}
	base := handlers.Base{DB: pool, Clients: clients, Now: opts.Now, Recent: store.NewRecentWrites(recentWritesMax)}
	var followUps handlers.FollowUpsList
	if cfg.Triage.Enabled {
		if s.triage, err = newTriage(cfg, clients, pool, s.inserter, registry, logger); err != nil {
			pool.Close()
			return nil, err
		}
		followUps = append(followUps, s.triage.enqueuer)
	}
	backfillInserter := func() backfill.Inserter {
		if ins := s.inserter(); ins != nil {
			return ins
		}
		return nil
	}
	if cfg.Backfill.PullRequestFiles {
		followUps = append(followUps, &backfill.Enqueuer{Inserter: backfillInserter})
	}
	if cfg.Backfill.OnInstall {
		kinds := slices.Clone(backfill.DefaultKinds)
		if cfg.Backfill.PullRequestFiles {
			kinds = append(kinds, backfill.KindFiles)
		}
		followUps = append(followUps, &backfill.InstallEnqueuer{Inserter: backfillInserter, Since: cfg.Backfill.OnInstallSince,
			Kinds: kinds, StaleAfter: cfg.Backfill.StaleAfter, Now: opts.Now})
	}
	if len(followUps) > 0 {
		base.FollowUps = followUps
	}
	eventHandlers := buildHandlers(base)
	s.processor = inbox.NewProcessor(pool, eventHandlers, cfg.Deliveries.HandlerTimeout, logger, inboxMetrics)

	workers := river.NewWorkers()
	river.AddWorker(workers, inbox.NewProcessDeliveryWorker(s.processor))
	river.AddWorker(workers, inbox.NewMaintenanceWorker(pool, cfg.Deliveries.Retention, logger))
	queues := map[string]river.QueueConfig{
		inbox.QueueWebhooks:    {MaxWorkers: cfg.Deliveries.Workers},
		inbox.QueueMaintenance: {MaxWorkers: 1},
	}
	if s.triage != nil {
		river.AddWorker(workers, &ospr.ReconcileWorker{Service: s.triage.service, Logger: s.triage.logger})
		queues[ospr.QueueTriage] = river.QueueConfig{MaxWorkers: cfg.Triage.Workers}
	}
	// The backfill's queue always runs, so that jobs queued while it was
	// on still run once it is turned off.
	backfillLogger := logger.With().Str("component", "backfill").Logger()
	river.AddWorker(workers, &backfill.FilesWorker{Clients: clients, DB: pool, Logger: backfillLogger, Now: opts.Now,
		Budget: budget, Reserve: cfg.Backfill.RateLimitReserve})
	backfill.AddWorkers(workers, &backfill.Scanner{Clients: clients, DB: pool, Logger: backfillLogger, Now: opts.Now,
		Budget: budget, Reserve: cfg.Backfill.RateLimitReserve, PerInstallation: cfg.Backfill.InstallationWorkers,
		StaleAfter: cfg.Backfill.StaleAfter, Recent: base.Recent})
	queues[backfill.Queue] = river.QueueConfig{MaxWorkers: cfg.Backfill.Workers}
	periodicJobs := []*river.PeriodicJob{inbox.MaintenancePeriodicJob(), backfill.JanitorPeriodicJob()}
	if s.triage != nil {
		// The worker is there even with the repair off, so that a repair
		// queued before it was turned off still runs rather than fail.
		river.AddWorker(workers, &ospr.DriftRepairWorker{Service: s.triage.service, Logger: s.triage.logger, Interval: cfg.Triage.DriftRepair})
		if cfg.Triage.DriftRepair > 0 {
			periodicJobs = append(periodicJobs, ospr.DriftRepairPeriodicJob(cfg.Triage.DriftRepair))
		}
	}
	if len(opts.Queues) > 0 {
		only := make(map[string]river.QueueConfig, len(opts.Queues))
		for _, name := range opts.Queues {
			q, ok := queues[name]
			if !ok {
				pool.Close()
				return nil, fmt.Errorf("queue %q: this configuration has no such queue (it has %s)", name, strings.Join(slices.Sorted(maps.Keys(queues)), ", "))
			}
			only[name] = q
		}
		queues = only
	}
	_, s.worksTriage = queues[ospr.QueueTriage]
	s.river, err = river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:               queues,
		PeriodicJobs:         periodicJobs,
		FetchCooldown:        fetchCooldown,
		Workers:              workers,
		MaxAttempts:          cfg.Deliveries.MaxAttempts,
		JobTimeout:           cfg.Deliveries.HandlerTimeout + inbox.WorkerGrace,
		RescueStuckJobsAfter: cfg.Deliveries.RescueAfter,
		Logger:               riverLogger(logger),
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("creating River client: %w", err)
	}
	// Intake has connections of its own, so that busy workers can never
	// make GitHub wait for its acknowledgement.
	s.intakePool, err = store.Open(ctx, cfg.DatabaseURL, inbox.IntakeConnections)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.scheduler = inbox.NewScheduler(s.intakePool, s.river, cfg.Deliveries.MaxAttempts, s.processor.Handles, inboxMetrics)
	registry.MustRegister(newQueueCollector(pool))

	mux.Handle("POST "+githubapp.DefaultWebhookRoute, inbox.NewIntake(cfg.WebhookSecrets(), s.scheduler, inboxMetrics))
	mux.HandleFunc("GET /api/ready", s.ready)
	mux.HandleFunc("POST /api/rescan", s.rescan)
	for _, e := range loadEndpoints { // POST /api/load/repos/{owner}/{repo}[/pulls…]: queue a scan
		mux.HandleFunc(e.pattern, s.load(e))
	}
	mux.HandleFunc("/api/load/", s.loadNotFound)
	mux.HandleFunc("/api/scans/{id}", s.scanProgress)
	mux.HandleFunc("/api/scans/", s.scansNotFound)
	return s, nil
}

// Handler is the server's HTTP handler, for tests and for Serve.
func (s *Server) Handler() http.Handler { return s.handler }

// Processor runs stored deliveries; `osprey replay` uses it.
func (s *Server) Processor() *inbox.Processor { return s.processor }

// Scheduler stores deliveries; `osprey replay --payload` uses it.
func (s *Server) Scheduler() *inbox.Scheduler { return s.scheduler }

// DB is the server's pool (nil in setup mode).
func (s *Server) DB() *pgxpool.Pool { return s.pool }

// StartWorkers starts River's workers (none in setup mode).
func (s *Server) StartWorkers(ctx context.Context) error {
	if s.river == nil {
		return nil
	}
	if err := s.river.Start(ctx); err != nil {
		return fmt.Errorf("starting River workers: %w", err)
	}
	if s.triage != nil && s.worksTriage {
		s.triage.start(ctx)
	}
	return nil
}

// inserter is River's client for the triage's follow-ups: it exists only
// once New has built it, after the handlers.
func (s *Server) inserter() ospr.Inserter {
	if s.river == nil {
		return nil
	}
	return s.river
}

// TriageService is the triage service as it is, without loading anything
// first (nil unless triage.enabled).
func (s *Server) TriageService() *ospr.Service {
	if s.triage == nil {
		return nil
	}
	return s.triage.service
}

// ErrTriageOff is the answer of Triage when triage.enabled is not set.
var ErrTriageOff = errors.New("the triage is not enabled (triage.enabled, OSPREY_TRIAGE_ENABLED)")

// Triage is the triage service, ready for a one-off use outside the
// workers (`osprey rescan`, `osprey config check`): the app's login and the
// contributor data are loaded first, and an error says which could not be.
func (s *Server) Triage(ctx context.Context) (*ospr.Service, error) {
	if s.triage == nil {
		return nil, ErrTriageOff
	}
	if err := s.triage.prepare(ctx); err != nil {
		return nil, err
	}
	return s.triage.service, nil
}

// StopWorkers lets running jobs finish within ctx's deadline, then cancels
// whatever is still running; River retries those jobs later.
func (s *Server) StopWorkers(ctx context.Context) {
	if s.river == nil {
		return
	}
	if err := s.river.Stop(ctx); err != nil {
		s.logger.Warn().Err(err).Msg("Jobs still running at the shutdown deadline: cancelling them (they will be retried)")
		cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = s.river.StopAndCancel(cancelCtx)
	}
}

// Close stops intake and releases the database pool.
func (s *Server) Close() {
	if s.scheduler != nil {
		s.scheduler.Close()
	}
	if s.intakePool != nil {
		s.intakePool.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
}

// Serve runs the server on ln until ctx is cancelled, then shuts down in
// order: stop taking HTTP requests (in-flight ones finish), let running jobs
// finish, close the pool. Both steps share cfg.ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// River cancels running jobs when the context it started with ends: the
	// workers get one that does not, and StopWorkers ends them gracefully.
	if err := s.StartWorkers(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	httpServer := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	s.logger.Info().Str("address", ln.Addr().String()).Bool("setup_mode", s.cfg.SetupMode()).Msg("osprey is listening")

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	s.logger.Info().Msg("Shutting down: no new requests; waiting for running jobs")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if shutdownErr := httpServer.Shutdown(shutdownCtx); shutdownErr != nil {
		s.logger.Warn().Err(shutdownErr).Msg("HTTP requests still open at the shutdown deadline")
	}
	s.StopWorkers(shutdownCtx)
	s.Close()
	s.logger.Info().Msg("osprey stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

// ready answers 200 when Postgres answers and every migration is applied.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	state, err := store.Migrations(ctx, s.pool)
	if err != nil {
		http.Error(w, "not ready: database unavailable", http.StatusServiceUnavailable)
		return
	}
	if !state.Current() {
		http.Error(w, fmt.Sprintf("not ready: migrations pending (osprey %d/%d, river %d/%d)",
			state.OspreyCurrent, state.OspreyLatest, state.RiverCurrent, state.RiverLatest), http.StatusServiceUnavailable)
		return
	}
	health(w, r)
}

// withLogger puts the root logger in every request's context, as
// go-githubapp's dispatcher and our handlers read it from there.
func withLogger(logger zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}
