package ospr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/store"
)

// Drift repair catches what events missed: a delivery GitHub never sent, a
// change made while osprey was down, a board edited by hand. Now and then
// it queues a reconcile of every open pull request of every installation;
// a pull request already queued is not queued twice, and one in a good
// state costs reads answered 304 from the ETag cache, plus one GraphQL
// query for its board items when it belongs on boards.

// driftRepairTimeout bounds one drift repair: listing every repository and
// open pull request of a large installation takes a while.
const driftRepairTimeout = 30 * time.Minute

// driftRepairMaxAttempts bounds the retries of a drift repair that met
// errors; the next period runs it anyway.
const driftRepairMaxAttempts = 3

// DriftRepairArgs is the periodic job that queues a reconcile of every open
// pull request the app can see.
type DriftRepairArgs struct{}

// Kind implements river.JobArgs.
func (DriftRepairArgs) Kind() string { return "triage_drift_repair" }

// InsertOpts implements river.JobArgsWithInsertOpts: one drift repair at a
// time, however long a run takes compared with the period.
func (DriftRepairArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueMaintenance, MaxAttempts: driftRepairMaxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileQueued}}
}

// DriftRepairPeriodicJob queues a drift repair every interval, and one
// when the client starts (or becomes the leader). River keeps the schedule
// in memory only: without the run on start, a restart or a change of
// leader within every interval (daily deploys and a 6h interval) would put
// the repair off for ever. The worker skips the run on start when a repair
// was done recently (see DriftRepairWorker.Interval).
func DriftRepairPeriodicJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return DriftRepairArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// DriftRepairWorker runs DriftRepairArgs.
type DriftRepairWorker struct {
	river.WorkerDefaults[DriftRepairArgs]
	Service *Service
	// Logger is where the drift repair logs (River's context carries none).
	Logger zerolog.Logger
	// Interval is triage.drift_repair. A drift repair queued less than
	// Interval (less a tenth, for the scheduler's timing) after the last
	// one that completed is skipped: it logs that at info and completes,
	// recording {"skipped": true} as its output so that it does not count
	// as a repair itself. Zero never skips.
	//
	// The last repair is looked up in River's table, which keeps completed
	// jobs only for River's retention period (24 hours by default): with a
	// longer interval the record may be gone, and a restart then repairs
	// again at once. That is acceptable: a repair is cheap when nothing
	// drifted.
	Interval time.Duration
}

// driftRepairSkipped is the output a skipped drift repair records; the
// "skipped" key is what store.LastCompleted leaves out.
type driftRepairSkipped struct {
	Skipped      bool      `json:"skipped"`
	LastQueuedAt time.Time `json:"last_queued_at"`
}

// recentRepair reports whether a drift repair completed that was queued
// less than the interval before job, and when it was queued.
func (w *DriftRepairWorker) recentRepair(ctx context.Context, job *river.Job[DriftRepairArgs]) (bool, time.Time, error) {
	if w.Interval <= 0 {
		return false, time.Time{}, nil
	}
	last, ok, err := store.LastCompleted(ctx, w.Service.DB, DriftRepairArgs{}.Kind())
	if err != nil || !ok {
		return false, time.Time{}, err
	}
	// Compared by when each was queued, not when the last one finished:
	// the periodic job queues one exactly an interval after the last,
	// however long that one ran. The margin keeps a run due on schedule
	// from being skipped for being queued a few milliseconds early.
	return job.CreatedAt.Sub(last) < w.Interval-w.Interval/10, last, nil
}

// Timeout implements river.Worker: longer than a delivery's.
func (w *DriftRepairWorker) Timeout(*river.Job[DriftRepairArgs]) time.Duration {
	return driftRepairTimeout
}

// driftTally counts what one drift repair covered.
type driftTally struct {
	installations, repositories, pullRequests int
}

