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

// remember records writes that committed. A row that another transaction
// of this process wrote with different content within the window is
// forgotten instead: the two commits may have happened in either order, so
// what the row holds now is not known.
func (c *RecentWrites) remember(writes []pendingWrite, via Source, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries)+len(writes) > c.max {
		clear(c.entries)
	}
	for _, w := range writes {
		e, known := c.entries[w.key]
		switch {
		case w.forget:
			delete(c.entries, w.key)
		case known && e.sum != w.sum && absDuration(at.Sub(e.at)) < unchangedRefreshDuration:
			delete(c.entries, w.key)
		default:
			c.entries[w.key] = recentWrite{sum: w.sum, via: via, at: at}
		}
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
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
// committed, so the shared rows it changed count as recent writes.
func (r *Replicator) Committed() {
	if r.recent != nil && len(r.sent) > 0 {
		r.recent.remember(r.sent, r.via, r.at)
	}
	r.sent = r.sent[:0]
}

// recentWrite returns the recent write an upsert of a shared row with data
// and values would make, and whether it repeats one already remembered
// (then it need not be sent at all).
func (r *Replicator) recentWrite(t *table, data []byte, values []any) (*pendingWrite, bool) {
	if r.recent == nil {
		return nil, false
	}
	w := &pendingWrite{key: queuedKey{t.name, keyID(values[0])}, sum: contentSum(data, values)}
	return w, r.recent.repeats(w.key, w.sum, r.via, r.at)
}

// forgetRecent notes that a shared row is being marked deleted.
func (r *Replicator) forgetRecent(t *table, id int64) {
	if r.recent != nil {
		r.forgets = append(r.forgets, pendingWrite{key: queuedKey{t.name, id}, forget: true})
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
