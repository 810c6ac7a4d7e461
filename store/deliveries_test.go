package store_test

import (
	"context"
	"testing"

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
				if err := store.FinishDelivery(ctx, db, d.GUID, tt.priorStatus, ""); err != nil {
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

	started, err := store.StartDelivery(ctx, db, "g")
	if err != nil {
		t.Fatal(err)
	}
	if started.Status != store.StatusProcessing || started.Attempts != 1 {
		t.Errorf("after start: status %q attempts %d", started.Status, started.Attempts)
	}
	if string(started.Payload) != payload {
		t.Errorf("payload changed in storage:\n got %s\nwant %s", started.Payload, payload)
	}
	if started.Action != "created" || started.InstallationID != 7 || started.Repository != "acme/widgets" || started.Sender != "alice" || started.HookID != 12 {
		t.Errorf("index columns not stored: %+v", started)
	}
	if err := store.FinishDelivery(ctx, db, "g", store.StatusRetrying, "boom"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartDelivery(ctx, db, "g"); err != nil {
		t.Fatal(err)
	}
	if err := store.FinishDelivery(ctx, db, "g", store.StatusProcessed, ""); err != nil {
		t.Fatal(err)
	}
	final, err := store.GetDelivery(ctx, db, "g")
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != store.StatusProcessed || final.Attempts != 2 || final.LastError != "" {
		t.Errorf("final: status %q attempts %d last_error %q", final.Status, final.Attempts, final.LastError)
	}

	if _, err := store.StartDelivery(ctx, db, "missing"); err != store.ErrDeliveryNotFound {
		t.Errorf("start of a missing delivery: err = %v, want ErrDeliveryNotFound", err)
	}
	counts, err := store.CountDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatusProcessed] != 1 || len(counts) != 1 {
		t.Errorf("counts = %v", counts)
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
