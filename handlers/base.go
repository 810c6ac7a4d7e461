// Package handlers has one struct per GitHub webhook event. Each parses its
// payload into the go-github type, replicates what it carries through store,
// and queues follow-up jobs in the same transaction. Handlers run in River
// workers (or `osprey replay`), never in the HTTP request.
package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/store"
)

// Base holds what every handler needs; each handler struct embeds it.
type Base struct {
	// DB is the pool replicated objects are written through.
	DB *pgxpool.Pool
	// Clients creates GitHub clients for installations.
	Clients githubapp.ClientCreator
	// Now is the clock, replaceable in tests.
	Now func() time.Time
	// FollowUps queues the jobs other parts of osprey run after a delivery.
	// Nil queues none.
	FollowUps FollowUps
	// Recent remembers the shared rows (accounts, repositories, labels)
	// this process wrote lately, to leave out writes that repeat them. Nil
	// writes every one.
	Recent *store.RecentWrites
}

// FollowUps is the seam between replication and the work that follows it:
// handlers call it inside the delivery's transaction, so a follow-up job is
// queued exactly when the replicated rows commit. The triage (reconciling a
// pull request) and the backfill (pull request files) implement it with
// River InsertTx.
type FollowUps interface {
	// PullRequestActivity is called for every pull_request,
	// pull_request_review, pull_request_review_comment delivery, and every
	// issue_comment delivery about a pull request.
	PullRequestActivity(ctx context.Context, tx pgx.Tx, a PullRequestActivity) error
}

// FollowUpsList runs several FollowUps in turn, in the same transaction;
// the first error stops it (and so the delivery's transaction).
type FollowUpsList []FollowUps

// PullRequestActivity implements FollowUps.
func (l FollowUpsList) PullRequestActivity(ctx context.Context, tx pgx.Tx, a PullRequestActivity) error {
	for _, f := range l {
		if err := f.PullRequestActivity(ctx, tx, a); err != nil {
			return err
		}
	}
	return nil
}

// RepositoriesInstalled is implemented by follow-ups that act when the app
// gains repositories: an installation created, or repositories added to
// one. Handlers call it inside the delivery's transaction, after the
// installation's repositories are recorded, when their FollowUps implement
// it (FollowUpsList does, for the members that do).
type RepositoriesInstalled interface {
	RepositoriesInstalled(ctx context.Context, tx pgx.Tx, installationID int64, repos []InstalledRepository) error
}

// InstalledRepository is a repository the app was just installed on. The
// installation events carry only a repository's id and names; Owner is
// read from its full name (or is the installation's account).
type InstalledRepository struct {
	Owner, Name string
}

// RepositoriesInstalled implements RepositoriesInstalled: it calls the
// members that implement it, in turn; the first error stops it.
func (l FollowUpsList) RepositoriesInstalled(ctx context.Context, tx pgx.Tx, installationID int64, repos []InstalledRepository) error {
	for _, f := range l {
		if ri, ok := f.(RepositoriesInstalled); ok {
			if err := ri.RepositoriesInstalled(ctx, tx, installationID, repos); err != nil {
				return err
			}
		}
	}
	return nil
}

// repositoriesInstalled tells the follow-ups, when they care, that
// installation gained repos, in tx.
func (b Base) repositoriesInstalled(ctx context.Context, tx pgx.Tx, installation *github.Installation, repos []*github.Repository) error {
	ri, ok := b.FollowUps.(RepositoriesInstalled)
	if !ok || len(repos) == 0 {
		return nil
	}
	account := installation.GetAccount().GetLogin()
	out := make([]InstalledRepository, 0, len(repos))
	for _, r := range repos {
		owner, name, found := strings.Cut(r.GetFullName(), "/")
		if !found || owner == "" || name == "" {
			owner, name = r.GetOwner().GetLogin(), r.GetName()
			if owner == "" {
				owner = account
			}
		}
		if owner == "" || name == "" {
			zerolog.Ctx(ctx).Warn().Int64("repository_id", r.GetID()).Msg("An installed repository without a name: not followed up")
			continue
		}
		out = append(out, InstalledRepository{Owner: owner, Name: name})
	}
	if len(out) == 0 {
		return nil
	}
	return ri.RepositoriesInstalled(ctx, tx, installation.GetID(), out)
}

