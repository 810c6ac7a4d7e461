package ospr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/jiramap"
)

// JiraConfig is the Jira configuration in use: the servers and, by
// lower-cased nickname, each server's mapping. A nickname missing from
// Mappings has no mapping loaded yet (Problems says why).
type JiraConfig struct {
	Servers  jiramap.Servers
	Mappings map[string]jiramap.Mapping
	Problems map[string]error
}

// Resolve says which server, project and type a jira:<nick> label means for
// repository owner/name, or why it cannot (ErrNoJiraServer,
// ErrNoJiraMapping, or a mapping file not loaded).
func (c *JiraConfig) Resolve(nick, repo string) (jiramap.Server, jiramap.Target, error) {
	srv, ok := c.Servers.Lookup(nick)
	if !ok {
		return jiramap.Server{}, jiramap.Target{}, ErrNoJiraServer
	}
	key := strings.ToLower(srv.Nick)
	m, ok := c.Mappings[key]
	if !ok {
		return srv, jiramap.Target{}, fmt.Errorf("jira:%s: its mapping file is not loaded: %w", srv.Nick, c.Problems[key])
	}
	target, ok := m.Resolve(repo)
	if !ok {
		return srv, jiramap.Target{}, ErrNoJiraMapping
	}
	return srv, target, nil
}

// ErrNoJiraServer is a jira:<nick> label whose nickname the servers file
// does not have; ErrNoJiraMapping a repository the server's mapping file
// does not map.
var (
	ErrNoJiraServer  = errors.New("no Jira server has this nickname")
	ErrNoJiraMapping = errors.New("the server's mapping file maps no project and issue type for this repository")
)

// JiraLoader keeps the Jira configuration current from the servers file and
// every mapping file it names, with revalidation like the contributor
// data: a file that changed is parsed; a broken one leaves the last good
// copy in use and is logged as an error at every reload until fixed.
type JiraLoader struct {
	servers   *fetcher
	client    *http.Client
	repo      RepoFileReader
	lookupEnv func(string) (string, bool)
	logger    zerolog.Logger

	reload   sync.Mutex          // one reload at a time; guards the fetchers
	mappings map[string]*fetcher // by source

	mu      sync.Mutex // guards current
	current *JiraConfig
}

// NewJiraLoader reads the servers file from servers; lookupEnv finds the
// tokens named by token_env.
func NewJiraLoader(servers DataSource, client *http.Client, repo RepoFileReader, lookupEnv func(string) (string, bool), logger zerolog.Logger) *JiraLoader {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &JiraLoader{servers: &fetcher{source: servers, client: client, repo: repo}, client: client, repo: repo,
		lookupEnv: lookupEnv, logger: logger, mappings: map[string]*fetcher{},
		current: &JiraConfig{Servers: jiramap.Servers{}, Mappings: map[string]jiramap.Mapping{}, Problems: map[string]error{}}}
}

// Config is the configuration in use (empty before the first good load).
func (l *JiraLoader) Config() *JiraConfig {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current
}

// Reload reads whatever changed and returns this reload's errors.
func (l *JiraLoader) Reload(ctx context.Context) error {
	l.reload.Lock()
	defer l.reload.Unlock()
	old := l.Config()
	next := &JiraConfig{Servers: old.Servers, Mappings: map[string]jiramap.Mapping{}, Problems: map[string]error{}}
	var errs []error
	if data, err := l.servers.fetch(ctx); err != nil {
		errs = append(errs, err)
	} else if data != nil {
		servers, err := jiramap.ParseServers(data, l.lookupEnv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.servers.source.Redacted(), err))
			l.servers.forget()
		} else {
			next.Servers = servers
		}
	}
	for _, nick := range next.Servers.Nicks() {
		srv := next.Servers[nick]
		f := l.mappings[srv.Mapping]
		if f == nil {
			f = &fetcher{source: DataSource(srv.Mapping), client: l.client, repo: l.repo}
			l.mappings[srv.Mapping] = f
		}
		prev, hadPrev := old.Mappings[nick]
		data, err := f.fetch(ctx)
		switch {
		case err != nil:
			err = fmt.Errorf("jira:%s mapping: %w", srv.Nick, err)
		case data == nil && hadPrev:
			next.Mappings[nick] = prev // unchanged
			continue
		case data == nil:
			// Unchanged, but never parsed for this nickname (another
			// server shares the file and read it first): read it again.
			f.forget()
			if data, err = f.fetch(ctx); err != nil {
				err = fmt.Errorf("jira:%s mapping: %w", srv.Nick, err)
			}
		}
		if err == nil {
			var m jiramap.Mapping
			if m, err = jiramap.ParseMapping(data); err == nil {
				next.Mappings[nick] = m
				continue
			}
			err = fmt.Errorf("jira:%s mapping %s: %w", srv.Nick, DataSource(srv.Mapping).Redacted(), err)
			f.forget()
		}
		errs = append(errs, err)
		next.Problems[nick] = err
		if hadPrev {
			next.Mappings[nick] = prev // the last good copy stays in use
		}
	}
	l.mu.Lock()
	l.current = next
	l.mu.Unlock()
	err := errors.Join(errs...)
	if err != nil {
		l.logger.Error().Err(err).Msg("Jira configuration could not be loaded in full: the last good copies stay in use")
	}
	return err
}

// Nicks lists the configured nicknames as the servers file spells them.
func (c *JiraConfig) Nicks() []string {
	var out []string
	for _, s := range c.Servers {
		out = append(out, s.Nick)
	}
	sort.Strings(out)
	return out
}
