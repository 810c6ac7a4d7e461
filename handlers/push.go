package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Push records push events as the repository's pushed_at, nothing more:
// osprey does not replicate commits.
type Push struct {
	Base
}

// Handles names the event.
func (h *Push) Handles() []string { return []string{"push"} }

// Handle moves the repository's pushed_at forward.
func (h *Push) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PushEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	repo := event.GetRepo()
	if repo.GetID() == 0 {
		return missing(eventType, "repository")
	}
	return h.replicate(ctx, func(r *store.Replicator) { r.RepositoryPushed(repo) })
}

var _ githubapp.EventHandler = &Push{}
