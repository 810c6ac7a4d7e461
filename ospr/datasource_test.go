package ospr

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const csvHeader = "First Name,Last Name,Number of Active Ind. CLA Contracts,Title,Account Name,Number of Active Entity CLA Contracts,GitHub Username,Is Core Contributor\n"

func TestDirectoryLoaderKeepsTheLastGoodCopy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	peoplePath := filepath.Join(dir, "people.csv")
	write := func(content string) {
		if err := os.WriteFile(peoplePath, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		// A later modification time, as an editor's save gives.
		later := time.Now().Add(time.Duration(len(content)) * time.Second)
		if err := os.Chtimes(peoplePath, later, later); err != nil {
			t.Fatal(err)
		}
	}
	write(csvHeader + "Bob,C,1,,Individual Contributors,0,bob,0\n")

	// orgs.yaml from a URL, revalidated with its ETag.
	var requests, notModified atomic.Int32
	orgs := atomic.Value{}
	orgs.Store("Acme:\n  internal-ghorgs: [acme]\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body := orgs.Load().(string)
		etag := fmt.Sprintf(`"%d"`, len(body))
		if r.Header.Get("If-None-Match") == etag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()

	var logs strings.Builder
	l := NewDirectoryLoader(DataSource(peoplePath), DataSource(srv.URL+"/orgs.yaml"), srv.Client(), nil, zerolog.New(&logs))
	if err := l.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if a := l.Directory().Author("BOB"); a.Agreement != IndividualAgreement {
		t.Fatalf("bob = %+v", a)
	}
	// Nothing changed: the URL answers 304 and nothing is parsed again.
	if err := l.Reload(ctx); err != nil || notModified.Load() != 1 {
		t.Fatalf("second reload: %v, %d not-modified answers", err, notModified.Load())
	}
	// A broken export: the error is loud, bob is still known.
	write("Name,Login\nBob,bob\n")
	err := l.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "lacks the column") || !strings.Contains(logs.String(), "last good copy stays in use") {
		t.Fatalf("broken file: err %v, logs %s", err, logs.String())
	}
	if a := l.Directory().Author("bob"); a.Agreement != IndividualAgreement {
		t.Errorf("after a broken file, bob = %+v", a)
	}
	// Reported again on the next reload, not only once.
	if err := l.Reload(ctx); err == nil {
		t.Error("a still-broken file is no longer reported")
	}
	// Fixed, and orgs.yaml changed: both are taken.
	write(csvHeader + "Bob,C,0,,Acme,1,bob,1\n")
	orgs.Store("Acme:\n  internal-ghorgs: [acme, acme-labs]\n")
	if err := l.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if a := l.Directory().Author("bob"); a.Agreement != InstitutionAgreement || !a.Core || !a.Institution.InternalTo("acme-labs") {
		t.Errorf("after the fix, bob = %+v", a)
	}
}

func TestDataSourceInARepository(t *testing.T) {
	ctx := context.Background()
	var reads []string
	repo := func(_ context.Context, owner, name, path string) ([]byte, error) {
		reads = append(reads, owner+"/"+name+"/"+path)
		if path == "people.csv" {
			return []byte(csvHeader + "Dana,N,0,,,0,dana,0\n"), nil
		}
		return []byte("{}\n"), nil
	}
	l := NewDirectoryLoader("github:acme/contributor-data/people.csv", "github:acme/contributor-data/orgs.yaml", nil, repo, zerolog.Nop())
	if err := l.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if a := l.Directory().Author("dana"); !a.Known {
		t.Errorf("dana = %+v", a)
	}
	if strings.Join(reads, ",") != "acme/contributor-data/people.csv,acme/contributor-data/orgs.yaml" {
		t.Errorf("reads = %v", reads)
	}
	bad := NewDirectoryLoader("github:acme", "github:acme/x/orgs.yaml", nil, repo, zerolog.Nop())
	if err := bad.Reload(ctx); err == nil || !strings.Contains(err.Error(), "want github:OWNER/REPO/PATH") {
		t.Errorf("err = %v", err)
	}
}

