package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

func TestSignedDeliveryIsStoredAndProcessed(t *testing.T) {
	h := newHarness(t)
	h.send("installation", "guid-created", fixture(t, "installation_created.json"))
	d := h.waitFor("guid-created", store.StatusProcessed, 10*time.Second)
	if d.Event != "installation" || d.Action != "created" || d.InstallationID != 1001 || d.Sender != "alice" || d.HookID != 424242 || d.Attempts != 1 {
		t.Errorf("stored delivery = %+v", d)
	}
	inst, err := store.GetInstallation(context.Background(), h.db, 1001)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"acme/gadgets", "acme/internal-tools", "acme/widgets"}
	if inst.AccountLogin != "acme" || !slices.Equal(inst.Repositories, want) {
		t.Errorf("installation = %+v, want account acme and repositories %v", inst, want)
	}
	var accounts string
	if err := h.db.QueryRow(context.Background(), `SELECT string_agg(login, ',' ORDER BY id) FROM accounts`).Scan(&accounts); err != nil || accounts != "alice,acme" {
		t.Errorf("accounts = %q (err %v), want the installation's account and its sender", accounts, err)
	}
	for _, field := range []string{`"github_delivery_id":"guid-created"`, `"github_event_type":"installation"`,
		`"github_event_action":"created"`, `"github_installation_id":1001`} {
		if !strings.Contains(h.logs.String(), field) {
			t.Errorf("logs lack %s", field)
		}
	}
}

func TestRefusedDeliveriesStoreNothing(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "ping.json")
	tests := []struct {
		name       string
		event      string
		guid       string
		body       []byte
		secret     string
		wantStatus int
		wantText   string
	}{
		{"missing signature", "ping", "g1", body, "", http.StatusUnauthorized, "missing X-Hub-Signature-256"},
		{"wrong secret", "ping", "g2", body, "not-the-secret", http.StatusUnauthorized, "does not match"},
		{"missing event header", "", "g3", body, testSecret, http.StatusBadRequest, "missing event type"},
		{"missing delivery header", "ping", "", body, testSecret, http.StatusBadRequest, "X-GitHub-Delivery"},
		{"malformed JSON", "ping", "g5", []byte(`{"zen": "unterminated`), testSecret, http.StatusBadRequest, "not valid JSON"},
		{"JSON that is not an object", "ping", "g6", []byte(`[1, 2, 3]`), testSecret, http.StatusBadRequest, "not a JSON object"},
		{"not UTF-8", "ping", "g7", []byte("{\"zen\": \"\xff\xfe\"}"), testSecret, http.StatusBadRequest, "not valid JSON in UTF-8"},
		{"trailing garbage", "ping", "g8", []byte(`{"zen": "z"} {}`), testSecret, http.StatusBadRequest, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := h.post(tt.event, tt.guid, tt.body, tt.secret)
			if status != tt.wantStatus || !strings.Contains(answer, tt.wantText) {
				t.Errorf("got %d %q, want %d containing %q", status, answer, tt.wantStatus, tt.wantText)
			}
		})
	}
	if n := h.countDeliveries(); n != 0 {
		t.Errorf("%d deliveries stored, want none", n)
	}
	if !strings.Contains(h.logs.String(), `"github_delivery_id":"g2","github_event_type":"ping"`) {
		t.Error("the log line of a refused delivery does not say which delivery it was")
	}
}

// A bad payload arriving with good ones fails their shared transaction; the
// good ones are then stored one by one, and only the bad one is refused.
func TestBadPayloadDoesNotSinkItsBatch(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	statuses := make([]int, 40)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fixture(t, "ping.json")
			if i%10 == 3 {
				body = []byte(`{"zen": "broken`)
			}
			statuses[i], _ = h.post("ping", fmt.Sprintf("mixed-%d", i), body, testSecret)
		}()
	}
	wg.Wait()
	for i, status := range statuses {
		want := http.StatusOK
		if i%10 == 3 {
			want = http.StatusBadRequest
		}
		if status != want {
			t.Errorf("delivery %d: status %d, want %d", i, status, want)
		}
	}
	if n := h.countDeliveries(); n != 36 {
		t.Errorf("%d deliveries stored, want 36", n)
	}
}

