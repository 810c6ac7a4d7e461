package ghclient

import (
	"net/http"
	"strconv"

	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series about osprey's requests to GitHub.
type Metrics struct {
	requests  *prometheus.CounterVec
	remaining *prometheus.GaugeVec
	limit     *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_github_requests_total",
			Help: "Requests to GitHub by status class (2xx…5xx, error) and whether the answer came from the ETag cache after a 304 (cached=true costs no rate limit).",
		}, []string{"status", "cached"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "osprey_github_rate_limit_remaining",
			Help: "x-ratelimit-remaining from GitHub's latest answer, by installation (\"app\" for the app itself) and resource.",
		}, []string{"installation", "resource"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "osprey_github_rate_limit",
			Help: "x-ratelimit-limit from GitHub's latest answer, by installation and resource.",
		}, []string{"installation", "resource"}),
	}
	reg.MustRegister(m.requests, m.remaining, m.limit)
	return m
}

// middleware observes every request of one installation's clients. It sits
// outside the cache, so a 304 that the cache turned into its stored answer is
// seen as a cached response.
func (m *Metrics) middleware(installation string) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			res, err := next.RoundTrip(r)
			if m == nil {
				return res, err
			}
			if err != nil || res == nil {
				m.requests.WithLabelValues("error", "false").Inc()
				return res, err
			}
			cached := res.Header.Get(httpcache.XFromCache) != ""
			m.requests.WithLabelValues(statusClass(res.StatusCode), strconv.FormatBool(cached)).Inc()
			resource := res.Header.Get("X-RateLimit-Resource")
			if resource == "" {
				resource = "core"
			}
			if v, err := strconv.ParseFloat(res.Header.Get("X-RateLimit-Remaining"), 64); err == nil {
				m.remaining.WithLabelValues(installation, resource).Set(v)
			}
			if v, err := strconv.ParseFloat(res.Header.Get("X-RateLimit-Limit"), 64); err == nil {
				m.limit.WithLabelValues(installation, resource).Set(v)
			}
			return res, nil
		})
	}
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
