package backfill

import (
	"context"
	"math"
	"time"

	"github.com/osprey-bot/osprey/store"
)

// Progress is a scan as GET /api/scans/{id} and `osprey backfill --json`
// show it. A repository scan's figures add up its own and its scans'.
type Progress struct {
	ID          int64      `json:"id"`
	Repository  string     `json:"repository"`
	Kind        string     `json:"kind"`
	Number      int        `json:"number,omitempty"`
	Kinds       []string   `json:"kinds,omitempty"`
	State       string     `json:"state"`
	RequestedBy string     `json:"requested_by"`
	Since       *time.Time `json:"since"`
	Complete    bool       `json:"complete"`
	PagesDone   int        `json:"pages_done"`
	// PagesTotal is null until every scan has learnt its size.
	PagesTotal  *int       `json:"pages_total"`
	Items       int64      `json:"items"`
	APICalls    int64      `json:"api_calls"`
	NotModified int64      `json:"not_modified"`
	Errors      int        `json:"errors"`
	Swept       int        `json:"swept"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	// ElapsedSeconds runs from the start to the end (or now).
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// ETASeconds is the time left at the pace so far; null while unknown.
	ETASeconds *float64   `json:"eta_seconds"`
	Scans      []Progress `json:"scans,omitempty"`
}

// Over says whether the scan has ended, done or failed.
func (p Progress) Over() bool { return p.State == store.ScanDone || p.State == store.ScanFailed }

// Report is the progress of scan s, whose spawned scans are children, at
// time now.
func Report(s store.Scan, children []store.Scan, now time.Time) Progress {
	p := progressOf(s, now)
	if s.Kind != KindRepository {
		return p
	}
	// Once the repository scan has spawned (its own page counted), its
	// children are all there: the kinds left to scans already running
	// are not among them.
	known := p.PagesTotal != nil
	total := 0
	if p.PagesTotal != nil {
		total = *p.PagesTotal
	}
	for _, c := range children {
		cp := progressOf(c, now)
		p.Scans = append(p.Scans, cp)
		p.PagesDone += cp.PagesDone
		p.Items += cp.Items
		p.APICalls += cp.APICalls
		p.NotModified += cp.NotModified
		p.Errors += cp.Errors
		p.Swept += cp.Swept
		if cp.PagesTotal == nil {
			known = false
		} else {
			total += *cp.PagesTotal
		}
	}
	p.PagesTotal = nil
	if known || p.State == store.ScanDone {
		if !known {
			total = p.PagesDone
		}
		p.PagesTotal = &total
	}
	p.ETASeconds = eta(p)
	return p
}

func progressOf(s store.Scan, now time.Time) Progress {
	p := Progress{
		ID: s.ID, Repository: s.Owner + "/" + s.Repo, Kind: s.Kind, Number: s.Number, Kinds: s.Kinds,
		State: s.State, RequestedBy: s.RequestedBy, Since: s.Since, Complete: s.Complete,
		PagesDone: s.PagesDone, PagesTotal: s.PagesTotal, Items: s.Items, APICalls: s.APICalls,
		NotModified: s.NotModified, Errors: s.Errors, Swept: s.Swept, LastError: s.LastError,
		CreatedAt: s.CreatedAt, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
	}
	if s.StartedAt != nil {
		end := now
		if s.FinishedAt != nil {
			end = *s.FinishedAt
		}
		p.ElapsedSeconds = round(end.Sub(*s.StartedAt).Seconds())
	}
	p.ETASeconds = eta(p)
	return p
}

// eta is the time left at the pace so far: elapsed × pages left ÷ pages
// done; zero once over, null while the size or the pace is unknown.
func eta(p Progress) *float64 {
	switch {
	case p.Over():
		zero := 0.0
		return &zero
	case p.PagesTotal == nil || p.PagesDone == 0 || p.StartedAt == nil:
		return nil
	}
	left := round(p.ElapsedSeconds * float64(*p.PagesTotal-p.PagesDone) / float64(p.PagesDone))
	left = math.Max(left, 0)
	return &left
}

func round(x float64) float64 { return math.Round(x*10) / 10 }

// LoadProgress reads the progress of scan id; false when there is none.
func LoadProgress(ctx context.Context, q store.Querier, id int64, now time.Time) (Progress, bool, error) {
	s, found, err := store.GetScan(ctx, q, id)
	if err != nil || !found {
		return Progress{}, found, err
	}
	var children []store.Scan
	if s.Kind == KindRepository {
		if children, err = store.ChildScans(ctx, q, s.ID); err != nil {
			return Progress{}, false, err
		}
	}
	return Report(s, children, now), true, nil
}
