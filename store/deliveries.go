package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Delivery statuses, as stored in deliveries.status.
const (
	StatusQueued    = "queued"    // stored; waiting for a worker or being processed (River's job says which)
	StatusRetrying  = "retrying"  // the handler failed; another attempt is scheduled
	StatusProcessed = "processed" // a handler ran to completion
	StatusIgnored   = "ignored"   // no handler takes this event (yet): recorded only
	StatusFailed    = "failed"    // the last attempt failed; a redelivery or replay runs it again
)

// ErrDeliveryNotFound is returned when no delivery has the GUID asked for.
var ErrDeliveryNotFound = errors.New("delivery not found")

// IsInvalidPayload reports whether err is Postgres refusing a payload: not
// JSON, or not valid text in the database's encoding (SQLSTATE class 22,
// data exception). Such a delivery can never be stored as it is.
func IsInvalidPayload(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

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

// RecordDelivery stores d in the inbox (as queued, or with d.Status when it
// is set: StatusIgnored for an event no handler takes), or notes a
// redelivery of a GUID it already holds. A redelivery of a failed delivery
// takes the new payload and status (queued again, or ignored); any other
// redelivery is only counted.
func RecordDelivery(ctx context.Context, tx pgx.Tx, d Delivery) (Receipt, error) {
	receipts, err := RecordDeliveries(ctx, tx, []Delivery{d})
	if err != nil {
		return 0, err
	}
	return receipts[0], nil
}

// RecordDeliveries is RecordDelivery for several deliveries in one round
// trip; receipts are in the order of ds. Callers that run it concurrently
// should sort ds by GUID, so that two transactions holding the same GUIDs
// always lock them in the same order.
func RecordDeliveries(ctx context.Context, tx pgx.Tx, ds []Delivery) ([]Receipt, error) {
	n := len(ds)
	guids, events, actions, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	installations, hooks := make([]int64, n), make([]int64, n)
	repos, senders := make([]string, n), make([]string, n)
	payloads := make([]json.RawMessage, n) // sent as they are: no copy into strings
	for i, d := range ds {
		guids[i], events[i], actions[i], statuses[i] = d.GUID, d.Event, d.Action, cmp.Or(d.Status, StatusQueued)
		installations[i], hooks[i] = d.InstallationID, d.HookID
		repos[i], senders[i], payloads[i] = d.Repository, d.Sender, json.RawMessage(d.Payload)
	}
	// One statement for the whole batch; it returns the GUIDs it inserted.
	rows, err := tx.Query(ctx, `
		INSERT INTO deliveries (guid, event, action, installation_id, repository, sender, hook_id, payload,
			status, finished_at)
		SELECT guid, event, NULLIF(action, ''), NULLIF(installation_id, 0), NULLIF(repository, ''),
			NULLIF(sender, ''), NULLIF(hook_id, 0), payload,
			status, CASE WHEN status = 'ignored' THEN now() END
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::json[], $9::text[])
			AS d(guid, event, action, installation_id, repository, sender, hook_id, payload, status)
		ON CONFLICT (guid) DO NOTHING
		RETURNING guid`,
		guids, events, actions, installations, repos, senders, hooks, payloads, statuses)
	if err != nil {
		return nil, fmt.Errorf("inserting deliveries: %w", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("inserting deliveries: %w", err)
	}
	// A GUID twice in one batch is inserted once; its second copy, like any
	// GUID already stored, goes through the redelivery path below.
	fresh := make(map[string]bool, len(inserted))
	for _, g := range inserted {
		fresh[g] = true
	}
	receipts := make([]Receipt, n)
	var conflicts []int
	for i, d := range ds {
		if fresh[d.GUID] {
			receipts[i] = Received
			delete(fresh, d.GUID)
		} else {
			conflicts = append(conflicts, i)
		}
	}

	for _, i := range conflicts { // redeliveries: rare, one statement each
		var previous string
		err := tx.QueryRow(ctx, `
			UPDATE deliveries d SET
				redeliveries = d.redeliveries + 1,
				last_redelivered_at = now(),
				status = CASE WHEN old.status = 'failed' THEN $3 ELSE d.status END,
				payload = CASE WHEN old.status = 'failed' THEN $2::json ELSE d.payload END
			FROM (SELECT status FROM deliveries WHERE guid = $1 FOR UPDATE) old
			WHERE d.guid = $1
			RETURNING old.status`, ds[i].GUID, json.RawMessage(ds[i].Payload), statuses[i]).Scan(&previous)
		if err != nil {
			return nil, fmt.Errorf("recording redelivery of %s: %w", ds[i].GUID, err)
		}
		receipts[i] = Duplicate
		if previous == StatusFailed {
			receipts[i] = Requeued
		}
	}
	return receipts, nil
}

// FinishDelivery records the outcome of an attempt that started at
// startedAt: a final status, or StatusRetrying with the error that will be
// retried. It counts the attempt.
func FinishDelivery(ctx context.Context, q Querier, guid, status string, lastError string, startedAt time.Time) error {
	_, err := q.Exec(ctx, finishDeliverySQL, guid, status, lastError, startedAt)
	if err != nil {
		return fmt.Errorf("recording delivery outcome: %w", err)
	}
	return nil
}

const finishDeliverySQL = `UPDATE deliveries SET status = $2, last_error = NULLIF($3, ''), attempts = attempts + 1,
	started_at = $4, finished_at = now()
WHERE guid = $1`

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
	err := row.Scan(&d.GUID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Sender, &d.HookID,
		&d.ReceivedAt, &d.Status, &d.Attempts, &d.LastError, &d.Redeliveries, &d.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrDeliveryNotFound
	}
	if err != nil {
		return d, fmt.Errorf("reading delivery: %w", err)
	}
	return d, nil
}
