package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/ospr"
)

// The load endpoints mirror GitHub's API paths, as WebhookDB's did: POST
// /api/load/repos/{owner}/{repo}/pulls loads what GET /repos/{owner}/{repo}/pulls
// lists. Each queues a scan (or finds the one of the same repository and
// kind already running) and answers 202 with Location: /api/scans/{id},
// where GET answers the scan's progress. Like POST /api/rescan they are off
// without an admin_token, and need it as a bearer token.

// loadEndpoint is one load path and what it takes.
type loadEndpoint struct {
	// pattern is the path as http.ServeMux reads it.
	pattern string
	kind    string
	// numbered paths name a pull request or issue with {number}.
	numbered bool
	// flags are the query parameters it takes.
	flags []string
}

// The query parameters of the load endpoints.
const (
	flagOnly  = "only"
	flagFiles = "files"
	flagSince = "since"
)

// loadFlagNames are every load endpoint's query parameters, for the answer
// to an unknown one.
var loadFlagNames = []string{flagOnly, flagFiles, flagSince}

// loadEndpoints are the load paths, registered by New.
var loadEndpoints = []loadEndpoint{
	{pattern: "/api/load/repos/{owner}/{repo}", kind: backfill.KindRepository, flags: []string{flagOnly, flagFiles, flagSince}},
	{pattern: "/api/load/repos/{owner}/{repo}/pulls", kind: backfill.KindPulls, flags: []string{flagFiles, flagSince}},
	{pattern: "/api/load/repos/{owner}/{repo}/pulls/{number}", kind: backfill.KindPull, numbered: true, flags: []string{flagFiles}},
	{pattern: "/api/load/repos/{owner}/{repo}/pulls/{number}/files", kind: backfill.KindPullFiles, numbered: true},
	{pattern: "/api/load/repos/{owner}/{repo}/issues", kind: backfill.KindIssues, flags: []string{flagSince}},
	{pattern: "/api/load/repos/{owner}/{repo}/issues/{number}", kind: backfill.KindIssue, numbered: true},
	{pattern: "/api/load/repos/{owner}/{repo}/issues/comments", kind: backfill.KindComments, flags: []string{flagSince}},
	{pattern: "/api/load/repos/{owner}/{repo}/labels", kind: backfill.KindLabels},
	{pattern: "/api/load/repos/{owner}/{repo}/milestones", kind: backfill.KindMilestones},
}

// loadPaths names the load paths in an answer to a path that is none.
const loadPaths = "POST /api/load/repos/{owner}/{repo}, and after it /pulls, /pulls/{number}, /pulls/{number}/files, " +
	"/issues, /issues/{number}, /issues/comments, /labels or /milestones"

// loadedScan is a scan a load queued, or the one of the same repository
// and kind already running (created false).
type loadedScan struct {
	Scan    backfill.Progress `json:"scan"`
	Created bool              `json:"created"`
}

// loadAnswer is the body of a load's 202.
type loadAnswer struct {
	loadedScan
	// FilesScan is the files scan that POST …/pulls?files=true queues
	// beside the pulls scan.
	FilesScan *loadedScan `json:"files_scan,omitempty"`
}

// loadEndpointsName names the load endpoints in the answer when the
// operator API is off.
const loadEndpointsName = "the load endpoints (POST /api/load/repos/…) and GET /api/scans/{id}"

// apiGate answers the requests the operator API refuses: all of them when
// it is off (404, saying how to turn on what, the endpoints named), and
// those without the admin_token (401). It returns false when it answered.
func (s *Server) apiGate(w http.ResponseWriter, r *http.Request, logger zerolog.Logger, what string) bool {
	if s.cfg.AdminToken == "" {
		writeAPIError(w, http.StatusNotFound, "the operator API is off: set admin_token (OSPREY_ADMIN_TOKEN) to turn on "+what)
		return false
	}
	if msg := s.checkAdminToken(r); msg != "" {
		logger.Warn().Str("reason", msg).Msg("Operator API request refused: bad credentials")
		w.Header().Set("WWW-Authenticate", `Bearer realm="osprey"`)
		writeAPIError(w, http.StatusUnauthorized, msg)
		return false
	}
	return true
}

// onlyMethod answers 405 unless r's method is method; false when it did.
func onlyMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeAPIError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method))
	return false
}

