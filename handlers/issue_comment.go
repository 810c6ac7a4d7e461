package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// IssueComment replicates issue_comment events (created, edited, deleted):
// conversation comments on issues and pull requests, and the issue (or the
// issue side of the pull request) they are on.
type IssueComment struct {
	Base
}

// Handles names the event.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle replicates the comment and its issue; a deleted comment is kept
// with deleted_at set.
func (h *IssueComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.IssueCommentEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	comment, issue, repo := event.GetComment(), event.GetIssue(), event.GetRepo()
	if comment.GetID() == 0 {
		return missing(eventType, "comment")
	}
	on := store.IssueRef{RepositoryID: repo.GetID(), Number: issue.GetNumber(), IssueID: issue.GetID(), IsPullRequest: issue.IsPullRequest()}
	fill := func(r *store.Replicator) {
		replicateContext(r, event.Sender, repo, event.Organization)
		r.Issue(repo.GetID(), issue)
		r.IssueComment(on, comment)
		if event.GetAction() == "deleted" {
			r.DeleteIssueComment(comment.GetID())
		}
	}
	if !issue.IsPullRequest() {
		// Comments on plain issues are replicated and trigger nothing.
		return h.replicate(ctx, fill)
	}
	a := PullRequestActivity{
		Event: eventType, Action: event.GetAction(), InstallationID: event.GetInstallation().GetID(),
		PR:    store.PullRequestRef{RepositoryID: repo.GetID(), Number: issue.GetNumber()},
		Owner: repo.GetOwner().GetLogin(), Repo: repo.GetName(), Sender: event.GetSender().GetLogin(),
		CommentCreatedAt: comment.GetCreatedAt().Time, ClosedAt: issue.GetClosedAt().Time,
	}
	return h.replicate(ctx, fill, h.followUp(ctx, a)...)
}

var _ githubapp.EventHandler = &IssueComment{}
