package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scan states.
const (
	ScanQueued  = "queued"
	ScanRunning = "running"
	ScanDone    = "done"
	ScanFailed  = "failed"
)

// Scan is one backfill of one kind of object of one repository, as the
// scans table keeps it (docs/backfill.md).
type Scan struct {
	ID             int64
	ParentID       int64 // 0 for a scan nobody spawned
	InstallationID int64
	Owner, Repo    string
	RepositoryID   int64 // 0 until the scan has read the repository
	Kind           string
	Number         int        // the pull request or issue of a one-object scan
	Kinds          []string   // what a repository scan spawns
	Since          *time.Time // only objects updated since
	Complete       bool       // the whole list: its end may sweep
	RequestedBy    string
	State          string
	PagesTotal     *int // nil until the spawn job knows
	PagesDone      int
	Items          int64
	APICalls       int64
	NotModified    int64
	Errors         int
	Swept          int
	LastError      string
	CreatedAt      time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
}

// Active says whether the scan is queued or running.
func (s Scan) Active() bool { return s.State == ScanQueued || s.State == ScanRunning }

// scanColumns reads a scan with its pages' figures added up (scanFrom).
const scanColumns = `s.id, coalesce(s.parent_id, 0), s.installation_id, s.owner, s.repo, coalesce(s.repository_id, 0), s.kind,
	coalesce(s.number, 0), coalesce(s.kinds, '{}'), s.since, s.complete, s.requested_by, s.state, s.pages_total,
	coalesce(p.pages, 0), coalesce(p.items, 0), s.api_calls + coalesce(p.api_calls, 0),
	s.not_modified + coalesce(p.not_modified, 0), s.errors, s.swept, coalesce(s.last_error, ''), s.created_at,
	s.started_at, s.finished_at`

// scanFrom is the FROM clause scanColumns needs: the scans row s and the
// sums of its pages p.
const scanFrom = ` FROM scans s LEFT JOIN LATERAL (
	SELECT count(*) AS pages, sum(items) AS items, sum(api_calls) AS api_calls, sum(not_modified) AS not_modified
	FROM scan_pages WHERE scan_id = s.id) p ON true`

func scanScan(row pgx.Row) (Scan, error) {
	var s Scan
	err := row.Scan(scanTargets(&s)...)
	return s, err
}

// scanTargets are where the columns of scanColumns go.
func scanTargets(s *Scan) []any {
	return []any{&s.ID, &s.ParentID, &s.InstallationID, &s.Owner, &s.Repo, &s.RepositoryID, &s.Kind,
		&s.Number, &s.Kinds, &s.Since, &s.Complete, &s.RequestedBy, &s.State, &s.PagesTotal, &s.PagesDone,
		&s.Items, &s.APICalls, &s.NotModified, &s.Errors, &s.Swept, &s.LastError, &s.CreatedAt, &s.StartedAt,
		&s.FinishedAt}
}

// NewScan is what CreateScan records.
type NewScan struct {
	ParentID       int64
	InstallationID int64
	Owner, Repo    string
	RepositoryID   int64
	Kind           string
	Number         int
	Kinds          []string
	Since          *time.Time
	Complete       bool
	RequestedBy    string
}

