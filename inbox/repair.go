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
