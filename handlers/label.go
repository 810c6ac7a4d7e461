package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Label replicates label events (created, edited, deleted). A deleted label
// is kept with deleted_at set and comes off every issue and pull request.
type Label struct {
	Base
}

// Handles names the event.
func (h *Label) Handles() []string { return []string{"label"} }

// Handle replicates the label.
func (h *Label) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.LabelEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	label, repo := event.GetLabel(), event.GetRepo()
	if label.GetID() == 0 {
		return missing(eventType, "label")
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, repo, event.Org)
		r.Label(repo.GetID(), label)
		if event.GetAction() == "deleted" {
			r.DeleteLabel(label.GetID())
		}
	})
}

var _ githubapp.EventHandler = &Label{}
