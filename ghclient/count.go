package ghclient

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/gregjones/httpcache"
)

// RequestCount counts the requests made to GitHub with a context that
// carries it (WithRequestCount), and how many of them GitHub answered 304
// (the ETag cache then gave its stored answer, free of rate limit).
type RequestCount struct {
	calls, notModified atomic.Int64
}

// Calls is how many requests were made.
func (c *RequestCount) Calls() int { return int(c.calls.Load()) }

// NotModified is how many of them GitHub answered 304.
func (c *RequestCount) NotModified() int { return int(c.notModified.Load()) }

type requestCountKey struct{}

// WithRequestCount returns a context whose requests to GitHub (through the
// clients of NewCreator) count in a new RequestCount.
func WithRequestCount(ctx context.Context) (context.Context, *RequestCount) {
	c := &RequestCount{}
	return context.WithValue(ctx, requestCountKey{}, c), c
}

// countRequests counts each request whose context carries a RequestCount.
// It sits outside the cache, like the metrics, so a 304 shows as an answer
// from the cache.
func countRequests(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		res, err := next.RoundTrip(r)
		if c, ok := r.Context().Value(requestCountKey{}).(*RequestCount); ok {
			c.calls.Add(1)
			if err == nil && res != nil && res.Header.Get(httpcache.XFromCache) != "" {
				c.notModified.Add(1)
			}
		}
		return res, err
	})
}

// drainBodyLimit bounds what drainOnClose reads of a body its reader left.
const drainBodyLimit = 16 << 20

// drainOnClose reads the rest of every answer's body when it is closed.
// go-github stops reading once its JSON decoder has the value, which for a
// large page is before the body's EOF; the ETag cache stores an answer only
// at EOF, so without this no large page would ever be revalidated with a
// 304.
func drainOnClose(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		res, err := next.RoundTrip(r)
		if err == nil && res != nil && res.Body != nil && r.Method == http.MethodGet {
			res.Body = &drainingBody{ReadCloser: res.Body}
		}
		return res, err
	})
}

type drainingBody struct{ io.ReadCloser }

func (b *drainingBody) Close() error {
	_, _ = io.Copy(io.Discard, io.LimitReader(b.ReadCloser, drainBodyLimit))
	return b.ReadCloser.Close()
}
