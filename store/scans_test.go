package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

// A page counts once however often it is recorded, its requests every
// time; the scan can be claimed for finishing only once every page is
// done, and only once.
func TestScanPagesCountOnceAndFinishOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	s := createScan(t, db, store.NewScan{InstallationID: 1, Owner: "acme", Repo: "widgets", Kind: "labels", Complete: true, RequestedBy: "cli"})
	if _, err := store.StartScan(ctx, db, s.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx pgx.Tx) error { return store.SetScanPages(ctx, tx, s.ID, 2, 0) })
	page := func(n int, ids ...int64) {
		inTx(t, db, func(tx pgx.Tx) error {
			return store.CompletePage(ctx, tx, s.ID, store.PageResult{Page: n, IDs: ids, Calls: 1, NotModified: 1})
		})
	}
	claim := func() bool {
		var claimed bool
		inTx(t, db, func(tx pgx.Tx) error {
			got, ok, err := store.ClaimFinish(ctx, tx, s.ID)
			if err == nil && ok {
				claimed = true
				_, err = store.FinishScan(ctx, tx, got, time.Now())
			}
			return err
		})
		return claimed
	}
	page(1, 10, 11)
	if claim() {
		t.Error("claimed with a page left")
	}
	page(1, 10, 11) // its job ran again
	page(2, 12)
	got, _, err := store.GetScan(ctx, db, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PagesDone != 2 || got.Items != 3 || got.APICalls != 3 || got.NotModified != 3 {
		t.Errorf("pages %d, items %d, calls %d, 304s %d; want 2, 3, 3, 3", got.PagesDone, got.Items, got.APICalls, got.NotModified)
	}
	if left, err := store.PagesLeft(ctx, db, s.ID); err != nil || left != 0 {
		t.Errorf("pages left %d, %v", left, err)
	}
	if !claim() {
		t.Fatal("not claimed with every page done")
	}
	if claim() {
		t.Error("claimed twice")
	}
	got, _, _ = store.GetScan(ctx, db, s.ID)
	if got.State != store.ScanDone || got.FinishedAt == nil {
		t.Errorf("state %s, finished %v", got.State, got.FinishedAt)
	}
}

// A repository scan ends when its last child does: failed if one failed.
// A child taken as abandoned ends its parent too.
func TestRepositoryScanSettles(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	parent := createScan(t, db, store.NewScan{InstallationID: 1, Owner: "acme", Repo: "widgets", Kind: "repository", RequestedBy: "api"})
	if _, err := store.StartScan(ctx, db, parent.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	child := func(kind string) store.Scan {
		c := createScan(t, db, store.NewScan{ParentID: parent.ID, InstallationID: 1, Owner: "acme", Repo: "widgets", Kind: kind, RequestedBy: "api"})
		if _, err := store.StartScan(ctx, db, c.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	labels, pulls := child("labels"), child("pulls")
	inTx(t, db, func(tx pgx.Tx) error { _, err := store.FinishScan(ctx, tx, labels, time.Now()); return err })
	if p, _, _ := store.GetScan(ctx, db, parent.ID); p.State != store.ScanRunning {
		t.Fatalf("parent %s with a child still running", p.State)
	}
	// The pulls scan shows no life for three hours: a new request for it
	// abandons it, and the repository scan ends, failed.
	if _, err := db.Exec(ctx, `UPDATE scans SET heartbeat_at = now() - interval '3 hours' WHERE id = $1`, pulls.ID); err != nil {
		t.Fatal(err)
	}
	again := createScan(t, db, store.NewScan{InstallationID: 1, Owner: "acme", Repo: "widgets", Kind: "pulls", RequestedBy: "cli"})
	if again.ID == pulls.ID {
		t.Fatal("the stalled scan was returned")
	}
	p, _, _ := store.GetScan(ctx, db, parent.ID)
	if p.State != store.ScanFailed || p.LastError == "" || p.FinishedAt == nil {
		t.Errorf("parent %s (%q), want failed with its child's reason", p.State, p.LastError)
	}
}

func createScan(t *testing.T, db *pgxpool.Pool, n store.NewScan) store.Scan {
	t.Helper()
	var s store.Scan
	inTx(t, db, func(tx pgx.Tx) (err error) {
		s, _, err = store.CreateScan(context.Background(), tx, n, time.Now().Add(-2*time.Hour))
		return err
	})
	return s
}

func inTx(t *testing.T, db *pgxpool.Pool, f func(pgx.Tx) error) {
	t.Helper()
	if err := pgx.BeginFunc(context.Background(), db, f); err != nil {
		t.Fatal(err)
	}
}

// The janitor fails a scan River has no job left for once it has been
// quiet, and not one whose job is still waiting, nor one still alive.
func TestFailDeadScans(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	parent := createScan(t, db, store.NewScan{InstallationID: 1, Owner: "acme", Repo: "widgets", Kind: "repository", RequestedBy: "api"})
	lost := createScan(t, db, store.NewScan{ParentID: parent.ID, InstallationID: 1, Owner: "acme", Repo: "widgets", Kind: "issues", RequestedBy: "api"})
	waiting := createScan(t, db, store.NewScan{InstallationID: 1, Owner: "acme", Repo: "gadgets", Kind: "labels", RequestedBy: "api"})
	fresh := createScan(t, db, store.NewScan{InstallationID: 1, Owner: "acme", Repo: "doodads", Kind: "labels", RequestedBy: "api"})
	for _, s := range []store.Scan{parent, lost, waiting, fresh} {
		if _, err := store.StartScan(ctx, db, s.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `UPDATE scans SET heartbeat_at = now() - interval '10 minutes' WHERE id <> $1`, fresh.ID); err != nil {
		t.Fatal(err)
	}
	job := func(scan int64, state string) {
		if _, err := db.Exec(ctx, `INSERT INTO river_job (kind, args, max_attempts, queue, state, finalized_at)
			VALUES ('backfill_scan_page', jsonb_build_object('scan_id', $1::bigint, 'page', 2), 8, 'backfill', $2::river_job_state,
				CASE WHEN $2::text IN ('discarded', 'completed', 'cancelled') THEN now() END)`, scan, state); err != nil {
			t.Fatal(err)
		}
	}
	job(lost.ID, "discarded")
	job(waiting.ID, "scheduled")

	n, err := store.FailDeadScans(ctx, db, time.Now().Add(-2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("failed %d scans, %v; want 1", n, err)
	}
	state := func(id int64) string {
		s, _, _ := store.GetScan(ctx, db, id)
		return s.State
	}
	if state(lost.ID) != store.ScanFailed || state(parent.ID) != store.ScanFailed {
		t.Errorf("lost scan %s, its repository scan %s; want both failed", state(lost.ID), state(parent.ID))
	}
	if state(waiting.ID) != store.ScanRunning || state(fresh.ID) != store.ScanRunning {
		t.Errorf("waiting %s, fresh %s; want both running", state(waiting.ID), state(fresh.ID))
	}
}
