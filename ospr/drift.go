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

	"github.com/osprey-bot/osprey/inbox"
)

// Drift repair catches what events missed: a delivery GitHub never sent, a
// change made while osprey was down, a board edited by hand. Now and then
// it queues a reconcile of every open pull request of every installation;
// a pull request already queued is not queued twice, and one in a good
// state costs only reads answered 304 from the ETag cache.

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

// DriftRepairPeriodicJob queues a drift repair every interval (the first
// one interval after the start: a restart need not rescan everything).
func DriftRepairPeriodicJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return DriftRepairArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: false})
}

// DriftRepairWorker runs DriftRepairArgs.
type DriftRepairWorker struct {
	river.WorkerDefaults[DriftRepairArgs]
	Service *Service
	// Logger is where the drift repair logs (River's context carries none).
	Logger zerolog.Logger
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
// if anything failed.
func (w *DriftRepairWorker) Work(ctx context.Context, job *river.Job[DriftRepairArgs]) error {
	ins, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("drift repair: %w", err)
	}
	logger := w.Logger.With().Str("component", "drift_repair").Int64("job", job.ID).Logger()
	ctx = logger.WithContext(ctx)
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
	opts := &github.ListOptions{PerPage: listPageSize}
	var out []*github.Installation
	for {
		page, res, err := client.Apps.ListInstallations(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the app's installations: %w", err)
		}
		for _, inst := range page {
			if inst.SuspendedAt == nil {
				out = append(out, inst)
			}
		}
		if res.NextPage == 0 {
			return out, nil
		}
		opts.Page = res.NextPage
	}
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
