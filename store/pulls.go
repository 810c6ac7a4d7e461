package store

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

var pullRequestsTable = newTable("pull_requests", []string{"id"}, true,
	col("repository_id", keep), col("number", keep), col("title", keep), col("state", keep),
	col("draft", keep), col("locked", keep), col("merged", keep), col("merged_at", replace),
	col("merged_by_id", keep), col("merged_by_login", keep), col("merge_commit_sha", keep),
	col("user_id", keep), col("user_login", keep), col("author_association", keep),
	col("head_ref", keep), col("head_sha", keep), col("head_repository_id", keep),
	col("base_ref", keep), col("base_sha", keep), col("milestone_id", replace),
	col("assignee_logins", replace), col("requested_reviewer_logins", replace),
	col("comments", keep), col("review_comments", keep), col("commits", keep),
	col("additions", keep), col("deletions", keep), col("changed_files", keep),
	col("created_at", keep), col("updated_at", keep), col("closed_at", replace))

var pullRequestFilesTable = newTable("pull_request_files", []string{"pull_request_id", "filename"}, false,
	col("repository_id", keep), col("head_sha", replace), col("sha", replace), col("status", replace),
	col("additions", replace), col("deletions", replace), col("changes", replace),
	col("previous_filename", replace), col("deleted_at", replace))

// PullRequest replicates a pull request: the full shape of pull_request
// events and the API, or the simpler shape of review events and listings,
// which lacks counts and merge details that a full one keeps. Its author,
// merger, assignees, requested reviewers, base and head repositories,
// milestone and labels are replicated too; issue_labels becomes the labels
// it carries.
func (r *Replicator) PullRequest(pr *github.PullRequest) {
	if pr.GetID() == 0 {
		return
	}
	base, head := pr.GetBase(), pr.GetHead()
	repoID := base.GetRepo().GetID()
	r.accounts(pr.User, pr.MergedBy)
	r.accounts(pr.Assignees...)
	r.accounts(pr.RequestedReviewers...)
	if base.GetRepo() != nil {
		r.Repository(base.Repo)
	}
	if head.GetRepo() != nil {
		r.Repository(head.Repo)
	}
	if pr.Milestone != nil {
		r.Milestone(repoID, pr.Milestone)
	}
	if !r.firstSight(pullRequestsTable.name, pr.GetID(), pr.UpdatedAt) {
		return
	}
	var nulls nullKeys
	nulls.add("body", pr.Body == nil)
	nulls.add("closed_at", pr.ClosedAt == nil)
	nulls.add("merged_at", pr.MergedAt == nil)
	nulls.add("milestone", pr.Milestone == nil)
	nulls.add("assignee", pr.Assignee == nil)
	nulls.add("assignees", len(pr.Assignees) == 0)
	nulls.add("requested_reviewers", len(pr.RequestedReviewers) == 0)
	nulls.add("requested_teams", len(pr.RequestedTeams) == 0)
	nulls.add("labels", len(pr.Labels) == 0)
	nulls.add("auto_merge", pr.AutoMerge == nil)
	nulls.add("active_lock_reason", pr.ActiveLockReason == nil)
	r.upsert(pullRequestsTable, fmt.Sprintf("replicating pull request #%d (%d)", pr.GetNumber(), pr.GetID()), pr, nulls,
		pr.GetID(), nonZero(repoID), pr.GetNumber(), pr.Title, pr.State, pr.Draft, pr.Locked, pr.Merged,
		ts(pr.MergedAt), nonZero(pr.GetMergedBy().GetID()), nonZero(pr.GetMergedBy().GetLogin()), pr.MergeCommitSHA,
		nonZero(pr.GetUser().GetID()), nonZero(pr.GetUser().GetLogin()), pr.AuthorAssociation,
		nonZero(head.GetRef()), nonZero(head.GetSHA()), nonZero(head.GetRepo().GetID()), nonZero(base.GetRef()), nonZero(base.GetSHA()),
		nonZero(pr.GetMilestone().GetID()), logins(pr.Assignees), logins(pr.RequestedReviewers),
		pr.Comments, pr.ReviewComments, pr.Commits, pr.Additions, pr.Deletions, pr.ChangedFiles,
		ts(pr.CreatedAt), ts(pr.UpdatedAt), ts(pr.ClosedAt))
	r.issueLabels(repoID, pr.GetNumber(), pr.UpdatedAt, pr.Labels)
}

// PullRequestFiles replicates the complete list of files of the pull request
// prID (in repository repoID) as the API listed them at head commit headSHA.
// Files that were in an earlier list and are no longer there get deleted_at.
func (r *Replicator) PullRequestFiles(prID, repoID int64, headSHA string, files []*github.CommitFile) {
	names := make([]string, 0, len(files))
	for _, f := range files {
		if f.GetFilename() == "" {
			continue
		}
		names = append(names, f.GetFilename())
		r.upsert(pullRequestFilesTable, fmt.Sprintf("replicating file %s of pull request %d", f.GetFilename(), prID), f, nil,
			prID, f.GetFilename(), nonZero(repoID), nonZero(headSHA), f.SHA, f.Status,
			f.Additions, f.Deletions, f.Changes, f.PreviousFilename, nil)
	}
	r.queue(fmt.Sprintf("marking files no longer in pull request %d", prID), `
		UPDATE pull_request_files SET deleted_at = $3,
			last_replicated_via_webhook_at = CASE WHEN $4::boolean THEN $3 ELSE last_replicated_via_webhook_at END,
			last_replicated_via_api_at = CASE WHEN NOT $4::boolean THEN $3 ELSE last_replicated_via_api_at END
		WHERE pull_request_id = $1 AND filename <> ALL($2::text[]) AND deleted_at IS NULL`,
		prID, names, r.at, r.via == ViaWebhook)
}
