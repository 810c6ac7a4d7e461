package ospr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// DataSource is where one data file comes from: a local path, a URL, or a
// file in a (private) repository read through the app ("github:OWNER/REPO/PATH").
type DataSource string

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
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		return f.fetchURL(ctx, s)
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

func (f *fetcher) fetchURL(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("reading %s: HTTP %d", url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDataFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if len(data) > maxDataFile {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", url, maxDataFile)
	}
	f.etag = resp.Header.Get("ETag")
	return data, nil
}

// maxDataFile bounds a data file read from a URL.
const maxDataFile = 64 << 20

// DirectoryLoader keeps the contributor Directory current from its two data
// files. A file that changed is parsed; if it is broken, the last good
// Directory stays in use and the breakage is logged as an error on every
// reload until it is fixed.
type DirectoryLoader struct {
	people, institutions *fetcher
	logger               zerolog.Logger

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
// Directory in use is the newest one built from good files.
func (l *DirectoryLoader) Reload(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	changed := false
	if data, err := l.people.fetch(ctx); err != nil {
		errs = append(errs, err)
	} else if data != nil {
		people, err := ParsePeople(bytes.NewReader(data))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.people.source, err))
			l.people.forget()
		} else {
			l.lastPeople, changed = people, true
		}
	}
	if data, err := l.institutions.fetch(ctx); err != nil {
		errs = append(errs, err)
	} else if data != nil {
		institutions, err := ParseInstitutions(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.institutions.source, err))
			l.institutions.forget()
		} else {
			l.lastInstitutes, changed = institutions, true
		}
	}
	if changed {
		l.current = NewDirectory(l.lastPeople, l.lastInstitutes)
		l.logger.Info().Int("people", len(l.lastPeople)).Int("institutions", len(l.lastInstitutes)).Msg("Contributor data loaded")
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
