package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/store"
)

// riverLogger routes River's own log lines into zerolog. River logs every
// failed attempt at error level; osprey logs those itself with the delivery's
// fields, so only River's warnings and worse about itself come through.
func riverLogger(logger zerolog.Logger) *slog.Logger {
	l := logger.With().Str("component", "river").Logger()
	if l.GetLevel() < zerolog.WarnLevel {
		l = l.Level(zerolog.WarnLevel)
	}
	return slog.New(zerolog.NewSlogHandler(l))
}

// queueCollector reports River's queue depth at scrape time.
type queueCollector struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

func newQueueCollector(pool *pgxpool.Pool) *queueCollector {
	return &queueCollector{pool: pool, desc: prometheus.NewDesc(
		"osprey_queue_jobs",
		"Jobs waiting or running, by queue and state (available, scheduled, retryable, running).",
		[]string{"queue", "state"}, nil)}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depths, err := store.QueueDepths(ctx, c.pool)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	// Every state of osprey's queues is reported, zero included, so that
	// dashboards and alerts always have a series.
	jobs := map[[2]string]int{}
	for _, q := range []string{inbox.QueueWebhooks, inbox.QueueMaintenance, ospr.QueueTriage, backfill.Queue} {
		for _, state := range []string{"available", "scheduled", "retryable", "running"} {
			jobs[[2]string{q, state}] = 0
		}
	}
	for _, d := range depths {
		jobs[[2]string{d.Queue, d.State}] = d.Jobs
	}
	for key, n := range jobs {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), key[0], key[1])
	}
}
