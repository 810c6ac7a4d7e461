package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/inbox"
	"github.com/osprey-bot/osprey/ospr"
)

// Defaults for every setting, applied before config.yml and the environment.
const (
	DefaultAddress         = ":8080"
	DefaultDatabaseURL     = "postgres://127.0.0.1:5432/osprey?sslmode=disable"
	DefaultDatabaseConns   = 20
	DefaultCredentialsFile = "osprey-credentials.yml"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "json"
	DefaultWebURL          = "https://github.com"
	DefaultV3APIURL        = "https://api.github.com/"
	DefaultV4APIURL        = "https://api.github.com/graphql"
	DefaultGitHubTimeout   = 30 * time.Second
	DefaultCacheBytes      = 64 << 20
	DefaultMissingFileTTL  = 5 * time.Minute
	DefaultWorkers         = 50
	DefaultMaxAttempts     = 10
	DefaultHandlerTimeout  = time.Minute
	DefaultRescueAfter     = 5 * time.Minute
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultShutdownTimeout = 30 * time.Second
	DefaultTriageWorkers   = 10
	DefaultDataReload      = 5 * time.Minute
	DefaultJiraTimeout     = 30 * time.Second
	DefaultBackfillWorkers = 8
	// DefaultBackfillInstallationWorkers bounds one installation's
	// requests in flight; the other workers write pages already read (a
	// page job gives its slot back once its request is answered).
	DefaultBackfillInstallationWorkers = 6
	DefaultRateLimitReserve            = 500
)

