package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Replicator collects the writes that replicate the GitHub objects of one
// delivery (or one page of an API listing) and sends them to Postgres in a
// single round trip inside the caller's transaction. Its methods, one per
// object kind, take the decoded go-github object; they know nothing of HTTP
// or of where the object came from: the Source given to NewReplicator says
// which last_replicated_via_* column the writes stamp.
//
// Every write is an upsert that never moves a row backwards: an object whose
// GitHub updated_at is older than the stored one is skipped (equal times
// apply), a column that a partial object lacks keeps its stored value, and
// data merges the new object over the stored one key by key.
//
// Rows that many deliveries write at once (the organisation's account, a
// busy repository, its labels) are written last, in one global order (table,
// then id): a transaction then holds their locks only for the moment before
// it commits, and two transactions never wait on each other in a cycle.
type Replicator struct {
	via      Source
	at       time.Time
	observed time.Time
	own      []statement // this delivery's own objects, in the order queued
	shared   []statement // rows of shared tables, sorted before sending
	// queued remembers the objects already queued (kind and id) with their
	// updated_at, so an object nested several times in one payload (the
	// sender who is also the author) is written once.
	queued map[queuedKey]time.Time
	// recent, when set, lets upserts of shared rows that repeat a recent
	// write be left out; forgets are the shared rows being marked deleted,
	// sent the shared-row writes sent, waiting for the commit.
	recent  *RecentWrites
	forgets []pendingWrite
	sent    []pendingWrite
}

// statement is one queued write; rank and id order the shared ones.
type statement struct {
	sql  string
	args []any
	what string // what it does, for errors
	rank int
	id   int64
	// remember is the recent write this statement makes, if it writes a
	// row: it counts once the transaction commits.
	remember *pendingWrite
}

type queuedKey struct {
	table string
	id    int64
}

// NewReplicator returns an empty Replicator whose writes record that they
// came via the given source at the given time.
func NewReplicator(via Source, at time.Time) *Replicator {
	return &Replicator{via: via, at: at, observed: at, queued: map[queuedKey]time.Time{}}
}

// ObservedAt says when GitHub sent the objects (a delivery's received_at);
// by default, the time given to NewReplicator. It orders the copies of
// objects that carry no updated_at: labels, reviews, review threads,
// memberships, teams, and accounts nested in other objects.
func (r *Replicator) ObservedAt(t time.Time) { r.observed = t }

// Len is the number of statements queued.
func (r *Replicator) Len() int { return len(r.own) + len(r.shared) }

// Send runs the queued statements in tx, the delivery's own objects first
// and the shared rows last, and empties the Replicator. The first failing
// statement's error names the object it was writing.
func (r *Replicator) Send(ctx context.Context, tx pgx.Tx) error {
	if r.Len() == 0 {
		return nil
	}
	return r.send(ctx, tx)
}

// batchSender is a transaction or a pool: what sends a batch.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func (r *Replicator) send(ctx context.Context, to batchSender) error {
	slices.SortStableFunc(r.shared, func(a, b statement) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.id, b.id))
	})
	var batch pgx.Batch
	var what []string
	done := 0
	sentBefore := len(r.sent)
	for _, list := range [][]statement{r.own, r.shared} {
		for _, st := range list {
			remember := st.remember
			batch.Queue(st.sql, st.args...).Exec(func(tag pgconn.CommandTag) error {
				done++
				// A write the guard left out changed nothing: it is
				// not a recent write of this process.
				if remember != nil && tag.RowsAffected() > 0 {
					r.sent = append(r.sent, *remember)
				}
				return nil
			})
			what = append(what, st.what)
		}
	}
	err := to.SendBatch(ctx, &batch).Close()
	r.own, r.shared = r.own[:0], r.shared[:0]
	clear(r.queued)
	if err == nil {
		r.sent = append(r.sent, r.forgets...)
	} else {
		r.sent = r.sent[:sentBefore]
	}
	r.forgets = r.forgets[:0]
	if err == nil {
		return nil
	}
	// Postgres answered each statement in order, so the first one without
	// an answer is the one it refused. Any other error (encoding a value,
	// the connection) belongs to the batch as a whole.
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && done < len(what) {
		return fmt.Errorf("%s: %w", what[done], err)
	}
	return fmt.Errorf("replicating %d objects: %w", len(what), err)
}

// Commit runs the queued statements as one transaction on a connection of
// db, in a single round trip (pgx runs a batch without explicit transaction
// control as one implicit transaction), and empties the Replicator. Use it
// when nothing else has to happen inside the transaction.
func (r *Replicator) Commit(ctx context.Context, db *pgxpool.Pool) error {
	if r.Len() == 0 {
		return nil
	}
	return r.send(ctx, db)
}

