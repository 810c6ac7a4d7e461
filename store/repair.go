package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailOrphanedDeliveries marks as failed the deliveries still queued or
// retrying whose processing job River finalized (discarded or cancelled)
// within the last window without a live job left for them. That happens when
// a worker dies on the last attempt (River's rescuer discards the job) or when
// recording an outcome failed: without this, such a delivery would wait
// forever, and a redelivery would be taken for a duplicate. Failed, it is
// visible and a redelivery or `osprey replay` runs it again. It returns the
// GUIDs it marked.
//
// It reads River's table through River's own indexes (state and finalized_at;
// the GIN index on args), so it never scans deliveries.
func FailOrphanedDeliveries(ctx context.Context, q Querier, window time.Duration) ([]string, error) {
	rows, err := q.Query(ctx, `
		UPDATE deliveries d SET
			status = 'failed',
			finished_at = now(),
			last_error = concat_ws('; ', d.last_error,
				'its job was ' || j.state || ' before an outcome was recorded (worker lost on the last attempt, or the outcome could not be written)')
		FROM river_job j
		WHERE j.kind = 'process_delivery'
			AND j.state IN ('discarded', 'cancelled')
			AND j.finalized_at > now() - make_interval(secs => $1)
			AND d.guid = j.args->>'guid'
			AND d.status IN ('queued', 'retrying')
			AND NOT EXISTS (
				SELECT 1 FROM river_job live
				WHERE live.args @> jsonb_build_object('guid', d.guid)
					AND live.kind = 'process_delivery'
					AND live.state NOT IN ('completed', 'discarded', 'cancelled'))
		RETURNING d.guid`, window.Seconds())
	if err != nil {
		return nil, fmt.Errorf("failing orphaned deliveries: %w", err)
	}
	guids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("failing orphaned deliveries: %w", err)
	}
	return guids, nil
}
