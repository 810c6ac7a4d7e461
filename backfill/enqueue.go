package backfill

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/handlers"
)

// InstallEnqueuer is the backfill's side of handlers.RepositoriesInstalled:
// every repository the app is installed on, when the installation is
// created or the repository added to it, gets a repository scan, queued in
// the delivery's transaction (backfill.on_install).
type InstallEnqueuer struct {
	// Inserter returns River's client; it is built after the handlers.
	Inserter func() Inserter
	// Since is how far back the scans read (0: everything).
	Since time.Duration
	// Kinds are what each repository scan reads (DefaultKinds when nil).
	Kinds []string
	// StaleAfter is how long a running scan may show no life before a new
	// one replaces it (DefaultStaleAfter when zero).
	StaleAfter time.Duration
	// Now is the clock Since counts back from (time.Now when nil).
	Now func() time.Time
}

// RepositoriesInstalled implements handlers.RepositoriesInstalled: one
// repository scan per repository. A repository already being scanned is
// left to that scan.
func (e *InstallEnqueuer) RepositoriesInstalled(ctx context.Context, tx pgx.Tx, installationID int64, repos []handlers.InstalledRepository) error {
	if len(repos) == 0 {
		return nil
	}
	var ins Inserter
	if e.Inserter != nil {
		ins = e.Inserter()
	}
	if ins == nil {
		return errors.New("the backfill's job queue is not running")
	}
	var since time.Time
	if e.Since > 0 {
		now := time.Now
		if e.Now != nil {
			now = e.Now
		}
		since = now().Add(-e.Since)
	}
	logger := zerolog.Ctx(ctx)
	for _, r := range repos {
		s, created, err := QueueScan(ctx, tx, ins, Request{
			InstallationID: installationID, Owner: r.Owner, Repo: r.Name, Kind: KindRepository,
			Kinds: e.Kinds, Since: since, RequestedBy: RequestedByInstall,
		}, e.StaleAfter)
		if err != nil {
			return fmt.Errorf("queueing the backfill of %s/%s, installed: %w", r.Owner, r.Name, err)
		}
		msg := "Backfill of an installed repository queued"
		if !created {
			msg = "An installed repository is already being scanned: left to that scan"
		}
		logger.Info().Str("repository", r.Owner+"/"+r.Name).Int64("scan", s.ID).Msg(msg)
	}
	return nil
}

// PullRequestActivity implements handlers.FollowUps, so that the
// enqueuer can join a handlers.FollowUpsList: pull requests are not its
// business.
func (e *InstallEnqueuer) PullRequestActivity(context.Context, pgx.Tx, handlers.PullRequestActivity) error {
	return nil
}

var (
	_ handlers.FollowUps             = &InstallEnqueuer{}
	_ handlers.RepositoriesInstalled = &InstallEnqueuer{}
)
