package ospr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/internal/fakegithub"
	"github.com/osprey-bot/osprey/internal/fakejira"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/jiramap"
)

// jiraScenario is the reconcile scenario with a Jira step: a fake Jira
// (project OSPR) behind nickname test1, mapping openedx/* only.
type jiraScenario struct {
	*scenario
	jira *fakejira.Server
}

func newJiraScenario(t *testing.T, labels ...string) *jiraScenario {
	t.Helper()
	s := newScenario(t, "stranger")
	s.rc.PreviousBotLogins = nil
	jira := fakejira.New(fakejira.Cloud, jiraAccount)
	t.Cleanup(jira.Close)
	jira.AddProject("OSPR", "Task")
	dir := t.TempDir()
	mapping := filepath.Join(dir, "mapping.yaml")
	servers := filepath.Join(dir, "servers.yaml")
	for name, content := range map[string]string{
		mapping: "defaults: {type: Task}\nrepos:\n  - name: \"openedx/*\"\n    project: OSPR\n",
		servers: "test1:\n  server: " + jira.URL + "\n  email: " + jiraAccount.Email + "\n  token: " + jiraAccount.Token +
			"\n  mapping: " + mapping + "\n  description: the Test Jira\n  contact: jira-admins@example.org\n" +
			"other:\n  server: " + jira.URL + "\n  email: " + jiraAccount.Email + "\n  token: wrong\n  mapping: " + mapping + "\n",
	} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	loader := NewJiraLoader(DataSource(servers), nil, nil, func(string) (string, bool) { return "", false }, zerolog.Nop())
	if err := loader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	db, _ := testdb.New(t)
	s.rc.Replica = StoreReplica{DB: db}
	s.rc.Jira = &JiraStep{Config: loader.Config, DB: db, Timeout: 2 * time.Second}
	var ls []any
	for _, l := range labels {
		ls = append(ls, map[string]any{"name": l})
	}
	s.pr["labels"], s.pr["body"] = ls, "It fixes the widgets."
	return &jiraScenario{scenario: s, jira: jira}
}

func (s *jiraScenario) jiraComments() []fakegithub.Comment {
	var out []fakegithub.Comment
	for _, c := range s.comments() {
		if strings.Contains(c.Body, "<!-- jira:") {
			out = append(out, c)
		}
	}
	return out
}

func TestJiraLabelMakesOneIssueAndOneComment(t *testing.T) {
	s := newJiraScenario(t, "open-source-contribution", "jira:Test1")
	s.reconcile()
	issues := s.jira.Issues()
	if len(issues) != 1 || issues[0].Project != "OSPR" || issues[0].Summary != "Fix the widgets" ||
		!strings.Contains(issues[0].Description, "https://github.com/openedx/widgets/pull/7") ||
		!strings.Contains(issues[0].Description, "{quote}\nIt fixes the widgets.\n{quote}") {
		t.Fatalf("issues = %+v", issues)
	}
	c := s.jiraComments()
	if len(c) != 1 || !strings.Contains(c[0].Body, "[OSPR-1]("+s.jira.URL+"/browse/OSPR-1)") || !strings.Contains(c[0].Body, "in the Test Jira") {
		t.Fatalf("comments = %+v", c)
	}
	if res := s.reconcile(); len(res.Actions) != 0 {
		t.Errorf("second reconcile planned %v", res.Actions)
	}
	if len(s.jira.Issues()) != 1 || len(s.jiraComments()) != 1 {
		t.Errorf("%d issues, %d comments after a second reconcile", len(s.jira.Issues()), len(s.jiraComments()))
	}
}

// Two nicknames make two issues, each with its comment.
func TestJiraTwoNicks(t *testing.T) {
	s := newJiraScenario(t, "jira:test1", "jira:TEST2")
	cfg := s.rc.Jira.Config()
	cfg.Servers["test2"] = cfg.Servers["test1"]
	cfg.Mappings["test2"] = cfg.Mappings["test1"]
	s.reconcile()
	s.reconcile()
	if len(s.jira.Issues()) != 2 || len(s.jiraComments()) != 2 {
		t.Errorf("%d issues, %d comments", len(s.jira.Issues()), len(s.jiraComments()))
	}
}

