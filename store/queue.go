package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// QueueDepth is the number of River jobs of one queue in one state.
type QueueDepth struct {
	Queue, State string
	Jobs         int
}

// QueueDepths counts River's unfinished jobs by queue and state.
func QueueDepths(ctx context.Context, q Querier) ([]QueueDepth, error) {
	rows, err := q.Query(ctx, `
		SELECT queue, state::text, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running')
		GROUP BY queue, state ORDER BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("counting queued jobs: %w", err)
	}
	depths, err := pgx.CollectRows(rows, pgx.RowToStructByPos[QueueDepth])
	if err != nil {
		return nil, fmt.Errorf("counting queued jobs: %w", err)
	}
	return depths, nil
}
