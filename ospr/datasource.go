package ospr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// DataSource is where one data file comes from: a local path, a URL, or a
// file in a (private) repository read through the app ("github:OWNER/REPO/PATH").
// A URL may carry a secret (a token in its query, a password in its user
// information): errors and logs name a source by Redacted only.
type DataSource string

// isURL reports whether the source is read over HTTP.
func (s DataSource) isURL() bool {
	return strings.HasPrefix(string(s), "https://") || strings.HasPrefix(string(s), "http://")
}

// Redacted is the source as errors and logs name it: a URL keeps its
// scheme, host and path, and loses its user information and its query and
// fragment, whose presence "?…" and "#…" show
// (https://host/export.csv?…). Paths and repository files are unchanged.
func (s DataSource) Redacted() string {
	if !s.isURL() {
		return string(s)
	}
	scheme, _, _ := strings.Cut(string(s), "://")
	u, err := url.Parse(string(s))
	if err != nil {
		// Its parts cannot be told apart: none of it is shown.
		return scheme + "://(not a valid URL)"
	}
	if u.Opaque != "" {
		return u.Scheme + ":…"
	}
	out := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
	if u.RawQuery != "" {
		out += "?…"
	}
	if u.Fragment != "" {
		out += "#…"
	}
	return out
}

// RepoFileReader reads a file of a repository through the app's
// installation on it (the ETag cache makes an unchanged file a free 304).
type RepoFileReader func(ctx context.Context, owner, repo, path string) ([]byte, error)

// fetcher reads a data source, returning nil data when it has not changed
// since the last successful read.
type fetcher struct {
	source DataSource
	client *http.Client
	repo   RepoFileReader

	etag    string    // URL sources
	modTime time.Time // path sources
	size    int64
	last    []byte // repository sources: compare contents
}

func (f *fetcher) fetch(ctx context.Context) ([]byte, error) {
	s := string(f.source)
	switch {
	case f.source.isURL():
		return f.fetchURL(ctx)
	case strings.HasPrefix(s, "github:"):
		owner, rest, ok1 := strings.Cut(strings.TrimPrefix(s, "github:"), "/")
		repo, path, ok2 := strings.Cut(rest, "/")
		if !ok1 || !ok2 || owner == "" || repo == "" || path == "" {
			return nil, fmt.Errorf("%s: want github:OWNER/REPO/PATH", s)
		}
		if f.repo == nil {
			return nil, fmt.Errorf("%s: no GitHub access to read it with", s)
		}
		data, err := f.repo(ctx, owner, repo, path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s, err)
		}
		if f.last != nil && bytes.Equal(data, f.last) {
			return nil, nil
		}
		f.last = data
		return data, nil
	default:
		info, err := os.Stat(s)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s, err)
		}
		if info.ModTime().Equal(f.modTime) && info.Size() == f.size {
			return nil, nil
		}
		data, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s, err)
		}
		f.modTime, f.size = info.ModTime(), info.Size()
		return data, nil
	}
}

// fetchURL reads a URL source. Its errors name it by Redacted, and leave
// out the URL net/http puts in its own.
func (f *fetcher) fetchURL(ctx context.Context) ([]byte, error) {
	name := f.source.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, string(f.source), nil)
	if err != nil {
		// url.Parse's own message quotes the URL, or a piece of it.
		return nil, fmt.Errorf("reading %s: not a valid URL", name)
	}
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, withoutURL(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("reading %s: HTTP %d", name, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDataFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, withoutURL(err))
	}
	if len(data) > maxDataFile {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", name, maxDataFile)
	}
	f.etag = resp.Header.Get("ETag")
	return data, nil
}

// withoutURL strips the *url.Error net/http wraps its errors in, which
// quotes the whole URL, query included.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// maxDataFile bounds a data file read from a URL.
const maxDataFile = 64 << 20

// DirectoryLoader keeps the contributor Directory current from its two data
// files. A file that changed is parsed; if it is broken, the last good
// Directory stays in use and the breakage is logged as an error on every
// reload until it is fixed.
//
// A reload reads its sources (a URL may take up to the client's 30 s)
// without holding the lock that Directory and Loaded take, which every
// reconcile calls: they answer with the last good copy meanwhile.
type DirectoryLoader struct {
	people, institutions *fetcher
	logger               zerolog.Logger

	// reload serialises reloads: it guards the fetchers' memory of what
	// they read last, and lets only a reload write the data below.
	reload sync.Mutex

	// mu guards the data below, and is held only to read or swap it.
	mu             sync.Mutex
	current        *Directory
	lastPeople     map[string]Person
	lastInstitutes map[string]Institution
}

// NewDirectoryLoader reads people (the CSV export) and institutions
// (orgs.yaml) from their sources. client fetches URLs; repo reads
// repository files (nil when there is no GitHub access).
func NewDirectoryLoader(people, institutions DataSource, client *http.Client, repo RepoFileReader, logger zerolog.Logger) *DirectoryLoader {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &DirectoryLoader{
		people:       &fetcher{source: people, client: client, repo: repo},
		institutions: &fetcher{source: institutions, client: client, repo: repo},
		logger:       logger,
	}
}

// Directory is the current Directory (empty before the first good load).
func (l *DirectoryLoader) Directory() *Directory {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.current == nil {
		return NewDirectory(nil, nil)
	}
	return l.current
}

// Reload reads whatever changed. It returns the errors of this reload; the
// Directory in use is the newest one built from good files. Reloads run one
// at a time; Directory and Loaded do not wait for one.
func (l *DirectoryLoader) Reload(ctx context.Context) error {
	l.reload.Lock()
	defer l.reload.Unlock()
	var errs []error
	// Only Reload writes lastPeople and lastInstitutes, and reloads hold
	// l.reload: reading them here needs no l.mu.
	people, institutions := l.lastPeople, l.lastInstitutes
	changed := false
	if data, err := l.people.fetch(ctx); err != nil {
		errs = append(errs, err)
	} else if data != nil {
		parsed, err := ParsePeople(bytes.NewReader(data))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.people.source.Redacted(), err))
			l.people.forget()
		} else {
			people, changed = parsed, true
		}
	}
	if data, err := l.institutions.fetch(ctx); err != nil {
		errs = append(errs, err)
	} else if data != nil {
		parsed, err := ParseInstitutions(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.institutions.source.Redacted(), err))
			l.institutions.forget()
		} else {
			institutions, changed = parsed, true
		}
	}
	if changed {
		dir := NewDirectory(people, institutions)
		l.mu.Lock()
		l.lastPeople, l.lastInstitutes, l.current = people, institutions, dir
		l.mu.Unlock()
		l.logger.Info().Int("people", len(people)).Int("institutions", len(institutions)).Msg("Contributor data loaded")
	}
	err := errors.Join(errs...)
	if err != nil {
		l.logger.Error().Err(err).Msg("Contributor data could not be loaded: the last good copy stays in use")
	}
	return err
}

// forget makes the next fetch read the file again even if it has not
// changed, so a broken file keeps being reported.
func (f *fetcher) forget() {
	f.etag, f.modTime, f.size, f.last = "", time.Time{}, 0, nil
}

// Configured reports whether both data files have a source.
func (l *DirectoryLoader) Configured() bool {
	return l.people.source != "" && l.institutions.source != ""
}

// Loaded is the current Directory, or nil while no good copy of both files
// has been loaded: a reconcile then waits rather than take every author
// for someone without an agreement.
func (l *DirectoryLoader) Loaded() *Directory {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastPeople == nil || l.lastInstitutes == nil {
		return nil
	}
	return l.current
}
