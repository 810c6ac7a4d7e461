package store

import (
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// RecentWrites remembers the shared rows (accounts, repositories, labels)
// this process committed lately and what it wrote to them, so that a
// Replicator can leave out a write that would repeat one: most deliveries
// carry the same organisation, repository and people as the one before.
// It is a bounded map, safe for concurrent use; one serves the whole
// process. A row is left out only when the same content came from the same
// source within unchangedRefresh, which is also how far the SQL guard lets
// last_replicated_via_*_at lag for unchanged rows.
type RecentWrites struct {
	mu      sync.Mutex
	entries map[queuedKey]recentWrite
	max     int
}

type recentWrite struct {
	sum uint64
	via Source
	at  time.Time
}

// NewRecentWrites returns an empty RecentWrites holding at most max rows
// (it forgets everything when it fills up).
func NewRecentWrites(max int) *RecentWrites {
	return &RecentWrites{entries: map[queuedKey]recentWrite{}, max: max}
}

// repeats reports whether the row key was committed with content sum from
// via within unchangedRefreshDuration before at.
func (c *RecentWrites) repeats(key queuedKey, sum uint64, via Source, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return ok && e.sum == sum && e.via == via && at.Sub(e.at) < unchangedRefreshDuration && !at.Before(e.at)
}

// remember records writes that committed.
func (c *RecentWrites) remember(writes []pendingWrite, via Source, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries)+len(writes) > c.max {
		clear(c.entries)
	}
	for _, w := range writes {
		if w.forget {
			delete(c.entries, w.key)
			continue
		}
		c.entries[w.key] = recentWrite{sum: w.sum, via: via, at: at}
	}
}

// pendingWrite is a shared-row write waiting for its transaction to commit.
type pendingWrite struct {
	key    queuedKey
	sum    uint64
	forget bool // the row was marked deleted: forget what was written
}

// UseRecentWrites makes r leave out shared-row writes that c says repeat a
// recent one. Call Committed once the transaction r sent has committed.
func (r *Replicator) UseRecentWrites(c *RecentWrites) { r.recent = c }

// Committed tells r that the transaction of its last Send or Commit
// committed, so the shared rows it wrote count as recent writes.
func (r *Replicator) Committed() {
	if r.recent != nil && len(r.sent) > 0 {
		r.recent.remember(r.sent, r.via, r.at)
	}
	r.sent = r.sent[:0]
}

// repeatsRecent reports whether the upsert of a shared row with data and
// values repeats a recent write; if not, it notes the write as pending.
func (r *Replicator) repeatsRecent(t *table, data []byte, values []any) bool {
	if r.recent == nil {
		return false
	}
	key := queuedKey{t.name, keyID(values[0])}
	sum := contentSum(data, values)
	if r.recent.repeats(key, sum, r.via, r.at) {
		return true
	}
	r.pending = append(r.pending, pendingWrite{key: key, sum: sum})
	return false
}

// forgetRecent notes that a shared row is being marked deleted.
func (r *Replicator) forgetRecent(t *table, id int64) {
	if r.recent != nil {
		r.pending = append(r.pending, pendingWrite{key: queuedKey{t.name, id}, forget: true})
	}
}

// contentSum is a 64-bit FNV-1a hash of an upsert's data and column values.
func contentSum(data []byte, values []any) uint64 {
	h := fnv.New64a()
	h.Write(data)
	for _, v := range values {
		switch v := v.(type) {
		case int64:
			fmt.Fprintf(h, "|i%d", v)
		case string:
			fmt.Fprintf(h, "|s%q", v)
		case *string:
			if v != nil {
				fmt.Fprintf(h, "|s%q", *v)
			} else {
				h.Write([]byte("|n"))
			}
		case *bool:
			if v != nil {
				fmt.Fprintf(h, "|b%t", *v)
			} else {
				h.Write([]byte("|n"))
			}
		case *int:
			if v != nil {
				fmt.Fprintf(h, "|i%d", *v)
			} else {
				h.Write([]byte("|n"))
			}
		case *int64:
			if v != nil {
				fmt.Fprintf(h, "|i%d", *v)
			} else {
				h.Write([]byte("|n"))
			}
		case *time.Time:
			if v != nil {
				fmt.Fprintf(h, "|t%d", v.UnixNano())
			} else {
				h.Write([]byte("|n"))
			}
		default:
			fmt.Fprintf(h, "|v%v", v)
		}
	}
	return h.Sum64()
}
