package server

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/store"
)

// BackfillRequest asks for scans of the repositories a target names.
type BackfillRequest struct {
	// Target is OWNER/REPO, or all:ORG for every repository the app's
	// installation on ORG sees (archived ones left out).
	Target string
	// Kind is backfill.KindRepository (the default) or one kind of the
	// load endpoints; Number goes with KindPull, KindIssue, KindPullFiles.
	Kind   string
	Number int
	// Kinds are what a repository scan reads (backfill.DefaultKinds when
	// nil).
	Kinds       []string
	Since       time.Time
	RequestedBy string
}

// QueuedScan is a scan a request queued, or the one already running that
// it found.
type QueuedScan struct {
	Scan    store.Scan
	Created bool
}

// QueueBackfill resolves req's target through the app's installation on
// its owner and queues a scan of each repository (or finds the one already
// running). A target the app is not installed on is an
// *ospr.NotInstalledError.
func (s *Server) QueueBackfill(ctx context.Context, req BackfillRequest) ([]QueuedScan, error) {
	if s.pool == nil || s.river == nil {
		return nil, fmt.Errorf("the backfill needs the database and a configured GitHub App")
	}
	owner, repo, all, err := ospr.ParseRescanTarget(req.Target)
	if err != nil {
		return nil, err
	}
	if req.Kind == "" {
		req.Kind = backfill.KindRepository
	}
	installation, err := ospr.InstallationOn(ctx, s.clients, owner)
	if err != nil {
		return nil, err
	}
	repos := []string{repo}
	if all {
		client, err := s.clients.NewInstallationClient(installation)
		if err != nil {
			return nil, fmt.Errorf("creating the client of installation %d: %w", installation, err)
		}
		found, err := ospr.OwnerRepositories(ctx, client, owner)
		if err != nil {
			return nil, err
		}
		repos = repos[:0]
		for _, r := range found {
			repos = append(repos, r.Name)
		}
	}
	reqs := make([]backfill.Request, 0, len(repos))
	for _, name := range repos {
		reqs = append(reqs, backfill.Request{Owner: owner, Repo: name, Kind: req.Kind, Number: req.Number,
			Kinds: req.Kinds, Since: req.Since, RequestedBy: req.RequestedBy})
	}
	return s.queueScans(ctx, installation, reqs)
}

// queueScans queues the scans reqs ask for through installation, all or
// none: one transaction.
func (s *Server) queueScans(ctx context.Context, installation int64, reqs []backfill.Request) ([]QueuedScan, error) {
	var out []QueuedScan
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = out[:0]
		for _, req := range reqs {
			req.InstallationID = installation
			scan, created, err := backfill.QueueScan(ctx, tx, s.river, req, s.cfg.Backfill.StaleAfter)
			if err != nil {
				return err
			}
			out = append(out, QueuedScan{Scan: scan, Created: created})
		}
		return nil
	})
	if err != nil {
		return nil, &queueError{err}
	}
	return out, nil
}

// queueError is a scan that could not be recorded or queued: the
// database's trouble, not GitHub's.
type queueError struct{ err error }

func (e *queueError) Error() string { return "recording the scan: " + e.err.Error() }
func (e *queueError) Unwrap() error { return e.err }

// ScanProgress is the progress of scan id; false when there is none.
func (s *Server) ScanProgress(ctx context.Context, id int64) (backfill.Progress, bool, error) {
	return backfill.LoadProgress(ctx, s.pool, id, time.Now())
}
