package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

const (
	workerChildEnv = "OSPREY_TEST_WORKER_CHILD_DB"
	childStarted   = "HANDLER STARTED"
)

// runWorkerChild is the whole life of the child process in
// TestWorkerKilledMidJobIsPickedUpAgain: it queues one ping delivery, starts
// its workers, announces when the handler has started, and then hangs in it
// until it is killed.
func runWorkerChild(dbURL string) int {
	cfg, fake, err := newTestConfig(dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer fake.Close()
	cfg.Deliveries.HandlerTimeout = time.Second
	cfg.Deliveries.RescueAfter = 7 * time.Second
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, zerolog.New(os.Stderr), server.Options{
		Handlers: func(b handlers.Base) []githubapp.EventHandler {
			return []githubapp.EventHandler{hangingHandler{}}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := srv.Scheduler().Record(ctx, store.Delivery{GUID: "killed", Event: "ping", Payload: []byte(`{"zen":"z"}`)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := srv.StartWorkers(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {} // killed from outside
}

type hangingHandler struct{}

func (hangingHandler) Handles() []string { return []string{"ping"} }

func (hangingHandler) Handle(context.Context, string, string, []byte) error {
	fmt.Println(childStarted)
	select {} // a worker stuck for good: only SIGKILL ends it
}

func TestWorkerKilledMidJobIsPickedUpAgain(t *testing.T) {
	_, dbURL := testdb.New(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), workerChildEnv+"="+dbURL)
	child.Stderr = testWriter{t}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	started := make(chan struct{})
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if scanner.Text() == childStarted {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the child's handler never started")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	// A new osprey on the same database: once it leads (the dead leader's
	// term runs out) its rescuer finds the job stuck and retries it.
	h := newHarnessOn(t, dbURL, func(c *server.Config, _ *server.Options) {
		c.Deliveries.HandlerTimeout = time.Second
		c.Deliveries.RescueAfter = 7 * time.Second
	})
	d := h.waitFor("killed", store.StatusProcessed, 90*time.Second)
	if d.Attempts != 1 {
		t.Errorf("finished attempts = %d, want 1 (the killed one never finished)", d.Attempts)
	}
	var jobAttempts int
	if err := h.db.QueryRow(context.Background(),
		`SELECT attempt FROM river_job WHERE args->>'guid' = 'killed'`).Scan(&jobAttempts); err != nil {
		t.Fatal(err)
	}
	if jobAttempts != 2 {
		t.Errorf("River attempts = %d, want 2 (killed, then rescued)", jobAttempts)
	}
}

// Cancelling Serve's context is what SIGTERM does in `osprey serve`.
func TestServeShutdownLetsRunningJobsFinish(t *testing.T) {
	_, dbURL := testdb.New(t)
	cfg, _ := testConfig(t, dbURL)
	started, release := make(chan struct{}), make(chan struct{})
	slow := &slowHandler{started: started, release: release}
	srv, err := server.New(context.Background(), cfg, zerolog.Nop(), server.Options{
		Handlers: func(b handlers.Base) []githubapp.EventHandler {
			return append([]githubapp.EventHandler{slow}, handlers.All(b)...)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	body := fixture(t, "ping.json")
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/github/hook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "ping")
	req.Header.Set("X-GitHub-Delivery", "slow")
	req.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never started")
	}

	cancel() // SIGTERM
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) while a job was still running", err)
	case <-time.After(500 * time.Millisecond):
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/api/health"); err == nil {
		t.Error("the server still takes requests while shutting down")
	}
	close(release)
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the job finished")
	}
	if slow.cancelled.Load() {
		t.Error("the running handler's context was cancelled: shutdown must let it finish")
	}
	check, err := store.Open(context.Background(), dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	d, err := store.GetDelivery(context.Background(), check, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != store.StatusProcessed {
		t.Errorf("status after shutdown = %q, want processed", d.Status)
	}
}

type slowHandler struct {
	started, release chan struct{}
	cancelled        atomic.Bool
}

func (s *slowHandler) Handles() []string { return []string{"ping"} }

func (s *slowHandler) Handle(ctx context.Context, _, _ string, _ []byte) error {
	close(s.started)
	<-s.release
	s.cancelled.Store(ctx.Err() != nil)
	return nil
}

func TestHealthReadyAndMetrics(t *testing.T) {
	h := newHarness(t)
	get := func(path string) (int, string) {
		res, err := http.Get(h.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if status, body := get("/api/health"); status != 200 || body != "ok\n" {
		t.Errorf("health: %d %q", status, body)
	}
	if status, body := get("/api/ready"); status != 200 {
		t.Errorf("ready: %d %q", status, body)
	}
	h.send("ping", "m1", fixture(t, "ping.json"))
	h.send("watch", "m2", fixture(t, "pull_request_opened.json"))
	h.post("ping", "m3", fixture(t, "ping.json"), "wrong")
	h.waitFor("m1", store.StatusProcessed, 10*time.Second)
	status, metrics := get("/api/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`osprey_webhook_deliveries_total{event="ping",outcome="received"} 1`,
		`osprey_webhook_deliveries_total{event="watch",outcome="ignored"} 1`,
		`osprey_webhook_deliveries_total{event="(unverified)",outcome="bad_signature"} 1`,
		`osprey_delivery_processing_seconds_count{event="ping",status="processed"} 1`,
		`osprey_webhook_ack_seconds_count 2`,
		`osprey_queue_jobs{queue="webhooks",state="available"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestSetupModeRegistersTheAppThroughTheManifestFlow(t *testing.T) {
	key, err := fakegithub.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := fakegithub.New(4242, key)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	manifest, err := os.ReadFile("../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = "postgres://setup-mode-needs-no-database.invalid/x"
	cfg.CredentialsFile = filepath.Join(t.TempDir(), "secrets", "osprey-credentials.yml")
	cfg.GitHub.WebURL = fake.URL
	cfg.GitHub.V3APIURL = fake.URL + "/"
	cfg.Setup.Org = "acme"
	if !cfg.SetupMode() {
		t.Fatal("a configuration with no app is not in setup mode")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("setup mode needs no webhook secret: %v", err)
	}
	srv, err := server.New(context.Background(), cfg, zerolog.Nop(), server.Options{AppManifest: manifest})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	defer web.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	operator := &http.Client{Jar: jar} // the operator's browser
	get := func(path string) (int, string) {
		res, err := operator.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}

	status, page := get("/")
	if status != 200 {
		t.Fatalf("setup page: %d", status)
	}
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(page)
	value := regexp.MustCompile(`name="manifest" value="([^"]+)"`).FindStringSubmatch(page)
	if action == nil || value == nil {
		t.Fatalf("the page has no manifest form:\n%s", page)
	}
	target := html.UnescapeString(action[1])
	if !strings.HasPrefix(target, fake.URL+"/organizations/acme/settings/apps/new?state=") {
		t.Errorf("form posts to %s", target)
	}
	state := target[strings.Index(target, "state=")+len("state="):]
	manifestJSON := html.UnescapeString(value[1])
	for _, want := range []string{
		`"url":"` + web.URL + `/api/github/hook"`,
		`"redirect_url":"` + web.URL + `/setup/callback"`,
		`"organization_projects":"write"`,
		`"statuses":"write"`,
		`"pull_request_review_thread"`,
	} {
		if !strings.Contains(manifestJSON, want) {
			t.Errorf("manifest lacks %s: %s", want, manifestJSON)
		}
	}
	if status, _ := get("/api/github/hook"); status != http.StatusNotFound {
		t.Errorf("webhook route in setup mode: %d, want 404", status)
	}

	fake.AddManifestCode("the-code", fakegithub.ManifestApp{
		ID: 4242, Slug: "osprey-acme", Name: "osprey (acme)", PEM: string(key), WebhookSecret: "whsec-from-github",
		ClientID: "Iv1.client", ClientSecret: "client-secret", HTMLURL: fake.URL + "/apps/osprey-acme", OwnerLogin: "acme",
	})
	if status, _ := get("/setup/callback?code=the-code&state=forged"); status != http.StatusBadRequest {
		t.Errorf("callback with a forged state: %d, want 400", status)
	}
	// A stranger loads the page for a valid state of their own, registers
	// their app, and sends the callback link to someone else's browser.
	strangerRes, err := http.Get(web.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	strangerPage, _ := io.ReadAll(strangerRes.Body)
	strangerRes.Body.Close()
	strangerState := regexp.MustCompile(`state=([0-9a-f]+)`).FindStringSubmatch(string(strangerPage))[1]
	res, err := http.Get(web.URL + "/setup/callback?code=the-code&state=" + strangerState) // no cookie
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("callback from a browser that did not open the setup page: %d, want 400", res.StatusCode)
	}
	if _, err := os.Stat(cfg.CredentialsFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a forged state wrote credentials: %v", err)
	}
	status, done := get("/setup/callback?code=the-code&state=" + state)
	if status != 200 || !strings.Contains(done, "osprey (acme)") || !strings.Contains(done, "/apps/osprey-acme/installations/new") {
		t.Fatalf("callback: %d\n%s", status, done)
	}
	info, err := os.Stat(cfg.CredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", info.Mode().Perm())
	}
	if status, _ := get("/setup/callback?code=the-code&state=" + state); status != http.StatusBadRequest {
		t.Errorf("a state used twice: %d, want 400", status)
	}

	// After a restart, the credentials file is a configuration layer.
	empty := func(string) (string, bool) { return "", false }
	restarted, err := server.LoadConfig(writeConfig(t, "credentials_file: "+cfg.CredentialsFile+"\n"), empty)
	if err != nil {
		t.Fatal(err)
	}
	app := restarted.GitHub.App
	if restarted.SetupMode() || app.IntegrationID != 4242 || app.WebhookSecret != "whsec-from-github" || app.PrivateKey != string(key) ||
		restarted.GitHub.OAuth.ClientSecret != "client-secret" {
		t.Errorf("credentials not loaded: setup mode %v, app %d", restarted.SetupMode(), app.IntegrationID)
	}
}

func TestSetupRoutesDoNotExistOnceConfigured(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/", "/setup/callback?code=x&state=y"} {
		res, err := http.Get(h.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on a configured server: %d, want 404", path, res.StatusCode)
		}
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The leader's housekeeping jobs run on start: an old processed delivery is
// pruned and a delivery whose job was lost is marked failed.
func TestLeaderPrunesAndRepairsDeliveries(t *testing.T) {
	db, dbURL := testdb.New(t)
	ctx := context.Background()
	for _, stmt := range []string{
		`INSERT INTO deliveries (guid, event, status, received_at, payload) VALUES ('ancient', 'ping', 'processed', now() - interval '40 days', '{}')`,
		`INSERT INTO deliveries (guid, event, status, received_at, payload) VALUES ('ancient-failed', 'ping', 'failed', now() - interval '40 days', '{}')`,
		`INSERT INTO deliveries (guid, event, status, payload) VALUES ('orphan', 'ping', 'queued', '{}')`,
		`INSERT INTO river_job (kind, args, max_attempts, queue, state, finalized_at)
			VALUES ('process_delivery', '{"guid":"orphan"}', 3, 'webhooks', 'discarded', now())`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarnessOn(t, dbURL)
	h.waitFor("orphan", store.StatusFailed, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := store.GetDelivery(ctx, h.db, "ancient")
		if errors.Is(err, store.ErrDeliveryNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 40-day-old processed delivery was not pruned (err %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := store.GetDelivery(ctx, h.db, "ancient-failed"); err != nil {
		t.Errorf("a failed delivery was pruned: %v", err)
	}
}