// CreateScan records a queued scan, unless a scan of the same repository,
// kind and number is queued or running: then it returns that one and false.
// An active scan that has shown no sign of life since staleBefore, and
// whose jobs (and its children's) are all over, is taken as abandoned: it
// is marked failed and a new one recorded, so no scan can block its
// repository for ever. A scan whose jobs wait their turn in River is not
// abandoned, however long they wait.
func CreateScan(ctx context.Context, tx pgx.Tx, n NewScan, staleBefore time.Time) (Scan, bool, error) {
	what := fmt.Sprintf("recording a %s scan of %s/%s", n.Kind, n.Owner, n.Repo)
	rows, err := tx.Query(ctx, `
		UPDATE scans SET state = 'failed', finished_at = now(),
			last_error = 'abandoned: no progress since ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		WHERE lower(owner) = lower($1) AND lower(repo) = lower($2) AND kind = $3 AND coalesce(number, 0) = $4
		AND state IN ('queued', 'running') AND heartbeat_at < $5
		AND NOT EXISTS (SELECT 1 FROM scan_pages WHERE scan_id = scans.id AND done_at >= $5)
		AND NOT `+scanHasWork+`
		RETURNING coalesce(parent_id, 0)`,
		n.Owner, n.Repo, n.Kind, n.Number, staleBefore)
	if err != nil {
		return Scan{}, false, fmt.Errorf("%s: abandoning a stalled one: %w", what, err)
	}
	if _, err := settleParentsOf(ctx, tx, rows); err != nil {
		return Scan{}, false, fmt.Errorf("%s: abandoning a stalled one: %w", what, err)
	}
	row := tx.QueryRow(ctx, `
		INSERT INTO scans (parent_id, installation_id, owner, repo, repository_id, kind, number, kinds, since, complete, requested_by)
		VALUES (nullif($1, 0::bigint), $2, $3, $4, nullif($5, 0::bigint), $6, nullif($7, 0), $8, $9, $10, $11)
		ON CONFLICT (lower(owner), lower(repo), kind, coalesce(number, 0)) WHERE state IN ('queued', 'running') DO NOTHING
		RETURNING id`,
		n.ParentID, n.InstallationID, n.Owner, n.Repo, n.RepositoryID, n.Kind, n.Number, n.Kinds, n.Since, n.Complete, n.RequestedBy)
	var id int64
	err = row.Scan(&id)
	if err == nil {
		s, err := scanScan(tx.QueryRow(ctx, `SELECT `+scanColumns+scanFrom+` WHERE s.id = $1`, id))
		if err != nil {
			return Scan{}, false, fmt.Errorf("%s: %w", what, err)
		}
		return s, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Scan{}, false, fmt.Errorf("%s: %w", what, err)
	}
	s, err := scanScan(tx.QueryRow(ctx, `SELECT `+scanColumns+scanFrom+`
		WHERE lower(s.owner) = lower($1) AND lower(s.repo) = lower($2) AND s.kind = $3 AND coalesce(s.number, 0) = $4
		AND s.state IN ('queued', 'running')`, n.Owner, n.Repo, n.Kind, n.Number))
	if err != nil {
		return Scan{}, false, fmt.Errorf("%s: reading the one already running: %w", what, err)
	}
	return s, false, nil
}

// scanHasWork is true of a scans row (named scans) that River still has
// an unfinished job for, or that has a child with one.
const scanHasWork = `EXISTS (SELECT 1 FROM river_job j
		WHERE j.kind IN ('backfill_scan_spawn', 'backfill_scan_page')
		AND j.state IN ('available', 'pending', 'running', 'scheduled', 'retryable')
		AND (j.args->>'scan_id')::bigint IN (SELECT scans.id UNION ALL SELECT c.id FROM scans c WHERE c.parent_id = scans.id))`

