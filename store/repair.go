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

// PruneDeliveries deletes deliveries received before cutoff that are done
// with (processed or ignored), at most batch rows at a time, and returns how
// many it deleted. Failed deliveries are kept for an operator to look at.
// Rows are found through the received_at index.
func PruneDeliveries(ctx context.Context, q Querier, cutoff time.Time, batch int) (int64, error) {
	var total int64
	for {
		tag, err := q.Exec(ctx, `
			DELETE FROM deliveries WHERE guid IN (
				SELECT guid FROM deliveries
				WHERE received_at < $1 AND status IN ('processed', 'ignored')
				ORDER BY received_at LIMIT $2)`, cutoff, batch)
		if err != nil {
			return total, fmt.Errorf("pruning deliveries: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}
