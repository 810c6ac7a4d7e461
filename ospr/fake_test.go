package ospr

import (
	"net/http"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/internal/fakegithub"
)

// newFakeGitHub starts a fake GitHub for the test app and returns it with
// osprey's real client creator pointed at it (ETag cache and missing-file
// memory included). transport, when not nil, carries the requests.
func newFakeGitHub(t *testing.T, transport http.RoundTripper) (*fakegithub.Server, githubapp.ClientCreator) {
	t.Helper()
	fake, cfg, err := fakegithub.NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	creator, err := ghclient.NewCreator(cfg, ghclient.Options{UserAgent: "osprey/test", Timeout: 5 * time.Second, CacheBytes: 1 << 20,
		Transport: transport, Metrics: ghclient.NewMetrics(prometheus.NewRegistry()), MissingFileTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return fake, creator
}
