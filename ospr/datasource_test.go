package ospr

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
