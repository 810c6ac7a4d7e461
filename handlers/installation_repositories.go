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

// InstallationRepositories records repositories added to or removed from an
// installation; the follow-ups hear of the added ones.
type InstallationRepositories struct {
	Base
}

// Handles names the event.
func (h *InstallationRepositories) Handles() []string { return []string{"installation_repositories"} }

// Handle replicates the installation and its change of repositories.
func (h *InstallationRepositories) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.InstallationRepositoriesEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	inst := event.GetInstallation()
	if inst.GetID() == 0 {
		return inbox.Permanent(fmt.Errorf("installation_repositories event has no installation id"))
	}
	if event.RepositorySelection != nil && inst.RepositorySelection == nil {
		inst.RepositorySelection = event.RepositorySelection
	}
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
		if err := store.AddInstallationRepositories(ctx, tx, inst.GetID(), event.RepositoriesAdded, now); err != nil {
			return err
		}
		if err := store.RemoveInstallationRepositories(ctx, tx, inst.GetID(), event.RepositoriesRemoved, now); err != nil {
			return err
		}
		return h.repositoriesInstalled(ctx, tx, inst, event.RepositoriesAdded)
	})
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().
		Int("added", len(event.RepositoriesAdded)).
		Int("removed", len(event.RepositoriesRemoved)).
		Msg("Installation repositories changed")
	return nil
}

var _ githubapp.EventHandler = &InstallationRepositories{}
