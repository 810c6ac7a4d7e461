package inbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/riverqueue/river"

	"github.com/osprey-bot/osprey/store"
)

// Scheduler is the githubapp.Scheduler that makes intake durable: Schedule
// returns only once the delivery and its processing job are committed.
//
// Deliveries that arrive together share a transaction (group commit): a few
// committer goroutines each take whatever deliveries are waiting, up to
// maxBatch, and commit them at once. Under load this turns hundreds of
// commits per second into tens, which is what lets one Postgres acknowledge
// deliveries fast; alone, a delivery is committed on its own at once.
type Scheduler struct {
	db          *pgxpool.Pool
	river       *river.Client[pgx.Tx]
	maxAttempts int
	handles     func(event string) bool
	metrics     *Metrics

	pending chan *pendingRecord
	stop    chan struct{}
	stopped sync.WaitGroup
	closing sync.Once
}

// IntakeConnections is the size of the connection pool the Scheduler needs:
// one per committer, and one to spare.
const IntakeConnections = committers + 1

const (
	committers = 2  // concurrent group-commit transactions
	maxBatch   = 16 // deliveries per transaction at most

	// intakeBudget is how long a delivery may take from its arrival to its
	// commit, waiting for a committer included: GitHub counts a delivery
	// as failed after 10 s, and a 503 it sees is better than a timeout.
	intakeBudget = 8 * time.Second
)

type pendingRecord struct {
	d        store.Delivery
	enqueue  bool
	deadline time.Time          // arrival + intakeBudget
	done     chan recordOutcome // buffered: the committer never blocks on it
}

type recordOutcome struct {
	receipt store.Receipt
	err     error
}

// NewScheduler returns a Scheduler that stores deliveries in db and queues
// them on riverClient, giving each job maxAttempts attempts. A delivery of an
// event that handles says no handler takes is stored as ignored, with no job.
// Close stops the Scheduler.
func NewScheduler(db *pgxpool.Pool, riverClient *river.Client[pgx.Tx], maxAttempts int, handles func(string) bool, metrics *Metrics) *Scheduler {
	s := &Scheduler{
		db: db, river: riverClient, maxAttempts: maxAttempts, handles: handles, metrics: metrics,
		pending: make(chan *pendingRecord),
		stop:    make(chan struct{}),
	}
	for range committers {
		s.stopped.Add(1)
		go s.commitLoop()
	}
	return s
}

// Close stops the committers; Schedule answers "unavailable" afterwards.
func (s *Scheduler) Close() {
	s.closing.Do(func() { close(s.stop) })
	s.stopped.Wait()
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

var errStopped = errors.New("the scheduler is shutting down")

func (s *Scheduler) record(ctx context.Context, d store.Delivery, enqueue bool) (store.Receipt, error) {
	meta, err := ParseMeta(d.Payload)
	if err != nil {
		return 0, badPayload("the payload is not a JSON object", err)
	}
	d.Action, d.InstallationID, d.Repository, d.Sender = meta.Action, meta.InstallationID, meta.Repository, meta.Sender
	if enqueue && !s.handles(d.Event) {
		// Nothing would run: record it as ignored and spare the job. `osprey
		// replay --delivery` runs it if a later version handles the event.
		d.Status, enqueue = store.StatusIgnored, false
	}

	p := &pendingRecord{d: d, enqueue: enqueue, deadline: time.Now().Add(intakeBudget), done: make(chan recordOutcome, 1)}
	wait := time.NewTimer(time.Until(p.deadline))
	defer wait.Stop()
	select {
	case s.pending <- p:
	case <-s.stop:
		return 0, unavailable(errStopped)
	case <-ctx.Done():
		return 0, unavailable(ctx.Err())
	case <-wait.C:
		return 0, unavailable(errors.New("no committer was free within the intake budget: Postgres is slow or unreachable"))
	}
	out := <-p.done
	if store.IsInvalidPayload(out.err) {
		return 0, badPayload("the payload is not valid JSON in UTF-8", out.err)
	}
	if out.err != nil {
		return 0, unavailable(out.err)
	}
	if r := resultFrom(ctx); r != nil {
		r.receipt = out.receipt
		r.meta = meta
		r.ignored = d.Status == store.StatusIgnored
	}
	return out.receipt, nil
}

// commitLoop takes the first waiting delivery, then every other one already
// waiting (up to maxBatch), and commits them together.
func (s *Scheduler) commitLoop() {
	defer s.stopped.Done()
	for {
		var first *pendingRecord
		select {
		case first = <-s.pending:
		case <-s.stop:
			return
		}
		batch := []*pendingRecord{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case p := <-s.pending:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

// commit stores a batch in one transaction. If Postgres refuses one of its
// payloads, each delivery is tried in a transaction of its own, so that the
// bad one cannot take the others down with it. Any other failure (Postgres
// down or slow) fails the whole batch at once: retrying one by one would
// only keep GitHub waiting past its 10-second budget.
func (s *Scheduler) commit(batch []*pendingRecord) {
	// One lock order for every transaction: two batches holding the same
	// GUIDs (concurrent redeliveries) cannot deadlock.
	slices.SortFunc(batch, func(a, b *pendingRecord) int { return strings.Compare(a.d.GUID, b.d.GUID) })
	receipts, err := s.commitTx(batch)
	if err != nil && len(batch) > 1 && store.IsInvalidPayload(err) {
		for _, p := range batch {
			s.commit([]*pendingRecord{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.done <- recordOutcome{err: err}
		} else {
			p.done <- recordOutcome{receipt: receipts[i]}
		}
	}
}

func (s *Scheduler) commitTx(batch []*pendingRecord) ([]store.Receipt, error) {
	deadline := batch[0].deadline
	for _, p := range batch[1:] {
		if p.deadline.Before(deadline) {
			deadline = p.deadline
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	deliveries := make([]store.Delivery, len(batch))
	for i, p := range batch {
		deliveries[i] = p.d
	}
	var receipts []store.Receipt
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		receipts, err = store.RecordDeliveries(ctx, tx, deliveries)
		if err != nil {
			return err
		}
		var jobs []river.InsertManyParams
		for i, p := range batch {
			if p.enqueue && receipts[i] != store.Duplicate {
				jobs = append(jobs, river.InsertManyParams{
					Args:       ProcessDeliveryArgs{GUID: p.d.GUID},
					InsertOpts: &river.InsertOpts{MaxAttempts: s.maxAttempts},
				})
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		_, err = s.river.InsertManyFastTx(ctx, tx, jobs)
		return err
	})
	return receipts, err
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
	ignored bool   // stored as ignored: no handler takes the event
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
