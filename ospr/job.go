package ospr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
	"github.com/tidwall/gjson"

	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/jiramap"
)

// QueueTriage is the River queue reconciles run in, apart from deliveries
// so that a burst of events never delays their intake processing.
const QueueTriage = "triage"

// reconcileMaxAttempts bounds the retries of one reconcile (River's backoff
// spreads 12 attempts over about half a day).
const reconcileMaxAttempts = 12

// dataSnooze is how long a reconcile waits for contributor data that is
// configured but not loaded yet.
const dataSnooze = time.Minute

// busySnooze is how long a reconcile waits when another reconcile of the
// same pull request holds its lock.
const busySnooze = 3 * time.Second

// ReconcilePRArgs asks for one pull request to be reconciled. It is unique
// while queued: a burst of events for one pull request makes one job.
type ReconcilePRArgs struct {
	InstallationID int64  `json:"installation_id"`
	Owner          string `json:"owner" river:"unique"`
	Repo           string `json:"repo" river:"unique"`
	Number         int    `json:"number" river:"unique"`
	// After is the id of the reconcile of the same pull request that was
	// already running when this one was asked for: that one may have read
	// GitHub before the change, so this one runs after it. Zero otherwise.
	After int64 `json:"after,omitempty" river:"unique"`
	// Opened says the request came from the pull request being opened: the
	// first attempt may then take the fresh path (see Request.Fresh). Not
	// part of the uniqueness: requests that fold into this one keep it.
	Opened bool `json:"opened,omitempty"`
}

// Kind implements river.JobArgs.
func (ReconcilePRArgs) Kind() string { return "reconcile_pr" }

// uniqueWhileQueued are the states in which a second request for the same
// pull request is folded into the first. River requires running among them;
// Enqueue makes up for it (see After). A reconcile waiting to be retried is
// not among them: a new event must not wait hours behind its backoff (a new
// head's status, say); the lock keeps the two apart.
var uniqueWhileQueued = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateScheduled,
}

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ReconcilePRArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTriage, MaxAttempts: reconcileMaxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueWhileQueued}}
}

// Inserter queues jobs in a transaction (River's client).
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Enqueue queues a reconcile of args' pull request in tx. A request that
// finds one already queued joins it; one that finds one running queues a
// single follow-up to run after it, since the running one may have read
// GitHub before the change that caused this request.
func Enqueue(ctx context.Context, ins Inserter, tx pgx.Tx, args ReconcilePRArgs) error {
	args.Owner, args.Repo = strings.ToLower(args.Owner), strings.ToLower(args.Repo)
	res, err := ins.InsertTx(ctx, tx, args, nil)
	if err != nil {
		return fmt.Errorf("queueing the reconcile of %s/%s#%d: %w", args.Owner, args.Repo, args.Number, err)
	}
	if res.UniqueSkippedAsDuplicate && res.Job != nil && res.Job.State == rivertype.JobStateRunning {
		// The running one may already be writing: never fresh.
		args.After, args.Opened = res.Job.ID, false
		if _, err := ins.InsertTx(ctx, tx, args, nil); err != nil {
			return fmt.Errorf("queueing the reconcile of %s/%s#%d after job %d: %w", args.Owner, args.Repo, args.Number, args.After, err)
		}
	}
	return nil
}

// reconcileActions are the pull_request actions that can change what the
// triage wants; review and review-comment events trigger on every action.
var reconcileActions = map[string]map[string]bool{
	"pull_request": {"opened": true, "edited": true, "closed": true, "reopened": true, "synchronize": true,
		"ready_for_review": true, "converted_to_draft": true, "labeled": true, "unlabeled": true, "enqueued": true},
	"pull_request_review":         nil,
	"pull_request_review_comment": nil,
	"issue_comment":               {"created": true, "edited": true, "deleted": true},
}

