package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Repository replicates repository events. Every action carries the
// repository as it is now, so a rename or transfer updates its name and
// owner; deleted keeps the row with deleted_at set.
type Repository struct {
	Base
}

// Handles names the event.
func (h *Repository) Handles() []string { return []string{"repository"} }

// Handle replicates the repository.
func (h *Repository) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.RepositoryEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	repo := event.GetRepo()
	if repo.GetID() == 0 {
		return missing(eventType, "repository")
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, repo, event.Org)
		if event.GetAction() == "deleted" {
			r.DeleteRepository(repo.GetID())
		}
	})
}

var _ githubapp.EventHandler = &Repository{}
