package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func TestLastCompleted(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	now := time.Now().Truncate(time.Microsecond)
	// job inserts a River row of kind queued ago, in state, with metadata.
	job := func(kind, state string, ago time.Duration, metadata string) {
		t.Helper()
		finalized := any(nil)
		if state == "completed" || state == "discarded" || state == "cancelled" {
			finalized = now
		}
		if _, err := db.Exec(ctx, `INSERT INTO river_job (kind, args, max_attempts, queue, state, created_at, finalized_at, metadata)
			VALUES ($1, '{}', 3, 'maintenance', $2, $3, $4, $5)`, kind, state, now.Add(-ago), finalized, metadata); err != nil {
			t.Fatal(err)
		}
	}

	if _, ok, err := store.LastCompleted(ctx, db, "nightly"); err != nil || ok {
		t.Fatalf("no jobs: ok %v, err %v", ok, err)
	}

	job("nightly", "completed", 5*time.Hour, `{}`)
	job("nightly", "completed", 3*time.Hour, `{"periodic": true}`) // the newest that did its work
	job("nightly", "completed", 2*time.Hour, `{"periodic": true, "output": {"skipped": true}}`)
	job("nightly", "completed", 90*time.Minute, `{"output": {"skipped": true, "reason": "recent"}}`)
	job("nightly", "discarded", time.Hour, `{}`)
	job("nightly", "running", time.Minute, `{}`)
	job("nightly", "available", 0, `{}`)
	job("hourly", "completed", 0, `{}`)

	at, ok, err := store.LastCompleted(ctx, db, "nightly")
	if err != nil || !ok || !at.Equal(now.Add(-3*time.Hour)) {
		t.Errorf("LastCompleted = %v, %v, %v; want %v", at, ok, err, now.Add(-3*time.Hour))
	}

	// Output that does not say skipped still counts.
	job("nightly", "completed", 150*time.Minute, `{"output": {"skipped": false, "queued": 3}}`)
	if at, ok, err := store.LastCompleted(ctx, db, "nightly"); err != nil || !ok || !at.Equal(now.Add(-150*time.Minute)) {
		t.Errorf("LastCompleted = %v, %v, %v; want %v", at, ok, err, now.Add(-150*time.Minute))
	}
}