// load answers POST on the load path of e.
func (s *Server) load(e loadEndpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		logger := zerolog.Ctx(r.Context()).With().Str("endpoint", e.pattern).Str("remote_addr", r.RemoteAddr).Logger()
		if !s.apiGate(w, r, logger, loadEndpointsName) || !onlyMethod(w, r, http.MethodPost) {
			return
		}
		owner, repo, err := loadRepository(r.PathValue("owner"), r.PathValue("repo"))
		if err != nil {
			writeAPIError(w, http.StatusNotFound, err.Error())
			return
		}
		number := 0
		if e.numbered {
			if number, err = loadNumber(e.kind, r.PathValue("number")); err != nil {
				writeAPIError(w, http.StatusNotFound, err.Error())
				return
			}
		}
		reqs, err := e.requests(r.URL.Query(), owner, repo, number)
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, err.Error())
			return
		}
		target := owner + "/" + repo
		queued, err := s.queueLoad(logger.WithContext(r.Context()), owner, reqs)
		var notInstalled *ospr.NotInstalledError
		var notQueued *queueError
		switch {
		case errors.As(err, &notInstalled):
			writeAPIError(w, http.StatusUnprocessableEntity, err.Error())
			return
		case errors.As(err, &notQueued):
			logger.Error().Err(err).Str("target", target).Str("kind", reqs[0].Kind).Msg("Load failed")
			writeAPIError(w, http.StatusInternalServerError, "the load failed: "+err.Error())
			return
		case err != nil:
			logger.Error().Err(err).Str("target", target).Str("kind", reqs[0].Kind).Msg("Load failed")
			writeAPIError(w, http.StatusBadGateway, "the load failed: "+err.Error())
			return
		}
		answer := loadAnswer{loadedScan: queued[0]}
		if len(queued) > 1 {
			answer.FilesScan = &queued[1]
		}
		for i, q := range queued {
			event := logger.Info().Str("target", target).Str("kind", reqs[i].Kind).Int64("scan", q.Scan.ID).Bool("created", q.Created)
			if number != 0 {
				event = event.Int("number", number)
			}
			event.Msg("Load requested")
		}
		w.Header().Set("Location", fmt.Sprintf("/api/scans/%d", answer.Scan.ID))
		writeAPIJSON(w, http.StatusAccepted, answer)
	}
}

// loadRepository checks the {owner} and {repo} of a load path.
func loadRepository(owner, repo string) (string, string, error) {
	o, r, all, err := ospr.ParseRescanTarget(owner + "/" + repo)
	if err == nil && all {
		err = fmt.Errorf("%q is not a repository owner", owner)
	}
	if err != nil {
		return "", "", fmt.Errorf("no such load path: the repository is wrong: %w", err)
	}
	return o, r, nil
}

// loadNumber reads the {number} of a pull request or issue.
func loadNumber(kind, s string) (int, error) {
	what := "issue"
	if kind != backfill.KindIssue {
		what = "pull request"
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n <= 0 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("no such load path: the %s number %q is not a positive integer", what, s)
	}
	return int(n), nil
}

// requests reads the query of a load of e and says which scans it asks
// for: one, or a pulls scan and a files scan.
func (e loadEndpoint) requests(q url.Values, owner, repo string, number int) ([]backfill.Request, error) {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	var only []string
	var files, filesGiven bool
	var since time.Time
	for _, name := range names {
		values := q[name]
		switch {
		case !slices.Contains(loadFlagNames, name):
			return nil, fmt.Errorf("unknown query parameter %q (%s)", name, e.takes())
		case !slices.Contains(e.flags, name):
			return nil, fmt.Errorf("query parameter %q does not apply to POST %s (%s)", name, e.pattern, e.takes())
		case len(values) > 1:
			return nil, fmt.Errorf("query parameter %q is given %d times", name, len(values))
		}
		v := values[0]
		var err error
		switch name {
		case flagOnly:
			if only, err = backfill.ParseKinds(v); err != nil {
				return nil, fmt.Errorf("query parameter only: %w", err)
			}
		case flagFiles:
			files, err = queryBool(name, v)
			filesGiven = true
		case flagSince:
			if strings.TrimSpace(v) == "" {
				return nil, errors.New("query parameter since needs a date (YYYY-MM-DD) or an RFC 3339 time (2026-01-02T15:04:05Z)")
			}
			since, _, err = ospr.ParseRescanDates(v, "")
			if err == nil && since.After(time.Now()) {
				err = fmt.Errorf("query parameter since=%q is in the future: nothing would be read", v)
			}
		}
		if err != nil {
			return nil, err
		}
	}

	req := backfill.Request{Owner: owner, Repo: repo, Kind: e.kind, Number: number, Since: since, RequestedBy: backfill.RequestedByAPI}
	switch e.kind {
	case backfill.KindRepository:
		if filesGiven && !files && slices.Contains(only, backfill.KindFiles) {
			return nil, errors.New("only names files but files=false: say one or the other")
		}
		if only != nil || files {
			req.Kinds = only
			if req.Kinds == nil {
				req.Kinds = slices.Clone(backfill.DefaultKinds)
			}
			if files && !slices.Contains(req.Kinds, backfill.KindFiles) {
				req.Kinds = append(req.Kinds, backfill.KindFiles)
			}
		}
	case backfill.KindPulls:
		if files {
			filesReq := req
			filesReq.Kind = backfill.KindFiles
			return []backfill.Request{req, filesReq}, nil
		}
	case backfill.KindPull:
		if files {
			req.Kind = backfill.KindPullFiles
		}
	}
	return []backfill.Request{req}, nil
}

