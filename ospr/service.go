package ospr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/store"
)

// ErrBusy says another reconcile of the same pull request is running.
var ErrBusy = errors.New("another reconcile of this pull request is running")

// Service reconciles pull requests for any installation: the ReconcilePR
// job, rescans and the drift repair all come through it.
type Service struct {
	Clients    githubapp.ClientCreator
	Reconciler *Reconciler
	// DB holds the per-pull-request locks.
	DB *pgxpool.Pool
}

// Reconcile reconciles owner/repo#number through installation's client,
// holding the pull request's lock; ErrBusy when another reconcile holds it.
func (s *Service) Reconcile(ctx context.Context, installation int64, owner, repo string, number int, dryRun bool) (Result, error) {
	return s.Run(ctx, installation, Request{Owner: owner, Repo: repo, Number: number, DryRun: dryRun})
}

// Run is Reconcile for a whole Request.
func (s *Service) Run(ctx context.Context, installation int64, req Request) (Result, error) {
	client, err := s.Clients.NewInstallationClient(installation)
	if err != nil {
		return Result{}, fmt.Errorf("creating the client of installation %d: %w", installation, err)
	}
	gh := RESTGitHub{Client: client}
	if req.DryRun {
		// A dry run writes nothing, so it needs no turn.
		return s.Reconciler.Run(ctx, gh, req)
	}
	var res Result
	locked, err := store.WithPullRequestLock(ctx, s.DB, req.Owner, req.Repo, req.Number, func() error {
		var err error
		res, err = s.Reconciler.Run(ctx, gh, req)
		return err
	})
	if err == nil && !locked {
		err = ErrBusy
	}
	return res, err
}

// AppIdentity is the app's own account: the login its comments and events
// carry ("<slug>[bot]"). GitHub's word wins: GET /app when it answers, or
// the login GitHub wrote osprey's comment under (Learn). A configured
// login (triage.app_login) serves until then, and is reported when wrong.
type AppIdentity struct {
	clients    githubapp.ClientCreator
	configured string

	mu       sync.Mutex
	login    string    // the best known
	verified bool      // GitHub said so
	asked    time.Time // when GitHub was last asked, to ask at most once a minute
}

// askAgain is how long AppIdentity waits before asking GitHub again after
// GET /app failed.
const askAgain = time.Minute

// NewAppIdentity returns the identity of the app clients authenticate as;
// login, when not empty, is used until GitHub has been asked.
func NewAppIdentity(clients githubapp.ClientCreator, login string) *AppIdentity {
	login = strings.ToLower(login)
	return &AppIdentity{clients: clients, configured: login, login: login}
}

// Login is the app's bot login, asking GitHub until it has answered once.
func (a *AppIdentity) Login(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verified || a.clients == nil || (a.login != "" && time.Since(a.asked) < askAgain) {
		if a.login == "" {
			return "", errors.New("the app's login is not known (no GitHub access, no triage.app_login)")
		}
		return a.login, nil
	}
	a.asked = time.Now()
	slug, err := a.slug(ctx)
	if err != nil {
		if a.login != "" {
			return a.login, nil // the configured one, until GitHub answers
		}
		return "", err
	}
	a.settle(ctx, slug+"[bot]")
	return a.login, nil
}

func (a *AppIdentity) slug(ctx context.Context) (string, error) {
	client, err := a.clients.NewAppClient()
	if err != nil {
		return "", fmt.Errorf("creating the app client: %w", err)
	}
	app, _, err := client.Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("reading the app's own identity (GET /app): %w", err)
	}
	if app.GetSlug() == "" {
		return "", errors.New("GitHub did not say the app's slug (GET /app)")
	}
	return strings.ToLower(app.GetSlug()), nil
}

// settle takes login as GitHub's word, saying so when triage.app_login
// disagrees. The caller holds mu.
func (a *AppIdentity) settle(ctx context.Context, login string) {
	login = strings.ToLower(login)
	if a.configured != "" && a.configured != login {
		zerolog.Ctx(ctx).Error().Str("configured", a.configured).Str("actual", login).
			Msg("GitHub knows osprey under another login than triage.app_login: using GitHub's; fix triage.app_login")
	}
	a.login, a.verified = login, true
}

// Learn makes login the app's login: GitHub wrote one of osprey's comments
// under it, so whatever was configured or read before is wrong.
func (a *AppIdentity) Learn(ctx context.Context, login string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verified && strings.EqualFold(a.login, login) {
		return
	}
	a.settle(ctx, login)
}

// Logins is Login as a list, for Reconciler.BotLogins.
func (a *AppIdentity) Logins(ctx context.Context) ([]string, error) {
	login, err := a.Login(ctx)
	if err != nil {
		return nil, err
	}
	return []string{login}, nil
}

// KnownLogins is the login if it is already known, without asking GitHub
// (handlers must not wait on GitHub inside a transaction). Until it is
// known, the app's own events are reconciled too, which is harmless: the
// reconcile finds nothing to change.
func (a *AppIdentity) KnownLogins() []string {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.login == "" {
		return nil
	}
	return []string{a.login}
}
