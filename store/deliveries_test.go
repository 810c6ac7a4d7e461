package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func record(t *testing.T, ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, d store.Delivery) store.Receipt {
	t.Helper()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	receipt, err := store.RecordDelivery(ctx, tx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return receipt
}

func TestRecordDelivery(t *testing.T) {
	ctx := context.Background()
	payload := []byte(`{"action":"opened","number":1}`)

	tests := []struct {
		name         string
		priorStatus  string // "" when the GUID is new
		wantReceipt  store.Receipt
		wantStatus   string
		wantRedelivs int
	}{
		{name: "new GUID is received", wantReceipt: store.Received, wantStatus: store.StatusQueued},
		{name: "redelivery of a queued delivery is a duplicate", priorStatus: store.StatusQueued, wantReceipt: store.Duplicate, wantStatus: store.StatusQueued, wantRedelivs: 1},
		{name: "redelivery of a processed delivery is a duplicate", priorStatus: store.StatusProcessed, wantReceipt: store.Duplicate, wantStatus: store.StatusProcessed, wantRedelivs: 1},
		{name: "redelivery of an ignored delivery is a duplicate", priorStatus: store.StatusIgnored, wantReceipt: store.Duplicate, wantStatus: store.StatusIgnored, wantRedelivs: 1},
		{name: "redelivery of a retrying delivery is a duplicate", priorStatus: store.StatusRetrying, wantReceipt: store.Duplicate, wantStatus: store.StatusRetrying, wantRedelivs: 1},
		{name: "redelivery of a failed delivery is queued again", priorStatus: store.StatusFailed, wantReceipt: store.Requeued, wantStatus: store.StatusQueued, wantRedelivs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := testdb.New(t)
			d := store.Delivery{GUID: "guid-1", Event: "pull_request", Payload: payload}
			if tt.priorStatus != "" {
				record(t, ctx, db, d)
				if err := store.FinishDelivery(ctx, db, d.GUID, tt.priorStatus, "", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if got := record(t, ctx, db, d); got != tt.wantReceipt {
				t.Errorf("receipt = %v, want %v", got, tt.wantReceipt)
			}
			got, err := store.GetDelivery(ctx, db, d.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || got.Redeliveries != tt.wantRedelivs {
				t.Errorf("status %q, redeliveries %d; want %q, %d", got.Status, got.Redeliveries, tt.wantStatus, tt.wantRedelivs)
			}
		})
	}
}

func TestDeliveryLifecycle(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	// A payload with a NUL escape and non-ASCII text: stored byte for byte.
	payload := `{"action":"created","installation":{"id":7},"repository":{"full_name":"acme/widgets"},"comment":{"body":"a\u0000b — ünïcode"}}`
	record(t, ctx, db, store.Delivery{GUID: "g", Event: "issue_comment", Action: "created", InstallationID: 7,
		Repository: "acme/widgets", Sender: "alice", HookID: 12, Payload: []byte(payload)})

	stored, err := store.GetDelivery(ctx, db, "g")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != store.StatusQueued || stored.Attempts != 0 {
		t.Errorf("as received: status %q attempts %d", stored.Status, stored.Attempts)
	}
	if string(stored.Payload) != payload {
		t.Errorf("payload changed in storage:\n got %s\nwant %s", stored.Payload, payload)
	}
	if stored.Action != "created" || stored.InstallationID != 7 || stored.Repository != "acme/widgets" || stored.Sender != "alice" || stored.HookID != 12 {
		t.Errorf("index columns not stored: %+v", stored)
	}
	if err := store.FinishDelivery(ctx, db, "g", store.StatusRetrying, "boom", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := store.FinishDelivery(ctx, db, "g", store.StatusProcessed, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	final, err := store.GetDelivery(ctx, db, "g")
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != store.StatusProcessed || final.Attempts != 2 || final.LastError != "" {
		t.Errorf("final: status %q attempts %d last_error %q", final.Status, final.Attempts, final.LastError)
	}
	record(t, ctx, db, store.Delivery{GUID: "plain", Event: "ping", Payload: []byte(`{"repository":{"full_name":"acme/widgets"}}`)})
	var asJSON string
	if err := db.QueryRow(ctx, `SELECT payload::json -> 'repository' ->> 'full_name' FROM deliveries WHERE guid = 'plain'`).Scan(&asJSON); err != nil || asJSON != "acme/widgets" {
		t.Errorf("querying the payload as JSON: %q, %v", asJSON, err)
	}
	if _, err := store.GetDelivery(ctx, db, "missing"); err != store.ErrDeliveryNotFound {
		t.Errorf("a missing delivery: err = %v, want ErrDeliveryNotFound", err)
	}
	counts, err := store.CountDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatusProcessed] != 1 || counts[store.StatusQueued] != 1 || len(counts) != 2 {
		t.Errorf("counts = %v", counts)
	}
}

func TestRecordDeliveriesBatch(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	record(t, ctx, db, store.Delivery{GUID: "old-failed", Event: "ping", Payload: []byte(`{}`)})
	if err := store.FinishDelivery(ctx, db, "old-failed", store.StatusFailed, "boom", time.Now()); err != nil {
		t.Fatal(err)
	}
	record(t, ctx, db, store.Delivery{GUID: "old-done", Event: "ping", Payload: []byte(`{}`)})
	// Failed under a version that handled its event; redelivered to one that
	// does not: it must not be left queued with no job to run it.
	record(t, ctx, db, store.Delivery{GUID: "old-failed-now-ignored", Event: "ping", Payload: []byte(`{}`)})
	if err := store.FinishDelivery(ctx, db, "old-failed-now-ignored", store.StatusFailed, "boom", time.Now()); err != nil {
		t.Fatal(err)
	}

	batch := []store.Delivery{
		{GUID: "a", Event: "ping", Payload: []byte(`{"n":1}`)},
		{GUID: "old-done", Event: "ping", Payload: []byte(`{}`)},
		{GUID: "b", Event: "ping", Payload: []byte(`{"n":2}`)},
		{GUID: "a", Event: "ping", Payload: []byte(`{"n":1}`)}, // the same GUID twice in one batch
		{GUID: "old-failed", Event: "ping", Payload: []byte(`{"n":3}`)},
		{GUID: "old-failed-now-ignored", Event: "ping", Status: store.StatusIgnored, Payload: []byte(`{"n":4}`)},
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.RecordDeliveries(ctx, tx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := []store.Receipt{store.Received, store.Duplicate, store.Received, store.Duplicate, store.Requeued, store.Requeued}
	if len(got) != len(want) {
		t.Fatalf("receipts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("receipt %d (%s) = %v, want %v", i, batch[i].GUID, got[i], want[i])
		}
	}
	requeued, err := store.GetDelivery(ctx, db, "old-failed")
	if err != nil {
		t.Fatal(err)
	}
	if requeued.Status != store.StatusQueued || string(requeued.Payload) != `{"n":3}` {
		t.Errorf("requeued delivery: status %q payload %s", requeued.Status, requeued.Payload)
	}
	nowIgnored, err := store.GetDelivery(ctx, db, "old-failed-now-ignored")
	if err != nil {
		t.Fatal(err)
	}
	if nowIgnored.Status != store.StatusIgnored {
		t.Errorf("a failed delivery redelivered as ignored: status %q", nowIgnored.Status)
	}
}

func TestMigrationsAreCurrentAndIdempotent(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatalf("migrating an up-to-date database again: %v", err)
	}
	state, err := store.Migrations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Current() || state.OspreyLatest < 2 || state.RiverLatest < 1 {
		t.Errorf("state = %+v, want current", state)
	}
}
