package inbox

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an HTTP delivery, the "outcome" label of
// osprey_webhook_deliveries_total.
const (
	outcomeReceived      = "received"      // stored and queued
	outcomeIgnored       = "ignored"       // stored; no handler takes the event, so nothing is queued
	outcomeRequeued      = "requeued"      // a failed delivery sent again, queued again
	outcomeDuplicate     = "duplicate"     // already stored: acknowledged, not processed again
	outcomeBadSignature  = "bad_signature" // missing or wrong X-Hub-Signature-256
	outcomeTooLarge      = "too_large"     // body over the limit
	outcomeBadRequest    = "bad_request"   // missing headers, bad content type, not JSON
	outcomeUnavailable   = "unavailable"   // Postgres could not take it: 503
	unverifiedEventLabel = "(unverified)"  // event label before the signature is checked
)

// Metrics are the inbox's Prometheus series.
type Metrics struct {
	received   *prometheus.CounterVec
	ackSeconds prometheus.Histogram
	processed  *prometheus.HistogramVec
	failures   *prometheus.CounterVec
}

// NewMetrics creates the inbox's series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_webhook_deliveries_total",
			Help: "Webhook deliveries received over HTTP, by event and outcome (received, ignored, requeued, duplicate, bad_signature, too_large, bad_request, unavailable).",
		}, []string{"event", "outcome"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "osprey_webhook_ack_seconds",
			Help:    "Time from reading a delivery's request to answering GitHub, for deliveries that were stored.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		processed: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "osprey_delivery_processing_seconds",
			Help:    "Time to process one delivery attempt, by event and status (processed, ignored, retrying, failed).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"event", "status"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_delivery_failures_total",
			Help: "Failed delivery attempts, by event and whether the failure was final (no retry left).",
		}, []string{"event", "final"}),
	}
	reg.MustRegister(m.received, m.ackSeconds, m.processed, m.failures)
	return m
}
