package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// PullRequestReview replicates pull_request_review events (submitted,
// edited, dismissed): the review and the pull request it is on.
type PullRequestReview struct {
	Base
}

// Handles names the event.
func (h *PullRequestReview) Handles() []string { return []string{"pull_request_review"} }

// Handle replicates the review and its pull request.
func (h *PullRequestReview) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PullRequestReviewEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	review, pr := event.GetReview(), event.GetPullRequest()
	if review.GetID() == 0 {
		return missing(eventType, "review")
	}
	a := activity(eventType, event.GetAction(), event.Installation, event.Repo, pr, event.Sender)
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, event.Repo, event.Organization)
		r.PullRequest(pr)
		r.PullRequestReview(pullRequestRef(pr, event.Repo), review)
	}, h.followUp(ctx, a)...)
}

// pullRequestRef names the pull request pr, in repo when pr does not say.
func pullRequestRef(pr *github.PullRequest, repo *github.Repository) store.PullRequestRef {
	ref := store.PullRequestRef{RepositoryID: pr.GetBase().GetRepo().GetID(), Number: pr.GetNumber(), ID: pr.GetID()}
	if ref.RepositoryID == 0 {
		ref.RepositoryID = repo.GetID()
	}
	return ref
}

var _ githubapp.EventHandler = &PullRequestReview{}
