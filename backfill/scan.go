package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/store"
)

// A scan runs as River jobs on the backfill queue: a spawn job learns the
// size of the list (it reads the first page, whose Link header names the
// last), records it and queues one page job per further page; page jobs run
// in parallel, each replicating its page and counting it done in the same
// transaction; the job whose page completes the count finishes the scan
// (store.FinishScan). docs/backfill.md tells the whole story.

// ScanSpawnArgs starts scan ScanID. It is unique per scan.
type ScanSpawnArgs struct {
	ScanID int64 `json:"scan_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (ScanSpawnArgs) Kind() string { return "backfill_scan_spawn" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ScanSpawnArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: scanMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ScanPageArgs reads one page of scan ScanID (one pull request's files, for
// a files scan). It is unique per scan and page, so a page is queued once.
type ScanPageArgs struct {
	ScanID int64 `json:"scan_id" river:"unique"`
	Page   int   `json:"page" river:"unique"`
	// Number and PullRequestID name the pull request of a files scan's page.
	Number        int   `json:"number,omitempty"`
	PullRequestID int64 `json:"pull_request_id,omitempty"`
}

// Kind implements river.JobArgs.
func (ScanPageArgs) Kind() string { return "backfill_scan_page" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ScanPageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: scanMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// scanMaxAttempts is how often a scan's job tries before the scan fails:
// River's backoff spreads eight attempts over about 80 minutes.
const scanMaxAttempts = 8

// filesWait is how long the files of a repository wait, while its pull
// requests are being scanned, before looking again: two seconds, doubled
// at each look, at most a minute (a big repository's pulls take hours).
func filesWait(snoozes int) time.Duration { return doubled(2*time.Second, time.Minute, snoozes) }

// DefaultStaleAfter is how long a queued or running scan may go without a
// sign of life before a new request for it takes it as abandoned.
const DefaultStaleAfter = 2 * time.Hour

// Who asked for a scan (Request.RequestedBy).
const (
	RequestedByInstall = "install"
	RequestedByCLI     = "cli"
	RequestedByAPI     = "api"
)

// Request asks for a scan.
type Request struct {
	InstallationID int64
	Owner, Repo    string
	// Kind is KindRepository (the repository and Kinds), a list kind, or
	// one object: KindPull, KindIssue, KindPullFiles with Number.
	Kind   string
	Number int
	Kinds  []string
	Since  time.Time // zero for everything
	// RequestedBy says who asked: install, cli or api.
	RequestedBy string
}

// QueueScan records the scan req asks for and queues its spawn job, in tx. If
// a scan of the same repository and kind (and number) is already queued or
// running, that one is returned with false and nothing is queued.
func QueueScan(ctx context.Context, tx pgx.Tx, ins Inserter, req Request, staleAfter time.Duration) (store.Scan, bool, error) {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	kinds := req.Kinds
	if req.Kind == KindRepository && kinds == nil {
		kinds = DefaultKinds
	}
	complete := req.Since.IsZero() && store.Sweeps(req.Kind)
	s, created, err := store.CreateScan(ctx, tx, store.NewScan{
		InstallationID: req.InstallationID, Owner: req.Owner, Repo: req.Repo, Kind: req.Kind, Number: req.Number,
		Kinds: kinds, Since: sinceOf(req.Since), Complete: complete, RequestedBy: req.RequestedBy,
	}, time.Now().Add(-staleAfter))
	if err != nil || !created {
		return s, created, err
	}
	if _, err := ins.InsertTx(ctx, tx, ScanSpawnArgs{ScanID: s.ID}, nil); err != nil {
		return s, false, fmt.Errorf("queueing scan %d: %w", s.ID, err)
	}
	return s, true, nil
}

// Scanner runs scans: it is shared by the spawn and page workers.
type Scanner struct {
	Clients githubapp.ClientCreator
	DB      *pgxpool.Pool
	Logger  zerolog.Logger
	// Now is the clock of the replicated rows and the scans.
	Now func() time.Time
	// Budget and Reserve: while an installation has fewer than Reserve
	// requests left, its scans wait for the reset.
	Budget  *ghclient.Budget
	Reserve int
	// PerInstallation bounds the page jobs of one installation this process
	// runs at once (0: no bound beyond the queue's workers).
	PerInstallation int
	// StaleAfter is how long a scan may show no life before it counts as
	// abandoned (DefaultStaleAfter when zero).
	StaleAfter time.Duration
	// Recent, shared with the webhook handlers, leaves out writes of
	// accounts, labels and repositories that repeat one this process made
	// lately: pages list the same people again and again.
	Recent *store.RecentWrites

	slotsOnce sync.Once
	slots     *installationSlots
}

func (sc *Scanner) now() time.Time {
	if sc.Now != nil {
		return sc.Now()
	}
	return time.Now()
}

// AddWorkers registers the scan workers of sc.
func AddWorkers(workers *river.Workers, sc *Scanner) {
	river.AddWorker(workers, &SpawnWorker{Scanner: sc})
	river.AddWorker(workers, &PageWorker{Scanner: sc})
	river.AddWorker(workers, &JanitorWorker{Scanner: sc})
}

// JanitorArgs looks for scans whose jobs are all over without having
// finished them.
type JanitorArgs struct{}

// Kind implements river.JobArgs.
func (JanitorArgs) Kind() string { return "backfill_scan_janitor" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (JanitorArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: JanitorInterval}}
}

// JanitorInterval is how often the janitor runs, and how long a scan
// with no job left must have been quiet before it fails it.
const JanitorInterval = 2 * time.Minute

// JanitorPeriodicJob schedules the janitor every JanitorInterval.
func JanitorPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(JanitorInterval),
		func() (river.JobArgs, *river.InsertOpts) { return JanitorArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})
}

// JanitorWorker fails the scans River has no job left for (discarded after
// a panic or a timeout, or lost with a process killed on their last
// attempt), so that none stays running for ever and their repository
// scans end.
type JanitorWorker struct {
	river.WorkerDefaults[JanitorArgs]
	*Scanner
}

// Work implements river.Worker.
func (w *JanitorWorker) Work(ctx context.Context, _ *river.Job[JanitorArgs]) error {
	n, err := store.FailDeadScans(ctx, w.DB, time.Now().Add(-JanitorInterval))
	if n > 0 {
		w.Logger.Warn().Int("scans", n).Msg("Scans failed: River has no job left for them")
	}
	return err
}

// SpawnWorker runs ScanSpawn jobs.
type SpawnWorker struct {
	river.WorkerDefaults[ScanSpawnArgs]
	*Scanner
}

// Timeout implements river.Worker: a spawn may read a whole list whose
// pages cannot be known up front (pull requests updated since a date).
func (w *SpawnWorker) Timeout(*river.Job[ScanSpawnArgs]) time.Duration { return 10 * time.Minute }

// Work starts the scan: it reads what the scan's kind needs first and
// queues the rest.
func (w *SpawnWorker) Work(ctx context.Context, job *river.Job[ScanSpawnArgs]) error {
	return w.lastAttempt(ctx, job.JobRow, job.Args.ScanID, w.work(ctx, job))
}

func (w *SpawnWorker) work(ctx context.Context, job *river.Job[ScanSpawnArgs]) error {
	s, found, err := store.GetScanRow(ctx, w.DB, job.Args.ScanID)
	if err != nil || !found || !s.Active() {
		return err // gone or over
	}
	logger := w.scanLogger(s)
	if s.PagesTotal != nil {
		// Spawned already: this run follows one that died after its
		// commit, maybe before it could finish a one-page scan.
		if s.Kind == KindRepository {
			return nil
		}
		return w.finishIfDone(ctx, s.ID, logger)
	}
	if s.Kind == KindFiles {
		busy, err := store.ScanActive(ctx, w.DB, s.Owner, s.Repo, KindPulls)
		if err != nil {
			return err
		}
		if busy {
			_ = store.ScanAlive(ctx, w.DB, s.ID)
			return snoozeFor(filesWait(snoozesOf(job.JobRow)))
		}
	}
	if wait := w.waitForBudget(ctx, s); wait != nil {
		return wait
	}
	if s, err = store.StartScan(ctx, w.DB, s.ID, w.now()); err != nil {
		return err
	}
	ctx, count := ghclient.WithRequestCount(ctx)
	client, err := w.Clients.NewInstallationClient(s.InstallationID)
	if err != nil {
		return fmt.Errorf("creating the client of installation %d: %w", s.InstallationID, err)
	}
	insert, err := jobInserter(ctx)
	if err != nil {
		return err
	}
	r := store.NewReplicator(store.ViaAPI, w.now())
	r.UseRecentWrites(w.Recent)
	if s.RepositoryID == 0 || s.Kind == KindRepository {
		repo, _, err := client.Repositories.Get(ctx, s.Owner, s.Repo)
		if err != nil {
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		}
		r.Repository(repo)
		s.RepositoryID = repo.GetID()
	}

	var plan spawnPlan
	switch {
	case s.Kind == KindRepository:
		plan = spawnPlan{pages: 1, ids: []int64{s.RepositoryID}, children: s.Kinds}
	case s.Kind == KindPulls && s.Since != nil:
		ids, pages, err := pullsUpdatedSince(ctx, client, s, r)
		if err != nil {
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		}
		logger.Debug().Int("pages_read", pages).Msg("Pull requests updated since read in order")
		plan = spawnPlan{pages: 1, ids: ids}
	case lists[s.Kind] != nil:
		ids, resp, err := lists[s.Kind](ctx, client, s, 0, func() {}, r)
		if err != nil {
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		}
		plan = spawnPlan{pages: max(1, resp.LastPage), ids: ids}
		for p := 2; p <= plan.pages; p++ {
			plan.jobs = append(plan.jobs, river.InsertManyParams{Args: ScanPageArgs{ScanID: s.ID, Page: p}})
		}
	case s.Kind == KindFiles:
		prs, err := store.PullRequestsOf(ctx, w.DB, s.RepositoryID, s.Since)
		if err != nil {
			return err
		}
		plan = spawnPlan{pages: len(prs), noFirstPage: true}
		for i, pr := range prs {
			plan.jobs = append(plan.jobs, river.InsertManyParams{Args: ScanPageArgs{ScanID: s.ID, Page: i + 1,
				Number: pr.Number, PullRequestID: pr.ID}})
		}
	case s.Kind == KindPull, s.Kind == KindPullFiles:
		pr, _, err := client.PullRequests.Get(ctx, s.Owner, s.Repo, s.Number)
		if err == nil && s.Kind == KindPullFiles {
			var files []*github.CommitFile
			if files, err = listFiles(ctx, client, s.Owner, s.Repo, s.Number); err == nil {
				r.PullRequestFiles(pr.GetID(), s.RepositoryID, pr.GetHead().GetSHA(), files)
			}
		}
		if err != nil {
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		}
		r.PullRequest(pr)
		plan = spawnPlan{pages: 1, ids: []int64{pr.GetID()}}
	case s.Kind == KindIssue:
		is, _, err := client.Issues.Get(ctx, s.Owner, s.Repo, s.Number)
		if err != nil {
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		}
		r.Issue(s.RepositoryID, is)
		plan = spawnPlan{pages: 1, ids: []int64{is.GetID()}}
	default:
		return w.giveUp(ctx, s, fmt.Errorf("scan %d has an unknown kind %q", s.ID, s.Kind), logger)
	}

	err = pgx.BeginFunc(ctx, w.DB, func(tx pgx.Tx) error {
		if err := r.Send(ctx, tx); err != nil {
			return err
		}
		if err := store.SetScanPages(ctx, tx, s.ID, plan.pages, s.RepositoryID); err != nil {
			return err
		}
		for _, kind := range plan.children {
			child, created, err := store.CreateScan(ctx, tx, store.NewScan{ParentID: s.ID, InstallationID: s.InstallationID,
				Owner: s.Owner, Repo: s.Repo, RepositoryID: s.RepositoryID, Kind: kind, Since: s.Since,
				Complete: s.Since == nil && store.Sweeps(kind), RequestedBy: s.RequestedBy}, time.Now().Add(-w.staleAfter()))
			if err != nil {
				return err
			}
			if created {
				plan.spawned++
				plan.jobs = append(plan.jobs, river.InsertManyParams{Args: ScanSpawnArgs{ScanID: child.ID}})
			} else {
				logger.Info().Int64("running_scan", child.ID).Str("kind", kind).Msg("A scan of this kind is already running: left to it")
			}
		}
		if len(plan.jobs) > 0 {
			if err := insert(ctx, tx, plan.jobs); err != nil {
				return fmt.Errorf("queueing the pages of scan %d: %w", s.ID, err)
			}
		}
		if plan.noFirstPage {
			if plan.pages == 0 {
				_, err := store.FinishScan(ctx, tx, s, w.now())
				return err
			}
			return store.ScanAlive(ctx, tx, s.ID)
		}
		if err := store.CompletePage(ctx, tx, s.ID, store.PageResult{Page: 1, IDs: plan.ids,
			Calls: count.Calls(), NotModified: count.NotModified()}); err != nil {
			return err
		}
		if s.Kind == KindRepository && plan.spawned == 0 {
			// Its children end it; one that spawned none ends now.
			_, err = store.FinishScan(ctx, tx, s, w.now())
		}
		return err
	})
	if err != nil {
		return w.writeFailed(ctx, s, count, err, logger)
	}
	r.Committed()
	logger.Info().Int("pages", plan.pages).Int("spawned", plan.spawned).Int("api_calls", count.Calls()).Msg("Scan started")
	if s.Kind != KindRepository {
		return w.finishIfDone(ctx, s.ID, logger)
	}
	return nil
}

// spawnPlan is what a spawn job found: how many pages the scan has, the
// ids of its first page (read by the spawn itself), the jobs to queue and
// the kinds to spawn scans of.
type spawnPlan struct {
	pages       int
	ids         []int64
	noFirstPage bool // the spawn read no page (files: every page is a job)
	jobs        []river.InsertManyParams
	children    []string
	spawned     int // children that are new scans (not left to running ones)
}

// PageWorker runs ScanPage jobs.
type PageWorker struct {
	river.WorkerDefaults[ScanPageArgs]
	*Scanner
}

// Work reads one page and replicates it; the last page finishes the scan.
func (w *PageWorker) Work(ctx context.Context, job *river.Job[ScanPageArgs]) error {
	return w.lastAttempt(ctx, job.JobRow, job.Args.ScanID, w.work(ctx, job))
}

func (w *PageWorker) work(ctx context.Context, job *river.Job[ScanPageArgs]) error {
	a := job.Args
	s, found, done, err := store.ScanForPage(ctx, w.DB, a.ScanID, a.Page)
	if err != nil || !found || s.State != store.ScanRunning {
		return err // gone or over (a failed scan's pages do nothing)
	}
	logger := w.scanLogger(s).With().Int("page", a.Page).Logger()
	if done {
		// This job's earlier run committed its page and died before River
		// heard: only the finish may be left to do.
		return w.finishIfDone(ctx, s.ID, logger)
	}
	// The slot bounds this installation's requests in flight, not the
	// database writes after them: released once the page is read, so the
	// next page's request overlaps this one's write.
	release, ok := w.installationSlots().acquire(ctx, s.InstallationID)
	if !ok {
		return river.JobSnooze(time.Second)
	}
	releaseOnce := sync.OnceFunc(release)
	defer releaseOnce()
	if wait := w.waitForBudget(ctx, s); wait != nil {
		return wait
	}
	ctx, count := ghclient.WithRequestCount(ctx)
	client, err := w.Clients.NewInstallationClient(s.InstallationID)
	if err != nil {
		return fmt.Errorf("creating the client of installation %d: %w", s.InstallationID, err)
	}
	r := store.NewReplicator(store.ViaAPI, w.now())
	r.UseRecentWrites(w.Recent)
	var ids []int64
	if s.Kind == KindFiles {
		head, _, err := store.PullRequestHead(ctx, w.DB, a.PullRequestID)
		if err != nil {
			return err
		}
		files, err := listFiles(ctx, client, s.Owner, s.Repo, a.Number)
		switch {
		case err != nil && permanent(err) && rateLimited(err, 0) == err:
			// One pull request GitHub will not list the files of (gone,
			// a diff too large) is an error of the scan, not its end.
			logger.Warn().Err(err).Int("number", a.Number).Msg("No files for this pull request: counted as an error, the scan goes on")
			if recErr := store.RecordScanAttempt(context.WithoutCancel(ctx), w.DB, s.ID, 0, 0, fmt.Sprintf("#%d: %v", a.Number, err)); recErr != nil {
				return recErr
			}
		case err != nil:
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		default:
			r.PullRequestFiles(a.PullRequestID, s.RepositoryID, head, files)
		}
		ids = []int64{a.PullRequestID}
	} else {
		list := lists[s.Kind]
		if list == nil {
			return w.giveUp(ctx, s, fmt.Errorf("scan %d of kind %q has no pages", s.ID, s.Kind), logger)
		}
		if ids, _, err = list(ctx, client, s, a.Page, releaseOnce, r); err != nil {
			return w.failed(ctx, job.JobRow, s, count, err, logger)
		}
	}
	releaseOnce()
	err = pgx.BeginFunc(ctx, w.DB, func(tx pgx.Tx) error {
		if err := r.Send(ctx, tx); err != nil {
			return err
		}
		return store.CompletePage(ctx, tx, s.ID, store.PageResult{Page: a.Page, IDs: ids,
			Calls: count.Calls(), NotModified: count.NotModified()})
	})
	if err != nil {
		return w.writeFailed(ctx, s, count, err, logger)
	}
	r.Committed()
	return w.finishIfDone(ctx, s.ID, logger)
}

// finishIfDone finishes scan id once its last page has committed. Every
// page job asks after its commit; of those that find no page left, the
// first to lock the scan finishes it (records when it was scanned, sweeps)
// and the others find it done. A job that dies between its commit and this
// is run again by River and asks again.
func (sc *Scanner) finishIfDone(ctx context.Context, id int64, logger zerolog.Logger) error {
	left, err := store.PagesLeft(ctx, sc.DB, id)
	if err != nil || left != 0 {
		return err
	}
	return pgx.BeginFunc(ctx, sc.DB, func(tx pgx.Tx) error {
		s, claimed, err := store.ClaimFinish(ctx, tx, id)
		if err != nil || !claimed {
			return err
		}
		swept, err := store.FinishScan(ctx, tx, s, sc.now())
		if err != nil {
			return err
		}
		logger.Info().Int("swept", swept).Int64("items", s.Items).Int64("api_calls", s.APICalls).
			Int64("not_modified", s.NotModified).Msg("Scan done")
		return nil
	})
}

// failed decides what a job of scan s does about err, a request to GitHub
// that failed: a rate limit waits (snoozed, no attempt spent); an answer
// that will not change (404, 410, 401, 403, 422) fails the scan at once,
// except a 404 for a scan an installation asked for, which GitHub may not
// show the new installation yet (tried notFoundTries times); anything else
// (5xx, the network) is retried with River's backoff until the last
// attempt, which fails the scan. Every attempt's requests are counted.
// The bookkeeping outlives the job's context, which may have timed out.
func (sc *Scanner) failed(ctx context.Context, job *rivertype.JobRow, s store.Scan, count *ghclient.RequestCount, err error, logger zerolog.Logger) error {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	msg := err.Error()
	if recErr := store.RecordScanAttempt(ctx, sc.DB, s.ID, count.Calls(), count.NotModified(), msg); recErr != nil {
		logger.Error().Err(recErr).Msg("Could not record a scan's error")
	}
	if wait := rateLimited(err, snoozesOf(job)); wait != err {
		logger.Warn().Err(err).Msg("Scan rate-limited by GitHub: waiting")
		return wait
	}
	retry := !permanent(err) || (s.RequestedBy == RequestedByInstall && notFound(err) && job.Attempt < notFoundTries)
	if retry && job.Attempt < job.MaxAttempts {
		logger.Warn().Err(err).Int("attempt", job.Attempt).Msg("Scan job failed: will retry")
		return err
	}
	return sc.giveUp(ctx, s, err, logger)
}

// giveUp fails scan s for err and cancels the job.
func (sc *Scanner) giveUp(ctx context.Context, s store.Scan, err error, logger zerolog.Logger) error {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	logger.Error().Err(err).Msg("Scan failed")
	if txErr := pgx.BeginFunc(ctx, sc.DB, func(tx pgx.Tx) error { return store.FailScan(ctx, tx, s, err.Error(), sc.now()) }); txErr != nil {
		return errors.Join(err, txErr)
	}
	return river.JobCancel(err)
}

// bookkeeping is a context for recording a job's outcome: not cancelled
// with the job's (which may be what failed it), but bounded.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// lastAttempt fails scan id when its job's last attempt ends in an error
// that River would otherwise only record (a database error, say), so
// that the scan ends instead of waiting to be taken as abandoned.
func (sc *Scanner) lastAttempt(ctx context.Context, job *rivertype.JobRow, id int64, err error) error {
	var snooze *rivertype.JobSnoozeError
	var cancelled *rivertype.JobCancelError
	if err == nil || job.Attempt < job.MaxAttempts || errors.As(err, &snooze) || errors.As(err, &cancelled) {
		return err
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	s, found, getErr := store.GetScanRow(ctx, sc.DB, id)
	if getErr != nil || !found || !s.Active() {
		return err
	}
	if txErr := pgx.BeginFunc(ctx, sc.DB, func(tx pgx.Tx) error {
		return store.FailScan(ctx, tx, s, "gave up after the last attempt: "+err.Error(), sc.now())
	}); txErr != nil {
		return errors.Join(err, txErr)
	}
	return err
}

// writeFailed records an attempt whose requests succeeded but whose
// transaction did not commit (a deadlock, the database going away): its
// requests count, and River tries the job again.
func (sc *Scanner) writeFailed(ctx context.Context, s store.Scan, count *ghclient.RequestCount, err error, logger zerolog.Logger) error {
	logger.Warn().Err(err).Msg("Could not write what a scan job read: will retry")
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if recErr := store.RecordScanAttempt(ctx, sc.DB, s.ID, count.Calls(), count.NotModified(), err.Error()); recErr != nil {
		logger.Error().Err(recErr).Msg("Could not record a scan's error")
	}
	return err
}

// permanent says whether GitHub's answer will be the same if asked again.
func permanent(err error) bool {
	switch statusOf(err) {
	case http.StatusNotFound, http.StatusGone, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// waitForBudget snoozes a job of scan s while its installation is under
// the reserve, recording that the scan is alive and waiting.
func (sc *Scanner) waitForBudget(ctx context.Context, s store.Scan) error {
	wait := waitForBudget(sc.Budget, sc.Reserve, s.InstallationID)
	if wait != nil {
		_ = store.ScanAlive(ctx, sc.DB, s.ID)
		logger := sc.scanLogger(s)
		logger.Debug().Int("reserve", sc.Reserve).Msg("Scan waits for the installation's rate limit to reset")
	}
	return wait
}

func (sc *Scanner) staleAfter() time.Duration {
	if sc.StaleAfter > 0 {
		return sc.StaleAfter
	}
	return DefaultStaleAfter
}

func (sc *Scanner) scanLogger(s store.Scan) zerolog.Logger {
	l := sc.Logger.With().Int64("scan", s.ID).Str("repository", s.Owner+"/"+s.Repo).Str("kind", s.Kind)
	if s.Number != 0 {
		l = l.Int("number", s.Number)
	}
	return l.Logger()
}

func (sc *Scanner) installationSlots() *installationSlots {
	sc.slotsOnce.Do(func() { sc.slots = &installationSlots{per: sc.PerInstallation, held: map[int64]chan struct{}{}} })
	return sc.slots
}

// installationSlots bounds the page jobs of each installation that run at
// once in this process.
type installationSlots struct {
	mu   sync.Mutex
	per  int
	held map[int64]chan struct{}
}

// slotWait is how long a page job waits for a slot of its installation
// before giving its worker back (snoozed) to other installations' jobs.
const slotWait = 2 * time.Second

// acquire takes a slot of installation id, waiting up to slotWait; ok is
// false when none came free.
func (s *installationSlots) acquire(ctx context.Context, id int64) (release func(), ok bool) {
	if s.per <= 0 {
		return func() {}, true
	}
	s.mu.Lock()
	ch := s.held[id]
	if ch == nil {
		ch = make(chan struct{}, s.per)
		s.held[id] = ch
	}
	s.mu.Unlock()
	t := time.NewTimer(slotWait)
	defer t.Stop()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, true
	case <-t.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

// jobInserter is River's InsertManyTx of the client running the job.
func jobInserter(ctx context.Context) (func(context.Context, pgx.Tx, []river.InsertManyParams) error, error) {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return nil, fmt.Errorf("a scan's jobs need River's client: %w", err)
	}
	return func(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) error {
		_, err := client.InsertManyTx(ctx, tx, params)
		return err
	}, nil
}
