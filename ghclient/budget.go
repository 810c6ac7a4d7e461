package ghclient

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
)

// Budget remembers, for each installation, how much of its primary rate
// limit GitHub last said was left and when it resets, so that background
// work can wait for the reset instead of spending what webhook-driven work
// needs. It is fed by every answer of the installation's clients.
type Budget struct {
	mu   sync.Mutex
	left map[string]budgetEntry // installation id (as text) → latest answer
}

type budgetEntry struct {
	remaining int
	reset     time.Time
}

// NewBudget returns an empty Budget.
func NewBudget() *Budget { return &Budget{left: map[string]budgetEntry{}} }

// Of is what installation id had left at the latest answer, when that
// resets, and whether any answer was seen (resets already past count as
// unseen: the budget is full again).
func (b *Budget) Of(id int64) (remaining int, reset time.Time, known bool) {
	if b == nil {
		return 0, time.Time{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.left[strconv.FormatInt(id, 10)]
	if !ok || !time.Now().Before(e.reset) {
		return 0, time.Time{}, false
	}
	return e.remaining, e.reset, true
}

// middleware feeds the budget from every answer of installation's clients
// (not the app's own: it has a limit of its own).
func (b *Budget) middleware(installation string) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			res, err := next.RoundTrip(r)
			if err == nil && installation != "app" {
				b.observe(installation, res)
			}
			return res, err
		})
	}
}

// observe records a core-resource answer of installation.
func (b *Budget) observe(installation string, res *http.Response) {
	if b == nil || res == nil {
		return
	}
	if r := res.Header.Get("X-RateLimit-Resource"); r != "" && r != "core" {
		return
	}
	remaining, err1 := strconv.Atoi(res.Header.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(res.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left[installation] = budgetEntry{remaining: remaining, reset: time.Unix(reset, 0)}
}
