package ospr

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/store"
)

// Replica is what a reconcile reads from osprey's own copy of GitHub
// instead of spending rate limit, and where it keeps copies of its own
// writes so that the next reconcile finds them there.
type Replica interface {
	// PullRequest is the replicated pull request; false when there is none.
	PullRequest(ctx context.Context, owner, repo string, number int) (PR, bool, error)
	// HasCommentBy reports whether one of logins has a replicated comment
	// on the pull request.
	HasCommentBy(ctx context.Context, owner, repo string, number int, logins []string) (bool, error)
	// RecordComment replicates a comment the reconcile just wrote.
	RecordComment(ctx context.Context, pr PR, c IssueComment) error
	// MarkWrite records, before its first write, that the triage writes
	// to the pull request; WroteTo reports whether it ever did.
	MarkWrite(ctx context.Context, pr PR) error
	WroteTo(ctx context.Context, owner, repo string, number int) (bool, error)
}

// StoreReplica is the Replica in osprey's Postgres.
type StoreReplica struct {
	DB *pgxpool.Pool
}

var _ Replica = StoreReplica{}

// PullRequest implements Replica.
func (s StoreReplica) PullRequest(ctx context.Context, owner, repo string, number int) (PR, bool, error) {
	data, found, err := store.ReplicatedPullRequest(ctx, s.DB, owner, repo, number)
	if err != nil || !found {
		return PR{}, false, err
	}
	var pr github.PullRequest
	if err := json.Unmarshal(data, &pr); err != nil {
		return PR{}, false, fmt.Errorf("decoding the replicated pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	out := FromGitHub(&pr)
	if out.Owner == "" || out.Repo == "" || out.HeadSHA == "" || out.Author == "" {
		return PR{}, false, nil // a partial copy (from a review event, say): not enough to decide on
	}
	return out, true, nil
}

// HasCommentBy implements Replica.
func (s StoreReplica) HasCommentBy(ctx context.Context, owner, repo string, number int, logins []string) (bool, error) {
	return store.HasCommentBy(ctx, s.DB, owner, repo, number, logins)
}

// MarkWrite implements Replica.
func (s StoreReplica) MarkWrite(ctx context.Context, pr PR) error {
	return store.MarkTriageWrite(ctx, s.DB, pr.Owner, pr.Repo, pr.Number)
}

// WroteTo implements Replica.
func (s StoreReplica) WroteTo(ctx context.Context, owner, repo string, number int) (bool, error) {
	return store.TriageWroteTo(ctx, s.DB, owner, repo, number)
}

// RecordComment implements Replica, as an object read from the API.
func (s StoreReplica) RecordComment(ctx context.Context, pr PR, c IssueComment) error {
	if pr.RepoID == 0 || c.ID == 0 {
		return nil
	}
	now := time.Now()
	created := c.CreatedAt
	if created.IsZero() {
		created = now
	}
	comment := &github.IssueComment{ID: &c.ID, Body: &c.Body, User: &github.User{Login: &c.Author},
		CreatedAt: &github.Timestamp{Time: created}, UpdatedAt: &github.Timestamp{Time: created}}
	r := store.NewReplicator(store.ViaAPI, now)
	r.IssueComment(store.IssueRef{RepositoryID: pr.RepoID, Number: pr.Number, IsPullRequest: true}, comment)
	if err := r.Commit(ctx, s.DB); err != nil {
		return fmt.Errorf("replicating the comment osprey wrote on %s/%s#%d: %w", pr.Owner, pr.Repo, pr.Number, err)
	}
	return nil
}
