package store

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

var issuesTable = newTable("issues", []string{"id"}, true,
	col("repository_id", keep), col("number", keep), col("is_pull_request", keep), col("title", keep),
	col("state", keep), col("state_reason", replace), col("locked", keep), col("user_id", keep),
	col("user_login", keep), col("author_association", keep), col("assignee_logins", replace),
	col("milestone_id", replace), col("comments", keep),
	col("created_at", keep), col("updated_at", keep), col("closed_at", replace))

// Issue replicates an issue of the repository repoID (or the issue side of a
// pull request, as issue_comment events show it) with its author, assignees,
// milestone and labels; issue_labels becomes the labels it carries.
func (r *Replicator) Issue(repoID int64, is *github.Issue) {
	if is.GetID() == 0 {
		return
	}
	r.accounts(is.User, is.ClosedBy)
	r.accounts(is.Assignees...)
	if is.Milestone != nil {
		r.Milestone(repoID, is.Milestone)
	}
	if !r.firstSight(issuesTable.name, is.GetID(), is.UpdatedAt) {
		return
	}
	var nulls nullKeys
	nulls.add("body", is.Body == nil)
	nulls.add("closed_at", is.ClosedAt == nil)
	nulls.add("closed_by", is.ClosedBy == nil && is.GetState() == "open")
	nulls.add("state_reason", is.StateReason == nil)
	nulls.add("milestone", is.Milestone == nil)
	nulls.add("assignee", is.Assignee == nil)
	nulls.add("assignees", len(is.Assignees) == 0)
	nulls.add("labels", len(is.Labels) == 0)
	nulls.add("active_lock_reason", is.ActiveLockReason == nil)
	r.upsert(issuesTable, fmt.Sprintf("replicating issue #%d (%d)", is.GetNumber(), is.GetID()), is, nulls,
		is.GetID(), nonZero(repoID), is.GetNumber(), is.IsPullRequest(), is.Title, is.State, is.StateReason,
		is.Locked, nonZero(is.GetUser().GetID()), nonZero(is.GetUser().GetLogin()), is.AuthorAssociation,
		logins(is.Assignees), nonZero(is.GetMilestone().GetID()), is.Comments,
		ts(is.CreatedAt), ts(is.UpdatedAt), ts(is.ClosedAt))
	r.issueLabels(repoID, is.GetNumber(), is.UpdatedAt, is.Labels)
}

// DeleteIssue marks an issue deleted.
func (r *Replicator) DeleteIssue(id int64) {
	r.markDeleted(issuesTable, fmt.Sprintf("marking issue %d deleted", id), id)
}
