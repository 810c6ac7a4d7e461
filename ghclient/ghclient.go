// Package ghclient builds osprey's GitHub clients: go-githubapp's client
// creator with a revalidating ETag cache bounded in bytes, a user agent, a
// timeout, request logging and Prometheus metrics for every request.
package ghclient

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/die-net/lrucache"
	"github.com/google/go-github/v60/github"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
	"github.com/shurcooL/githubv4"
	"golang.org/x/oauth2"
)

// Options configure the clients.
type Options struct {
	UserAgent  string        // e.g. osprey/1.2.3
	Timeout    time.Duration // per request
	CacheBytes int64         // size of the shared ETag cache
	Transport  http.RoundTripper
	Metrics    *Metrics
	// MissingFileTTL is how long a repository file GitHub said does not
	// exist is taken as missing without asking again; 0 asks every time.
	MissingFileTTL time.Duration
	// Budget, when set, learns each installation's rate limit from its
	// answers.
	Budget *Budget
}

// NewCreator returns the ClientCreator for the app described by cfg. All
// clients share one ETag cache of opts.CacheBytes bytes; every GET is
// revalidated with GitHub (If-None-Match), so no response is ever stale, and
// a 304 costs nothing against the rate limit. Installation clients are reused
// (their tokens with them) through go-githubapp's caching creator.
func NewCreator(cfg githubapp.Config, opts Options) (githubapp.ClientCreator, error) {
	c, err := newCreator(cfg, opts)
	if err != nil {
		return nil, err
	}
	return githubapp.NewCachingClientCreator(c, githubapp.DefaultCachingClientCapacity)
}

func newCreator(cfg githubapp.Config, opts Options) (*creator, error) {
	if _, err := ghinstallation.NewAppsTransport(http.DefaultTransport, cfg.App.IntegrationID, []byte(cfg.App.PrivateKey)); err != nil {
		return nil, fmt.Errorf("the GitHub App private key is not a valid RSA key in PEM form: %w", err)
	}
	cache := lrucache.New(opts.CacheBytes, 0)
	base := []githubapp.ClientOption{
		githubapp.WithClientUserAgent(opts.UserAgent),
		githubapp.WithClientTimeout(opts.Timeout),
		githubapp.WithClientCaching(true, func() httpcache.Cache { return cache }),
	}
	if opts.Transport != nil {
		base = append(base, githubapp.WithTransport(opts.Transport))
	}
	return &creator{cfg: cfg, base: base, metrics: opts.Metrics, missing: newMissingFiles(opts.MissingFileTTL), budget: opts.Budget}, nil
}

// creator builds one go-githubapp creator per installation so that the
// metrics middleware knows which installation's rate limit it is reading.
type creator struct {
	cfg     githubapp.Config
	base    []githubapp.ClientOption
	metrics *Metrics
	missing *missingFiles
	budget  *Budget
}

func (c *creator) forInstallation(id int64) githubapp.ClientCreator {
	label := "app"
	if id != 0 {
		label = strconv.FormatInt(id, 10)
	}
	opts := append([]githubapp.ClientOption{}, c.base...)
	opts = append(opts, githubapp.WithClientMiddleware(
		c.missing.middleware(label),
		githubapp.ClientLogging(zerolog.DebugLevel),
		c.metrics.middleware(label),
		c.budget.middleware(label),
		countRequests,
		drainOnClose,
	))
	return githubapp.NewClientCreator(c.cfg.V3APIURL, c.cfg.V4APIURL, c.cfg.App.IntegrationID, []byte(c.cfg.App.PrivateKey), opts...)
}

func (c *creator) NewAppClient() (*github.Client, error) { return c.forInstallation(0).NewAppClient() }

func (c *creator) NewAppV4Client() (*githubv4.Client, error) {
	return c.forInstallation(0).NewAppV4Client()
}

func (c *creator) NewInstallationClient(id int64) (*github.Client, error) {
	return c.forInstallation(id).NewInstallationClient(id)
}

func (c *creator) NewInstallationV4Client(id int64) (*githubv4.Client, error) {
	return c.forInstallation(id).NewInstallationV4Client(id)
}

func (c *creator) NewTokenClient(token string) (*github.Client, error) {
	return c.forInstallation(0).NewTokenClient(token)
}

func (c *creator) NewTokenSourceClient(ts oauth2.TokenSource) (*github.Client, error) {
	return c.forInstallation(0).NewTokenSourceClient(ts)
}

func (c *creator) NewTokenV4Client(token string) (*githubv4.Client, error) {
	return c.forInstallation(0).NewTokenV4Client(token)
}

func (c *creator) NewTokenSourceV4Client(ts oauth2.TokenSource) (*githubv4.Client, error) {
	return c.forInstallation(0).NewTokenSourceV4Client(ts)
}

var _ githubapp.ClientCreator = &creator{}
