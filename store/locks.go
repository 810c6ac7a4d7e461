package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// WithPullRequestLock runs fn while holding the advisory lock of one pull
// request (named by its owner, repository and number, case-insensitively),
// so that two reconciles of it never run at once, in this process or any
// other replica. When another session holds the lock it returns false at
// once without running fn. The lock is a session lock on a connection kept
// for the duration of fn; if the connection dies, Postgres releases it.
func WithPullRequestLock(ctx context.Context, pool *pgxpool.Pool, owner, repo string, number int, fn func() error) (bool, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquiring a connection for the pull request lock: %w", err)
	}
	defer conn.Release()
	key := fmt.Sprintf("osprey.reconcile/%s/%s#%d", owner, repo, number)
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended(lower($1), 0))`, key).Scan(&locked); err != nil {
		return false, fmt.Errorf("taking the pull request lock: %w", err)
	}
	if !locked {
		return false, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended(lower($1), 0))`, key); err != nil {
			// The lock must not outlive fn: drop the session, which
			// releases it.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return true, fn()
}
