package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func TestFailOrphanedDeliveries(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	// job inserts a River row for guid the way River leaves it.
	job := func(guid, state string, finalizedAgo time.Duration) {
		t.Helper()
		finalized := any(nil)
		if state == "discarded" || state == "cancelled" || state == "completed" {
			finalized = time.Now().Add(-finalizedAgo)
		}
		if _, err := db.Exec(ctx, `INSERT INTO river_job (kind, args, max_attempts, queue, state, finalized_at)
			VALUES ('process_delivery', jsonb_build_object('guid', $1::text), 3, 'webhooks', $2, $3)`, guid, state, finalized); err != nil {
			t.Fatal(err)
		}
	}
	delivery := func(guid, status string) {
		t.Helper()
		record(t, ctx, db, store.Delivery{GUID: guid, Event: "ping", Payload: []byte(`{}`)})
		if status != store.StatusQueued {
			if err := store.FinishDelivery(ctx, db, guid, status, "earlier error", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}

	delivery("lost-on-last-attempt", store.StatusQueued)
	job("lost-on-last-attempt", "discarded", time.Minute)
	delivery("outcome-not-written", store.StatusRetrying)
	job("outcome-not-written", "cancelled", time.Minute)
	delivery("requeued-since", store.StatusQueued) // failed before, redelivered: a new job is waiting
	job("requeued-since", "discarded", time.Hour)
	job("requeued-since", "available", 0)
	delivery("finished", store.StatusProcessed)
	job("finished", "discarded", time.Minute)
	delivery("long-ago", store.StatusQueued)
	job("long-ago", "discarded", 48*time.Hour)
	delivery("running", store.StatusQueued)
	job("running", "running", 0)

	got, err := store.FailOrphanedDeliveries(ctx, db, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"lost-on-last-attempt", "outcome-not-written"}; !slices.Equal(got, want) {
		t.Errorf("failed %v, want %v", got, want)
	}
	d, err := store.GetDelivery(ctx, db, "outcome-not-written")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != store.StatusFailed || d.LastError != "earlier error; its job was cancelled before an outcome was recorded (worker lost on the last attempt, or the outcome could not be written)" {
		t.Errorf("status %q, last_error %q", d.Status, d.LastError)
	}
	again, err := store.FailOrphanedDeliveries(ctx, db, 24*time.Hour)
	if err != nil || len(again) != 0 {
		t.Errorf("second run failed %v (err %v), want nothing", again, err)
	}
}

func TestPruneDeliveries(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	old := time.Now().Add(-40 * 24 * time.Hour)
	for _, d := range []struct {
		guid, status string
		age          time.Time
	}{
		{"old-processed-1", store.StatusProcessed, old},
		{"old-processed-2", store.StatusProcessed, old},
		{"old-processed-3", store.StatusProcessed, old},
		{"old-ignored", store.StatusIgnored, old},
		{"old-failed", store.StatusFailed, old},
		{"old-queued", store.StatusQueued, old},
		{"recent-processed", store.StatusProcessed, time.Now()},
	} {
		record(t, ctx, db, store.Delivery{GUID: d.guid, Event: "ping", Payload: []byte(`{}`)})
		if _, err := db.Exec(ctx, `UPDATE deliveries SET status = $2, received_at = $3 WHERE guid = $1`, d.guid, d.status, d.age); err != nil {
			t.Fatal(err)
		}
	}
	n, err := store.PruneDeliveries(ctx, db, time.Now().Add(-30*24*time.Hour), 2) // several rounds of 2
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("pruned %d, want 4", n)
	}
	counts, err := store.CountDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatusFailed] != 1 || counts[store.StatusQueued] != 1 || counts[store.StatusProcessed] != 1 || counts[store.StatusIgnored] != 0 {
		t.Errorf("left %v: want the failed, the queued and the recent one", counts)
	}
}
