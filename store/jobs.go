package store

import (
	"context"
	"fmt"
	"time"
)

// LastCompleted says when the newest completed River job of kind was
// queued (its created_at), and false when River holds none. A job that
// recorded the output {"skipped": true} (river.RecordOutput) did not do its
// work and does not count.
//
// It is the time the job was queued rather than the time it finished, so
// that a periodic job can compare it with its own: one queued an interval
// after the last is due however long the last one ran or retried.
//
// River deletes completed jobs after its retention period (24 hours by
// default): an older job is not found.
func LastCompleted(ctx context.Context, q Querier, kind string) (queuedAt time.Time, ok bool, err error) {
	var at *time.Time
	err = q.QueryRow(ctx, `
		SELECT max(created_at) FROM river_job
		WHERE kind = $1 AND state = 'completed'
		AND NOT metadata @> '{"output": {"skipped": true}}'`, kind).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the last completed %s job: %w", kind, err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return *at, true, nil
}
