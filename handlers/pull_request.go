package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// PullRequest replicates pull_request events: every action carries the pull
// request as it is now, with its labels, assignees, reviewers, milestone and
// repositories.
type PullRequest struct {
	Base
}

// Handles names the event.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle replicates the pull request and queues the follow-ups.
func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PullRequestEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	pr := event.GetPullRequest()
	if pr.GetID() == 0 {
		return missing(eventType, "pull_request")
	}
	fill := func(r *store.Replicator) {
		replicateContext(r, event.Sender, event.Repo, event.Organization)
		r.PullRequest(pr)
		if event.RequestedReviewer != nil {
			r.Account(event.RequestedReviewer)
		}
	}
	a := activity(eventType, event.GetAction(), event.Installation, event.Repo, pr, event.Sender)
	switch a.Action {
	case "opened", "reopened", "synchronize":
		a.FilesChanged = true
	}
	return h.replicate(ctx, fill, h.followUp(ctx, a)...)
}

var _ githubapp.EventHandler = &PullRequest{}
