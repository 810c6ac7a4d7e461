package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery statuses, as stored in deliveries.status.
const (
	StatusQueued     = "queued"     // stored, waiting for a worker
	StatusProcessing = "processing" // a worker is running its handler
	StatusRetrying   = "retrying"   // the handler failed; another attempt is scheduled
	StatusProcessed  = "processed"  // a handler ran to completion
	StatusIgnored    = "ignored"    // no handler takes this event (yet): recorded only
	StatusFailed     = "failed"     // the last attempt failed; a redelivery or replay runs it again
)

// ErrDeliveryNotFound is returned when no delivery has the GUID asked for.
var ErrDeliveryNotFound = errors.New("delivery not found")

// Delivery is one row of the inbox.
type Delivery struct {
	GUID           string
	Event          string
	Action         string
	InstallationID int64
	Repository     string
	Sender         string
	HookID         int64
	ReceivedAt     time.Time
	Status         string
	Attempts       int
	LastError      string
	Redeliveries   int
	Payload        []byte
}

// Receipt says what recording a delivery did, so the caller knows whether to
// queue it for processing.
type Receipt int

const (
	// Received: the GUID was new and the delivery is stored as queued.
	Received Receipt = iota
	// Requeued: the GUID had failed before and is queued again.
	Requeued
	// Duplicate: the GUID is already stored and not failed: nothing to do.
	Duplicate
)

// RecordDelivery stores d in the inbox, or notes a redelivery of a GUID it
// already holds. A redelivery of a failed delivery puts it back in the queue
// with the new payload; any other redelivery is only counted.
func RecordDelivery(ctx context.Context, tx pgx.Tx, d Delivery) (Receipt, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO deliveries (guid, event, action, installation_id, repository, sender, hook_id, payload)
		VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, 0), NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, 0), $8)
		ON CONFLICT (guid) DO NOTHING`,
		d.GUID, d.Event, d.Action, d.InstallationID, d.Repository, d.Sender, d.HookID, string(d.Payload))
	if err != nil {
		return 0, fmt.Errorf("inserting delivery: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return Received, nil
	}

	var previous string
	err = tx.QueryRow(ctx, `
		UPDATE deliveries d SET
			redeliveries = d.redeliveries + 1,
			last_redelivered_at = now(),
			status = CASE WHEN old.status = 'failed' THEN 'queued' ELSE d.status END,
			payload = CASE WHEN old.status = 'failed' THEN $2::json ELSE d.payload END
		FROM (SELECT status FROM deliveries WHERE guid = $1 FOR UPDATE) old
		WHERE d.guid = $1
		RETURNING old.status`, d.GUID, string(d.Payload)).Scan(&previous)
	if err != nil {
		return 0, fmt.Errorf("recording redelivery: %w", err)
	}
	if previous == StatusFailed {
		return Requeued, nil
	}
	return Duplicate, nil
}

// StartDelivery marks the delivery as being processed, counts the attempt,
// and returns the stored row.
func StartDelivery(ctx context.Context, q Querier, guid string) (Delivery, error) {
	row := q.QueryRow(ctx, `
		UPDATE deliveries SET status = 'processing', attempts = attempts + 1, started_at = now()
		WHERE guid = $1
		RETURNING `+deliveryColumns, guid)
	return scanDelivery(row)
}

// FinishDelivery records the outcome of an attempt: a final status, or
// StatusRetrying with the error that will be retried.
func FinishDelivery(ctx context.Context, q Querier, guid, status string, lastError string) error {
	_, err := q.Exec(ctx, `
		UPDATE deliveries SET status = $2, last_error = NULLIF($3, ''), finished_at = now()
		WHERE guid = $1`, guid, status, lastError)
	if err != nil {
		return fmt.Errorf("recording delivery outcome: %w", err)
	}
	return nil
}

// GetDelivery reads one delivery by GUID.
func GetDelivery(ctx context.Context, q Querier, guid string) (Delivery, error) {
	return scanDelivery(q.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE guid = $1`, guid))
}

// CountDeliveries counts deliveries by status, for tests, benchmarks and
// the operations docs' queries.
func CountDeliveries(ctx context.Context, q Querier) (map[string]int, error) {
	rows, err := q.Query(ctx, `SELECT status, count(*) FROM deliveries GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("counting deliveries: %w", err)
	}
	counts := map[string]int{}
	var status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		counts[status] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting deliveries: %w", err)
	}
	return counts, nil
}

const deliveryColumns = `guid, event, coalesce(action, ''), coalesce(installation_id, 0), coalesce(repository, ''),
	coalesce(sender, ''), coalesce(hook_id, 0), received_at, status, attempts, coalesce(last_error, ''),
	redeliveries, payload::text`

func scanDelivery(row pgx.Row) (Delivery, error) {
	var d Delivery
	var payload string
	err := row.Scan(&d.GUID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Sender, &d.HookID,
		&d.ReceivedAt, &d.Status, &d.Attempts, &d.LastError, &d.Redeliveries, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrDeliveryNotFound
	}
	if err != nil {
		return d, fmt.Errorf("reading delivery: %w", err)
	}
	d.Payload = []byte(payload)
	return d, nil
}