func TestSignatureCoversTheExactBody(t *testing.T) {
	h := newHarness(t)
	body := fixture(t, "ping.json")
	status, _ := h.do(h.deliveryRequest("ping", "tampered", append(body, ' '), sign(testSecret, body)))
	if status != http.StatusUnauthorized || h.countDeliveries() != 0 {
		t.Errorf("a body changed after signing: status %d, %d stored", status, h.countDeliveries())
	}
}

func TestPreviousWebhookSecretIsAcceptedDuringRotation(t *testing.T) {
	h := newHarness(t, func(c *server.Config, _ *server.Options) {
		c.GitHub.PreviousWebhookSecrets = []string{"old-secret"}
	})
	if status, answer := h.post("ping", "rotated", fixture(t, "ping.json"), "old-secret"); status != http.StatusOK {
		t.Fatalf("delivery signed with the previous secret: %d %s", status, answer)
	}
	h.waitFor("rotated", store.StatusProcessed, 10*time.Second)
}

func TestOversizeBodyIs413(t *testing.T) {
	h := newHarness(t)
	big := bytes.Repeat([]byte("x"), inbox.MaxPayloadBytes+1)
	// With a Content-Length the request is refused before the body is read;
	// without one (chunked) it is refused when the limit is crossed.
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			req := h.deliveryRequest("ping", "big", big, sign(testSecret, big))
			if chunked {
				req.Body = io.NopCloser(bytes.NewReader(big))
				req.ContentLength = -1
			}
			status, _ := h.do(req)
			if status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", status)
			}
		})
	}
	if n := h.countDeliveries(); n != 0 {
		t.Errorf("%d deliveries stored, want none", n)
	}
}

func TestDuplicateGUIDIsProcessedOnce(t *testing.T) {
	var runs atomic.Int32
	h := newHarness(t, withExtraHandler(&countingHandler{event: "ping", runs: &runs}))
	body := fixture(t, "ping.json")
	h.send("ping", "dup", body)
	h.waitFor("dup", store.StatusProcessed, 10*time.Second)
	status, answer := h.post("ping", "dup", body, testSecret)
	if status != http.StatusOK || !strings.Contains(answer, `"outcome":"duplicate"`) {
		t.Fatalf("redelivery: %d %s", status, answer)
	}
	// Concurrent copies of a new GUID: one is received, the others are duplicates.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); h.send("ping", "burst", body) }()
	}
	wg.Wait()
	h.waitFor("burst", store.StatusProcessed, 10*time.Second)
	var jobs int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'process_delivery'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 2 {
		t.Errorf("%d processing jobs queued, want 2 (one per GUID)", jobs)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2 (once per GUID)", n)
	}
	d, _ := store.GetDelivery(context.Background(), h.db, "burst")
	if d.Attempts != 1 || d.Redeliveries != 7 {
		t.Errorf("burst: attempts %d redeliveries %d, want 1 and 7", d.Attempts, d.Redeliveries)
	}
}

func TestFailedDeliveryIsRetriedThenFailedThenRequeuedByRedelivery(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	var runs atomic.Int32
	h := newHarness(t, func(c *server.Config, _ *server.Options) { c.Deliveries.MaxAttempts = 2 },
		withExtraHandler(&countingHandler{event: "ping", runs: &runs, fail: &fail}))
	body := fixture(t, "ping.json")
	h.send("ping", "flaky", body)
	d := h.waitFor("flaky", store.StatusFailed, 20*time.Second)
	if d.Attempts != 2 || !strings.Contains(d.LastError, "ping handler failed on purpose") {
		t.Errorf("failed delivery: attempts %d last_error %q", d.Attempts, d.LastError)
	}

	fail.Store(false)
	status, answer := h.post("ping", "flaky", body, testSecret)
	if status != http.StatusOK || !strings.Contains(answer, `"outcome":"requeued"`) {
		t.Fatalf("redelivery of a failed delivery: %d %s", status, answer)
	}
	d = h.waitFor("flaky", store.StatusProcessed, 10*time.Second)
	if d.Attempts != 3 || d.LastError != "" {
		t.Errorf("after redelivery: attempts %d last_error %q", d.Attempts, d.LastError)
	}
}

