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
	// Loaded is false until the servers file has been read once.
	Loaded   bool
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

	reload   sync.Mutex                 // one reload at a time; guards the two maps below
	mappings map[string]*fetcher        // by source
	parsed   map[string]jiramap.Mapping // the last good copy of each mapping file, by source

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
		lookupEnv: lookupEnv, logger: logger, mappings: map[string]*fetcher{}, parsed: map[string]jiramap.Mapping{},
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
	next := &JiraConfig{Loaded: old.Loaded, Servers: old.Servers, Mappings: map[string]jiramap.Mapping{}, Problems: map[string]error{}}
	var errs []error
	if data, err := l.servers.fetch(ctx); err != nil {
		errs = append(errs, err)
	} else if data != nil {
		servers, err := jiramap.ParseServers(data, l.lookupEnv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.servers.source.Redacted(), err))
			l.servers.forget()
		} else {
			next.Servers, next.Loaded = servers, true
		}
	}
	// Each mapping file is read and parsed once per reload, however many
	// servers share it; a broken one keeps its last good copy.
	read := map[string]error{}
	for _, nick := range next.Servers.Nicks() {
		srv := next.Servers[nick]
		source := srv.Mapping
		if _, done := read[source]; !done {
			read[source] = l.readMapping(ctx, source)
		}
		if m, ok := l.parsed[source]; ok {
			next.Mappings[nick] = m
		}
		if err := read[source]; err != nil {
			err = fmt.Errorf("jira:%s mapping: %w", srv.Nick, err)
			next.Problems[nick] = err
			errs = append(errs, err)
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

// readMapping reads the mapping file at source if it changed and keeps its
// parsed copy; the caller holds l.reload.
func (l *JiraLoader) readMapping(ctx context.Context, source string) error {
	f := l.mappings[source]
	if f == nil {
		f = &fetcher{source: DataSource(source), client: l.client, repo: l.repo}
		l.mappings[source] = f
	}
	data, err := f.fetch(ctx)
	if err != nil || data == nil {
		return err // unchanged: the parsed copy stands
	}
	m, err := jiramap.ParseMapping(data)
	if err != nil {
		f.forget()
		return fmt.Errorf("%s: %w", DataSource(source).Redacted(), err)
	}
	l.parsed[source] = m
	return nil
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
