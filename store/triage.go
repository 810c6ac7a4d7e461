package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReplicatedPullRequest returns the replicated copy of pull request
// owner/repo#number (GitHub's JSON, as the newest delivery or API read left
// it), and false when there is none.
func ReplicatedPullRequest(ctx context.Context, db *pgxpool.Pool, owner, repo string, number int) ([]byte, bool, error) {
	var data []byte
	err := db.QueryRow(ctx, `
		SELECT p.data::text FROM pull_requests p JOIN repositories r ON r.id = p.repository_id
		WHERE lower(r.full_name) = lower($1) AND p.number = $2 AND p.deleted_at IS NULL
		ORDER BY p.updated_at DESC NULLS LAST LIMIT 1`, owner+"/"+repo, number).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the replicated pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	return data, true, nil
}

// HasCommentBy reports whether one of logins (case-insensitive) has a
// replicated, undeleted conversation comment on issue or pull request
// owner/repo#number.
func HasCommentBy(ctx context.Context, db *pgxpool.Pool, owner, repo string, number int, logins []string) (bool, error) {
	lower := make([]string, len(logins))
	for i, l := range logins {
		lower[i] = strings.ToLower(l)
	}
	var found bool
	err := db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM issue_comments c JOIN repositories r ON r.id = c.repository_id
			WHERE lower(r.full_name) = lower($1) AND c.issue_number = $2 AND lower(c.user_login) = ANY($3)
			AND c.deleted_at IS NULL)`, owner+"/"+repo, number, lower).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("looking for replicated comments on %s/%s#%d: %w", owner, repo, number, err)
	}
	return found, nil
}

// MarkTriageWrite records that the triage is about to write to pull request
// owner/repo#number (once; later calls change nothing).
func MarkTriageWrite(ctx context.Context, db *pgxpool.Pool, owner, repo string, number int) error {
	_, err := db.Exec(ctx, `INSERT INTO triage_writes (repository, number) VALUES (lower($1), $2) ON CONFLICT DO NOTHING`,
		owner+"/"+repo, number)
	if err != nil {
		return fmt.Errorf("recording the triage's first write to %s/%s#%d: %w", owner, repo, number, err)
	}
	return nil
}

// TriageWroteTo reports whether the triage ever began to write to pull
// request owner/repo#number.
func TriageWroteTo(ctx context.Context, db *pgxpool.Pool, owner, repo string, number int) (bool, error) {
	var found bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM triage_writes WHERE repository = lower($1) AND number = $2)`,
		owner+"/"+repo, number).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("looking up the triage's writes to %s/%s#%d: %w", owner, repo, number, err)
	}
	return found, nil
}
