package inbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/store"
)

// MaxPayloadBytes is GitHub's cap on a webhook payload (25 MB); a body over
// it cannot come from GitHub and is refused with 413.
const MaxPayloadBytes = 25 << 20

// Intake is the webhook endpoint: it checks size and signature, then hands
// the request to go-githubapp's EventDispatcher, whose scheduler stores it.
type Intake struct {
	secrets    [][]byte
	dispatcher http.Handler
	scheduler  *Scheduler
	metrics    *Metrics
}

// NewIntake returns the webhook handler. secrets are the accepted webhook
// secrets: the current one first, then older ones still accepted while a
// rotation is under way.
func NewIntake(secrets []string, scheduler *Scheduler, metrics *Metrics) *Intake {
	in := &Intake{scheduler: scheduler, metrics: metrics}
	for _, s := range secrets {
		if s != "" {
			in.secrets = append(in.secrets, []byte(s))
		}
	}
	// The dispatcher is given no secret: Intake has verified the signature
	// against every accepted secret and removed the header, which
	// go-githubapp's single-secret check cannot do.
	in.dispatcher = githubapp.NewEventDispatcher(
		[]githubapp.EventHandler{recordEverything{}},
		"",
		githubapp.WithScheduler(scheduler),
		githubapp.WithErrorCallback(in.onError),
		githubapp.WithResponseCallback(in.onResponse),
	)
	return in
}

// ServeHTTP takes one delivery.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		in.reject(w, r, http.StatusMethodNotAllowed, outcomeBadRequest, "webhook deliveries are POSTed")
		return
	}
	if r.ContentLength > MaxPayloadBytes {
		in.reject(w, r, http.StatusRequestEntityTooLarge, outcomeTooLarge, "the body is larger than GitHub's 25 MB payload limit")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			in.reject(w, r, http.StatusRequestEntityTooLarge, outcomeTooLarge, "the body is larger than GitHub's 25 MB payload limit")
			return
		}
		in.reject(w, r, http.StatusBadRequest, outcomeBadRequest, "the body could not be read")
		return
	}

	signature := r.Header.Get(github.SHA256SignatureHeader)
	if signature == "" {
		in.reject(w, r, http.StatusUnauthorized, outcomeBadSignature, "missing X-Hub-Signature-256 header")
		return
	}
	if !in.signatureMatches(signature, body) {
		in.reject(w, r, http.StatusUnauthorized, outcomeBadSignature, "X-Hub-Signature-256 does not match the body for any configured webhook secret")
		return
	}
	if r.Header.Get("X-GitHub-Delivery") == "" {
		in.reject(w, r, http.StatusBadRequest, outcomeBadRequest, "missing X-GitHub-Delivery header")
		return
	}

	hookID, _ := strconv.ParseInt(r.Header.Get("X-GitHub-Hook-ID"), 10, 64)
	ctx := withResult(r.Context(), &deliveryResult{start: start, hookID: hookID, body: body})
	r = r.WithContext(ctx)
	r.Header.Del(github.SHA256SignatureHeader)
	r.Header.Del(github.SHA1SignatureHeader)
	r.Body = io.NopCloser(bytes.NewReader(body))
	in.dispatcher.ServeHTTP(w, r)
}

// readBody reads the whole body, at most MaxPayloadBytes, into a buffer
// sized from Content-Length when the sender gave one.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	size := r.ContentLength
	if size < 0 || size > MaxPayloadBytes {
		size = 0
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	return buf.Bytes(), err
}

func (in *Intake) signatureMatches(header string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	for _, secret := range in.secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) {
			return true
		}
	}
	return false
}

