// Package backfill loads from GitHub's API what webhooks do not carry, as
// River jobs on their own queue, so that deliveries keep priority. For now:
// the files of a pull request, read again whenever it is opened, reopened
// or gets new commits.
package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/store"
)

// Queue is the River queue of backfill jobs, apart from deliveries'.
const Queue = "backfill"

// maxFiles is as many files as GitHub lists for one pull request.
const maxFiles = 3000

// SyncPRFilesArgs asks for the files of one pull request at one head to be
// read and replicated. It is unique while queued: a burst of pushes makes
// one job per head.
type SyncPRFilesArgs struct {
	InstallationID int64  `json:"installation_id"`
	RepositoryID   int64  `json:"repository_id"`
	PullRequestID  int64  `json:"pull_request_id" river:"unique"`
	Owner          string `json:"owner"`
	Repo           string `json:"repo"`
	Number         int    `json:"number"`
	HeadSHA        string `json:"head_sha" river:"unique"`
}

// Kind implements river.JobArgs.
func (SyncPRFilesArgs) Kind() string { return "sync_pr_files" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SyncPRFilesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// Inserter queues jobs in a transaction (River's client).
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Enqueuer is the backfill's side of handlers.FollowUps: a pull request
// opened, reopened or given new commits gets its files read again.
type Enqueuer struct {
	// Inserter returns River's client; it is built after the handlers.
	Inserter func() Inserter
}

// PullRequestActivity implements handlers.FollowUps.
func (e *Enqueuer) PullRequestActivity(ctx context.Context, tx pgx.Tx, a handlers.PullRequestActivity) error {
	if !a.FilesChanged || a.PR.ID == 0 || a.HeadSHA == "" {
		return nil
	}
	ins := e.Inserter()
	if ins == nil {
		return errors.New("the backfill's job queue is not running")
	}
	_, err := ins.InsertTx(ctx, tx, SyncPRFilesArgs{InstallationID: a.InstallationID, RepositoryID: a.PR.RepositoryID,
		PullRequestID: a.PR.ID, Owner: a.Owner, Repo: a.Repo, Number: a.PR.Number, HeadSHA: a.HeadSHA}, nil)
	if err != nil {
		return fmt.Errorf("queueing the files of %s/%s#%d: %w", a.Owner, a.Repo, a.PR.Number, err)
	}
	return nil
}

var _ handlers.FollowUps = &Enqueuer{}

// FilesWorker runs SyncPRFiles jobs.
type FilesWorker struct {
	river.WorkerDefaults[SyncPRFilesArgs]
	Clients githubapp.ClientCreator
	DB      *pgxpool.Pool
	Logger  zerolog.Logger
	// Now is the clock of the replicated rows.
	Now func() time.Time
	// Budget and Reserve: while an installation has fewer than Reserve
	// requests left of its primary rate limit, its backfill jobs wait for
	// the reset, so that webhook-driven work keeps what it needs.
	Budget  *ghclient.Budget
	Reserve int
}

// notFoundTries is how many times a files job asks GitHub about a pull
// request it answers 404 for (River's backoff: about 1 s, then 16 s).
const notFoundTries = 3

// notFound says whether err is GitHub's 404.
func notFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// statusOf is the HTTP status of GitHub's answer that err carries, or 0.
func statusOf(err error) int {
	var resp *github.ErrorResponse
	if !errors.As(err, &resp) || resp.Response == nil {
		return 0
	}
	return resp.Response.StatusCode
}

// secondaryBackoff is how long a job first waits after a secondary rate
// limit (or a 429) that named no time to wait; each further wait of the
// same job doubles it, up to maxBackoff.
const (
	secondaryBackoff = time.Minute
	maxBackoff       = 32 * time.Minute
)

// waitForBudget is the snooze that keeps a job from spending an
// installation's reserve, or nil.
func waitForBudget(budget *ghclient.Budget, reserve int, installation int64) error {
	left, reset, known := budget.Of(installation)
	if !known || left >= reserve {
		return nil
	}
	return snoozeFor(time.Until(reset) + time.Second)
}

// minSnooze keeps a snooze positive when GitHub's reset is already past
// by this host's clock (River refuses a negative one).
const minSnooze = time.Second

// rateLimited turns GitHub's rate-limit answers into a snooze: until the
// reset for the primary limit, retry-after for a secondary one (go-github
// takes GitHub's reset time when there is none), else a minute doubled for
// each of the job's earlier waits (snoozes). A 429, which go-github does
// not recognise, is read the same way. Other errors are returned as they
// are (River backs off).
func rateLimited(err error, snoozes int) error {
	var primary *github.RateLimitError
	var secondary *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &primary):
		return snoozeFor(time.Until(primary.Rate.Reset.Time) + time.Second)
	case errors.As(err, &secondary):
		if d := secondary.GetRetryAfter(); d > 0 {
			return snoozeFor(d)
		}
		return snoozeFor(backoff(snoozes))
	case statusOf(err) == http.StatusTooManyRequests && errors.As(err, &resp):
		h := resp.Response.Header
		if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
			return snoozeFor(time.Duration(secs) * time.Second)
		}
		if h.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				return snoozeFor(time.Until(time.Unix(reset, 0)) + time.Second)
			}
		}
		return snoozeFor(backoff(snoozes))
	}
	return err
}

