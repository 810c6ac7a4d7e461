package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/ospr"
)

// rescanSetup is a fake GitHub on which openedx (installation 7) has two
// open outside pull requests on widgets, #8 and #7, and lists a third, #9,
// that cannot be read when broken is set; and a function that runs
// `osprey rescan ARGS` against it, with the triage on.
func rescanSetup(t *testing.T, broken bool) (*fakegithub.Server, func(args ...string) (stdout, stderr string, err error)) {
	t.Helper()
	fake, app, err := fakegithub.NewApp(99)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	pr := func(n int, author, created string) map[string]any {
		return map[string]any{
			"number": n, "title": "Change", "state": "open", "draft": false, "merged": false,
			"user": map[string]any{"login": author, "type": "User"}, "author_association": "CONTRIBUTOR", "created_at": created,
			"head":   map[string]any{"sha": fmt.Sprintf("sha%d", n), "ref": "fix"},
			"base":   map[string]any{"ref": "main", "repo": map[string]any{"name": "widgets", "private": false, "owner": map[string]any{"login": "openedx"}}},
			"labels": []any{},
		}
	}
	eight, seven := pr(8, "stranger", "2026-02-10T10:00:00Z"), pr(7, "stranger", "2026-01-10T10:00:00Z")
	fake.AddPullRequest("openedx", "widgets", eight)
	fake.AddPullRequest("openedx", "widgets", seven)
	list := []any{eight, seven}
	if broken {
		list = []any{pr(9, "stranger", "2026-03-01T10:00:00Z"), eight, seven}
	}
	fake.SetList("/repos/openedx/widgets/pulls", list)
	fake.SetOrgInstallation("openedx", 7)

	_, dbURL := testdb.New(t)
	for name, value := range map[string]string{
		"OSPREY_DATABASE_URL": dbURL, "OSPREY_CREDENTIALS_FILE": "", "OSPREY_LOG_LEVEL": "warn",
		"GITHUB_APP_INTEGRATION_ID": strconv.FormatInt(app.App.IntegrationID, 10), "GITHUB_APP_PRIVATE_KEY": app.App.PrivateKey,
		"GITHUB_APP_WEBHOOK_SECRET": "s", "GITHUB_V3_API_URL": app.V3APIURL, "GITHUB_V4_API_URL": app.V4APIURL, "GITHUB_WEB_URL": app.WebURL,
		"OSPREY_TRIAGE_ENABLED": "true", "OSPREY_TRIAGE_APP_LOGIN": fake.BotLogin(),
	} {
		t.Setenv(name, value)
	}
	return fake, func(args ...string) (string, string, error) {
		root := newRoot(Build{Version: "test"})
		var stdout, stderr bytes.Buffer
		root.SetOut(&stdout)
		root.SetErr(&stderr)
		root.SetArgs(append([]string{"rescan"}, args...))
		err := root.ExecuteContext(context.Background())
		return stdout.String(), stderr.String(), err
	}
}

const (
	planStatus  = `set-status osprey/cla=failure "No contributor agreement is on file for the author."`
	planLabel   = `add-label "open-source-contribution"`
	planComment = `create-comment external_pr`
)

func TestRescanCommand(t *testing.T) {
	fake, rescan := rescanSetup(t, false)

	out, _, err := rescan("openedx/widgets", "--dry-run", "--since", "2026-02-01")
	want := "openedx/widgets#8 ospr: would " + planStatus + "; would " + planLabel + "; would " + planComment + "\n" +
		"rescan openedx/widgets (dry run): 1 pull request(s), 1 with changes planned, 0 with errors, 0 repository error(s)\n"
	if err != nil || out != want {
		t.Errorf("dry run: %v\n got %q\nwant %q", err, out, want)
	}

	out, _, err = rescan("openedx/widgets", "--dry-run", "--json", "--until", "2026-01-10")
	var report ospr.RescanReport
	if err != nil || json.Unmarshal([]byte(out), &report) != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(report.PullRequests) != 1 || report.PullRequests[0].PullRequest != "openedx/widgets#7" || !report.DryRun ||
		strings.Join(report.PullRequests[0].Actions, "|") != planStatus+"|"+planLabel+"|"+planComment {
		t.Errorf("--json report = %+v", report)
	}
	if n := len(fake.Comments("openedx", "widgets", 7)) + len(fake.Comments("openedx", "widgets", 8)); n != 0 {
		t.Fatalf("dry runs wrote %d comments", n)
	}

	out, _, err = rescan("openedx/widgets")
	want = "openedx/widgets#8 ospr: done " + planStatus + "; done " + planLabel + "; done " + planComment + "\n" +
		"openedx/widgets#7 ospr: done " + planStatus + "; done " + planLabel + "; done " + planComment + "\n" +
		"rescan openedx/widgets: 2 pull request(s), 2 with changes made, 0 with errors, 0 repository error(s)\n"
	if err != nil || out != want {
		t.Errorf("rescan: %v\n got %q\nwant %q", err, out, want)
	}
	if len(fake.Comments("openedx", "widgets", 7)) != 1 || len(fake.Comments("openedx", "widgets", 8)) != 1 {
		t.Error("the rescan did not comment on both pull requests")
	}
	out, _, err = rescan("openedx/widgets")
	want = "openedx/widgets#8 ospr: nothing to do\nopenedx/widgets#7 ospr: nothing to do\n" +
		"rescan openedx/widgets: 2 pull request(s), 0 with changes made, 0 with errors, 0 repository error(s)\n"
	if err != nil || out != want {
		t.Errorf("second rescan: %v\n got %q\nwant %q", err, out, want)
	}
}

// A pull request that fails is reported, the others still run, and the
// command fails.
func TestRescanCommandFailsWhenAPullRequestFails(t *testing.T) {
	_, rescan := rescanSetup(t, true)
	out, _, err := rescan("openedx/widgets", "--dry-run")
	if err == nil || err.Error() != "rescan of openedx/widgets: 1 pull request(s) and 0 repository(ies) failed" {
		t.Errorf("err = %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "openedx/widgets#9: error: ") || !strings.Contains(lines[0], "404 Not Found") ||
		!strings.HasPrefix(lines[1], "openedx/widgets#8 ospr: would ") || !strings.HasPrefix(lines[2], "openedx/widgets#7 ospr: would ") ||
		lines[3] != "rescan openedx/widgets (dry run): 3 pull request(s), 2 with changes planned, 1 with errors, 0 repository error(s)" {
		t.Errorf("output:\n%s", out)
	}
}

func TestRescanCommandRefusesBadArguments(t *testing.T) {
	_, rescan := rescanSetup(t, false)
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"openedx"}, `target "openedx": want OWNER/REPO or all:ORG`},
		{[]string{"all:"}, `target "all:": name the organisation after all:`},
		{[]string{"openedx/widgets", "--since", "last week"},
			`--since "last week" is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-01-02T15:04:05Z)`},
		{[]string{"nobody/widgets"}, "the app is not installed on nobody (neither an organisation nor a user of that name has installed it)"},
		{[]string{}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if _, _, err := rescan(tt.args...); err == nil || err.Error() != tt.err {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