// onResponse answers a delivery the dispatcher accepted. handled is false
// only for event types go-github does not know; they are stored all the same.
func (in *Intake) onResponse(w http.ResponseWriter, r *http.Request, event string, handled bool) {
	ctx := r.Context()
	if !handled {
		if err := in.recordUnknownEvent(r, event); err != nil {
			in.onError(w, r, err)
			return
		}
	}
	res := resultFrom(ctx)
	outcome := map[store.Receipt]string{
		store.Received: outcomeReceived, store.Requeued: outcomeRequeued, store.Duplicate: outcomeDuplicate,
	}[res.receipt]
	if res.ignored && res.receipt != store.Duplicate {
		outcome = outcomeIgnored // stored (or a failed one stored again) with no job
	}
	in.metrics.received.WithLabelValues(event, outcome).Inc()
	in.metrics.ackSeconds.Observe(time.Since(res.start).Seconds())

	zerolog.Ctx(ctx).Info().
		Str("github_event_action", res.meta.Action).
		Int64(githubapp.LogKeyInstallationID, res.meta.InstallationID).
		Str("github_repository", res.meta.Repository).
		Str("outcome", outcome).
		Msg("Webhook delivery stored")

	writeJSON(w, http.StatusOK, map[string]string{
		"delivery": r.Header.Get("X-GitHub-Delivery"),
		"outcome":  outcome,
	})
}

// recordUnknownEvent stores a delivery of an event type the dispatcher has no
// entry for, so that the inbox stays a complete record.
func (in *Intake) recordUnknownEvent(r *http.Request, event string) error {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := resultFrom(r.Context()).body
	payload, err := github.ValidatePayloadFromBody(mediaType, bytes.NewReader(body), "", nil)
	if err != nil {
		return githubapp.ValidationError{EventType: event, Cause: err}
	}
	return in.scheduler.Schedule(r.Context(), githubapp.Dispatch{
		EventType:  event,
		DeliveryID: r.Header.Get("X-GitHub-Delivery"),
		Payload:    payload,
	})
}

// onError answers a delivery the dispatcher or the scheduler refused.
func (in *Intake) onError(w http.ResponseWriter, r *http.Request, err error) {
	event := r.Header.Get("X-GitHub-Event")
	logger := zerolog.Ctx(r.Context())
	var ve githubapp.ValidationError
	var ie *intakeError
	switch {
	case errors.As(err, &ve):
		if event == "" {
			event = unverifiedEventLabel
		}
		in.metrics.received.WithLabelValues(event, outcomeBadRequest).Inc()
		logger.Warn().Err(ve.Cause).Msg("Webhook delivery refused: invalid headers or payload")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid webhook headers or payload: " + ve.Cause.Error()})
	case errors.As(err, &ie) && ie.status == http.StatusBadRequest:
		in.metrics.received.WithLabelValues(event, outcomeBadRequest).Inc()
		logger.Warn().Err(ie.err).Msg("Webhook delivery refused: " + ie.message)
		writeJSON(w, ie.status, map[string]string{"error": ie.Error()})
	default:
		in.metrics.received.WithLabelValues(event, outcomeUnavailable).Inc()
		logger.Error().Err(err).Msg("Webhook delivery not stored: answering 503 so that it can be redelivered")
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the delivery could not be stored; send it again later"})
	}
}

// reject answers a request refused before the signature was verified. Its
// headers are not trusted, so its event is no metric label; the log line
// still shows them (clipped), to find the delivery in GitHub's log.
func (in *Intake) reject(w http.ResponseWriter, r *http.Request, status int, outcome, message string) {
	in.metrics.received.WithLabelValues(unverifiedEventLabel, outcome).Inc()
	zerolog.Ctx(r.Context()).Warn().
		Str(githubapp.LogKeyDeliveryID, clip(r.Header.Get("X-GitHub-Delivery"))).
		Str(githubapp.LogKeyEventType, clip(r.Header.Get("X-GitHub-Event"))).
		Str("remote_addr", r.RemoteAddr).
		Int("status", status).
		Msg("Webhook delivery refused: " + message)
	writeJSON(w, status, map[string]string{"error": message})
}

// clip bounds an untrusted header value written to the logs.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recordEverything is the dispatcher's only handler: it claims every event
// type go-github knows so that the dispatcher schedules each of them. It is
// never executed: the Scheduler stores the delivery, and the worker runs the
// real handler later.
type recordEverything struct{}

func (recordEverything) Handles() []string { return github.MessageTypes() }

func (recordEverything) Handle(context.Context, string, string, []byte) error { return nil }
