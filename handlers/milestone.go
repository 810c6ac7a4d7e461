package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Milestone replicates milestone events (created, opened, closed, edited,
// deleted). A deleted milestone is kept with deleted_at set.
type Milestone struct {
	Base
}

// Handles names the event.
func (h *Milestone) Handles() []string { return []string{"milestone"} }

// Handle replicates the milestone.
func (h *Milestone) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.MilestoneEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	milestone, repo := event.GetMilestone(), event.GetRepo()
	if milestone.GetID() == 0 {
		return missing(eventType, "milestone")
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, repo, event.Org)
		r.Milestone(repo.GetID(), milestone)
		if event.GetAction() == "deleted" {
			r.DeleteMilestone(milestone.GetID())
		}
	})
}

var _ githubapp.EventHandler = &Milestone{}