// A reload stuck on a slow URL does not hold up the reconciles: Loaded and
// Directory answer with the last good copy at once.
func TestSlowReloadDoesNotBlockTheDirectory(t *testing.T) {
	ctx := context.Background()
	orgsPath := filepath.Join(t.TempDir(), "orgs.yaml")
	if err := os.WriteFile(orgsPath, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var slow atomic.Bool
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			arrived <- struct{}{}
			<-release
		}
		fmt.Fprint(w, csvHeader+"Bob,C,1,,Individual Contributors,0,bob,0\n")
	}))
	defer srv.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before srv.Close, which waits for the handler

	l := NewDirectoryLoader(DataSource(srv.URL+"/people.csv"), DataSource(orgsPath), srv.Client(), nil, zerolog.Nop())
	if err := l.Reload(ctx); err != nil || l.Loaded() == nil {
		t.Fatalf("first reload: %v", err)
	}

	slow.Store(true)
	done := make(chan error, 1)
	go func() { done <- l.Reload(ctx) }()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the reload never asked for the people file")
	}
	answered := make(chan bool, 1)
	go func() {
		answered <- l.Loaded() != nil && l.Directory().Author("bob").Agreement == IndividualAgreement
	}()
	select {
	case ok := <-answered:
		if !ok {
			t.Error("during the reload, the last good copy is not the one in use")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Loaded and Directory wait for a reload stuck on a slow URL")
	}

	unblock()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the slow reload: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow reload did not end once released")
	}
}

func TestDataSourceRedacted(t *testing.T) {
	for source, want := range map[DataSource]string{
		"https://example.org/export.csv":                             "https://example.org/export.csv",
		"https://example.org/export.csv?token=SECRET":                "https://example.org/export.csv?…",
		"https://bot:hunter2@example.org:8443/data/orgs.yaml":        "https://example.org:8443/data/orgs.yaml",
		"http://bot:hunter2@example.org/a%2Fb.csv?token=SECRET#frag": "http://example.org/a%2Fb.csv?…#…",
		"https://bot:hunter2/x@example.org/export.csv?token=SECRET":  "https://(not a valid URL)",
		"https:bot:hunter2@example.org":                              "https:bot:hunter2@example.org", // not a URL to osprey: a path
		"github:acme/contributor-data/people.csv":                    "github:acme/contributor-data/people.csv",
		"/etc/osprey/people.csv":                                     "/etc/osprey/people.csv",
		"https://example.org/export.csv?":                            "https://example.org/export.csv",
		"https://bot@example.org/export.csv":                         "https://example.org/export.csv",
	} {
		if got := source.Redacted(); got != want {
			t.Errorf("%s: Redacted() = %q, want %q", source, got, want)
		}
	}
}

// Neither a token in a URL's query nor a password in its user information
// reaches an error or a log line: not when the source fails, nor when its
// file is broken, nor when the URL cannot be parsed.
func TestDataSourceSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/broken.csv":
			fmt.Fprint(w, "Name,Login\nBob,bob\n")
		case "/broken.yaml":
			fmt.Fprint(w, "- not\n- a map\n")
		default:
			http.Error(w, "no such export", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more

	secret := func(base, path string) DataSource {
		return DataSource(strings.Replace(base, "://", "://bot:hunter2@", 1) + path + "?token=SECRET")
	}
	for _, tc := range []struct {
		name                 string
		people, institutions DataSource
		want                 string
	}{
		{"failing", secret(srv.URL, "/missing.csv"), secret(srv.URL, "/missing.yaml"), "HTTP 404"},
		{"unreachable", secret(closed.URL, "/people.csv"), secret(closed.URL, "/orgs.yaml"), "/people.csv?…"},
		{"broken", secret(srv.URL, "/broken.csv"), secret(srv.URL, "/broken.yaml"), "lacks the column"},
		{"not a URL", "https://bot:hunter2/x@example.org/p.csv?token=SECRET", "https://example.org/%zz?token=SECRET", "not a valid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			l := NewDirectoryLoader(tc.people, tc.institutions, srv.Client(), nil, zerolog.New(&logs))
			// Twice: a broken file is read and reported again.
			for range 2 {
				err := l.Reload(ctx)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one saying %q", err, tc.want)
				}
				for _, leak := range []string{"SECRET", "hunter2", "token"} {
					if strings.Contains(err.Error(), leak) || strings.Contains(logs.String(), leak) {
						t.Errorf("%q leaked:\nerror: %v\nlogs: %s", leak, err, logs.String())
					}
				}
			}
			if !strings.Contains(logs.String(), "last good copy stays in use") {
				t.Errorf("nothing logged:\n%s", logs.String())
			}
		})
	}
}