// FailDeadScans marks failed the active scans that River has no
// unfinished job for (nor for their children) and that have shown no
// sign of life since quietSince: their jobs ended without finishing them
// (discarded after a panic, a timeout, or a process killed on the last
// attempt). Their parents end with them. It returns how many.
func FailDeadScans(ctx context.Context, db *pgxpool.Pool, quietSince time.Time) (int, error) {
	var failed int
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE scans SET state = 'failed', finished_at = now(),
				last_error = coalesce(last_error || '; ', '') || 'its jobs ended without finishing it'
			WHERE state IN ('queued', 'running') AND heartbeat_at < $1
			AND NOT EXISTS (SELECT 1 FROM scan_pages WHERE scan_id = scans.id AND done_at >= $1)
			AND NOT EXISTS (SELECT 1 FROM scans c WHERE c.parent_id = scans.id AND c.state IN ('queued', 'running'))
			AND NOT `+scanHasWork+`
			RETURNING coalesce(parent_id, 0)`, quietSince)
		if err != nil {
			return err
		}
		failed, err = settleParentsOf(ctx, tx, rows)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failing scans whose jobs are gone: %w", err)
	}
	return failed, nil
}

// scanRowOnly is the FROM clause of a read that leaves the pages' figures
// out (zero): what a job needs, at a cost that does not grow with the scan.
const scanRowOnly = ` FROM scans s, LATERAL (SELECT NULL::bigint AS pages, NULL::bigint AS items, NULL::bigint AS api_calls,
	NULL::bigint AS not_modified) p`

// settleParentsOf reads the parent ids (0 for none) that an UPDATE of
// scans into failed RETURNED, and ends each repository scan that has
// nothing of it running any more. It returns how many rows there were.
func settleParentsOf(ctx context.Context, tx pgx.Tx, rows pgx.Rows) (int, error) {
	parents, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	for _, parent := range parents {
		if err := lockScan(ctx, tx, parent); err != nil {
			return 0, err
		}
		if err := settleParent(ctx, tx, parent, time.Now()); err != nil {
			return 0, err
		}
	}
	return len(parents), nil
}

// GetScanRow reads scan id without adding up its pages: PagesDone,
// Items and the pages' requests are zero. False when there is none.
func GetScanRow(ctx context.Context, q Querier, id int64) (Scan, bool, error) {
	s, err := scanScan(q.QueryRow(ctx, `SELECT `+scanColumns+scanRowOnly+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Scan{}, false, nil
	}
	if err != nil {
		return Scan{}, false, fmt.Errorf("reading scan %d: %w", id, err)
	}
	return s, true, nil
}

// ScanForPage reads scan id as GetScanRow does, and whether its page is
// done already (the page's job running again after dying between its
// commit and River's record), in one query.
func ScanForPage(ctx context.Context, q Querier, id int64, page int) (s Scan, found, pageDone bool, err error) {
	row := q.QueryRow(ctx, `SELECT `+scanColumns+`, EXISTS (SELECT 1 FROM scan_pages WHERE scan_id = s.id AND page = $2)`+
		scanRowOnly+` WHERE s.id = $1`, id, page)
	err = row.Scan(append(scanTargets(&s), &pageDone)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Scan{}, false, false, nil
	}
	if err != nil {
		return Scan{}, false, false, fmt.Errorf("reading scan %d: %w", id, err)
	}
	return s, true, pageDone, nil
}

// GetScan reads scan id; false when there is none.
func GetScan(ctx context.Context, q Querier, id int64) (Scan, bool, error) {
	s, err := scanScan(q.QueryRow(ctx, `SELECT `+scanColumns+scanFrom+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Scan{}, false, nil
	}
	if err != nil {
		return Scan{}, false, fmt.Errorf("reading scan %d: %w", id, err)
	}
	return s, true, nil
}

// ChildScans reads the scans that scan parent spawned, oldest first.
func ChildScans(ctx context.Context, q Querier, parent int64) ([]Scan, error) {
	rows, err := q.Query(ctx, `SELECT `+scanColumns+scanFrom+` WHERE s.parent_id = $1 ORDER BY s.id`, parent)
	if err != nil {
		return nil, fmt.Errorf("reading the scans of scan %d: %w", parent, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Scan, error) { return scanScan(r) })
	if err != nil {
		return nil, fmt.Errorf("reading the scans of scan %d: %w", parent, err)
	}
	return out, nil
}

// StartScan marks scan id running (keeping the time it first started) and
// returns it as it now is.
func StartScan(ctx context.Context, q Querier, id int64, at time.Time) (Scan, error) {
	if _, err := q.Exec(ctx, `
		UPDATE scans SET state = CASE WHEN state = 'queued' THEN 'running' ELSE state END,
			started_at = coalesce(started_at, $2), heartbeat_at = now()
		WHERE id = $1`, id, at); err != nil {
		return Scan{}, fmt.Errorf("starting scan %d: %w", id, err)
	}
	s, found, err := GetScan(ctx, q, id)
	if err == nil && !found {
		err = fmt.Errorf("starting scan %d: no such scan", id)
	}
	return s, err
}

// SetScanPages records how many pages (or units) scan id has, and the
// repository it reads once known.
func SetScanPages(ctx context.Context, tx pgx.Tx, id int64, pages int, repositoryID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE scans SET pages_total = $2, repository_id = coalesce(nullif($3, 0::bigint), repository_id),
		heartbeat_at = now() WHERE id = $1`, id, pages, repositoryID); err != nil {
		return fmt.Errorf("recording the pages of scan %d: %w", id, err)
	}
	return nil
}