// RecordDeliveryProcessed queues recording that the delivery guid, whose
// attempt started at startedAt, was processed: the outcome then commits
// with the rows it wrote.
func (r *Replicator) RecordDeliveryProcessed(guid string, startedAt time.Time) {
	r.queue(fmt.Sprintf("recording delivery %s processed", guid), finishDeliverySQL, guid, StatusProcessed, "", startedAt)
}

// queue adds a statement about this delivery's own objects.
func (r *Replicator) queue(what string, sql string, args ...any) {
	r.own = append(r.own, statement{sql: sql, args: args, what: what})
}

// queueOn adds a statement on the row id of t: to the shared rows when t is
// a shared table, else like queue.
func (r *Replicator) queueOn(t *table, id int64, what string, sql string, args ...any) {
	r.queueRemembering(t, id, nil, what, sql, args...)
}

// queueRemembering is queueOn for a write that counts as a recent write of
// the shared row once committed.
func (r *Replicator) queueRemembering(t *table, id int64, remember *pendingWrite, what string, sql string, args ...any) {
	if t.sharedRank == 0 {
		r.queue(what, sql, args...)
		return
	}
	r.shared = append(r.shared, statement{sql: sql, args: args, what: what, rank: t.sharedRank, id: id, remember: remember})
}

// firstSight reports whether the object (table, id) with the given
// updated_at should be queued: not seen yet in this batch, or fresher than
// the copy already queued.
func (r *Replicator) firstSight(table string, id int64, updated *github.Timestamp) bool {
	key := queuedKey{table, id}
	var at time.Time
	if updated != nil {
		at = updated.Time
	}
	prev, seen := r.queued[key]
	if seen && !at.After(prev) {
		return false
	}
	r.queued[key] = at
	return true
}

// upsert queues the upsert of one object into t. values are the key columns'
// then the other columns' values, in t's order; obj is encoded as data; nulls
// names the keys of data that the object's shape always carries but that are
// null (or empty) in this object, so that they are removed from the stored
// data rather than kept from an older version.
func (r *Replicator) upsert(t *table, what string, obj any, nulls []string, values ...any) {
	data := withoutNUL(jsonOf(obj))
	var remember *pendingWrite
	if t.sharedRank != 0 {
		var repeats bool
		if remember, repeats = r.recentWrite(t, data, values); repeats {
			return
		}
	}
	if nulls == nil {
		nulls = []string{}
	}
	withoutNULText(values)
	if t.observed {
		values = append(values, r.observed)
	}
	args := make([]any, 0, len(values)+4)
	args = append(args, values...)
	args = append(args, data, nulls, r.via == ViaWebhook, r.at)
	r.queueRemembering(t, keyID(values[0]), remember, what, t.upsertSQL, args...)
}

// keyID is the first key value of a row when it is a GitHub id, for ordering
// shared rows.
func keyID(v any) int64 {
	id, _ := v.(int64)
	return id
}

// markDeleted queues setting deleted_at on the row of t with the given key
// (kept if it was already set).
func (r *Replicator) markDeleted(t *table, what string, key ...any) {
	if t.sharedRank != 0 {
		r.forgetRecent(t, keyID(key[0]))
	}
	r.queueOn(t, keyID(key[0]), what, t.deleteSQL, append(key, r.via == ViaWebhook, r.at)...)
}

// merge says how an upsert combines a column's stored and new values.
type merge int

const (
	// keep: a null new value keeps the stored one. For columns that a
	// partial shape of the object may lack.
	keep merge = iota
	// replace: the new value wins, null included. For columns that become
	// null for real (closed_at after a reopen, a removed milestone).
	replace
	// latest: the later of the two (pushed_at).
	latest
	// stickyDismissed: like keep, except that a dismissed review stays
	// dismissed (reviews have no updated_at to order them).
	stickyDismissed
)

type column struct {
	name  string
	merge merge
}

// table describes one replicated table: its key, its typed columns and
// whether GitHub's updated_at orders its objects. The SQL is built once.
type table struct {
	// sharedRank is non-zero for tables whose rows many deliveries write
	// (accounts, repositories, labels): their writes go last, ordered by
	// this rank and then by id.
	sharedRank int
	name       string
	key        []string
	columns    []column
	ordered    bool // objects carry GitHub's updated_at
	observed   bool // the table has observed_at, ordering copies without updated_at
	upsertSQL  string
	deleteSQL  string
}

func newTable(name string, key []string, ordered bool, columns ...column) *table {
	t := &table{name: name, key: key, columns: columns, ordered: ordered}
	t.build()
	return t
}

// observedTable gives t the observed_at column (last in its values, filled
// in by upsert), which orders the copies that carry no updated_at.
func observedTable(t *table) *table {
	t.observed = true
	t.columns = append(t.columns, col("observed_at", latest))
	t.build()
	return t
}

