package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// PullRequestReviewThread replicates pull_request_review_thread events
// (resolved, unresolved): the thread's comments and its resolution.
type PullRequestReviewThread struct {
	Base
}

// Handles names the event.
func (h *PullRequestReviewThread) Handles() []string {
	return []string{"pull_request_review_thread"}
}

// Handle replicates the thread, its comments and its pull request.
func (h *PullRequestReviewThread) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PullRequestReviewThreadEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	thread, pr := event.GetThread(), event.GetPullRequest()
	if thread.GetNodeID() == "" {
		return missing(eventType, "thread")
	}
	resolved := event.GetAction() == "resolved"
	resolvedBy := ""
	if resolved {
		resolvedBy = event.GetSender().GetLogin()
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, event.Repo, event.Org)
		r.PullRequest(pr)
		r.PullRequestReviewThread(pullRequestRef(pr, event.Repo), thread, resolved, resolvedBy)
	})
}

var _ githubapp.EventHandler = &PullRequestReviewThread{}
