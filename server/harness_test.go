package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/internal/testlog"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

func TestMain(m *testing.M) {
	if dbURL := os.Getenv(workerChildEnv); dbURL != "" {
		os.Exit(runWorkerChild(dbURL)) // this process is the worker that gets killed
	}
	os.Exit(testdb.Run(m))
}

const testSecret = "test-webhook-secret"

// harness is one osprey server on a fresh database, reached over HTTP.
type harness struct {
	t      *testing.T
	cfg    server.Config
	srv    *server.Server
	http   *httptest.Server
	db     *pgxpool.Pool
	fake   *fakegithub.Server
	logs   *testlog.Buffer
	stopMu sync.Mutex
	stop   func()
}

type harnessOption func(*server.Config, *server.Options)

// testConfig is a valid configuration for a test app whose GitHub is fake.
func testConfig(t *testing.T, dbURL string) (server.Config, *fakegithub.Server) {
	t.Helper()
	cfg, fake, err := newTestConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return cfg, fake
}

func newTestConfig(dbURL string) (server.Config, *fakegithub.Server, error) {
	fake, app, err := fakegithub.NewApp(99)
	if err != nil {
		return server.Config{}, nil, err
	}
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.CredentialsFile = ""
	cfg.Log.Level = "debug"
	cfg.GitHub.Config = app
	cfg.GitHub.App.WebhookSecret = testSecret
	cfg.Deliveries.MaxAttempts = 3
	cfg.Deliveries.HandlerTimeout = 5 * time.Second
	cfg.Deliveries.RescueAfter = 11 * time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg, fake, nil
}

func newHarness(t *testing.T, options ...harnessOption) *harness {
	t.Helper()
	_, dbURL := testdb.New(t)
	return newHarnessOn(t, dbURL, options...)
}

func newHarnessOn(t *testing.T, dbURL string, options ...harnessOption) *harness {
	t.Helper()
	cfg, fake := testConfig(t, dbURL)
	var opts server.Options
	for _, o := range options {
		o(&cfg, &opts)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, cfg.NewLogger(io.MultiWriter(logs, testWriter{t})), opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.StartWorkers(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, srv: srv, http: httptest.NewServer(srv.Handler()), fake: fake, logs: logs}
	h.db, err = store.Open(ctx, dbURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	h.stop = func() {
		h.http.Close()
		stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
		srv.StopWorkers(stopCtx)
		stopCancel()
		cancel()
		srv.Close()
		h.db.Close()
	}
	t.Cleanup(h.shutdown)
	return h
}

func (h *harness) shutdown() {
	h.stopMu.Lock()
	defer h.stopMu.Unlock()
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// sign returns the X-Hub-Signature-256 value for body.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a delivery (signed with secret unless it is empty) and returns
// the status and body.
func (h *harness) post(event, guid string, body []byte, secret string) (int, string) {
	h.t.Helper()
	signature := ""
	if secret != "" {
		signature = sign(secret, body)
	}
	return h.do(h.deliveryRequest(event, guid, body, signature))
}

// deliveryRequest builds a webhook request as GitHub sends it; empty
// arguments leave their header out.
func (h *harness) deliveryRequest(event, guid string, body []byte, signature string) *http.Request {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.http.URL+"/api/github/hook", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	req.Header.Set("X-GitHub-Hook-ID", "424242")
	for header, value := range map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": guid, "X-Hub-Signature-256": signature} {
		if value != "" {
			req.Header.Set(header, value)
		}
	}
	return req
}

// do sends req and returns the status and body.
func (h *harness) do(req *http.Request) (int, string) {
	h.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// send posts a correctly signed delivery and requires a 200.
func (h *harness) send(event, guid string, body []byte) {
	h.t.Helper()
	if status, answer := h.post(event, guid, body, testSecret); status != http.StatusOK {
		h.t.Fatalf("delivery %s: status %d: %s", guid, status, answer)
	}
}

// waitFor polls the delivery until it has status, and returns it.
func (h *harness) waitFor(guid, status string, within time.Duration) store.Delivery {
	h.t.Helper()
	deadline := time.Now().Add(within)
	var d store.Delivery
	var err error
	for time.Now().Before(deadline) {
		d, err = store.GetDelivery(context.Background(), h.db, guid)
		if err == nil && d.Status == status {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("delivery %s: status %q (err %v) after %s, want %q", guid, d.Status, err, within, status)
	return d
}

func (h *harness) countDeliveries() int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(), "SELECT count(*) FROM deliveries").Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// testWriter shows the server's logs in `go test -v` output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

// tcpProxy forwards connections to Postgres and can cut them all, to play
// a database that becomes unreachable and comes back on the same address.
type tcpProxy struct {
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	conns   []net.Conn
	hanging bool // accept connections but forward nothing
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			hanging := p.hanging
			if hanging {
				p.conns = append(p.conns, client)
			}
			p.mu.Unlock()
			if hanging {
				continue // the connection stays open and silent
			}
			upstream, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, client, upstream)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(upstream, client); upstream.Close() }()
			go func() { _, _ = io.Copy(client, upstream); client.Close() }()
		}
	}()
}

// cut closes the listener and every open connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// hang closes every open connection and makes new ones go silent: a
// database that accepts connections and never answers.
func (p *tcpProxy) hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hanging = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("re-listening on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func zeroLogger() zerolog.Logger { return zerolog.Nop() }