// PageResult is what one page job of a scan did.
type PageResult struct {
	Page int
	// IDs are GitHub's ids of the objects the page listed (for the sweep).
	IDs []int64
	// Calls and NotModified count this attempt's requests to GitHub and
	// those answered 304.
	Calls, NotModified int
}

// CompletePage records that a page of scan id is done, in the transaction
// that replicated its objects. A page counts once however many times its
// job ran (a worker killed after the commit runs it again); its requests
// count every time, since they were all made. It touches no row another
// page's transaction touches, so pages commit in parallel; once committed,
// the caller asks PagesLeft whether this was the last.
func CompletePage(ctx context.Context, tx pgx.Tx, id int64, p PageResult) error {
	if p.IDs == nil {
		p.IDs = []int64{}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO scan_pages (scan_id, page, items, ids, api_calls, not_modified) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (scan_id, page) DO UPDATE SET api_calls = scan_pages.api_calls + excluded.api_calls,
			not_modified = scan_pages.not_modified + excluded.not_modified`,
		id, p.Page, len(p.IDs), p.IDs, p.Calls, p.NotModified); err != nil {
		return fmt.Errorf("recording page %d of scan %d: %w", p.Page, id, err)
	}
	return nil
}

// ClaimFinish locks scan id and says whether it is running with every page
// done: then the caller finishes it in tx. Of the jobs whose pages
// committed last, the first to lock it claims it; the others find it done.
func ClaimFinish(ctx context.Context, tx pgx.Tx, id int64) (Scan, bool, error) {
	var state string
	var total *int
	err := tx.QueryRow(ctx, `SELECT state, pages_total FROM scans WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&state, &total)
	if errors.Is(err, pgx.ErrNoRows) {
		return Scan{}, false, nil
	}
	if err != nil {
		return Scan{}, false, fmt.Errorf("locking scan %d: %w", id, err)
	}
	if state != ScanRunning || total == nil {
		return Scan{}, false, nil
	}
	s, _, err := GetScan(ctx, tx, id)
	if err != nil {
		return Scan{}, false, err
	}
	return s, s.PagesDone >= *total, nil
}

// PagesLeft says how many pages of scan id are not done yet (-1 while
// its size is unknown): a cheap look before ClaimFinish.
func PagesLeft(ctx context.Context, q Querier, id int64) (int, error) {
	var left int
	err := q.QueryRow(ctx, `SELECT coalesce(s.pages_total - (SELECT count(*) FROM scan_pages WHERE scan_id = s.id), -1)
		FROM scans s WHERE s.id = $1`, id).Scan(&left)
	if err != nil {
		return 0, fmt.Errorf("counting the pages left of scan %d: %w", id, err)
	}
	return left, nil
}

// RecordScanAttempt counts a failed attempt of a job of scan id (and the
// requests it made) and keeps its error; the scan goes on (River retries).
func RecordScanAttempt(ctx context.Context, q Querier, id int64, calls, notModified int, message string) error {
	if _, err := q.Exec(ctx, `UPDATE scans SET errors = errors + 1, api_calls = api_calls + $2,
		not_modified = not_modified + $3, last_error = $4, heartbeat_at = now() WHERE id = $1`,
		id, calls, notModified, message); err != nil {
		return fmt.Errorf("recording an error of scan %d: %w", id, err)
	}
	return nil
}

