package ghclient

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
)

// XMissingFromCache marks a 404 that osprey answered from its own memory
// of missing files instead of asking GitHub.
const XMissingFromCache = "X-Osprey-Missing-From-Cache"

// missingFilesMax bounds the missing files remembered (about 200 bytes
// each): far more than the config and catalog files of every repository a
// busy installation touches within the TTL.
const missingFilesMax = 50_000

// missingFiles remembers for a while that a repository file does not exist.
// GitHub gives a 404 no ETag, so without this every reconcile would spend
// rate limit asking again for the osprey.yml and catalog-info.yaml that most
// repositories do not have. The cost: a file that is added takes effect
// after at most ttl.
type missingFiles struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	expires map[string]time.Time // installation + URL → when to ask again
}

func newMissingFiles(ttl time.Duration) *missingFiles {
	return &missingFiles{ttl: ttl, now: time.Now, expires: map[string]time.Time{}}
}

// isFileRead reports whether r reads a repository file (the contents API).
func isFileRead(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/") && strings.Contains(r.URL.Path, "/contents/")
}

// middleware answers a read of a file known to be missing with a 404 of its
// own, and remembers every new 404 of a file read.
func (m *missingFiles) middleware(installation string) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if m == nil || m.ttl <= 0 || !isFileRead(r) {
				return next.RoundTrip(r)
			}
			key := installation + " " + r.URL.String()
			if m.known(key) {
				return notFound(r), nil
			}
			res, err := next.RoundTrip(r)
			if err == nil && res.StatusCode == http.StatusNotFound {
				m.remember(key)
			}
			return res, err
		})
	}
}

func (m *missingFiles) known(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.expires[key]
	if ok && m.now().Before(until) {
		return true
	}
	delete(m.expires, key)
	return false
}

func (m *missingFiles) remember(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.expires) >= missingFilesMax {
		for k, until := range m.expires {
			if !now.Before(until) {
				delete(m.expires, k)
			}
		}
		if len(m.expires) >= missingFilesMax {
			clear(m.expires) // all fresh: start again rather than grow
		}
	}
	m.expires[key] = now.Add(m.ttl)
}

// notFound is the 404 GitHub gave for the file, as go-github expects it.
func notFound(r *http.Request) *http.Response {
	body := `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/contents#get-repository-content"}`
	return &http.Response{
		Status: "404 Not Found", StatusCode: http.StatusNotFound, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}, XMissingFromCache: {"1"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)), Request: r,
	}
}