// sharedTable marks t as a table of shared rows, written in rank order, and
// whose upserts skip objects the row already holds.
func sharedTable(rank int, t *table) *table {
	t.sharedRank = rank
	t.build()
	return t
}

// build writes t's SQL. Arguments: the key and column values in order, then
// data, the null keys, whether the source is a webhook, and the time.
func (t *table) build() {
	names := append([]string{}, t.key...)
	for _, c := range t.columns {
		names = append(names, c.name)
	}
	n := len(names)
	placeholders := make([]string, n)
	updatedAt, observedAt := "", ""
	for i := range placeholders {
		placeholders[i] = fmt.Sprintf("$%d", i+1)
		switch names[i] {
		case "updated_at":
			updatedAt = placeholders[i]
		case "observed_at":
			observedAt = placeholders[i]
		}
	}
	data, nulls, webhook, at := n+1, n+2, n+3, n+4

	var set []string
	for _, c := range t.columns {
		var expr string
		switch c.merge {
		case keep:
			expr = fmt.Sprintf("coalesce(EXCLUDED.%[1]s, o.%[1]s)", c.name)
		case replace:
			expr = "EXCLUDED." + c.name
		case latest:
			expr = fmt.Sprintf("greatest(EXCLUDED.%[1]s, o.%[1]s)", c.name)
		case stickyDismissed:
			expr = fmt.Sprintf("CASE WHEN o.%[1]s = 'dismissed' THEN o.%[1]s ELSE coalesce(EXCLUDED.%[1]s, o.%[1]s) END", c.name)
		}
		set = append(set, c.name+" = "+expr)
	}
	set = append(set,
		fmt.Sprintf("data = (o.data - $%d::text[]) || EXCLUDED.data", nulls),
		"last_replicated_via_webhook_at = coalesce(EXCLUDED.last_replicated_via_webhook_at, o.last_replicated_via_webhook_at)",
		"last_replicated_via_api_at = coalesce(EXCLUDED.last_replicated_via_api_at, o.last_replicated_via_api_at)")
	// The order: by GitHub's updated_at when both copies have one; a copy
	// without one, in a table with observed_at, by when GitHub sent it.
	var order []string
	if t.ordered {
		order = append(order, "(o.updated_at IS NULL OR EXCLUDED.updated_at IS NULL OR o.updated_at <= EXCLUDED.updated_at)")
	}
	if t.observed {
		byObserved := "o.observed_at IS NULL OR EXCLUDED.observed_at IS NULL OR o.observed_at <= EXCLUDED.observed_at"
		if t.ordered {
			byObserved = "EXCLUDED.updated_at IS NOT NULL OR " + byObserved
		}
		order = append(order, "("+byObserved+")")
	}
	where := ""
	if len(order) > 0 {
		where = "\nWHERE " + strings.Join(order, " AND ")
	}
	var match []string
	for i, k := range t.key {
		match = append(match, fmt.Sprintf("%s = $%d", k, i+1))
	}
	// Rows of shared tables are read before they are written: when the row
	// is newer than the object, or already holds each of its keys with the
	// same value (equal, not merely containing it: a list that lost an item
	// is a change) and was stamped from the same source in the last minute,
	// nothing is written and no lock is taken. Without this, every delivery of an organisation would
	// queue on the lock of the organisation's account.
	guard := ""
	if t.sharedRank != 0 {
		stale, same := "false", "true"
		switch {
		case t.ordered && t.observed:
			stale = fmt.Sprintf("s.updated_at > %[1]s OR (%[1]s IS NULL AND s.observed_at > %[2]s)", updatedAt, observedAt)
		case t.ordered:
			stale = fmt.Sprintf("s.updated_at > %s", updatedAt)
		case t.observed:
			stale = fmt.Sprintf("s.observed_at > %s", observedAt)
		}
		if t.ordered {
			same = fmt.Sprintf("(%[1]s IS NULL OR s.updated_at = %[1]s)", updatedAt)
		}
		guard = fmt.Sprintf(`
WHERE NOT EXISTS (SELECT 1 FROM %[1]s s WHERE s.%[2]s AND (%[3]s OR (%[4]s
	AND NOT EXISTS (SELECT 1 FROM jsonb_each($%[5]d::jsonb) n WHERE s.data -> n.key IS DISTINCT FROM n.value)
	AND NOT (s.data ?| $%[6]d::text[])
	AND CASE WHEN $%[7]d::boolean THEN s.last_replicated_via_webhook_at ELSE s.last_replicated_via_api_at END
		>= $%[8]d::timestamptz - interval '%[9]d seconds')))`,
			t.name, strings.Join(match, " AND s."), stale, same, data, nulls, webhook, at, int(unchangedRefreshDuration.Seconds()))
	}
	t.upsertSQL = fmt.Sprintf(`INSERT INTO %s AS o (%s, data, last_replicated_via_webhook_at, last_replicated_via_api_at)
SELECT %s, $%d, CASE WHEN $%d::boolean THEN $%d::timestamptz END, CASE WHEN NOT $%d::boolean THEN $%d::timestamptz END%s
ON CONFLICT (%s) DO UPDATE SET
	%s%s`,
		t.name, strings.Join(names, ", "), strings.Join(placeholders, ", "), data, webhook, at, webhook, at, guard,
		strings.Join(t.key, ", "), strings.Join(set, ",\n\t"), where)

	w, a := len(t.key)+1, len(t.key)+2
	t.deleteSQL = fmt.Sprintf(`UPDATE %s SET deleted_at = coalesce(deleted_at, $%d::timestamptz),
	last_replicated_via_webhook_at = CASE WHEN $%d::boolean THEN $%d::timestamptz ELSE last_replicated_via_webhook_at END,
	last_replicated_via_api_at = CASE WHEN NOT $%d::boolean THEN $%d::timestamptz ELSE last_replicated_via_api_at END
WHERE %s`, t.name, a, w, a, w, a, strings.Join(match, " AND "))
}