// Config is the server configuration: config.yml, then the credentials file
// written by setup mode, then the environment (which always wins).
type Config struct {
	Address          string        `yaml:"address"`
	PublicURL        string        `yaml:"public_url"`
	DatabaseURL      string        `yaml:"database_url"`
	DatabaseMaxConns int           `yaml:"database_max_conns"`
	CredentialsFile  string        `yaml:"credentials_file"`
	ShutdownTimeout  time.Duration `yaml:"shutdown_timeout"`

	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`

	// GitHub holds go-githubapp's settings, under their own YAML names, and
	// osprey's additions beside them.
	GitHub struct {
		githubapp.Config `yaml:",inline"`

		PrivateKeyPath         string        `yaml:"private_key_path"`
		PreviousWebhookSecrets []string      `yaml:"previous_webhook_secrets"`
		Timeout                time.Duration `yaml:"timeout"`
		CacheBytes             int64         `yaml:"cache_bytes"`
		MissingFileTTL         time.Duration `yaml:"missing_file_ttl"`
	} `yaml:"github"`

	Deliveries struct {
		Workers        int           `yaml:"workers"`
		MaxAttempts    int           `yaml:"max_attempts"`
		HandlerTimeout time.Duration `yaml:"handler_timeout"`
		RescueAfter    time.Duration `yaml:"rescue_after"`
		Retention      time.Duration `yaml:"retention"`
	} `yaml:"deliveries"`

	Setup struct {
		Org string `yaml:"org"`
	} `yaml:"setup"`

	// AdminToken is the bearer token of the operator endpoints
	// (POST /api/rescan); empty turns them off.
	AdminToken string `yaml:"admin_token"`

	Triage TriageConfig `yaml:"triage"`

	Backfill struct {
		// PullRequestFiles reads a pull request's files again whenever it
		// is opened, reopened or gets new commits.
		PullRequestFiles bool `yaml:"pull_request_files"`
		Workers          int  `yaml:"workers"`
		// RateLimitReserve is the part of an installation's primary rate
		// limit backfill jobs leave to webhook-driven work.
		RateLimitReserve int `yaml:"rate_limit_reserve"`
		// InstallationWorkers bounds the scan pages of one installation
		// this replica reads at once.
		InstallationWorkers int `yaml:"installation_workers"`
		// OnInstall scans the repositories of a new installation, or those
		// added to one; OnInstallSince is how far back (0: everything).
		OnInstall      bool          `yaml:"on_install"`
		OnInstallSince time.Duration `yaml:"on_install_since"`
		// StaleAfter is how long a scan may show no sign of life before a
		// new request for the same scan takes it as abandoned.
		StaleAfter time.Duration `yaml:"stale_after"`
	} `yaml:"backfill"`

	Jira struct {
		// Servers is where the Jira servers file is (a path, a URL or
		// github:OWNER/REPO/PATH); empty: no Jira.
		Servers string        `yaml:"servers"`
		Timeout time.Duration `yaml:"timeout"`
	} `yaml:"jira"`
}

// TriageConfig is the server's side of the OSPR triage: whether it runs,
// where its data comes from, and the default rules that each
// organisation's and repository's osprey.yml apply over.
type TriageConfig struct {
	Enabled           bool          `yaml:"enabled"`
	Workers           int           `yaml:"workers"`
	AppLogin          string        `yaml:"app_login"`
	PreviousBotLogins []string      `yaml:"previous_bot_logins"`
	People            string        `yaml:"people"`
	Institutions      string        `yaml:"institutions"`
	DataReload        time.Duration `yaml:"data_reload"`
	TemplatesDir      string        `yaml:"templates_dir"`
	DriftRepair       time.Duration `yaml:"drift_repair"`
	BoardOwners       []string      `yaml:"board_owners"`
	// Rules are the defaults of every setting osprey.yml can change.
	Rules ospr.Rules `yaml:"rules"`
}

// Binding ties a setting to its YAML key and environment variable. Secret
// settings may also be read from the file named by NAME_FILE.
type Binding struct {
	env    string
	key    string
	target any
	secret bool
}

// Env is the environment variable that overrides the setting.
func (b Binding) Env() string { return b.env }

// Key is the setting's dotted path in config.yml.
func (b Binding) Key() string { return b.key }

// Bindings lists every setting with its YAML key and environment variable.
// It is the single source for loading, for `osprey config` output and for the
// test that keeps config.yml and docs/configuration.md complete.
func (c *Config) Bindings() []Binding {
	g, t := &c.GitHub, &c.Triage
	return []Binding{
		{env: "OSPREY_ADDRESS", key: "address", target: &c.Address},
		{env: "OSPREY_PUBLIC_URL", key: "public_url", target: &c.PublicURL},
		{env: "OSPREY_DATABASE_URL", key: "database_url", target: &c.DatabaseURL, secret: true},
		{env: "OSPREY_DATABASE_MAX_CONNS", key: "database_max_conns", target: &c.DatabaseMaxConns},
		{env: "OSPREY_CREDENTIALS_FILE", key: "credentials_file", target: &c.CredentialsFile},
		{env: "OSPREY_SHUTDOWN_TIMEOUT", key: "shutdown_timeout", target: &c.ShutdownTimeout},
		{env: "OSPREY_LOG_LEVEL", key: "log.level", target: &c.Log.Level},
		{env: "OSPREY_LOG_FORMAT", key: "log.format", target: &c.Log.Format},
		{env: "GITHUB_WEB_URL", key: "github.web_url", target: &g.WebURL},
		{env: "GITHUB_V3_API_URL", key: "github.v3_api_url", target: &g.V3APIURL},
		{env: "GITHUB_V4_API_URL", key: "github.v4_api_url", target: &g.V4APIURL},
		{env: "GITHUB_APP_INTEGRATION_ID", key: "github.app.integration_id", target: &g.App.IntegrationID},
		{env: "GITHUB_APP_WEBHOOK_SECRET", key: "github.app.webhook_secret", target: &g.App.WebhookSecret, secret: true},
		{env: "GITHUB_APP_PRIVATE_KEY", key: "github.app.private_key", target: &g.App.PrivateKey, secret: true},
		{env: "GITHUB_APP_PRIVATE_KEY_PATH", key: "github.private_key_path", target: &g.PrivateKeyPath},
		{env: "GITHUB_OAUTH_CLIENT_ID", key: "github.oauth.client_id", target: &g.OAuth.ClientID},
		{env: "GITHUB_OAUTH_CLIENT_SECRET", key: "github.oauth.client_secret", target: &g.OAuth.ClientSecret, secret: true},
		{env: "OSPREY_PREVIOUS_WEBHOOK_SECRETS", key: "github.previous_webhook_secrets", target: &g.PreviousWebhookSecrets, secret: true},
		{env: "OSPREY_GITHUB_TIMEOUT", key: "github.timeout", target: &g.Timeout},
		{env: "OSPREY_GITHUB_CACHE_BYTES", key: "github.cache_bytes", target: &g.CacheBytes},
		{env: "OSPREY_GITHUB_MISSING_FILE_TTL", key: "github.missing_file_ttl", target: &g.MissingFileTTL},
		{env: "OSPREY_DELIVERY_WORKERS", key: "deliveries.workers", target: &c.Deliveries.Workers},
		{env: "OSPREY_DELIVERY_MAX_ATTEMPTS", key: "deliveries.max_attempts", target: &c.Deliveries.MaxAttempts},
		{env: "OSPREY_HANDLER_TIMEOUT", key: "deliveries.handler_timeout", target: &c.Deliveries.HandlerTimeout},
		{env: "OSPREY_RESCUE_AFTER", key: "deliveries.rescue_after", target: &c.Deliveries.RescueAfter},
		{env: "OSPREY_DELIVERY_RETENTION", key: "deliveries.retention", target: &c.Deliveries.Retention},
		{env: "OSPREY_SETUP_ORG", key: "setup.org", target: &c.Setup.Org},
		{env: "OSPREY_ADMIN_TOKEN", key: "admin_token", target: &c.AdminToken, secret: true},
		{env: "OSPREY_TRIAGE_ENABLED", key: "triage.enabled", target: &t.Enabled},
		{env: "OSPREY_TRIAGE_WORKERS", key: "triage.workers", target: &t.Workers},
		{env: "OSPREY_TRIAGE_APP_LOGIN", key: "triage.app_login", target: &t.AppLogin},
		{env: "OSPREY_TRIAGE_PREVIOUS_BOT_LOGINS", key: "triage.previous_bot_logins", target: &t.PreviousBotLogins},
		{env: "OSPREY_TRIAGE_PEOPLE", key: "triage.people", target: &t.People},
		{env: "OSPREY_TRIAGE_INSTITUTIONS", key: "triage.institutions", target: &t.Institutions},
		{env: "OSPREY_TRIAGE_DATA_RELOAD", key: "triage.data_reload", target: &t.DataReload},
		{env: "OSPREY_TRIAGE_TEMPLATES_DIR", key: "triage.templates_dir", target: &t.TemplatesDir},
		{env: "OSPREY_TRIAGE_DRIFT_REPAIR", key: "triage.drift_repair", target: &t.DriftRepair},
		{env: "OSPREY_TRIAGE_BOARD_OWNERS", key: "triage.board_owners", target: &t.BoardOwners},
		{env: "OSPREY_BACKFILL_PULL_REQUEST_FILES", key: "backfill.pull_request_files", target: &c.Backfill.PullRequestFiles},
		{env: "OSPREY_BACKFILL_WORKERS", key: "backfill.workers", target: &c.Backfill.Workers},
		{env: "OSPREY_BACKFILL_RATE_LIMIT_RESERVE", key: "backfill.rate_limit_reserve", target: &c.Backfill.RateLimitReserve},
		{env: "OSPREY_BACKFILL_INSTALLATION_WORKERS", key: "backfill.installation_workers", target: &c.Backfill.InstallationWorkers},
		{env: "OSPREY_BACKFILL_ON_INSTALL", key: "backfill.on_install", target: &c.Backfill.OnInstall},
		{env: "OSPREY_BACKFILL_ON_INSTALL_SINCE", key: "backfill.on_install_since", target: &c.Backfill.OnInstallSince},
		{env: "OSPREY_BACKFILL_STALE_AFTER", key: "backfill.stale_after", target: &c.Backfill.StaleAfter},
		{env: "OSPREY_JIRA_SERVERS", key: "jira.servers", target: &c.Jira.Servers},
		{env: "OSPREY_JIRA_TIMEOUT", key: "jira.timeout", target: &c.Jira.Timeout},
	}
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.Address = DefaultAddress
	c.DatabaseURL = DefaultDatabaseURL
	c.DatabaseMaxConns = DefaultDatabaseConns
	c.CredentialsFile = DefaultCredentialsFile
	c.ShutdownTimeout = DefaultShutdownTimeout
	c.Log.Level = DefaultLogLevel
	c.Log.Format = DefaultLogFormat
	c.GitHub.WebURL = DefaultWebURL
	c.GitHub.V3APIURL = DefaultV3APIURL
	c.GitHub.V4APIURL = DefaultV4APIURL
	c.GitHub.Timeout = DefaultGitHubTimeout
	c.GitHub.CacheBytes = DefaultCacheBytes
	c.GitHub.MissingFileTTL = DefaultMissingFileTTL
	c.Deliveries.Workers = DefaultWorkers
	c.Deliveries.MaxAttempts = DefaultMaxAttempts
	c.Deliveries.HandlerTimeout = DefaultHandlerTimeout
	c.Deliveries.RescueAfter = DefaultRescueAfter
	c.Deliveries.Retention = DefaultRetention
	c.Triage.Workers = DefaultTriageWorkers
	c.Triage.DataReload = DefaultDataReload
	c.Triage.Rules = ospr.DefaultRules()
	c.Jira.Timeout = DefaultJiraTimeout
	c.Backfill.Workers = DefaultBackfillWorkers
	c.Backfill.RateLimitReserve = DefaultRateLimitReserve
	c.Backfill.InstallationWorkers = DefaultBackfillInstallationWorkers
	c.Backfill.OnInstall = true
	c.Backfill.StaleAfter = backfill.DefaultStaleAfter
	return c
}

// LoadConfig reads the configuration in layers, each overriding the one
// before: defaults, the YAML file at path (optional when path is empty and
// ./config.yml does not exist), the credentials file if it exists, and the
// environment given by lookup. The result is validated; an error names the
// key or variable at fault.
func LoadConfig(path string, lookup func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	if path == "" {
		if _, err := os.Stat("config.yml"); err == nil {
			path = "config.yml"
		}
	}
	if path != "" {
		if err := c.layer(func() error { return decodeYAMLFile(path, &c) }); err != nil {
			return c, err
		}
	}
	credentials := c.CredentialsFile
	if v, ok := lookup("OSPREY_CREDENTIALS_FILE"); ok {
		credentials = v
	}
	if credentials != "" {
		if _, err := os.Stat(credentials); err == nil {
			if err := c.layer(func() error { return decodeYAMLFile(credentials, &c) }); err != nil {
				return c, err
			}
		}
	}
	if err := c.layer(func() error { return c.applyEnv(lookup) }); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// layer applies one configuration layer. A private key path that the layer
// sets (without setting the key itself) is read at once, so that the key
// takes that layer's precedence: a path in the environment beats a key in a
// file, and a key in the environment beats a path in a file.
func (c *Config) layer(apply func() error) error {
	pathBefore, keyBefore := c.GitHub.PrivateKeyPath, c.GitHub.App.PrivateKey
	if err := apply(); err != nil {
		return err
	}
	path := c.GitHub.PrivateKeyPath
	if path == "" || path == pathBefore || c.GitHub.App.PrivateKey != keyBefore {
		return nil
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("github.private_key_path (GITHUB_APP_PRIVATE_KEY_PATH): %w", err)
	}
	c.GitHub.App.PrivateKey = string(key)
	return nil
}

func decodeYAMLFile(path string, c *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading configuration: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	// The generic name first, so that OSPREY_DATABASE_URL (or its _FILE)
	// still wins over it.
	if v, ok := lookup("DATABASE_URL"); ok && v != "" {
		c.DatabaseURL = v
	}
	for _, b := range c.Bindings() {
		value, ok := lookup(b.env)
		separator := ","
		if b.secret {
			if file, hasFile := lookup(b.env + "_FILE"); hasFile && file != "" {
				data, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("%s_FILE: %w", b.env, err)
				}
				// A list in a file has one item a line: secrets may hold commas.
				value, ok, separator = strings.TrimRight(string(data), "\r\n"), true, "\n"
			}
		}
		if !ok {
			continue
		}
		if err := setFromString(b.target, value, separator); err != nil {
			return fmt.Errorf("%s (%s): %w", b.env, b.key, err)
		}
	}
	return nil
}

// setFromString parses value into target; lists are split on separator.
func setFromString(target any, value, separator string) error {
	switch t := target.(type) {
	case *string:
		*t = value
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
		*t = b
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		*t = n
	case *int64:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		*t = n
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 5m", value)
		}
		*t = d
	case *[]string:
		*t = nil
		for _, part := range strings.Split(value, separator) {
			if part = strings.TrimSpace(part); part != "" {
				*t = append(*t, part)
			}
		}
	default:
		return fmt.Errorf("unsupported setting type %T", target)
	}
	return nil
}

// SetupMode reports whether the app is not configured yet (no app id and no
// private key): the server then only offers the setup page.
func (c *Config) SetupMode() bool {
	return c.GitHub.App.IntegrationID == 0 && c.GitHub.App.PrivateKey == ""
}

// WebhookSecrets lists the accepted webhook secrets, the current one first.
func (c *Config) WebhookSecrets() []string {
	return append([]string{c.GitHub.App.WebhookSecret}, c.GitHub.PreviousWebhookSecrets...)
}

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	var problems []string
	bad := func(key, env, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s (%s): %s", key, env, fmt.Sprintf(format, args...)))
	}
	if c.Address == "" {
		bad("address", "OSPREY_ADDRESS", "must not be empty")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
			bad("public_url", "OSPREY_PUBLIC_URL", "%q is not an absolute URL", c.PublicURL)
		}
	}
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		bad("log.level", "OSPREY_LOG_LEVEL", "%q is not one of trace, debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		bad("log.format", "OSPREY_LOG_FORMAT", "%q is not json or console", c.Log.Format)
	}
	if c.DatabaseURL == "" {
		bad("database_url", "OSPREY_DATABASE_URL", "must not be empty")
	}
	if c.DatabaseMaxConns < 2 {
		bad("database_max_conns", "OSPREY_DATABASE_MAX_CONNS", "must be at least 2, not %d", c.DatabaseMaxConns)
	}
	for _, u := range []struct{ key, env, value string }{
		{"github.web_url", "GITHUB_WEB_URL", c.GitHub.WebURL},
		{"github.v3_api_url", "GITHUB_V3_API_URL", c.GitHub.V3APIURL},
		{"github.v4_api_url", "GITHUB_V4_API_URL", c.GitHub.V4APIURL},
	} {
		if parsed, err := url.Parse(u.value); err != nil || parsed.Scheme == "" || parsed.Host == "" {
			bad(u.key, u.env, "%q is not an absolute URL", u.value)
		}
	}
	if c.GitHub.Timeout <= 0 {
		bad("github.timeout", "OSPREY_GITHUB_TIMEOUT", "must be positive")
	}
	if c.GitHub.CacheBytes < 1<<20 {
		bad("github.cache_bytes", "OSPREY_GITHUB_CACHE_BYTES", "must be at least 1048576 (1 MiB), not %d", c.GitHub.CacheBytes)
	}
	if c.GitHub.MissingFileTTL < 0 {
		bad("github.missing_file_ttl", "OSPREY_GITHUB_MISSING_FILE_TTL", "must be 0 (always ask) or positive")
	}
	if c.Deliveries.Workers < 1 {
		bad("deliveries.workers", "OSPREY_DELIVERY_WORKERS", "must be at least 1")
	}
	if c.Deliveries.MaxAttempts < 1 {
		bad("deliveries.max_attempts", "OSPREY_DELIVERY_MAX_ATTEMPTS", "must be at least 1")
	}
	if c.Deliveries.HandlerTimeout <= 0 {
		bad("deliveries.handler_timeout", "OSPREY_HANDLER_TIMEOUT", "must be positive")
	}
	if minimum := c.Deliveries.HandlerTimeout + inbox.WorkerGrace; c.Deliveries.RescueAfter <= minimum {
		bad("deliveries.rescue_after", "OSPREY_RESCUE_AFTER", "must exceed handler_timeout by more than %s (%s is not more than %s)",
			inbox.WorkerGrace, c.Deliveries.RescueAfter, minimum)
	}
	if c.Deliveries.Retention < 0 || (c.Deliveries.Retention > 0 && c.Deliveries.Retention < time.Hour) {
		bad("deliveries.retention", "OSPREY_DELIVERY_RETENTION", "must be 0 (keep everything) or at least 1h, not %s", c.Deliveries.Retention)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "OSPREY_SHUTDOWN_TIMEOUT", "must be positive")
	}
	t := &c.Triage
	if t.Workers < 1 {
		bad("triage.workers", "OSPREY_TRIAGE_WORKERS", "must be at least 1")
	}
	if t.Enabled && t.Workers > c.DatabaseMaxConns-2 {
		// Each reconcile holds a connection for its pull request's lock
		// and needs a second one now and then: as many reconciles as
		// connections would wait on each other for good.
		bad("triage.workers", "OSPREY_TRIAGE_WORKERS", "must be at most database_max_conns - 2 (%d), not %d: each reconcile holds a database connection",
			c.DatabaseMaxConns-2, t.Workers)
	}
	if t.DataReload < time.Second {
		bad("triage.data_reload", "OSPREY_TRIAGE_DATA_RELOAD", "must be at least 1s, not %s", t.DataReload)
	}
	if t.DriftRepair < 0 || (t.DriftRepair > 0 && t.DriftRepair < time.Minute) {
		bad("triage.drift_repair", "OSPREY_TRIAGE_DRIFT_REPAIR", "must be 0 (off) or at least 1m, not %s", t.DriftRepair)
	}
	if t.Enabled && (t.People == "") != (t.Institutions == "") {
		bad("triage.people", "OSPREY_TRIAGE_PEOPLE", "and triage.institutions (OSPREY_TRIAGE_INSTITUTIONS) must be set together")
	}
	if err := t.Rules.Validate(); err != nil {
		var se *ospr.SettingError
		key := "triage.rules"
		if errors.As(err, &se) {
			key += "." + se.Key
		}
		bad(key, "config.yml only", "%v", err)
	}
	if c.Backfill.RateLimitReserve < 0 {
		bad("backfill.rate_limit_reserve", "OSPREY_BACKFILL_RATE_LIMIT_RESERVE", "must not be negative")
	}
	if c.Backfill.InstallationWorkers < 0 {
		bad("backfill.installation_workers", "OSPREY_BACKFILL_INSTALLATION_WORKERS", "must not be negative (0: no bound)")
	}
	if c.Backfill.OnInstallSince < 0 {
		bad("backfill.on_install_since", "OSPREY_BACKFILL_ON_INSTALL_SINCE", "must not be negative (0: everything)")
	}
	if c.Backfill.StaleAfter < time.Minute {
		bad("backfill.stale_after", "OSPREY_BACKFILL_STALE_AFTER", "must be at least a minute")
	}
	if c.Backfill.Workers < 1 {
		bad("backfill.workers", "OSPREY_BACKFILL_WORKERS", "must be at least 1")
	}
	if c.Jira.Timeout <= 0 {
		bad("jira.timeout", "OSPREY_JIRA_TIMEOUT", "must be positive")
	}
	app := c.GitHub.App
	if !c.SetupMode() {
		if app.IntegrationID <= 0 {
			bad("github.app.integration_id", "GITHUB_APP_INTEGRATION_ID", "must be the app's numeric id when a private key is set")
		}
		if app.PrivateKey == "" {
			bad("github.app.private_key", "GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_PATH", "must be set when the app id is set")
		}
		if app.WebhookSecret == "" {
			bad("github.app.webhook_secret", "GITHUB_APP_WEBHOOK_SECRET", "must be set: osprey refuses to accept unsigned deliveries")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// NewLogger builds the root logger the configuration asks for.
func (c *Config) NewLogger(out io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(c.Log.Level)
	if c.Log.Format == "console" {
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}
