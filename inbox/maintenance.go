package inbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/store"
)

// MaintenanceInterval is how often the River leader looks after the inbox.
const MaintenanceInterval = time.Minute

// QueueMaintenance is the River queue of osprey's own housekeeping jobs.
const QueueMaintenance = "maintenance"

const (
	// orphanWindow is how far back the repair looks at finalized jobs: well
	// past one interval, so that a leader that was down a while still sees
	// what it missed (the repair is idempotent).
	orphanWindow = 24 * time.Hour
	// pruneBatch is how many rows one DELETE removes, so that no statement
	// holds locks or builds WAL for long.
	pruneBatch = 5000
)

// MaintenanceArgs is the periodic job that looks after the inbox.
type MaintenanceArgs struct{}

// Kind names the job in River's tables.
func (MaintenanceArgs) Kind() string { return "maintain_deliveries" }

// InsertOpts puts the job on the maintenance queue.
func (MaintenanceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance}
}

// MaintenanceWorker runs MaintenanceArgs: it fails deliveries whose job was
// lost (see store.FailOrphanedDeliveries) and, when retention is positive,
// deletes processed and ignored deliveries received longer ago than that.
type MaintenanceWorker struct {
	river.WorkerDefaults[MaintenanceArgs]
	db        *pgxpool.Pool
	retention time.Duration
	logger    zerolog.Logger
}

// NewMaintenanceWorker returns the worker that looks after the deliveries in
// db; retention 0 keeps every delivery.
func NewMaintenanceWorker(db *pgxpool.Pool, retention time.Duration, logger zerolog.Logger) *MaintenanceWorker {
	return &MaintenanceWorker{db: db, retention: retention, logger: logger}
}

// Work repairs, then prunes, and logs what it did.
func (w *MaintenanceWorker) Work(ctx context.Context, _ *river.Job[MaintenanceArgs]) error {
	guids, err := store.FailOrphanedDeliveries(ctx, w.db, orphanWindow)
	if err != nil {
		return err
	}
	for _, guid := range guids {
		w.logger.Error().Str("github_delivery_id", guid).
			Msg("Delivery failed: its job ended without recording an outcome; a redelivery or osprey replay runs it again")
	}
	if w.retention <= 0 {
		return nil
	}
	n, err := store.PruneDeliveries(ctx, w.db, time.Now().Add(-w.retention), pruneBatch)
	if err != nil {
		return err
	}
	if n > 0 {
		w.logger.Info().Int64("deleted", n).Dur("retention", w.retention).Msg("Pruned old deliveries")
	}
	return nil
}

// MaintenancePeriodicJob schedules MaintenanceArgs every MaintenanceInterval,
// and once at start (River runs periodic jobs on the leader only).
func MaintenancePeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(MaintenanceInterval),
		func() (river.JobArgs, *river.InsertOpts) { return MaintenanceArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
