package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ospr"
)

// triage is the OSPR triage's wiring, built when triage.enabled is set: the
// follow-up that queues reconciles, the service that runs them, and the
// contributor data kept fresh.
type triage struct {
	service  *ospr.Service
	enqueuer *ospr.Enqueuer
	identity *ospr.AppIdentity
	loader   *ospr.DirectoryLoader
	jira     *ospr.JiraLoader // nil without jira.servers
	reload   time.Duration
	logger   zerolog.Logger
}

func newTriage(all Config, clients githubapp.ClientCreator, pool *pgxpool.Pool, inserter func() ospr.Inserter, registry prometheus.Registerer, logger zerolog.Logger) (*triage, error) {
	cfg := all.Triage
	var dir *os.Root
	templates, err := func() (*ospr.Templates, error) {
		if cfg.TemplatesDir == "" {
			return ospr.LoadTemplates(nil)
		}
		var err error
		if dir, err = os.OpenRoot(cfg.TemplatesDir); err != nil {
			return nil, err
		}
		defer dir.Close()
		return ospr.LoadTemplates(dir.FS())
	}()
	if err != nil {
		return nil, fmt.Errorf("triage.templates_dir (OSPREY_TRIAGE_TEMPLATES_DIR): %w", err)
	}
	logger = logger.With().Str("component", "triage").Logger()
	t := &triage{identity: ospr.NewAppIdentity(clients, cfg.AppLogin), reload: cfg.DataReload, logger: logger}
	t.enqueuer = &ospr.Enqueuer{Inserter: inserter, Identity: t.identity}
	t.loader = ospr.NewDirectoryLoader(ospr.DataSource(cfg.People), ospr.DataSource(cfg.Institutions), nil,
		ospr.RepoFileReaderFor(clients), logger)
	t.service = &ospr.Service{Clients: clients, DB: pool, Reconciler: &ospr.Reconciler{
		Defaults:          cfg.Rules,
		Directory:         t.directory,
		Templates:         templates,
		BotLogins:         t.identity.Logins,
		OwnCommentBy:      t.identity.Learn,
		PreviousBotLogins: cfg.PreviousBotLogins,
		Projects:          ospr.NewGraphQLProjects(ospr.InstallationV4ClientFor(clients)),
		Replica:           ospr.StoreReplica{DB: pool},
		BoardOwners:       cfg.BoardOwners,
	}}
	if all.Jira.Servers != "" {
		t.jira = ospr.NewJiraLoader(ospr.DataSource(all.Jira.Servers), nil, ospr.RepoFileReaderFor(clients), os.LookupEnv, logger)
		t.service.Reconciler.Jira = &ospr.JiraStep{Config: t.jira.Config, DB: pool, Timeout: all.Jira.Timeout, Healthy: jiraHealth(registry)}
	}
	if cfg.People == "" {
		logger.Warn().Msg("No contributor data configured (triage.people, triage.institutions): every outside author counts as having no agreement")
	}
	return t, nil
}

// start loads the contributor data and the app's identity, then keeps the
// data fresh until ctx ends. Failures are logged (loudly, by the loader)
// and tried again at the next reload.
func (t *triage) start(ctx context.Context) {
	if err := t.prepare(ctx); err != nil {
		t.logger.Warn().Err(err).Msg("The triage is not ready yet; reconciles wait and are retried until it is")
	}
	go func() {
		tick := time.NewTicker(t.reload)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := t.identity.Login(ctx); err != nil {
					t.logger.Warn().Err(err).Msg("Could not read the app's login")
				}
				if t.loaderConfigured() {
					_ = t.loader.Reload(ctx)
				}
				if t.jira != nil {
					_ = t.jira.Reload(ctx) // it logs its own failures
				}
			}
		}
	}()
}

// prepare reads the app's login and loads the contributor data, and says
// what failed.
func (t *triage) prepare(ctx context.Context) error {
	var errs []error
	if _, err := t.identity.Login(ctx); err != nil {
		errs = append(errs, err)
	}
	if t.loaderConfigured() {
		if err := t.loader.Reload(ctx); err != nil {
			errs = append(errs, fmt.Errorf("loading the contributor data: %w", err))
		}
	}
	if t.jira != nil {
		if err := t.jira.Reload(ctx); err != nil {
			errs = append(errs, fmt.Errorf("loading the Jira configuration: %w", err))
		}
	}
	return errors.Join(errs...)
}

// directory is the contributor data for the reconciler: with no data
// configured, an empty directory; with data configured, nothing until it
// has loaded.
func (t *triage) directory() *ospr.Directory {
	if !t.loaderConfigured() {
		return t.loader.Directory()
	}
	return t.loader.Loaded()
}

func (t *triage) loaderConfigured() bool { return t.loader != nil && t.loader.Configured() }

// jiraHealth is the osprey_jira_server_up gauge: 1 while a Jira server
// takes osprey's credentials, 0 after it refused them (401, 403).
func jiraHealth(registry prometheus.Registerer) func(nick string, ok bool) {
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "osprey_jira_server_up",
		Help: "1 while the Jira server took osprey's credentials on the last call, 0 after it refused them (401 or 403).",
	}, []string{"nick"})
	registry.MustRegister(up)
	return func(nick string, ok bool) {
		v := 0.0
		if ok {
			v = 1
		}
		up.WithLabelValues(strings.ToLower(nick)).Set(v)
	}
}