// ScanAlive records a sign of life of scan id (a job waiting for the rate
// limit), so it is not taken as abandoned.
func ScanAlive(ctx context.Context, q Querier, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE scans SET heartbeat_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("recording that scan %d is alive: %w", id, err)
	}
	return nil
}

// FailScan ends scan id as failed with message (its remaining jobs then do
// nothing), and settles its parent if it was the parent's last.
func FailScan(ctx context.Context, tx pgx.Tx, s Scan, message string, at time.Time) error {
	// The scan, then its parent: the order of FinishScan.
	if err := lockScan(ctx, tx, s.ID); err != nil {
		return err
	}
	if err := lockParent(ctx, tx, s); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE scans SET state = 'failed', last_error = $2, finished_at = $3
		WHERE id = $1 AND state IN ('queued', 'running')`, s.ID, message, at); err != nil {
		return fmt.Errorf("marking scan %d failed: %w", s.ID, err)
	}
	return settleParent(ctx, tx, s.ParentID, at)
}

// sweepTables are the tables a complete scan of each kind covers, keyed
// by GitHub's id with a repository_id.
var sweepTables = map[string]string{
	"pulls":      "pull_requests",
	"issues":     "issues",
	"comments":   "issue_comments",
	"labels":     "labels",
	"milestones": "milestones",
}

// Sweeps says whether a complete scan of kind marks what it did not list
// deleted (the kinds that have a table of their own here).
func Sweeps(kind string) bool {
	_, ok := sweepTables[kind]
	return ok
}

// lastScannedColumns are the repositories columns that say when each kind
// was last scanned to the end.
var lastScannedColumns = map[string]string{
	"pulls":      "pulls_last_scanned_at",
	"issues":     "issues_last_scanned_at",
	"comments":   "comments_last_scanned_at",
	"labels":     "labels_last_scanned_at",
	"milestones": "milestones_last_scanned_at",
	"files":      "files_last_scanned_at",
}

// FinishScan ends scan s as done, in the transaction of its last page.
// A list scan records when it started in the repository's
// <kind>_last_scanned_at. A complete scan then sweeps: the rows of the
// repository that none of its pages listed, and that nothing (webhook or
// API) replicated since it started, are marked deleted; it returns how
// many. A scan with a since, or one that failed, never sweeps.
func FinishScan(ctx context.Context, tx pgx.Tx, s Scan, at time.Time) (swept int, err error) {
	started := at
	if s.StartedAt != nil {
		started = *s.StartedAt
	}
	if table, ok := sweepTables[s.Kind]; ok && s.Complete && s.RepositoryID != 0 {
		tag, err := tx.Exec(ctx, `
			WITH seen AS (SELECT DISTINCT unnest(ids) AS id FROM scan_pages WHERE scan_id = $3)
			UPDATE `+table+` t SET deleted_at = $4
			WHERE t.repository_id = $1 AND t.deleted_at IS NULL
			AND (t.last_replicated_at IS NULL OR t.last_replicated_at < $2)
			AND NOT EXISTS (SELECT 1 FROM seen WHERE seen.id = t.id)`, s.RepositoryID, started, s.ID, at)
		if err != nil {
			return 0, fmt.Errorf("marking the %s scan %d did not see deleted: %w", s.Kind, s.ID, err)
		}
		swept = int(tag.RowsAffected())
		if s.Kind == "labels" && swept > 0 {
			// A deleted label is off every issue, as GitHub has it.
			if _, err := tx.Exec(ctx, `DELETE FROM issue_labels il USING labels l
				WHERE il.label_id = l.id AND l.repository_id = $1 AND l.deleted_at = $2`, s.RepositoryID, at); err != nil {
				return 0, fmt.Errorf("taking deleted labels off issues: %w", err)
			}
		}
	}
	if column, ok := lastScannedColumns[s.Kind]; ok && s.RepositoryID != 0 && s.Since == nil {
		if _, err := tx.Exec(ctx, `UPDATE repositories SET `+column+` = greatest(`+column+`, $2) WHERE id = $1`,
			s.RepositoryID, started); err != nil {
			return 0, fmt.Errorf("recording that %s of repository %d were scanned: %w", s.Kind, s.RepositoryID, err)
		}
	}
	// The repository row and the parent last, held only until the commit.
	if err := lockParent(ctx, tx, s); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE scans SET state = 'done', finished_at = $2, swept = $3
		WHERE id = $1 AND state = 'running'`, s.ID, at, swept); err != nil {
		return 0, fmt.Errorf("marking scan %d done: %w", s.ID, err)
	}
	return swept, settleParent(ctx, tx, s.ParentID, at)
}

