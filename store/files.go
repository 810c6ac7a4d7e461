package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PullRequestHead is the head commit the replica holds for pull request id,
// and false when the replica has no such pull request.
func PullRequestHead(ctx context.Context, db *pgxpool.Pool, id int64) (string, bool, error) {
	var head *string
	err := db.QueryRow(ctx, `SELECT head_sha FROM pull_requests WHERE id = $1`, id).Scan(&head)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading the head of pull request %d: %w", id, err)
	}
	if head == nil {
		return "", true, nil
	}
	return *head, true, nil
}
