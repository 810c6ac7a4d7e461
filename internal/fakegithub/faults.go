package fakegithub

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault makes some requests fail the way GitHub sometimes does: a
// secondary rate limit, or a server error. Zero fields match anything.
type Fault struct {
	// Method is the HTTP method to fail; "" fails any.
	Method string
	// Path is the exact URL path to fail, as in Request.Path; "" fails any.
	Path string
	// Query lists parameters the request must carry with exactly these
	// values (e.g. page=3); parameters not listed do not matter. A request
	// without page does not match page=1.
	Query url.Values
	// Status is the answer's status: 403 by default for a secondary limit,
	// 502 otherwise. go-github v60 only recognises a 403 as a secondary
	// limit.
	Status int
	// RetryAfter, when positive, is sent as Retry-After in whole seconds
	// (rounded up). Without it go-github takes a secondary limit to last
	// until the X-RateLimit-Reset of the primary window.
	RetryAfter time.Duration
	// Secondary answers GitHub's secondary rate limit message, which
	// go-github turns into *github.AbuseRateLimitError.
	Secondary bool
	// Times is how many matching requests fail before the fault is spent;
	// 0 counts as 1.
	Times int
}

// GitHub's words for a secondary rate limit. go-github recognises the
// limit by the documentation URL's ending.
const (
	secondaryLimitMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	secondaryLimitDocs    = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// InjectFault makes the next f.Times requests matching f fail as f says,
// on any route, before authentication. Faults are tried in the order they
// were injected, the first that matches answers, and a request answered by
// one is not answered by another. A faulted request is recorded in
// Requests with its status and charges no rate limit, but carries the
// x-ratelimit-* headers of the installation whose token it bears (if that
// installation's limit is spent, they say X-RateLimit-Remaining: 0, and
// go-github reports a primary limit even for a secondary fault). Faults
// still wait for SetLatency.
func (s *Server) InjectFault(f Fault) {
	if f.Times < 1 {
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusBadGateway
		if f.Secondary {
			f.Status = http.StatusForbidden
		}
	}
	f.Query = maps.Clone(f.Query)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults forgets the faults not yet spent.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// matches reports whether r is one of the requests f fails.
func (f *Fault) matches(r *http.Request) bool {
	if (f.Method != "" && !strings.EqualFold(f.Method, r.Method)) || (f.Path != "" && f.Path != r.URL.Path) {
		return false
	}
	if len(f.Query) == 0 {
		return true
	}
	query := r.URL.Query()
	for key, want := range f.Query {
		if !slices.Equal(query[key], want) {
			return false
		}
	}
	return true
}

// injectedFault answers r with the first fault it matches, spending one of
// its times, and reports whether it did.
func (s *Server) injectedFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	var fault Fault
	hit := false
	for i, f := range s.faults {
		if f.matches(r) {
			fault, hit = *f, true
			if f.Times--; f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			break
		}
	}
	s.mu.Unlock()
	if !hit {
		return false
	}
	s.rateHeaders(w, s.bucketOf(r), false)
	if fault.RetryAfter > 0 {
		seconds := (fault.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(seconds), 10))
	}
	switch {
	case fault.Secondary:
		writeJSON(w, fault.Status, map[string]string{"message": secondaryLimitMessage, "documentation_url": secondaryLimitDocs})
	case fault.Status >= 500:
		writeJSON(w, fault.Status, map[string]string{"message": "Server Error"})
	default:
		writeError(w, fault.Status, http.StatusText(fault.Status))
	}
	return true
}

// bucketOf is the rate-limit bucket r would be charged to, without
// checking its credentials: an installation token's, else the app's.
func (s *Server) bucketOf(r *http.Request) string {
	id, known := s.tokenInstallation(r)
	if !known {
		return "app"
	}
	bucket := installationBucket(id)
	if r.URL.Path == "/graphql" {
		bucket = "graphql:" + bucket
	}
	return bucket
}
