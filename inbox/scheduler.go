package inbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/riverqueue/river"

	"github.com/osprey-bot/osprey/store"
)

// Scheduler is the githubapp.Scheduler that makes intake durable: Schedule
// returns only once the delivery and its processing job are committed.
type Scheduler struct {
	db          *pgxpool.Pool
	river       *river.Client[pgx.Tx]
	maxAttempts int
	metrics     *Metrics
}

// NewScheduler returns a Scheduler that stores deliveries in db and queues
// them on riverClient, giving each job maxAttempts attempts.
func NewScheduler(db *pgxpool.Pool, riverClient *river.Client[pgx.Tx], maxAttempts int, metrics *Metrics) *Scheduler {
	return &Scheduler{db: db, river: riverClient, maxAttempts: maxAttempts, metrics: metrics}
}

// Schedule records the delivery and queues it, in one transaction. The
// Dispatch's handler is not called here: the worker looks the handler up by
// event type when it runs, so a delivery can outlive a restart.
func (s *Scheduler) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	_, err := s.Record(ctx, store.Delivery{
		GUID:    d.DeliveryID,
		Event:   d.EventType,
		HookID:  hookIDFrom(ctx),
		Payload: d.Payload,
	})
	return err
}

// Record indexes d by its payload's fields, stores it and queues it, unless it
// is a duplicate of a delivery that did not fail. It says what it did.
func (s *Scheduler) Record(ctx context.Context, d store.Delivery) (store.Receipt, error) {
	return s.record(ctx, d, true)
}

// RecordUnqueued stores d like Record but queues no job: the caller processes
// it itself (`osprey replay`).
func (s *Scheduler) RecordUnqueued(ctx context.Context, d store.Delivery) (store.Receipt, error) {
	return s.record(ctx, d, false)
}

func (s *Scheduler) record(ctx context.Context, d store.Delivery, enqueue bool) (store.Receipt, error) {
	meta, err := ParseMeta(d.Payload)
	if err != nil {
		return 0, badPayload("the payload is not a JSON object", err)
	}
	d.Action, d.InstallationID, d.Repository, d.Sender = meta.Action, meta.InstallationID, meta.Repository, meta.Sender

	var receipt store.Receipt
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		receipt, err = store.RecordDelivery(ctx, tx, d)
		if err != nil || receipt == store.Duplicate || !enqueue {
			return err
		}
		_, err = s.river.InsertTx(ctx, tx, ProcessDeliveryArgs{GUID: d.GUID}, &river.InsertOpts{MaxAttempts: s.maxAttempts})
		return err
	})
	if err != nil {
		return 0, unavailable(err)
	}
	if r := resultFrom(ctx); r != nil {
		r.receipt = receipt
		r.meta = meta
	}
	return receipt, nil
}

// ProcessDeliveryArgs is the River job that processes one stored delivery.
type ProcessDeliveryArgs struct {
	GUID string `json:"guid"`
}

// Kind names the job in River's tables.
func (ProcessDeliveryArgs) Kind() string { return "process_delivery" }

// InsertOpts puts delivery jobs on the webhooks queue.
func (ProcessDeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhooks}
}

// QueueWebhooks is the River queue for processing deliveries.
const QueueWebhooks = "webhooks"

// deliveryResult carries what Schedule did back to the HTTP response.
type deliveryResult struct {
	receipt store.Receipt
	meta    Meta
	start   time.Time
	hookID  int64
	body    []byte // the raw body, for event types the dispatcher does not route
}

type resultKey struct{}

func withResult(ctx context.Context, r *deliveryResult) context.Context {
	return context.WithValue(ctx, resultKey{}, r)
}

func resultFrom(ctx context.Context) *deliveryResult {
	r, _ := ctx.Value(resultKey{}).(*deliveryResult)
	return r
}

func hookIDFrom(ctx context.Context) int64 {
	if r := resultFrom(ctx); r != nil {
		return r.hookID
	}
	return 0
}
