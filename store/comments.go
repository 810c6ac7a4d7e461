package store

import (
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
)

// IssueRef names the issue or pull request a conversation comment belongs
// to. IssueID is zero when the caller does not know it (an API listing gives
// only the number).
type IssueRef struct {
	RepositoryID  int64
	Number        int
	IssueID       int64
	IsPullRequest bool
}

// PullRequestRef names the pull request a review or review comment belongs
// to. ID is zero when the caller does not know it.
type PullRequestRef struct {
	RepositoryID int64
	Number       int
	ID           int64
}

var issueCommentsTable = newTable("issue_comments", []string{"id"}, true,
	col("repository_id", keep), col("issue_number", keep), col("issue_id", keep), col("is_pull_request", keep),
	col("user_id", keep), col("user_login", keep), col("author_association", keep),
	col("created_at", keep), col("updated_at", keep))

var reviewsTable = observedTable(newTable("pull_request_reviews", []string{"id"}, false,
	col("pull_request_id", keep), col("repository_id", keep), col("pull_request_number", keep),
	col("user_id", keep), col("user_login", keep), col("author_association", keep),
	col("state", stickyDismissed), col("commit_id", keep), col("submitted_at", keep),
	col("created_at", keep), col("updated_at", keep)))

var reviewCommentsTable = newTable("pull_request_review_comments", []string{"id"}, true,
	col("pull_request_id", keep), col("repository_id", keep), col("pull_request_number", keep),
	col("pull_request_review_id", keep), col("in_reply_to_id", keep), col("user_id", keep),
	col("user_login", keep), col("author_association", keep), col("path", keep),
	col("line", replace), col("original_line", keep), col("side", keep), col("commit_id", keep),
	col("original_commit_id", keep), col("created_at", keep), col("updated_at", keep))

var reviewThreadsTable = observedTable(newTable("pull_request_review_threads", []string{"node_id"}, false,
	col("pull_request_id", keep), col("repository_id", keep), col("pull_request_number", keep),
	col("resolved", replace), col("resolved_by_login", replace), col("comment_ids", keep),
	col("created_at", keep), col("updated_at", keep)))

// IssueComment replicates a conversation comment on an issue or pull request
// and its author.
func (r *Replicator) IssueComment(on IssueRef, c *github.IssueComment) {
	if c.GetID() == 0 {
		return
	}
	r.accounts(c.User)
	if !r.firstSight(issueCommentsTable.name, c.GetID(), c.UpdatedAt) {
		return
	}
	r.upsert(issueCommentsTable, fmt.Sprintf("replicating comment %d on #%d", c.GetID(), on.Number), c, nil,
		c.GetID(), nonZero(on.RepositoryID), nonZero(on.Number), nonZero(on.IssueID), on.IsPullRequest,
		nonZero(c.GetUser().GetID()), nonZero(c.GetUser().GetLogin()), c.AuthorAssociation,
		ts(c.CreatedAt), ts(c.UpdatedAt))
}

// DeleteIssueComment marks a conversation comment deleted.
func (r *Replicator) DeleteIssueComment(id int64) {
	r.markDeleted(issueCommentsTable, fmt.Sprintf("marking comment %d deleted", id), id)
}

// PullRequestReview replicates a review and its author. Reviews carry no
// updated_at; the last write wins, except that a dismissed review stays
// dismissed. The state is stored in lower case whichever way GitHub spelled
// it (webhooks say "approved", the API "APPROVED").
func (r *Replicator) PullRequestReview(on PullRequestRef, rv *github.PullRequestReview) {
	if rv.GetID() == 0 {
		return
	}
	r.accounts(rv.User)
	if !r.firstSight(reviewsTable.name, rv.GetID(), nil) {
		return
	}
	state := strings.ToLower(rv.GetState())
	r.upsert(reviewsTable, fmt.Sprintf("replicating review %d on pull request #%d", rv.GetID(), on.Number), rv, nil,
		rv.GetID(), nonZero(on.ID), nonZero(on.RepositoryID), nonZero(on.Number),
		nonZero(rv.GetUser().GetID()), nonZero(rv.GetUser().GetLogin()), rv.AuthorAssociation,
		nonZero(state), rv.CommitID, ts(rv.SubmittedAt), nil, nil)
}

// PullRequestReviewComment replicates a review comment (a comment on a line
// of the diff) and its author.
func (r *Replicator) PullRequestReviewComment(on PullRequestRef, c *github.PullRequestComment) {
	if c.GetID() == 0 {
		return
	}
	r.accounts(c.User)
	if !r.firstSight(reviewCommentsTable.name, c.GetID(), c.UpdatedAt) {
		return
	}
	var nulls nullKeys
	nulls.add("line", c.Line == nil)
	nulls.add("position", c.Position == nil)
	r.upsert(reviewCommentsTable, fmt.Sprintf("replicating review comment %d on pull request #%d", c.GetID(), on.Number), c, nulls,
		c.GetID(), nonZero(on.ID), nonZero(on.RepositoryID), nonZero(on.Number), c.PullRequestReviewID, c.InReplyTo,
		nonZero(c.GetUser().GetID()), nonZero(c.GetUser().GetLogin()), c.AuthorAssociation, c.Path,
		c.Line, c.OriginalLine, c.Side, c.CommitID, c.OriginalCommitID, ts(c.CreatedAt), ts(c.UpdatedAt))
}

// DeletePullRequestReviewComment marks a review comment deleted.
func (r *Replicator) DeletePullRequestReviewComment(id int64) {
	r.markDeleted(reviewCommentsTable, fmt.Sprintf("marking review comment %d deleted", id), id)
}

// PullRequestReviewThread replicates a review thread's comments and whether
// it is resolved (by whom, when resolvedBy is given), and links the comments
// to the thread.
func (r *Replicator) PullRequestReviewThread(on PullRequestRef, th *github.PullRequestThread, resolved bool, resolvedBy string) {
	if th.GetNodeID() == "" {
		return
	}
	ids := make([]int64, 0, len(th.Comments))
	for _, c := range th.Comments {
		r.PullRequestReviewComment(on, c)
		if c.GetID() != 0 {
			ids = append(ids, c.GetID())
		}
	}
	data := map[string]any{"node_id": th.GetNodeID(), "comment_ids": ids, "resolved": resolved}
	r.upsert(reviewThreadsTable, fmt.Sprintf("replicating review thread %s on pull request #%d", th.GetNodeID(), on.Number), data, nil,
		th.GetNodeID(), nonZero(on.ID), nonZero(on.RepositoryID), nonZero(on.Number), resolved, nonZero(resolvedBy), ids, nil, nil)
	r.queue(fmt.Sprintf("linking review comments to thread %s", th.GetNodeID()),
		`UPDATE pull_request_review_comments SET thread_node_id = $1 WHERE id = ANY($2::bigint[]) AND thread_node_id IS DISTINCT FROM $1`,
		th.GetNodeID(), ids)
}
