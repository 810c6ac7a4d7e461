package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/server"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestConfigExampleIsCompleteAndLoads(t *testing.T) {
	example, err := os.ReadFile("../config.yml")
	if err != nil {
		t.Fatal(err)
	}
	reference, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := server.LoadConfig("../config.yml", env(nil))
	if err != nil {
		t.Fatalf("config.yml does not load: %v", err)
	}
	if defaults := server.DefaultConfig(); cfg.Address != defaults.Address || cfg.Deliveries != defaults.Deliveries ||
		cfg.GitHub.CacheBytes != defaults.GitHub.CacheBytes || cfg.DatabaseURL != defaults.DatabaseURL {
		t.Errorf("config.yml's values differ from the defaults it claims to show")
	}
	var c server.Config
	for _, b := range c.Bindings() {
		if !strings.Contains(string(example), b.Env()) {
			t.Errorf("config.yml does not name %s", b.Env())
		}
		if !strings.Contains(string(reference), "`"+b.Env()+"`") || !strings.Contains(string(reference), "`"+b.Key()+"`") {
			t.Errorf("docs/configuration.md does not document %s (%s)", b.Key(), b.Env())
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte("-----BEGIN RSA PRIVATE KEY-----\nfrom file\n-----END RSA PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("secret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := map[string]string{"GITHUB_APP_INTEGRATION_ID": "12", "GITHUB_APP_PRIVATE_KEY": "k", "GITHUB_APP_WEBHOOK_SECRET": "s"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range app {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		check   func(t *testing.T, c server.Config)
		wantErr string // substring; empty means no error
	}{
		{name: "no file, no environment: setup mode with defaults", check: func(t *testing.T, c server.Config) {
			if !c.SetupMode() || c.Address != ":8080" || c.Deliveries.Workers != server.DefaultWorkers {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "file values apply", yaml: "address: \":9000\"\ndeliveries:\n  workers: 7\n", env: app, check: func(t *testing.T, c server.Config) {
			if c.Address != ":9000" || c.Deliveries.Workers != 7 {
				t.Errorf("address %q workers %d", c.Address, c.Deliveries.Workers)
			}
		}},
		{name: "environment beats the file", yaml: "address: \":9000\"\n", env: with(map[string]string{"OSPREY_ADDRESS": ":9100", "OSPREY_HANDLER_TIMEOUT": "90s", "OSPREY_RESCUE_AFTER": "10m"}),
			check: func(t *testing.T, c server.Config) {
				if c.Address != ":9100" || c.Deliveries.HandlerTimeout != 90*time.Second {
					t.Errorf("address %q handler timeout %s", c.Address, c.Deliveries.HandlerTimeout)
				}
			}},
		{name: "go-githubapp names fill the app", env: with(map[string]string{"GITHUB_V3_API_URL": "https://ghe.example.com/api/v3/"}), check: func(t *testing.T, c server.Config) {
			if c.SetupMode() || c.GitHub.App.IntegrationID != 12 || c.GitHub.V3APIURL != "https://ghe.example.com/api/v3/" {
				t.Errorf("got %+v", c.GitHub)
			}
		}},
		{name: "secrets from files", env: map[string]string{"GITHUB_APP_INTEGRATION_ID": "12", "GITHUB_APP_PRIVATE_KEY_PATH": keyFile, "GITHUB_APP_WEBHOOK_SECRET_FILE": secretFile},
			check: func(t *testing.T, c server.Config) {
				if !strings.Contains(c.GitHub.App.PrivateKey, "from file") || c.GitHub.App.WebhookSecret != "secret-from-file" {
					t.Errorf("key %q secret %q", c.GitHub.App.PrivateKey, c.GitHub.App.WebhookSecret)
				}
			}},
		{name: "previous secrets from the environment", env: with(map[string]string{"OSPREY_PREVIOUS_WEBHOOK_SECRETS": "old1, old2"}), check: func(t *testing.T, c server.Config) {
			if got := c.WebhookSecrets(); len(got) != 3 || got[0] != "s" || got[2] != "old2" {
				t.Errorf("secrets %q", got)
			}
		}},
		{name: "DATABASE_URL is honoured", env: with(map[string]string{"DATABASE_URL": "postgres://db.example/osprey"}), check: func(t *testing.T, c server.Config) {
			if c.DatabaseURL != "postgres://db.example/osprey" {
				t.Errorf("database url %q", c.DatabaseURL)
			}
		}},
		{name: "OSPREY_DATABASE_URL beats DATABASE_URL", env: with(map[string]string{"DATABASE_URL": "postgres://a/x", "OSPREY_DATABASE_URL": "postgres://b/y"}), check: func(t *testing.T, c server.Config) {
			if c.DatabaseURL != "postgres://b/y" {
				t.Errorf("database url %q", c.DatabaseURL)
			}
		}},
		{name: "unknown key names the key and line", yaml: "address: \":1\"\nadress: \":2\"\n", wantErr: "line 2: field adress not found"},
		{name: "unknown nested key", yaml: "deliveries:\n  wrokers: 3\n", wantErr: "field wrokers not found"},
		{name: "bad value in the file", yaml: "deliveries:\n  workers: many\n", wantErr: "cannot unmarshal"},
		{name: "bad number in the environment names the variable", env: with(map[string]string{"OSPREY_DELIVERY_WORKERS": "many"}), wantErr: "OSPREY_DELIVERY_WORKERS (deliveries.workers): \"many\" is not a whole number"},
		{name: "bad duration", env: with(map[string]string{"OSPREY_HANDLER_TIMEOUT": "soon"}), wantErr: "OSPREY_HANDLER_TIMEOUT"},
		{name: "bad app id", env: with(map[string]string{"GITHUB_APP_INTEGRATION_ID": "twelve"}), wantErr: "GITHUB_APP_INTEGRATION_ID"},
		{name: "key without webhook secret", env: map[string]string{"GITHUB_APP_INTEGRATION_ID": "12", "GITHUB_APP_PRIVATE_KEY": "k"}, wantErr: "github.app.webhook_secret (GITHUB_APP_WEBHOOK_SECRET): must be set"},
		{name: "key without app id", env: map[string]string{"GITHUB_APP_PRIVATE_KEY": "k", "GITHUB_APP_WEBHOOK_SECRET": "s"}, wantErr: "GITHUB_APP_INTEGRATION_ID"},
		{name: "missing key file", env: map[string]string{"GITHUB_APP_INTEGRATION_ID": "12", "GITHUB_APP_PRIVATE_KEY_PATH": filepath.Join(dir, "nope.pem")}, wantErr: "GITHUB_APP_PRIVATE_KEY_PATH"},
		{name: "bad log format", env: with(map[string]string{"OSPREY_LOG_FORMAT": "xml"}), wantErr: "OSPREY_LOG_FORMAT"},
		{name: "bad log level", env: with(map[string]string{"OSPREY_LOG_LEVEL": "loud"}), wantErr: "OSPREY_LOG_LEVEL"},
		{name: "rescue_after too short", env: with(map[string]string{"OSPREY_RESCUE_AFTER": "61s"}), wantErr: "deliveries.rescue_after (OSPREY_RESCUE_AFTER)"},
		{name: "relative API URL", env: with(map[string]string{"GITHUB_V3_API_URL": "api.github.com"}), wantErr: "GITHUB_V3_API_URL"},
		{name: "tiny cache", env: with(map[string]string{"OSPREY_GITHUB_CACHE_BYTES": "1000"}), wantErr: "OSPREY_GITHUB_CACHE_BYTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeConfig(t, tt.yaml+"credentials_file: \"\"\n")
			} else {
				path = writeConfig(t, "credentials_file: \"\"\n")
			}
			cfg, err := server.LoadConfig(path, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	envKey := write("env-key.pem", "KEY FROM THE ENVIRONMENT'S PATH")
	fileKey := write("file-key.pem", "KEY FROM THE FILE'S PATH")
	credentials := write("credentials.yml", "github:\n  app:\n    integration_id: 7\n    webhook_secret: from-credentials\n    private_key: KEY FROM CREDENTIALS\n")
	dbURLFile := write("db-url", "postgres://from-file/osprey\n")
	previous := write("previous", "old,with,commas\nolder\n")
	config := writeConfig(t, "credentials_file: "+credentials+"\ngithub:\n  private_key_path: "+fileKey+"\n")

	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c server.Config)
	}{
		{"the credentials file beats config.yml", nil, func(t *testing.T, c server.Config) {
			if c.GitHub.App.PrivateKey != "KEY FROM CREDENTIALS" || c.GitHub.App.WebhookSecret != "from-credentials" {
				t.Errorf("key %q secret %q", c.GitHub.App.PrivateKey, c.GitHub.App.WebhookSecret)
			}
		}},
		{"a key path in the environment beats a key in a file", map[string]string{"GITHUB_APP_PRIVATE_KEY_PATH": envKey}, func(t *testing.T, c server.Config) {
			if c.GitHub.App.PrivateKey != "KEY FROM THE ENVIRONMENT'S PATH" {
				t.Errorf("key %q", c.GitHub.App.PrivateKey)
			}
		}},
		{"the environment beats the credentials file", map[string]string{"GITHUB_APP_WEBHOOK_SECRET": "from-env", "GITHUB_APP_INTEGRATION_ID": "8"}, func(t *testing.T, c server.Config) {
			if c.GitHub.App.WebhookSecret != "from-env" || c.GitHub.App.IntegrationID != 8 {
				t.Errorf("secret %q id %d", c.GitHub.App.WebhookSecret, c.GitHub.App.IntegrationID)
			}
		}},
		{"OSPREY_DATABASE_URL_FILE beats DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://generic/x", "OSPREY_DATABASE_URL_FILE": dbURLFile}, func(t *testing.T, c server.Config) {
			if c.DatabaseURL != "postgres://from-file/osprey" {
				t.Errorf("database url %q", c.DatabaseURL)
			}
		}},
		{"previous secrets from a file, one a line", map[string]string{"OSPREY_PREVIOUS_WEBHOOK_SECRETS_FILE": previous}, func(t *testing.T, c server.Config) {
			if got := c.GitHub.PreviousWebhookSecrets; len(got) != 2 || got[0] != "old,with,commas" || got[1] != "older" {
				t.Errorf("previous secrets %q", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := server.LoadConfig(config, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestMalformedDatabaseURLIsNotEchoed(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = "postgres://osprey:hunter2@[not-a-host/osprey"
	cfg.GitHub.App.IntegrationID, cfg.GitHub.App.PrivateKey, cfg.GitHub.App.WebhookSecret = 1, "k", "s"
	_, err := server.New(t.Context(), cfg, zeroLogger(), server.Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("err = %v: want a malformed-URL error without the password", err)
	}
}

func TestDatabaseURLErrorsHideThePassword(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = "postgres://osprey:hunter2@127.0.0.1:1/osprey?sslmode=disable&connect_timeout=1"
	cfg.GitHub.App.IntegrationID, cfg.GitHub.App.PrivateKey, cfg.GitHub.App.WebhookSecret = 1, "k", "s"
	_, err := server.New(t.Context(), cfg, zeroLogger(), server.Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v: want an error without the password", err)
	}
}

func TestTriageWorkersFitThePool(t *testing.T) {
	c := server.DefaultConfig()
	c.Triage.Enabled = true
	c.DatabaseMaxConns = 10
	c.Triage.Workers = 9
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "triage.workers (OSPREY_TRIAGE_WORKERS): must be at most database_max_conns - 2 (8), not 9") {
		t.Errorf("err = %v", err)
	}
	c.Triage.Workers = 8
	if err := c.Validate(); err != nil {
		t.Errorf("8 workers on 10 connections: %v", err)
	}
}