// backoff is secondaryBackoff doubled snoozes times, at most maxBackoff.
func backoff(snoozes int) time.Duration { return doubled(secondaryBackoff, maxBackoff, snoozes) }

// doubled is first doubled n times, at most ceiling.
func doubled(first, ceiling time.Duration, n int) time.Duration {
	d := first
	for i := 0; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

func snoozeFor(d time.Duration) error { return river.JobSnooze(max(d, minSnooze)) }

// snoozesOf is how many times River has snoozed job (its metadata keeps
// the count).
func snoozesOf(job *rivertype.JobRow) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	if job == nil || json.Unmarshal(job.Metadata, &m) != nil {
		return 0
	}
	return m.Snoozes
}

// Work reads every page of the pull request's files and replicates them
// with "via api" timestamps; files no longer listed get deleted_at. A job
// for a head the pull request has left does nothing: the newer head's job
// writes the list.
func (w *FilesWorker) Work(ctx context.Context, job *river.Job[SyncPRFilesArgs]) error {
	a := job.Args
	logger := w.Logger.With().Str("pull_request", fmt.Sprintf("%s/%s#%d", a.Owner, a.Repo, a.Number)).Str("head", a.HeadSHA).Logger()
	head, found, err := store.PullRequestHead(ctx, w.DB, a.PullRequestID)
	if err != nil {
		return err
	}
	if found && head != "" && head != a.HeadSHA {
		logger.Debug().Str("current_head", head).Msg("Files of an old head: left to the newer job")
		return nil
	}
	if wait := waitForBudget(w.Budget, w.Reserve, a.InstallationID); wait != nil {
		logger.Info().Int("reserve", w.Reserve).Msg("Backfill waits for the installation's rate limit to reset")
		return wait
	}
	client, err := w.Clients.NewInstallationClient(a.InstallationID)
	if err != nil {
		return fmt.Errorf("creating the client of installation %d: %w", a.InstallationID, err)
	}
	files, err := listFiles(ctx, client, a.Owner, a.Repo, a.Number)
	if err != nil {
		if wait := rateLimited(err, snoozesOf(job.JobRow)); wait != err {
			logger.Warn().Err(err).Msg("Backfill rate-limited by GitHub: waiting")
			return wait
		}
		if notFound(err) {
			// Right after the webhook, GitHub's API may not know the pull
			// request yet: a few tries, then it is gone (or hidden).
			if job.JobRow.Attempt < notFoundTries {
				logger.Info().Int("attempt", job.JobRow.Attempt).Msg("GitHub does not list this pull request's files yet: will try again")
				return err
			}
			logger.Warn().Err(err).Msg("GitHub still answers 404 for this pull request's files: giving up")
			return river.JobCancel(err)
		}
		return err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	r := store.NewReplicator(store.ViaAPI, now())
	r.PullRequestFiles(a.PullRequestID, a.RepositoryID, a.HeadSHA, files)
	if err := r.Commit(ctx, w.DB); err != nil {
		return fmt.Errorf("replicating the files of %s/%s#%d: %w", a.Owner, a.Repo, a.Number, err)
	}
	logger.Debug().Int("files", len(files)).Msg("Pull request files replicated")
	return nil
}

// listFiles reads every page of the pull request's files (GitHub lists at
// most maxFiles).
func listFiles(ctx context.Context, client *github.Client, owner, repo string, number int) ([]*github.CommitFile, error) {
	var out []*github.CommitFile
	err := ghclient.EachPage(func(page int) ([]*github.CommitFile, *github.Response, error) {
		return client.PullRequests.ListFiles(ctx, owner, repo, number, &github.ListOptions{PerPage: ghclient.PerPage, Page: page})
	}, func(page []*github.CommitFile) bool {
		out = append(out, page...)
		return len(out) < maxFiles
	})
	if err != nil {
		return nil, fmt.Errorf("listing the files of %s/%s#%d: %w", owner, repo, number, err)
	}
	return out, nil
}