// ShouldReconcile decides whether a delivery about a pull request calls for
// a reconcile. It is pure: events caused by this app itself (appLogins)
// never do, so osprey's own writes cannot loop; nor does a comment made as
// the pull request was closed, which the closed event covers.
func ShouldReconcile(a handlers.PullRequestActivity, appLogins []string) bool {
	actions, known := reconcileActions[a.Event]
	switch {
	case !known || a.PR.Number == 0 || a.Owner == "" || a.Repo == "":
		return false
	case actions != nil && !actions[a.Action]:
		return false
	case containsFold(appLogins, a.Sender):
		return false
	case a.Event == "issue_comment" && a.Action == "created" && !a.ClosedAt.IsZero() &&
		a.CommentCreatedAt.Truncate(time.Second).Equal(a.ClosedAt.Truncate(time.Second)):
		return false
	}
	return true
}

// Enqueuer is the triage's side of handlers.FollowUps: it queues a
// reconcile for every delivery that calls for one, in the delivery's
// transaction.
type Enqueuer struct {
	// Inserter returns River's client; it is built after the handlers.
	Inserter func() Inserter
	// Identity tells which events are the app's own.
	Identity *AppIdentity
}

// PullRequestActivity implements handlers.FollowUps.
func (e *Enqueuer) PullRequestActivity(ctx context.Context, tx pgx.Tx, a handlers.PullRequestActivity) error {
	if !ShouldReconcile(a, e.Identity.KnownLogins()) {
		return nil
	}
	ins := e.Inserter()
	if ins == nil {
		return errors.New("the triage's job queue is not running")
	}
	return Enqueue(ctx, ins, tx, ReconcilePRArgs{InstallationID: a.InstallationID, Owner: a.Owner, Repo: a.Repo, Number: a.PR.Number,
		Opened: a.Event == "pull_request" && a.Action == "opened"})
}

var _ handlers.FollowUps = &Enqueuer{}

// ReconcileWorker runs ReconcilePR jobs.
type ReconcileWorker struct {
	river.WorkerDefaults[ReconcilePRArgs]
	Service *Service
	// Logger is where the reconciles log (River's context carries none).
	Logger zerolog.Logger
}

// Work reconciles the pull request. While another reconcile of it runs, the
// job waits its turn (snoozed, which costs no attempt).
func (w *ReconcileWorker) Work(ctx context.Context, job *river.Job[ReconcilePRArgs]) error {
	a := job.Args
	logger := w.Logger.With().Int64("installation", a.InstallationID).Int64("job", job.ID).Logger()
	ctx = logger.WithContext(ctx)
	// River gives a snoozed job its attempt back; its metadata counts the
	// snoozes. Only the very first run may be fresh.
	first := job.Attempt == 1 && gjson.GetBytes(job.Metadata, "snoozes").Int() == 0
	res, err := w.Service.Run(ctx, a.InstallationID, Request{Owner: a.Owner, Repo: a.Repo, Number: a.Number, Fresh: a.Opened && first})
	if errors.Is(err, ErrBusy) {
		return river.JobSnooze(busySnooze)
	}
	if wait, ok := jiramap.RetryAfter(err); ok {
		// Jira asked to be left alone for a while: no attempt spent.
		logger.Warn().Err(err).Dur("retry_after", wait).Msg("Jira is rate-limiting osprey: the reconcile waits as asked")
		return river.JobSnooze(wait)
	}
	if errors.Is(err, ErrJiraIntentPending) {
		// An earlier attempt may have made the Jira issue unheard: give
		// Jira's search the time to show it.
		return river.JobSnooze(JiraSettle)
	}
	if errors.Is(err, ErrNoContributorData) || errors.Is(err, ErrJiraNotLoaded) {
		// Not this pull request's fault, and no attempt should be spent
		// on it: wait for the data, however long (the loader logs why it
		// is missing at every reload, loudly; this would only repeat it).
		logger.Debug().Err(err).Msg("Reconcile waits for the contributor data")
		return river.JobSnooze(dataSnooze)
	}
	logger = logger.With().Str("pull_request", fmt.Sprintf("%s/%s#%d", a.Owner, a.Repo, a.Number)).Logger()
	if err != nil {
		logger.Warn().Err(err).Int("attempt", job.Attempt).Int("max_attempts", job.MaxAttempts).Int("failed", len(res.Failed)).
			Msg("Reconcile failed; River retries it until max_attempts")
		return err
	}
	logger.Info().Str("class", res.Class.String()).Int("actions", len(res.Actions)).Int("problems", len(res.Problems)).
		Bool("config_error", res.ConfigError != "").Msg("Pull request reconciled")
	return nil
}
