// Package benchkit holds what osprey's benchmark commands share: a scratch
// database, an in-process osprey serving HTTP on loopback, and signing.
package benchkit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/server"
)

// CreateDatabase creates the database name on the Postgres server at
// adminURL, migrated by nobody yet, and returns its URL and a function that
// drops it.
func CreateDatabase(ctx context.Context, adminURL, name string) (string, func(), error) {
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

// Secret is the webhook secret of the servers Start runs.
const Secret = "bench-secret"

// Server is osprey running in-process on a loopback port.
type Server struct {
	*server.Server
	// HookURL is where deliveries are posted.
	HookURL string
	ctx     context.Context
	stop    context.CancelFunc
	http    *http.Server
}

// Start runs osprey (migrating the database at dbURL) with the given
// numbers of delivery workers and database connections. Its workers start
// only when startWorkers is set; StartWorkers starts them later.
func Start(ctx context.Context, dbURL string, workers, conns int, opts server.Options, startWorkers bool) (*Server, error) {
	cfg, err := Config(dbURL, workers, conns)
	if err != nil {
		return nil, err
	}
	return StartConfigured(ctx, cfg, opts, startWorkers)
}

// Config is the configuration Start uses: a test app with a fresh key,
// the database at dbURL, workers delivery workers and conns connections.
func Config(dbURL string, workers, conns int) (server.Config, error) {
	key, err := fakegithub.NewPrivateKey()
	if err != nil {
		return server.Config{}, err
	}
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.DatabaseMaxConns = conns
	cfg.GitHub.App.IntegrationID = 1
	cfg.GitHub.App.PrivateKey = string(key)
	cfg.Deliveries.Workers = workers
	return cfg, nil
}

// FakeGitHubConfig is the default configuration with the database at
// dbURL and, for GitHub, a new fake (internal/fakegithub) of app 1, which
// the caller closes.
func FakeGitHubConfig(dbURL string) (server.Config, *fakegithub.Server, error) {
	fake, gh, err := fakegithub.NewApp(1)
	if err != nil {
		return server.Config{}, nil, err
	}
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.GitHub.Config = gh
	return cfg, fake, nil
}

// StartConfigured runs osprey with cfg, which StartConfigured completes
// with what every benchmark shares: no credentials file, warnings only in
// the log, the webhook secret Secret.
func StartConfigured(ctx context.Context, cfg server.Config, opts server.Options, startWorkers bool) (*Server, error) {
	cfg.CredentialsFile = ""
	cfg.Log.Level = "warn"
	cfg.GitHub.App.WebhookSecret = Secret
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Version == "" {
		opts.Version = "bench"
	}
	srvCtx, stop := context.WithCancel(ctx)
	srv, err := server.New(srvCtx, cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel), opts)
	if err != nil {
		stop()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		srv.Close()
		return nil, err
	}
	s := &Server{Server: srv, HookURL: "http://" + ln.Addr().String() + "/api/github/hook", ctx: srvCtx, stop: stop,
		http: &http.Server{Handler: srv.Handler()}}
	go func() { _ = s.http.Serve(ln) }()
	if startWorkers {
		if err := s.StartWorkers(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// StartWorkers starts the delivery workers.
func (s *Server) StartWorkers() error { return s.Server.StartWorkers(s.ctx) }

// Close stops serving, lets the workers finish and closes the database.
func (s *Server) Close() {
	_ = s.http.Close()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.StopWorkers(stopCtx)
	cancel()
	s.stop()
	s.Server.Close()
}

// Sign returns the X-Hub-Signature-256 value of body under Secret.
func Sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(Secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Post sends one signed delivery and returns the HTTP status.
func Post(client *http.Client, hookURL, event, guid string, body []byte, signature string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", guid)
	req.Header.Set("X-Hub-Signature-256", signature)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
