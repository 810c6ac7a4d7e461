package handlers

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/store"
)

// Installation records the app's installations: created (with the
// repositories they cover, which the follow-ups hear of), deleted,
// suspended, unsuspended, and new permissions accepted.
type Installation struct {
	Base
}

// Handles names the event.
func (h *Installation) Handles() []string { return []string{"installation"} }

// Handle replicates the installation in the payload.
func (h *Installation) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.InstallationEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	inst := event.GetInstallation()
	if inst.GetID() == 0 {
		return inbox.Permanent(fmt.Errorf("installation event has no installation id"))
	}
	logger := zerolog.Ctx(ctx).With().Str("account", inst.GetAccount().GetLogin()).Logger()
	now := h.Now()

	err := h.inTx(ctx, func(tx pgx.Tx) error {
		if err := store.UpsertInstallation(ctx, tx, inst, store.ViaWebhook, now); err != nil {
			return err
		}
		accounts := store.NewReplicator(store.ViaWebhook, now)
		accounts.Account(inst.Account)
		accounts.Account(event.Sender)
		if err := accounts.Send(ctx, tx); err != nil {
			return err
		}
		switch event.GetAction() {
		case "created":
			if err := store.AddInstallationRepositories(ctx, tx, inst.GetID(), event.Repositories, now); err != nil {
				return err
			}
			return h.repositoriesInstalled(ctx, tx, inst, event.Repositories)
		case "deleted":
			return store.DeleteInstallation(ctx, tx, inst.GetID(), now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	logger.Info().Int("repositories", len(event.Repositories)).Msgf("Installation %s", event.GetAction())
	return nil
}

var _ githubapp.EventHandler = &Installation{}
