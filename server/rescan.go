package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/ospr"
)

// maxRescanBody bounds the body of POST /api/rescan.
const maxRescanBody = 64 << 10

// rescanParams is the body of POST /api/rescan, and the names of its query
// parameters.
type rescanParams struct {
	Target string `json:"target"`
	AllPRs bool   `json:"all_prs"`
	Since  string `json:"since"`
	Until  string `json:"until"`
	DryRun bool   `json:"dry_run"`
}

// rescan answers POST /api/rescan: an operator's rescan, run while the
// request waits, answered with the report. It is off (404) without an
// admin_token, and needs the token as a bearer token.
func (s *Server) rescan(w http.ResponseWriter, r *http.Request) {
	logger := zerolog.Ctx(r.Context()).With().Str("endpoint", "rescan").Str("remote_addr", r.RemoteAddr).Logger()
	if !s.apiGate(w, r, logger, "POST /api/rescan") {
		return
	}
	if s.triage == nil {
		writeAPIError(w, http.StatusServiceUnavailable, "the triage is off: set triage.enabled (OSPREY_TRIAGE_ENABLED) to rescan")
		return
	}
	req, err := readRescanRequest(w, r)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	logger.Info().Str("target", req.Target).Bool("all_prs", req.AllPRs).Bool("dry_run", req.DryRun).
		Time("since", req.Since).Time("until", req.Until).Msg("Rescan requested")
	// The workers keep the service ready (the app's login, the contributor
	// data): it is used as it is, without reloading for every request.
	report, err := s.triage.service.Rescan(logger.WithContext(r.Context()), req)
	var notInstalled *ospr.NotInstalledError
	switch {
	case errors.As(err, &notInstalled):
		writeAPIError(w, http.StatusUnprocessableEntity, err.Error())
		return
	case err != nil:
		logger.Error().Err(err).Str("target", req.Target).Msg("Rescan failed")
		writeAPIError(w, http.StatusBadGateway, "the rescan failed: "+err.Error())
		return
	}
	logger.Info().Str("target", req.Target).Int("pull_requests", len(report.PullRequests)).
		Int("repository_errors", len(report.Errors)).Msg("Rescan done")
	writeAPIJSON(w, http.StatusOK, report)
}

// checkAdminToken says what is wrong with the request's bearer token, or ""
// when it is the admin_token. The tokens are compared through their hashes,
// in constant time, so that neither their content nor their length leaks.
func (s *Server) checkAdminToken(r *http.Request) string {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "missing API token: send the header Authorization: Bearer <admin_token>"
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(s.cfg.AdminToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return "wrong API token: it is not the server's admin_token"
	}
	return ""
}

// readRescanRequest reads the rescan's parameters from the JSON body, or
// from the query when there is no body, and checks them.
func readRescanRequest(w http.ResponseWriter, r *http.Request) (ospr.RescanRequest, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRescanBody))
	if err != nil {
		return ospr.RescanRequest{}, fmt.Errorf("reading the body: %w", err)
	}
	var p rescanParams
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		p, err = rescanQuery(r.URL.Query())
	case r.URL.RawQuery != "":
		err = errors.New("give the parameters either as a JSON body or as query parameters, not both")
	default:
		p, err = rescanBody(data)
	}
	if err != nil {
		return ospr.RescanRequest{}, err
	}
	return p.request()
}

// rescanBody decodes a JSON body strictly: one object, known fields only.
func rescanBody(data []byte) (rescanParams, error) {
	var p rescanParams
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("the body is not a rescan request: %s", jsonProblem(err))
	}
	if dec.More() {
		return p, errors.New("the body is not a rescan request: it holds more than one JSON value")
	}
	return p, nil
}

// jsonProblem says what encoding/json found wrong, in the body's terms.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		want := map[string]string{"bool": "true or false", "string": "a string"}[typeErr.Type.String()]
		return fmt.Sprintf("%s must be %s, not a JSON %s", typeErr.Field, want, typeErr.Value)
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + field + " (known: target, all_prs, since, until, dry_run)"
	}
	return err.Error()
}

// rescanQuery reads the parameters from the query: each at most once,
// booleans as true/false (a bare name is true).
func rescanQuery(q url.Values) (rescanParams, error) {
	var p rescanParams
	for name, values := range q {
		if len(values) > 1 {
			return p, fmt.Errorf("query parameter %q is given %d times", name, len(values))
		}
		v := values[0]
		var err error
		switch name {
		case "target":
			p.Target = v
		case "since":
			p.Since = v
		case "until":
			p.Until = v
		case "all_prs":
			p.AllPRs, err = queryBool(name, v)
		case "dry_run":
			p.DryRun, err = queryBool(name, v)
		default:
			err = fmt.Errorf("unknown query parameter %q (known: target, all_prs, since, until, dry_run)", name)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

func queryBool(name, v string) (bool, error) {
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s=%q must be true or false", name, v)
	}
	return b, nil
}

// request checks the target and the window and builds the rescan request.
func (p rescanParams) request() (ospr.RescanRequest, error) {
	if _, _, _, err := ospr.ParseRescanTarget(p.Target); err != nil {
		return ospr.RescanRequest{}, err
	}
	since, until, err := ospr.ParseRescanDates(p.Since, p.Until)
	if err != nil {
		return ospr.RescanRequest{}, err
	}
	return ospr.RescanRequest{Target: p.Target, AllPRs: p.AllPRs, Since: since, Until: until, DryRun: p.DryRun}, nil
}

// writeAPIError answers {"error": msg}.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	writeAPIJSON(w, status, map[string]string{"error": msg})
}

func writeAPIJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