// Work queues a reconcile of each open pull request of each installation's
// repositories, one transaction per repository. A failure costs only its
// installation or repository; the job fails at the end, to be retried,
// if anything failed. A run queued soon after a completed repair is
// skipped (see Interval).
func (w *DriftRepairWorker) Work(ctx context.Context, job *river.Job[DriftRepairArgs]) error {
	ins, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("drift repair: %w", err)
	}
	logger := w.Logger.With().Str("component", "drift_repair").Int64("job", job.ID).Logger()
	ctx = logger.WithContext(ctx)
	recent, last, err := w.recentRepair(ctx, job)
	if err != nil {
		return fmt.Errorf("drift repair: %w", err)
	}
	if recent {
		if err := river.RecordOutput(ctx, driftRepairSkipped{Skipped: true, LastQueuedAt: last}); err != nil {
			return fmt.Errorf("drift repair: recording the skip: %w", err)
		}
		logger.Info().Time("last_repair_queued_at", last).Dur("interval", w.Interval).
			Msg("Drift repair skipped: the last one is less than an interval old")
		return nil
	}
	var tally driftTally
	err = w.Service.repairDrift(ctx, ins, &tally)
	ev := logger.Info()
	if err != nil {
		ev = logger.Warn().Err(err)
	}
	ev.Int("installations", tally.installations).Int("repositories", tally.repositories).
		Int("pull_requests_queued", tally.pullRequests).Msg("Drift repair: reconciles queued for the open pull requests")
	return err
}

// repairDrift walks every installation of the app.
func (s *Service) repairDrift(ctx context.Context, ins Inserter, tally *driftTally) error {
	installations, err := s.appInstallations(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, inst := range installations {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		tally.installations++
		if err := s.repairInstallation(ctx, ins, inst, tally); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// appInstallations lists the app's installations (GET /app/installations),
// leaving out suspended ones, which get no tokens.
func (s *Service) appInstallations(ctx context.Context) ([]*github.Installation, error) {
	client, err := s.Clients.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("creating the app client: %w", err)
	}
	var out []*github.Installation
	err = ghclient.EachPage(func(page int) ([]*github.Installation, *github.Response, error) {
		return client.Apps.ListInstallations(ctx, &github.ListOptions{PerPage: ghclient.PerPage, Page: page})
	}, func(page []*github.Installation) bool {
		for _, inst := range page {
			if inst.SuspendedAt == nil {
				out = append(out, inst)
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("listing the app's installations: %w", err)
	}
	return out, nil
}

// repairInstallation queues the open pull requests of one installation's
// repositories.
func (s *Service) repairInstallation(ctx context.Context, ins Inserter, inst *github.Installation, tally *driftTally) error {
	id, account := inst.GetID(), inst.GetAccount().GetLogin()
	client, err := s.Clients.NewInstallationClient(id)
	if err != nil {
		return fmt.Errorf("installation %d (%s): creating its client: %w", id, account, err)
	}
	repos, err := installationRepositories(ctx, client)
	if err != nil {
		return fmt.Errorf("installation %d (%s): %w", id, account, err)
	}
	var errs []error
	for _, r := range repos {
		owner, name := r.GetOwner().GetLogin(), r.GetName()
		tally.repositories++
		n, err := s.queueOpenPullRequests(ctx, ins, client, id, owner, name)
		tally.pullRequests += n
		if err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Int64("installation", id).Str("repository", owner+"/"+name).
				Msg("Drift repair: repository skipped; the others still run")
			errs = append(errs, fmt.Errorf("%s/%s: %w", owner, name, err))
		}
	}
	return errors.Join(errs...)
}

// queueOpenPullRequests queues a reconcile of each open pull request of
// owner/repo in one transaction, and says how many it queued.
func (s *Service) queueOpenPullRequests(ctx context.Context, ins Inserter, client *github.Client, installation int64, owner, repo string) (int, error) {
	numbers, err := pullRequestNumbers(ctx, client, owner, repo, "open", time.Time{}, time.Time{})
	if err != nil || len(numbers) == 0 {
		return 0, err
	}
	err = pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		for _, n := range numbers {
			args := ReconcilePRArgs{InstallationID: installation, Owner: owner, Repo: repo, Number: n}
			if err := Enqueue(ctx, ins, tx, args); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(numbers), nil
}
