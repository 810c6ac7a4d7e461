package inbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/store"
)

// RepairInterval is how often the leader looks for orphaned deliveries.
const RepairInterval = time.Minute

// QueueMaintenance is the River queue of osprey's own housekeeping jobs.
const QueueMaintenance = "maintenance"

// RepairArgs is the periodic job that fails deliveries whose job was lost
// (see store.FailOrphanedDeliveries).
type RepairArgs struct{}

// Kind names the job in River's tables.
func (RepairArgs) Kind() string { return "repair_deliveries" }

// InsertOpts puts the job on the maintenance queue.
func (RepairArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueMaintenance} }

// RepairWorker runs RepairArgs.
type RepairWorker struct {
	river.WorkerDefaults[RepairArgs]
	db     *pgxpool.Pool
	logger zerolog.Logger
}

// NewRepairWorker returns the worker that repairs deliveries in db.
func NewRepairWorker(db *pgxpool.Pool, logger zerolog.Logger) *RepairWorker {
	return &RepairWorker{db: db, logger: logger}
}

// Work marks orphaned deliveries failed and logs each one.
func (w *RepairWorker) Work(ctx context.Context, _ *river.Job[RepairArgs]) error {
	// Look back well past one interval, so a leader that was down a while
	// still sees what it missed (the update is idempotent).
	guids, err := store.FailOrphanedDeliveries(ctx, w.db, 24*time.Hour)
	if err != nil {
		return err
	}
	for _, guid := range guids {
		w.logger.Error().Str("github_delivery_id", guid).
			Msg("Delivery failed: its job ended without recording an outcome; a redelivery or osprey replay runs it again")
	}
	return nil
}

// RepairPeriodicJob schedules RepairArgs every RepairInterval (on the leader).
func RepairPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(RepairInterval),
		func() (river.JobArgs, *river.InsertOpts) { return RepairArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// PruneInterval is how often the leader deletes deliveries past retention.
const PruneInterval = time.Hour

// pruneBatch is how many rows one DELETE removes, so that no statement holds
// locks or builds WAL for long.
const pruneBatch = 5000

// PruneArgs is the periodic job that deletes old deliveries.
type PruneArgs struct{}

// Kind names the job in River's tables.
func (PruneArgs) Kind() string { return "prune_deliveries" }

// InsertOpts puts the job on the maintenance queue.
func (PruneArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueMaintenance} }

// PruneWorker runs PruneArgs.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	db        *pgxpool.Pool
	retention time.Duration
	logger    zerolog.Logger
}

// NewPruneWorker returns the worker that deletes processed and ignored
// deliveries received more than retention ago.
func NewPruneWorker(db *pgxpool.Pool, retention time.Duration, logger zerolog.Logger) *PruneWorker {
	return &PruneWorker{db: db, retention: retention, logger: logger}
}

// Work deletes what is past retention and logs how much.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	n, err := store.PruneDeliveries(ctx, w.db, time.Now().Add(-w.retention), pruneBatch)
	if err != nil {
		return err
	}
	if n > 0 {
		w.logger.Info().Int64("deleted", n).Dur("retention", w.retention).Msg("Pruned old deliveries")
	}
	return nil
}

// PrunePeriodicJob schedules PruneArgs every PruneInterval (on the leader).
func PrunePeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(PruneInterval),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
