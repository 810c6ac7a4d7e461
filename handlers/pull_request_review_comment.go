package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// PullRequestReviewComment replicates pull_request_review_comment events
// (created, edited, deleted): comments on lines of a pull request's diff.
type PullRequestReviewComment struct {
	Base
}

// Handles names the event.
func (h *PullRequestReviewComment) Handles() []string {
	return []string{"pull_request_review_comment"}
}

// Handle replicates the comment and its pull request; a deleted comment is
// kept with deleted_at set.
func (h *PullRequestReviewComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PullRequestReviewCommentEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	comment, pr := event.GetComment(), event.GetPullRequest()
	if comment.GetID() == 0 {
		return missing(eventType, "comment")
	}
	a := activity(eventType, event.GetAction(), event.Installation, event.Repo, pr, event.Sender)
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, event.Repo, event.Org)
		r.PullRequest(pr)
		r.PullRequestReviewComment(pullRequestRef(pr, event.Repo), comment)
		if event.GetAction() == "deleted" {
			r.DeletePullRequestReviewComment(comment.GetID())
		}
	}, h.followUp(ctx, a)...)
}

var _ githubapp.EventHandler = &PullRequestReviewComment{}
