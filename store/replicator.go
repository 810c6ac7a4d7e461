package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
type Replicator struct {
	via   Source
	at    time.Time
	batch pgx.Batch
	// what describes each queued statement, for error messages.
	what []string
	// queued remembers the objects already queued (kind and id) with their
	// updated_at, so an object nested several times in one payload (the
	// sender who is also the author) is written once.
	queued map[queuedKey]time.Time
}

type queuedKey struct {
	table string
	id    int64
}

// NewReplicator returns an empty Replicator whose writes record that they
// came via the given source at the given time.
func NewReplicator(via Source, at time.Time) *Replicator {
	return &Replicator{via: via, at: at, queued: map[queuedKey]time.Time{}}
}

// Len is the number of statements queued.
func (r *Replicator) Len() int { return r.batch.Len() }

// Send runs the queued statements in tx, in the order they were queued, and
// empties the Replicator. The first failing statement's error names the
// object it was writing.
func (r *Replicator) Send(ctx context.Context, tx pgx.Tx) error {
	if r.batch.Len() == 0 {
		return nil
	}
	done := 0
	for _, qq := range r.batch.QueuedQueries {
		qq.Exec(func(pgconn.CommandTag) error { done++; return nil })
	}
	err := tx.SendBatch(ctx, &r.batch).Close()
	what := r.what
	r.batch = pgx.Batch{}
	r.what = nil
	clear(r.queued)
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

// queue adds one statement; what says what it does, for errors.
func (r *Replicator) queue(what string, sql string, args ...any) {
	r.batch.Queue(sql, args...)
	r.what = append(r.what, what)
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
	if nulls == nil {
		nulls = []string{}
	}
	args := make([]any, 0, len(values)+4)
	args = append(args, values...)
	args = append(args, data, nulls, r.via == ViaWebhook, r.at)
	r.queue(what, t.upsertSQL, args...)
}

// markDeleted queues setting deleted_at on the row of t with the given key
// (kept if it was already set).
func (r *Replicator) markDeleted(t *table, what string, key ...any) {
	r.queue(what, t.deleteSQL, append(key, r.via == ViaWebhook, r.at)...)
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
	name      string
	key       []string
	columns   []column
	ordered   bool
	upsertSQL string
	deleteSQL string
}

func newTable(name string, key []string, ordered bool, columns ...column) *table {
	t := &table{name: name, key: key, columns: columns, ordered: ordered}
	names := append([]string{}, key...)
	for _, c := range columns {
		names = append(names, c.name)
	}
	n := len(names)
	placeholders := make([]string, n)
	for i := range placeholders {
		placeholders[i] = fmt.Sprintf("$%d", i+1)
	}
	data, nulls, webhook, at := n+1, n+2, n+3, n+4

	var set []string
	for _, c := range columns {
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
	where := ""
	if ordered {
		where = "\nWHERE o.updated_at IS NULL OR EXCLUDED.updated_at IS NULL OR o.updated_at <= EXCLUDED.updated_at"
	}
	t.upsertSQL = fmt.Sprintf(`INSERT INTO %s AS o (%s, data, last_replicated_via_webhook_at, last_replicated_via_api_at)
VALUES (%s, $%d, CASE WHEN $%d::boolean THEN $%d::timestamptz END, CASE WHEN NOT $%d::boolean THEN $%d::timestamptz END)
ON CONFLICT (%s) DO UPDATE SET
	%s%s`,
		name, strings.Join(names, ", "), strings.Join(placeholders, ", "), data, webhook, at, webhook, at,
		strings.Join(key, ", "), strings.Join(set, ",\n\t"), where)

	var match []string
	for i, k := range key {
		match = append(match, fmt.Sprintf("%s = $%d", k, i+1))
	}
	w, a := len(key)+1, len(key)+2
	t.deleteSQL = fmt.Sprintf(`UPDATE %s SET deleted_at = coalesce(deleted_at, $%d::timestamptz),
	last_replicated_via_webhook_at = CASE WHEN $%d::boolean THEN $%d::timestamptz ELSE last_replicated_via_webhook_at END,
	last_replicated_via_api_at = CASE WHEN NOT $%d::boolean THEN $%d::timestamptz ELSE last_replicated_via_api_at END
WHERE %s`, name, a, w, a, w, a, strings.Join(match, " AND "))
	return t
}

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

// withoutNUL replaces the escaped NUL characters in a JSON text, which jsonb
// refuses (a comment body may hold one), with U+FFFD.
func withoutNUL(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\u0000`)) {
		return data
	}
	return bytes.ReplaceAll(data, []byte(`\u0000`), []byte(`\ufffd`))
}
