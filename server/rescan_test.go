package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
)

const apiToken = "op3rator-t0ken-for-tests"

// rescanHarness is an osprey whose operator API has token (empty: off),
// with the triage on or off, and a fake GitHub on which openedx (installation
// 7) has one outside pull request, openedx/widgets#7.
func rescanHarness(t *testing.T, token string, triage bool) *harness {
	t.Helper()
	h := newHarness(t, func(c *server.Config, _ *server.Options) {
		c.AdminToken = token
		c.Triage.Enabled = triage
		c.Triage.AppLogin = "osprey-test[bot]"
	})
	pr := map[string]any{
		"number": 7, "title": "Fix the widgets", "state": "open", "draft": false, "merged": false,
		"user":               map[string]any{"login": "stranger", "type": "User"},
		"author_association": "CONTRIBUTOR", "created_at": "2026-02-10T10:00:00Z",
		"head":   map[string]any{"sha": "abc123", "ref": "fix"},
		"base":   map[string]any{"ref": "main", "repo": map[string]any{"name": "widgets", "private": false, "owner": map[string]any{"login": "openedx"}}},
		"labels": []any{},
	}
	h.fake.AddPullRequest("openedx", "widgets", pr)
	h.fake.SetList("/repos/openedx/widgets/pulls", []any{pr})
	h.fake.SetOrgInstallation("openedx", 7)
	return h
}

// rescanRequest posts body (none when empty) to /api/rescan?query with the
// Authorization header auth (none when empty).
func (h *harness) rescanRequest(auth, query, body string) (int, string) {
	h.t.Helper()
	url := h.http.URL + "/api/rescan"
	if query != "" {
		url += "?" + query
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return h.do(req)
}

// apiError reads the {"error": …} answer.
func apiError(t *testing.T, body string) string {
	t.Helper()
	var answer struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("the answer is not a JSON error: %v: %s", err, body)
	}
	return answer.Error
}

func TestRescanEndpointRefusals(t *testing.T) {
	h := rescanHarness(t, apiToken, true)
	bearer := "Bearer " + apiToken
	body := `{"target":"openedx/widgets","dry_run":true}`
	tests := []struct {
		name, auth, query, body string
		status                  int
		err                     string
	}{
		{"no token", "", "", body, http.StatusUnauthorized,
			"missing API token: send the header Authorization: Bearer <admin_token>"},
		{"another scheme", "Basic " + apiToken, "", body, http.StatusUnauthorized,
			"missing API token: send the header Authorization: Bearer <admin_token>"},
		{"a wrong token", "Bearer " + apiToken + "x", "", body, http.StatusUnauthorized,
			"wrong API token: it is not the server's admin_token"},
		{"an unknown field", bearer, "", `{"target":"openedx/widgets","dryrun":true}`, http.StatusBadRequest,
			`the body is not a rescan request: unknown field "dryrun" (known: target, all_prs, since, until, dry_run)`},
		{"a field of the wrong type", bearer, "", `{"target":"openedx/widgets","dry_run":"yes"}`, http.StatusBadRequest,
			"the body is not a rescan request: dry_run must be true or false, not a JSON string"},
		{"not JSON", bearer, "", `target=openedx/widgets`, http.StatusBadRequest,
			"the body is not a rescan request: invalid character 'a' in literal true (expecting 'r')"},
		{"two JSON values", bearer, "", body + body, http.StatusBadRequest,
			"the body is not a rescan request: it holds more than one JSON value"},
		{"no target", bearer, "", `{"dry_run":true}`, http.StatusBadRequest, "no target: give OWNER/REPO or all:ORG"},
		{"a bad target", bearer, "", `{"target":"openedx"}`, http.StatusBadRequest, `target "openedx": want OWNER/REPO or all:ORG`},
		{"a bad date", bearer, "", `{"target":"openedx/widgets","since":"2026-02-30"}`, http.StatusBadRequest,
			`since "2026-02-30" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)`},
		{"an empty window", bearer, "", `{"target":"openedx/widgets","since":"2026-02-01","until":"2026-01-01"}`, http.StatusBadRequest,
			"since 2026-02-01 is not before until 2026-01-01: the window is empty"},
		{"body and query", bearer, "dry_run=true", body, http.StatusBadRequest,
			"give the parameters either as a JSON body or as query parameters, not both"},
		{"an unknown query parameter", bearer, "target=openedx/widgets&dryrun=1", "", http.StatusBadRequest,
			`unknown query parameter "dryrun" (known: target, all_prs, since, until, dry_run)`},
		{"a query boolean", bearer, "target=openedx/widgets&all_prs=maybe", "", http.StatusBadRequest,
			`query parameter all_prs="maybe" must be true or false`},
		{"an owner without the app", bearer, "", `{"target":"elsewhere/widgets","dry_run":true}`, http.StatusUnprocessableEntity,
			"the app is not installed on elsewhere (neither an organisation nor a user of that name has installed it)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := h.rescanRequest(tt.auth, tt.query, tt.body)
			if status != tt.status || apiError(t, answer) != tt.err {
				t.Errorf("status %d, answer %s; want %d, %q", status, answer, tt.status, tt.err)
			}
		})
	}
	if n := len(h.fake.Comments("openedx", "widgets", 7)); n != 0 {
		t.Errorf("refused requests wrote %d comments", n)
	}
	if strings.Contains(h.logs.String(), apiToken) {
		t.Error("the API token is in the logs")
	}
}