// An unknown nickname gets one comment; nothing is tried again while it is
// there; once deleted, the next reconcile tries again.
func TestJiraUnknownNickAndUnmappedRepo(t *testing.T) {
	s := newJiraScenario(t, "jira:nobody")
	s.reconcile()
	s.reconcile()
	c := s.jiraComments()
	if len(c) != 1 || !strings.Contains(c[0].Body, Marker("no-jira-server")) || !strings.Contains(c[0].Body, "`jira:nobody`") {
		t.Fatalf("comments = %+v", c)
	}
	s.fake.DeleteComment("openedx", "widgets", 7, c[0].ID)
	s.reconcile()
	c = s.jiraComments()
	if len(c) != 1 || !strings.Contains(c[0].Body, Marker("no-jira-server")) {
		t.Fatalf("after deleting the comment, still unknown: %+v", c)
	}
	// The server is configured (under the label's nickname) and the comment
	// deleted: the next reconcile makes the issue.
	cfg := s.rc.Jira.Config()
	cfg.Servers["nobody"] = cfg.Servers["test1"]
	cfg.Mappings["nobody"] = cfg.Mappings["test1"]
	s.fake.DeleteComment("openedx", "widgets", 7, c[0].ID)
	s.reconcile()
	if c := s.jiraComments(); len(c) != 1 || !strings.Contains(c[0].Body, Marker("jira-issue")) || len(s.jira.Issues()) != 1 {
		t.Errorf("once configured: comments %+v, %d issues", c, len(s.jira.Issues()))
	}

	// A repository the mapping does not cover: the contact is named.
	u := newJiraScenario(t, "jira:test1")
	u.rc.Jira.Config().Mappings["test1"] = mustMapping(t, "repos:\n  - name: \"elsewhere/*\"\n    project: X\n    type: Task\n")
	u.reconcile()
	u.reconcile()
	if c := u.jiraComments(); len(c) != 1 || !strings.Contains(c[0].Body, Marker("no-jira-mapping")) || !strings.Contains(c[0].Body, "jira-admins@example.org") {
		t.Errorf("comments = %+v", c)
	}
	if len(u.jira.Issues()) != 0 {
		t.Error("an issue was made for an unmapped repository")
	}
}

// Bad credentials are reported, not retried in a storm; the other nick's
// issue is still made.
func TestJiraBadCredentials(t *testing.T) {
	s := newJiraScenario(t, "jira:other", "jira:test1")
	health := map[string]bool{}
	s.rc.Jira.Healthy = func(nick string, ok bool) { health[nick] = ok }
	res, err := s.rc.Reconcile(context.Background(), s.gh, "openedx", "widgets", 7, false)
	if err != nil {
		t.Fatalf("bad credentials failed the reconcile (it would be retried): %v", err)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "401") {
		t.Errorf("problems = %q", res.Problems)
	}
	if len(s.jira.Issues()) != 1 || len(s.jiraComments()) != 1 {
		t.Errorf("%d issues, %d comments", len(s.jira.Issues()), len(s.jiraComments()))
	}
	if health["other"] || !health["test1"] {
		t.Errorf("health = %v", health)
	}
}

// A repository's jira_nicks narrows the servers that apply to it.
func TestJiraNicksOfARepository(t *testing.T) {
	s := newJiraScenario(t, "jira:test1")
	s.fake.SetFile("openedx", "widgets", ".github/osprey.yml", []byte("jira_nicks: [other]\n"))
	s.reconcile()
	if c := s.jiraComments(); len(c) != 1 || !strings.Contains(c[0].Body, Marker("no-jira-server")) || len(s.jira.Issues()) != 0 {
		t.Errorf("comments %+v, %d issues", c, len(s.jira.Issues()))
	}
}

// Jira's 429 makes the job wait as long as Jira asked, spending no attempt.
func TestJiraRetryAfterSnoozesTheJob(t *testing.T) {
	s := newJiraScenario(t, "jira:test1")
	s.jira.FailNext("POST", "/rest/api/2/issue", 1, 429, "42")
	w := &ReconcileWorker{Service: &Service{Clients: s.clients, DB: s.rc.Jira.DB, Reconciler: s.rc}}
	err := w.Work(context.Background(), &river.Job[ReconcilePRArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
		Args: ReconcilePRArgs{InstallationID: installationID, Owner: "openedx", Repo: "widgets", Number: 7}})
	var snooze *rivertype.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration != 42*time.Second {
		t.Errorf("Work = %v, want a snooze of 42s", err)
	}
}

func mustMapping(t *testing.T, text string) jiramap.Mapping {
	t.Helper()
	m, err := jiramap.ParseMapping([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A label whose nickname holds a space or a ">" gets one comment, not one
// per event: the marker escapes it.
func TestJiraOddNicknameCommentsOnce(t *testing.T) {
	s := newJiraScenario(t, "jira:my server", "jira:a>b")
	for range 3 {
		s.reconcile()
	}
	if c := s.jiraComments(); len(c) != 2 {
		t.Errorf("%d comments: %+v", len(c), c)
	}
}

// Before the servers file has loaded, a jira label waits (snoozed) rather
// than be told no server exists.
func TestJiraWaitsForItsConfiguration(t *testing.T) {
	s := newJiraScenario(t, "jira:test1")
	s.rc.Jira.Config = func() *JiraConfig { return &JiraConfig{} } // never loaded
	w := &ReconcileWorker{Service: &Service{Clients: s.clients, DB: s.rc.Jira.DB, Reconciler: s.rc}}
	err := w.Work(context.Background(), &river.Job[ReconcilePRArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
		Args: ReconcilePRArgs{InstallationID: installationID, Owner: "openedx", Repo: "widgets", Number: 7}})
	var snooze *rivertype.JobSnoozeError
	if !errors.As(err, &snooze) {
		t.Errorf("Work = %v, want a snooze", err)
	}
	if len(s.jiraComments()) != 0 {
		t.Errorf("commented before the configuration loaded: %+v", s.jiraComments())
	}
}