// lockParent takes the parent's row lock before a child ends, so that two
// children ending at once see each other and exactly one settles it.
//
// Locks on scans rows are NO KEY UPDATE, which the key-share locks of
// foreign-key checks (a page's scan_pages row, a child's row) do not wait
// for. A page's transaction writes its objects, its shared rows
// (repositories, accounts, labels) and then its scan_pages row; the
// transaction that ends a scan locks the scan, writes the repository row,
// and locks the parent last.
func lockParent(ctx context.Context, tx pgx.Tx, s Scan) error {
	return lockScan(ctx, tx, s.ParentID)
}

// lockScan takes scan id's row lock (nothing for id 0).
func lockScan(ctx context.Context, tx pgx.Tx, id int64) error {
	if id == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM scans WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
		return fmt.Errorf("locking scan %d: %w", id, err)
	}
	return nil
}

// settleParent ends a repository scan once none of its children is queued
// or running: failed if one of them failed, else done.
func settleParent(ctx context.Context, tx pgx.Tx, parent int64, at time.Time) error {
	if parent == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `
		UPDATE scans p SET finished_at = $2,
			state = CASE WHEN EXISTS (SELECT 1 FROM scans c WHERE c.parent_id = p.id AND c.state = 'failed') THEN 'failed' ELSE 'done' END,
			last_error = coalesce((SELECT c.kind || ': ' || c.last_error FROM scans c
				WHERE c.parent_id = p.id AND c.state = 'failed' ORDER BY c.id LIMIT 1), p.last_error)
		WHERE p.id = $1 AND p.state = 'running'
		AND NOT EXISTS (SELECT 1 FROM scans c WHERE c.parent_id = p.id AND c.state IN ('queued', 'running'))`,
		parent, at); err != nil {
		return fmt.Errorf("settling scan %d: %w", parent, err)
	}
	return nil
}

// ScanActive says whether a scan of kind of owner/repo is queued or
// running (the files of a repository wait for its pull requests).
func ScanActive(ctx context.Context, q Querier, owner, repo, kind string) (bool, error) {
	var active bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scans WHERE lower(owner) = lower($1) AND lower(repo) = lower($2)
		AND kind = $3 AND state IN ('queued', 'running'))`, owner, repo, kind).Scan(&active)
	if err != nil {
		return false, fmt.Errorf("looking for a %s scan of %s/%s: %w", kind, owner, repo, err)
	}
	return active, nil
}

// ReplicaPullRequest is a pull request the replica holds: its id and number.
type ReplicaPullRequest struct {
	ID     int64
	Number int
}

// PullRequestsOf lists the pull requests the replica holds for repository
// repoID (updated since since, when given), by number.
func PullRequestsOf(ctx context.Context, q Querier, repoID int64, since *time.Time) ([]ReplicaPullRequest, error) {
	rows, err := q.Query(ctx, `SELECT id, number FROM pull_requests
		WHERE repository_id = $1 AND deleted_at IS NULL AND ($2::timestamptz IS NULL OR updated_at >= $2)
		ORDER BY number`, repoID, since)
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests of repository %d: %w", repoID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ReplicaPullRequest])
	if err != nil {
		return nil, fmt.Errorf("listing the pull requests of repository %d: %w", repoID, err)
	}
	return out, nil
}