// PullRequestActivity is one delivery about a pull request, as the
// follow-ups see it: enough to decide whether to act and on what, without
// the payload.
type PullRequestActivity struct {
	Event, Action  string
	InstallationID int64
	PR             store.PullRequestRef
	Owner, Repo    string // the base repository
	HeadSHA        string // "" when the event does not carry it
	// FilesChanged says the pull request was opened, reopened or got new
	// commits, so the list of its files must be read again.
	FilesChanged bool
	// Sender is the login of the account that caused the event.
	Sender string
	// CommentCreatedAt and ClosedAt are set for issue_comment deliveries:
	// a comment made as the pull request was closed ("close with comment")
	// needs no reconcile of its own.
	CommentCreatedAt, ClosedAt time.Time
}

// followUp runs the follow-ups of a, when there are any, in tx.
func (b Base) followUp(ctx context.Context, a PullRequestActivity) []func(pgx.Tx) error {
	if b.FollowUps == nil {
		return nil
	}
	return []func(pgx.Tx) error{func(tx pgx.Tx) error { return b.FollowUps.PullRequestActivity(ctx, tx, a) }}
}

// activity describes a delivery about pr for the follow-ups.
func activity(event, action string, installation *github.Installation, repo *github.Repository, pr *github.PullRequest, sender *github.User) PullRequestActivity {
	base := pr.GetBase().GetRepo()
	if base.GetName() == "" {
		base = repo
	}
	return PullRequestActivity{
		Event: event, Action: action, InstallationID: installation.GetID(),
		PR: pullRequestRef(pr, repo), Owner: base.GetOwner().GetLogin(), Repo: base.GetName(),
		HeadSHA: pr.GetHead().GetSHA(), Sender: sender.GetLogin(),
	}
}

// All returns every handler osprey registers, sharing base.
func All(base Base) []githubapp.EventHandler {
	if base.Now == nil {
		base.Now = time.Now
	}
	return []githubapp.EventHandler{
		&Installation{Base: base},
		&InstallationRepositories{Base: base},
		&Ping{Base: base},
		&PullRequest{Base: base},
		&PullRequestReview{Base: base},
		&PullRequestReviewComment{Base: base},
		&PullRequestReviewThread{Base: base},
		&Issues{Base: base},
		&IssueComment{Base: base},
		&Label{Base: base},
		&Milestone{Base: base},
		&Repository{Base: base},
		&Member{Base: base},
		&Membership{Base: base},
		&Organization{Base: base},
		&Push{Base: base},
	}
}

// parse decodes a payload into the go-github event type. A payload that does
// not decode can never be processed, so the error is permanent.
func parse(eventType string, payload []byte, into any) error {
	if err := json.Unmarshal(payload, into); err != nil {
		return inbox.Permanent(fmt.Errorf("failed to parse %s event payload: %w", eventType, err))
	}
	return nil
}

// replicate writes what fill queues on a Replicator, then runs then (the
// follow-up jobs, when there are any), all in one transaction. When the
// processor runs the handler, the delivery's outcome commits in that same
// transaction.
func (b Base) replicate(ctx context.Context, fill func(*store.Replicator), then ...func(pgx.Tx) error) error {
	r := store.NewReplicator(store.ViaWebhook, b.Now())
	r.UseRecentWrites(b.Recent)
	outcome := inbox.OutcomeFrom(ctx)
	if outcome != nil {
		// Copies without an updated_at are ordered by when GitHub sent them.
		r.ObservedAt(outcome.ReceivedAt)
	}
	fill(r)
	if outcome != nil {
		r.RecordDeliveryProcessed(outcome.GUID, outcome.StartedAt)
	}
	var err error
	if len(then) == 0 {
		// Nothing else to do inside the transaction: send it all,
		// commit included, in one round trip.
		err = r.Commit(ctx, b.DB)
	} else {
		err = b.inTx(ctx, func(tx pgx.Tx) error {
			if err := r.Send(ctx, tx); err != nil {
				return err
			}
			for _, fn := range then {
				if err := fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if store.IsInvalidPayload(err) {
		// Postgres refused a value (a NUL character in a title, say):
		// the same payload will be refused again.
		return inbox.Permanent(err)
	}
	if err != nil {
		return err
	}
	r.Committed()
	if outcome != nil {
		outcome.Recorded()
	}
	return nil
}

// replicateContext replicates the objects most payloads carry besides their
// subject: who sent it, the repository and the organisation.
func replicateContext(r *store.Replicator, sender *github.User, repo *github.Repository, org *github.Organization) {
	if org != nil {
		r.Organization(org)
	}
	if repo != nil {
		r.Repository(repo)
	}
	if sender != nil {
		r.Account(sender)
	}
}

// missing is the permanent error for a payload that lacks its subject.
func missing(event, what string) error {
	return inbox.Permanent(fmt.Errorf("%s event has no %s", event, what))
}

// inTx runs fn in one transaction: all writes of a delivery commit together.
func (b Base) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, b.DB, fn)
}