// takes says which query parameters e takes.
func (e loadEndpoint) takes() string {
	if len(e.flags) == 0 {
		return "this path takes none"
	}
	return "this path takes " + strings.Join(e.flags, ", ")
}

// queueLoad finds the app's installation on owner and queues the scans of
// reqs, all in one transaction. An owner without the app is an
// *ospr.NotInstalledError.
func (s *Server) queueLoad(ctx context.Context, owner string, reqs []backfill.Request) ([]loadedScan, error) {
	installation, err := ospr.InstallationOn(ctx, s.clients, owner)
	if err != nil {
		return nil, err
	}
	queued, err := s.queueScans(ctx, installation, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]loadedScan, 0, len(queued))
	for _, q := range queued {
		// A new scan is as CreateScan read it; one found running may have
		// spawned scans, whose figures its progress adds up.
		p := backfill.Report(q.Scan, nil, time.Now())
		if !q.Created {
			if running, found, err := s.ScanProgress(ctx, q.Scan.ID); err == nil && found {
				p = running
			}
		}
		out = append(out, loadedScan{Scan: p, Created: q.Created})
	}
	return out, nil
}

// loadNotFound answers the paths under /api/load/ that are no load path.
func (s *Server) loadNotFound(w http.ResponseWriter, r *http.Request) {
	logger := zerolog.Ctx(r.Context()).With().Str("endpoint", "/api/load/").Str("remote_addr", r.RemoteAddr).Logger()
	if !s.apiGate(w, r, logger, loadEndpointsName) {
		return
	}
	writeAPIError(w, http.StatusNotFound, loadPathProblem(r.URL.Path))
}

// loadPathProblem says why path is no load path.
func loadPathProblem(path string) string {
	rest := strings.TrimPrefix(path, "/api/load/")
	parts := strings.Split(rest, "/")
	if len(parts) < 3 || parts[0] != "repos" {
		return fmt.Sprintf("no such load path %s: the load paths are %s", path, loadPaths)
	}
	if _, _, err := loadRepository(parts[1], parts[2]); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("no such load path %s: %q is nothing to load of a repository; the load paths are %s",
		path, "/"+strings.Join(parts[3:], "/"), loadPaths)
}

// scanProgress answers GET /api/scans/{id}: the scan's progress.
func (s *Server) scanProgress(w http.ResponseWriter, r *http.Request) {
	logger := zerolog.Ctx(r.Context()).With().Str("endpoint", "/api/scans/{id}").Str("remote_addr", r.RemoteAddr).Logger()
	if !s.apiGate(w, r, logger, loadEndpointsName) || !onlyMethod(w, r, http.MethodGet) {
		return
	}
	text := r.PathValue("id")
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id <= 0 {
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("no such scan path: the scan id %q is not a positive integer", text))
		return
	}
	p, found, err := s.ScanProgress(r.Context(), id)
	switch {
	case err != nil:
		logger.Error().Err(err).Int64("scan", id).Msg("Reading a scan's progress failed")
		writeAPIError(w, http.StatusInternalServerError, "reading the scan failed: "+err.Error())
	case !found:
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("there is no scan %d", id))
	default:
		writeAPIJSON(w, http.StatusOK, p)
	}
}

// scansNotFound answers the paths under /api/scans/ that name no scan.
func (s *Server) scansNotFound(w http.ResponseWriter, r *http.Request) {
	logger := zerolog.Ctx(r.Context()).With().Str("endpoint", "/api/scans/").Str("remote_addr", r.RemoteAddr).Logger()
	if !s.apiGate(w, r, logger, loadEndpointsName) {
		return
	}
	writeAPIError(w, http.StatusNotFound, fmt.Sprintf("no such path %s: a scan's progress is at GET /api/scans/{id}", r.URL.Path))
}