func TestHandlerPanicAndBadPayloadFailTheDeliveryNotTheWorker(t *testing.T) {
	h := newHarness(t, withExtraHandler(panicHandler{}))
	h.send("fork", "panics", []byte(`{"action":"created"}`))
	d := h.waitFor("panics", store.StatusRetrying, 10*time.Second)
	if !strings.Contains(d.LastError, "handler panicked") {
		t.Errorf("last_error = %q", d.LastError)
	}
	// A payload whose shape does not fit its event fails at once: no retry can fix it.
	h.send("installation", "bad-shape", []byte(`{"action":"created","installation":{"id":"not a number"}}`))
	d = h.waitFor("bad-shape", store.StatusFailed, 10*time.Second)
	if d.Attempts != 1 || !strings.Contains(d.LastError, "failed to parse installation event payload") {
		t.Errorf("bad payload: attempts %d last_error %q", d.Attempts, d.LastError)
	}
	// The workers still run.
	h.send("ping", "after", fixture(t, "ping.json"))
	h.waitFor("after", store.StatusProcessed, 10*time.Second)
}

func TestEveryEventIsRecordedEvenWithoutAHandler(t *testing.T) {
	h := newHarness(t)
	// watch (a star) is an event osprey has no handler for.
	status, answer := h.post("watch", "pr", fixture(t, "pull_request_opened.json"), testSecret)
	if status != http.StatusOK || !strings.Contains(answer, `"outcome":"ignored"`) {
		t.Fatalf("delivery of an event with no handler: %d %s", status, answer)
	}
	d := h.waitFor("pr", store.StatusIgnored, 10*time.Second)
	var jobs int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job`).Scan(&jobs); err != nil || jobs != 0 {
		t.Errorf("%d jobs queued for an event no handler takes (err %v), want none", jobs, err)
	}
	if d.Repository != "acme/widgets" || d.Action != "opened" || d.InstallationID != 1001 || d.Sender != "bob-contrib" {
		t.Errorf("stored = %+v", d)
	}
	// An event type this go-github version has never heard of.
	h.send("sub_issues_future_event", "future", []byte(`{"action":"added","installation":{"id":1001}}`))
	h.waitFor("future", store.StatusIgnored, 10*time.Second)
}

func TestInstallationLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	steps := []struct {
		fixture       string
		wantRepos     []string
		wantSuspended bool
		wantDeleted   bool
	}{
		{"installation_created.json", []string{"acme/gadgets", "acme/internal-tools", "acme/widgets"}, false, false},
		{"installation_repositories_added.json", []string{"acme/gadgets", "acme/internal-tools", "acme/sprockets", "acme/widgets"}, false, false},
		{"installation_repositories_removed.json", []string{"acme/internal-tools", "acme/sprockets", "acme/widgets"}, false, false},
		{"installation_suspend.json", []string{"acme/internal-tools", "acme/sprockets", "acme/widgets"}, true, false},
		{"installation_unsuspend.json", []string{"acme/internal-tools", "acme/sprockets", "acme/widgets"}, false, false},
		{"installation_deleted.json", []string{}, false, true},
	}
	for i, step := range steps {
		guid := fmt.Sprintf("life-%d", i)
		event := "installation"
		if strings.HasPrefix(step.fixture, "installation_repositories") {
			event = "installation_repositories"
		}
		h.send(event, guid, fixture(t, step.fixture))
		h.waitFor(guid, store.StatusProcessed, 10*time.Second)
		inst, err := store.GetInstallation(ctx, h.db, 1001)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inst.Repositories, step.wantRepos) || (inst.SuspendedAt != nil) != step.wantSuspended || (inst.DeletedAt != nil) != step.wantDeleted {
			t.Errorf("after %s: repos %v suspended %v deleted %v; want %v %v %v", step.fixture,
				inst.Repositories, inst.SuspendedAt != nil, inst.DeletedAt != nil, step.wantRepos, step.wantSuspended, step.wantDeleted)
		}
	}
}

// newHarnessBehindProxy is a harness whose Postgres connections go through
// a proxy the test can cut or silence.
func newHarnessBehindProxy(t *testing.T) (*harness, *tcpProxy) {
	t.Helper()
	_, dbURL := testdb.New(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	return newHarnessOn(t, u.String()), proxy
}

func TestDatabaseUnavailableAnswers503AndLosesNothing(t *testing.T) {
	h, proxy := newHarnessBehindProxy(t)
	body := fixture(t, "installation_created.json")

	proxy.cut()
	status, answer := h.post("installation", "while-down", body, testSecret)
	if status != http.StatusServiceUnavailable || !strings.Contains(answer, "send it again later") {
		t.Fatalf("with Postgres unreachable: %d %s, want 503", status, answer)
	}

	proxy.restore(t)
	// GitHub's operator redelivers: the pool replaces its dead connections
	// within a few tries, and the delivery is then stored and processed.
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, answer = h.post("installation", "while-down", body, testSecret)
		if status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if status != http.StatusOK || !strings.Contains(answer, `"outcome":"received"`) {
		t.Fatalf("after Postgres came back: %d %s", status, answer)
	}
	h.waitFor("while-down", store.StatusProcessed, 20*time.Second)
}

// A database that hangs must not keep GitHub waiting past its 10 s budget:
// a batch that times out is answered 503 as a whole, not retried delivery by
// delivery.
func TestHangingDatabaseAnswers503WithinGitHubsBudget(t *testing.T) {
	h, proxy := newHarnessBehindProxy(t)
	proxy.hang()

	start := time.Now()
	var wg sync.WaitGroup
	statuses := make([]int, 12)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = h.post("ping", fmt.Sprintf("hang-%d", i), fixture(t, "ping.json"), testSecret)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, status := range statuses {
		if status != http.StatusServiceUnavailable {
			t.Errorf("delivery %d: status %d, want 503", i, status)
		}
	}
	if elapsed >= 10*time.Second {
		t.Errorf("answers took %s: GitHub gives up after 10 s", elapsed)
	}
}

func TestNoWebhookSecretRefusesToStart(t *testing.T) {
	cfg, _ := testConfig(t, "postgres://unused")
	cfg.GitHub.App.WebhookSecret = ""
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "GITHUB_APP_WEBHOOK_SECRET") {
		t.Fatalf("Validate() = %v, want an error naming GITHUB_APP_WEBHOOK_SECRET", err)
	}
}

// withExtraHandler registers h ahead of osprey's own handlers.
func withExtraHandler(h githubapp.EventHandler) harnessOption {
	return func(_ *server.Config, o *server.Options) {
		o.Handlers = func(b handlers.Base) []githubapp.EventHandler {
			return append([]githubapp.EventHandler{h}, handlers.All(b)...)
		}
	}
}

// countingHandler counts its runs and fails while fail is set.
type countingHandler struct {
	event string
	runs  *atomic.Int32
	fail  *atomic.Bool
}

func (c *countingHandler) Handles() []string { return []string{c.event} }

func (c *countingHandler) Handle(context.Context, string, string, []byte) error {
	c.runs.Add(1)
	if c.fail != nil && c.fail.Load() {
		return errors.New(c.event + " handler failed on purpose")
	}
	return nil
}

type panicHandler struct{}

func (panicHandler) Handles() []string { return []string{"fork"} }

func (panicHandler) Handle(context.Context, string, string, []byte) error { panic("boom") }
