package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
)

// manifestStateTTL is how long a setup page's state stays valid: GitHub's
// manifest code must be exchanged within the hour too.
const manifestStateTTL = time.Hour

// maxPendingStates bounds the states kept in memory: each view of the setup
// page adds one.
const maxPendingStates = 100

// stateCookie carries the state to the browser that opened the setup page,
// so that a callback link made by someone else (who loaded the page and
// registered an app of their own) is refused.
const stateCookie = "osprey_setup_state"

// setup serves the first-run flow that registers the GitHub App from app.yml
// through GitHub's manifest flow and writes its credentials to a file.
type setup struct {
	cfg      Config
	manifest []byte
	logger   zerolog.Logger

	mu     sync.Mutex
	states map[string]time.Time // state → expiry
	done   bool
}

func newSetup(cfg Config, manifest []byte, logger zerolog.Logger) *setup {
	return &setup{cfg: cfg, manifest: manifest, logger: logger, states: map[string]time.Time{}}
}

// page shows the button that posts the manifest to GitHub.
func (s *setup) page(w http.ResponseWriter, r *http.Request) {
	base := s.publicURL(r)
	manifest, err := buildManifest(s.manifest, base)
	if err != nil {
		s.logger.Error().Err(err).Msg("app.yml is not a valid manifest")
		http.Error(w, "app.yml could not be read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	state := randomHex(32)
	s.mu.Lock()
	now := time.Now()
	for st, exp := range s.states {
		if now.After(exp) || len(s.states) >= maxPendingStates {
			delete(s.states, st)
		}
	}
	s.states[state] = now.Add(manifestStateTTL)
	done := s.done
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name:     stateCookie,
		Value:    state,
		Path:     "/setup/callback",
		MaxAge:   int(manifestStateTTL.Seconds()),
		HttpOnly: true,
		Secure:   strings.HasPrefix(base, "https://"),
		SameSite: http.SameSiteLaxMode, // sent on GitHub's top-level redirect back
	})

	target := strings.TrimSuffix(s.cfg.GitHub.WebURL, "/") + "/settings/apps/new"
	owner := "your personal account"
	if s.cfg.Setup.Org != "" {
		target = strings.TrimSuffix(s.cfg.GitHub.WebURL, "/") + "/organizations/" + url.PathEscape(s.cfg.Setup.Org) + "/settings/apps/new"
		owner = "the organisation " + s.cfg.Setup.Org
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = setupPage.Execute(w, map[string]any{
		"Action":   target + "?state=" + url.QueryEscape(state),
		"Manifest": string(manifest),
		"Owner":    owner,
		"Base":     base,
		"Done":     done,
		"File":     s.cfg.CredentialsFile,
	})
}

// callback receives GitHub's redirect, exchanges the code for the app's
// credentials and writes them to the credentials file.
func (s *setup) callback(w http.ResponseWriter, r *http.Request) {
	code, state := r.URL.Query().Get("code"), r.URL.Query().Get("state")
	cookie, err := r.Cookie(stateCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(state)) != 1 {
		http.Error(w, "This setup link was not started from this browser. Start again from the setup page.", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	expiry, known := s.states[state]
	delete(s.states, state)
	s.mu.Unlock()
	if state == "" || !known || time.Now().After(expiry) {
		http.Error(w, "This setup link is unknown or has expired. Start again from the setup page.", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: "/setup/callback", MaxAge: -1})
	if code == "" {
		http.Error(w, "GitHub did not send a code. Start again from the setup page.", http.StatusBadRequest)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	apiURL, err := url.Parse(strings.TrimSuffix(s.cfg.GitHub.V3APIURL, "/") + "/")
	if err != nil {
		http.Error(w, "github.v3_api_url is not usable: "+err.Error(), http.StatusInternalServerError)
		return
	}
	client := github.NewClient(&http.Client{Timeout: 30 * time.Second})
	client.BaseURL = apiURL
	app, _, err := client.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		s.logger.Error().Err(err).Msg("Setup: exchanging the manifest code failed")
		http.Error(w, "GitHub refused the code (it is single-use and expires after an hour). Start again from the setup page.", http.StatusBadGateway)
		return
	}
	if err := writeCredentials(s.cfg.CredentialsFile, app, time.Now()); err != nil {
		s.logger.Error().Err(err).Msg("Setup: writing the credentials file failed")
		http.Error(w, "The app was created on GitHub but its credentials could not be saved: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	s.logger.Info().Int64("app_id", app.GetID()).Str("app", app.GetSlug()).Str("file", s.cfg.CredentialsFile).
		Msg("Setup: GitHub App registered; restart osprey to use it")

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = setupDonePage.Execute(w, map[string]any{
		"Name":    app.GetName(),
		"ID":      app.GetID(),
		"File":    s.cfg.CredentialsFile,
		"Install": app.GetHTMLURL() + "/installations/new",
	})
}

func (s *setup) publicURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// buildManifest turns app.yml into the manifest JSON, with the URLs that
// point back at this server filled in.
func buildManifest(appYAML []byte, base string) ([]byte, error) {
	var manifest map[string]any
	if err := yaml.Unmarshal(appYAML, &manifest); err != nil {
		return nil, err
	}
	if manifest == nil {
		return nil, errors.New("app.yml is empty")
	}
	hook, _ := manifest["hook_attributes"].(map[string]any)
	if hook == nil {
		hook = map[string]any{}
	}
	hook["url"] = base + "/api/github/hook"
	if _, ok := hook["active"]; !ok {
		hook["active"] = true
	}
	manifest["hook_attributes"] = hook
	manifest["redirect_url"] = base + "/setup/callback"
	if _, ok := manifest["url"]; !ok {
		manifest["url"] = base
	}
	return json.Marshal(manifest)
}

// writeCredentials writes the new app's credentials as a config layer that
// LoadConfig reads at start-up. The file is created readable by its owner
// only, and never overwrites an existing one.
func writeCredentials(path string, app *github.AppConfig, now time.Time) error {
	if app.GetID() == 0 || app.GetPEM() == "" || app.GetWebhookSecret() == "" {
		return errors.New("GitHub's answer lacks the app id, private key or webhook secret")
	}
	var doc struct {
		GitHub struct {
			App struct {
				IntegrationID int64  `yaml:"integration_id"`
				WebhookSecret string `yaml:"webhook_secret"`
				PrivateKey    string `yaml:"private_key"`
			} `yaml:"app"`
			OAuth struct {
				ClientID     string `yaml:"client_id"`
				ClientSecret string `yaml:"client_secret"`
			} `yaml:"oauth"`
		} `yaml:"github"`
	}
	doc.GitHub.App.IntegrationID = app.GetID()
	doc.GitHub.App.WebhookSecret = app.GetWebhookSecret()
	doc.GitHub.App.PrivateKey = app.GetPEM()
	doc.GitHub.OAuth.ClientID = app.GetClientID()
	doc.GitHub.OAuth.ClientSecret = app.GetClientSecret()
	body, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# Credentials of the GitHub App %q (id %d), written by osprey's setup on %s.\n# Keep this file secret. osprey reads it at start-up; the environment overrides it.\n",
		app.GetName(), app.GetID(), now.UTC().Format(time.RFC3339))

	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.WriteString(header + string(body)); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var setupPage = template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>osprey setup</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;line-height:1.5;padding:0 1rem}
button{font-size:1.1rem;padding:.6rem 1.2rem;cursor:pointer}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body>
<h1>Set up osprey</h1>
{{if .Done}}<p><strong>An app was already registered from this page.</strong> Restart osprey to use it; registering again creates a second app.</p>{{end}}
<p>osprey has no GitHub App yet. The button below asks GitHub to create one for {{.Owner}}, with the
permissions and events listed in <code>app.yml</code>, sending its webhooks to <code>{{.Base}}/api/github/hook</code>.</p>
<p>GitHub then sends you back here, and osprey saves the app's id, private key and webhook secret to
<code>{{.File}}</code> (readable only by the user running osprey). Restart osprey afterwards.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the GitHub App</button>
</form>
</body></html>
`))

var setupDonePage = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>osprey setup: done</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;line-height:1.5;padding:0 1rem}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body>
<h1>The GitHub App {{.Name}} exists</h1>
<p>Its id is {{.ID}}. Its credentials are saved in <code>{{.File}}</code>.</p>
<ol>
<li>Restart osprey: it reads that file and leaves setup mode.</li>
<li><a href="{{.Install}}">Install the app</a> on the organisations osprey should serve.</li>
</ol>
</body></html>
`))