func TestRescanEndpointOffWithoutAToken(t *testing.T) {
	h := rescanHarness(t, "", true)
	status, answer := h.rescanRequest("Bearer anything", "", `{"target":"openedx/widgets"}`)
	if want := "the operator API is off: set admin_token (OSPREY_ADMIN_TOKEN) to turn on POST /api/rescan"; status != http.StatusNotFound || apiError(t, answer) != want {
		t.Errorf("status %d, answer %s", status, answer)
	}
}

func TestRescanEndpointNeedsTheTriage(t *testing.T) {
	h := rescanHarness(t, apiToken, false)
	status, answer := h.rescanRequest("Bearer "+apiToken, "", `{"target":"openedx/widgets"}`)
	if want := "the triage is off: set triage.enabled (OSPREY_TRIAGE_ENABLED) to rescan"; status != http.StatusServiceUnavailable || apiError(t, answer) != want {
		t.Errorf("status %d, answer %s", status, answer)
	}
}

// A dry run answers the plan and writes nothing; the same request as
// query parameters without dry_run applies it.
func TestRescanEndpointAnswersTheReport(t *testing.T) {
	h := rescanHarness(t, apiToken, true)
	status, answer := h.rescanRequest("Bearer "+apiToken, "",
		`{"target":"openedx/widgets","all_prs":false,"since":"2026-01-01","until":"","dry_run":true}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, answer)
	}
	var report ospr.RescanReport
	if err := json.Unmarshal([]byte(answer), &report); err != nil {
		t.Fatal(err)
	}
	planned := []string{
		`set-status osprey/cla=failure "No contributor agreement is on file for the author."`,
		`add-label "open-source-contribution"`,
		`create-comment external_pr`,
	}
	want := ospr.RescanReport{Target: "openedx/widgets", DryRun: true, Errors: []string{},
		PullRequests: []ospr.PRReport{{PullRequest: "openedx/widgets#7", Class: "ospr", Actions: planned}}}
	if fmt.Sprintf("%+v", report) != fmt.Sprintf("%+v", want) {
		t.Errorf("report\n got %+v\nwant %+v", report, want)
	}
	if n := len(h.fake.Comments("openedx", "widgets", 7)); n != 0 {
		t.Errorf("a dry run wrote %d comments", n)
	}

	status, answer = h.rescanRequest("Bearer "+apiToken, "target=openedx%2Fwidgets&since=2026-02-10&until=2026-02-10", "")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, answer)
	}
	report = ospr.RescanReport{}
	if err := json.Unmarshal([]byte(answer), &report); err != nil {
		t.Fatal(err)
	}
	want.DryRun = false
	if fmt.Sprintf("%+v", report) != fmt.Sprintf("%+v", want) {
		t.Errorf("report\n got %+v\nwant %+v", report, want)
	}
	if c := h.fake.Comments("openedx", "widgets", 7); len(c) != 1 || c[0].User != "osprey-test[bot]" {
		t.Errorf("comments after the rescan: %+v", c)
	}
	if labels := h.fake.Labels("openedx", "widgets", 7); len(labels) != 1 || labels[0] != "open-source-contribution" {
		t.Errorf("labels after the rescan: %v", labels)
	}
	if strings.Contains(h.logs.String(), apiToken) {
		t.Error("the API token is in the logs")
	}
}