// unchangedRefreshDuration is how stale last_replicated_via_*_at of a
// shared row may grow while the same object keeps arriving unchanged: within
// it, an unchanged object writes nothing.
const unchangedRefreshDuration = time.Minute

func col(name string, m merge) column { return column{name, m} }

// nullKeys collects the keys of an object's JSON that are null or empty in
// this object although its shape always carries them.
type nullKeys []string

func (n *nullKeys) add(key string, isNull bool) {
	if isNull {
		*n = append(*n, key)
	}
}

// Helpers that turn go-github's optional fields into SQL parameters: nil for
// an absent value, so that keep columns keep what is stored.

func ts(t *github.Timestamp) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}

func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func logins(users []*github.User) []string {
	out := make([]string, 0, len(users))
	for _, u := range users {
		if u.GetLogin() != "" {
			out = append(out, u.GetLogin())
		}
	}
	return out
}

// jsonOf encodes v. go-github objects and osprey's own maps always encode;
// should one not, the stored data says why instead of failing the delivery.
func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprintf(`{"osprey_encoding_error": %q}`, err.Error()))
	}
	return b
}

// withoutNUL replaces the escaped NUL characters (\u0000) in a JSON text,
// which jsonb refuses (a comment body may hold one), with U+FFFD. A
// backslash that is itself escaped (the text "\\u0000", as a comment about
// code may hold) is left alone.
func withoutNUL(data []byte) []byte {
	escape := []byte(`\u0000`)
	if !bytes.Contains(data, escape) {
		return data
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			out = append(out, data[i])
			continue
		}
		if bytes.HasPrefix(data[i:], escape) {
			out = append(out, `\ufffd`...)
			i += len(escape) - 1
			continue
		}
		// Any other escape: copy the backslash and the character it
		// escapes, so an escaped backslash is never read as a new escape.
		out = append(out, data[i])
		if i+1 < len(data) {
			i++
			out = append(out, data[i])
		}
	}
	return out
}

// withoutNULText replaces NUL characters, which Postgres text refuses, in
// the string values of a row with U+FFFD, as withoutNUL does in data: a
// title holding one is stored rather than failing its delivery.
func withoutNULText(values []any) {
	for i, v := range values {
		switch v := v.(type) {
		case string:
			if strings.IndexByte(v, 0) >= 0 {
				values[i] = strings.ReplaceAll(v, "\x00", "\uFFFD")
			}
		case *string:
			if v != nil && strings.IndexByte(*v, 0) >= 0 {
				clean := strings.ReplaceAll(*v, "\x00", "\uFFFD")
				values[i] = &clean
			}
		}
	}
}

// replicatedTables lists the tables of the replica, for counting.
var replicatedTables = []string{"accounts", "repositories", "labels", "milestones", "issues", "pull_requests",
	"pull_request_files", "issue_comments", "pull_request_reviews", "pull_request_review_comments",
	"pull_request_review_threads", "issue_labels", "org_memberships", "repository_collaborators", "teams",
	"team_memberships"}

// CountReplicatedRows returns how many rows each table of the replica holds.
func CountReplicatedRows(ctx context.Context, q Querier) (map[string]int, error) {
	counts := make(map[string]int, len(replicatedTables))
	for _, table := range replicatedTables {
		var n int
		if err := q.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting %s: %w", table, err)
		}
		counts[table] = n
	}
	return counts, nil
}
