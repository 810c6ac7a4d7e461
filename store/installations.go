package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
)

// Source says where a replicated object came from, which decides the
// last_replicated_via_* column a write stamps.
type Source int

const (
	// ViaWebhook: the object came in a webhook payload.
	ViaWebhook Source = iota
	// ViaAPI: the object was read from GitHub's API.
	ViaAPI
)

// UpsertInstallation replicates an installation object. An object older than
// the stored one (GitHub's updated_at) is skipped; fields the new object lacks
// keep their stored values in data.
func UpsertInstallation(ctx context.Context, tx pgx.Tx, inst *github.Installation, via Source, at time.Time) error {
	if inst.GetID() == 0 {
		return fmt.Errorf("replicating installation: the object has no id")
	}
	data, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("encoding installation %d: %w", inst.GetID(), err)
	}
	var permissions []byte
	if inst.Permissions != nil {
		if permissions, err = json.Marshal(inst.Permissions); err != nil {
			return fmt.Errorf("encoding installation %d permissions: %w", inst.GetID(), err)
		}
	}
	account := inst.GetAccount()
	_, err = tx.Exec(ctx, `
		INSERT INTO installations AS i (id, app_id, account_id, account_login, account_type, target_type,
			repository_selection, permissions, events, created_at, updated_at, suspended_at, suspended_by, data,
			last_replicated_via_webhook_at, last_replicated_via_api_at)
		VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''),
			$8, $9, $10, $11, $12, NULLIF($13, ''), $14,
			CASE WHEN $15 THEN $16::timestamptz END, CASE WHEN NOT $15 THEN $16::timestamptz END)
		ON CONFLICT (id) DO UPDATE SET
			app_id = coalesce(EXCLUDED.app_id, i.app_id),
			account_id = coalesce(EXCLUDED.account_id, i.account_id),
			account_login = coalesce(EXCLUDED.account_login, i.account_login),
			account_type = coalesce(EXCLUDED.account_type, i.account_type),
			target_type = coalesce(EXCLUDED.target_type, i.target_type),
			repository_selection = coalesce(EXCLUDED.repository_selection, i.repository_selection),
			permissions = coalesce(EXCLUDED.permissions, i.permissions),
			events = coalesce(EXCLUDED.events, i.events),
			created_at = coalesce(EXCLUDED.created_at, i.created_at),
			updated_at = coalesce(EXCLUDED.updated_at, i.updated_at),
			suspended_at = EXCLUDED.suspended_at,
			suspended_by = EXCLUDED.suspended_by,
			data = i.data || EXCLUDED.data,
			last_replicated_via_webhook_at = coalesce(EXCLUDED.last_replicated_via_webhook_at, i.last_replicated_via_webhook_at),
			last_replicated_via_api_at = coalesce(EXCLUDED.last_replicated_via_api_at, i.last_replicated_via_api_at)
		WHERE i.updated_at IS NULL OR EXCLUDED.updated_at IS NULL OR i.updated_at <= EXCLUDED.updated_at`,
		inst.GetID(), inst.GetAppID(), account.GetID(), account.GetLogin(), account.GetType(), inst.GetTargetType(),
		inst.GetRepositorySelection(), permissions, inst.Events, ts(inst.CreatedAt),
		ts(inst.UpdatedAt), ts(inst.SuspendedAt), inst.GetSuspendedBy().GetLogin(), data,
		via == ViaWebhook, at)
	if err != nil {
		return fmt.Errorf("replicating installation %d: %w", inst.GetID(), err)
	}
	return nil
}

// DeleteInstallation marks an installation (and its repository coverage) as
// deleted at the given time, keeping the rows for history.
func DeleteInstallation(ctx context.Context, tx pgx.Tx, id int64, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE installations SET deleted_at = coalesce(deleted_at, $2) WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("marking installation %d deleted: %w", id, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE installation_repositories SET removed_at = $2
		WHERE installation_id = $1 AND removed_at IS NULL`, id, at); err != nil {
		return fmt.Errorf("marking installation %d repositories removed: %w", id, err)
	}
	return nil
}

// AddInstallationRepositories records that the installation covers repos
// from the given time on (again, for a repository that was removed before).
func AddInstallationRepositories(ctx context.Context, tx pgx.Tx, installationID int64, repos []*github.Repository, at time.Time) error {
	for _, repo := range repos {
		_, err := tx.Exec(ctx, `
			INSERT INTO installation_repositories AS r (installation_id, repository_id, full_name, private, added_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (installation_id, repository_id) DO UPDATE SET
				full_name = EXCLUDED.full_name,
				private = coalesce(EXCLUDED.private, r.private),
				added_at = CASE WHEN r.removed_at IS NULL THEN r.added_at ELSE EXCLUDED.added_at END,
				removed_at = NULL`,
			installationID, repo.GetID(), repo.GetFullName(), repo.Private, at)
		if err != nil {
			return fmt.Errorf("recording repository %s for installation %d: %w", repo.GetFullName(), installationID, err)
		}
	}
	return nil
}

// RemoveInstallationRepositories records that the installation no longer
// covers repos.
func RemoveInstallationRepositories(ctx context.Context, tx pgx.Tx, installationID int64, repos []*github.Repository, at time.Time) error {
	for _, repo := range repos {
		_, err := tx.Exec(ctx, `
			INSERT INTO installation_repositories (installation_id, repository_id, full_name, private, added_at, removed_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (installation_id, repository_id) DO UPDATE SET
				removed_at = coalesce(installation_repositories.removed_at, EXCLUDED.removed_at)`,
			installationID, repo.GetID(), repo.GetFullName(), repo.Private, at)
		if err != nil {
			return fmt.Errorf("removing repository %s from installation %d: %w", repo.GetFullName(), installationID, err)
		}
	}
	return nil
}

// Installation is the stored state of one installation, as the handlers and
// tests read it back.
type Installation struct {
	ID                  int64
	AccountLogin        string
	AccountType         string
	RepositorySelection string
	SuspendedAt         *time.Time
	DeletedAt           *time.Time
	Repositories        []string // full names of the repositories covered now, sorted
}

// GetInstallation reads an installation and the repositories it covers now.
func GetInstallation(ctx context.Context, q Querier, id int64) (Installation, error) {
	var inst Installation
	err := q.QueryRow(ctx, `
		SELECT id, coalesce(account_login, ''), coalesce(account_type, ''), coalesce(repository_selection, ''),
			suspended_at, deleted_at,
			coalesce(array(SELECT full_name FROM installation_repositories r
				WHERE r.installation_id = i.id AND r.removed_at IS NULL ORDER BY full_name), '{}')
		FROM installations i WHERE id = $1`, id).
		Scan(&inst.ID, &inst.AccountLogin, &inst.AccountType, &inst.RepositorySelection, &inst.SuspendedAt,
			&inst.DeletedAt, &inst.Repositories)
	if err != nil {
		return inst, fmt.Errorf("reading installation %d: %w", id, err)
	}
	return inst, nil
}
