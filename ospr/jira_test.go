package ospr

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/internal/fakejira"
	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/jiramap"
)

var jiraAccount = fakejira.Account{AccountID: "5b10a", Email: "osprey@example.org", DisplayName: "osprey", Token: "tok"}

// newJiraWorld is a fake Jira of mode with project OSPR, a client of it
// (nick test1) and a fresh database.
func newJiraWorld(t *testing.T, mode fakejira.Mode) (*fakejira.Server, *jiramap.Client, *pgxpool.Pool) {
	t.Helper()
	fake := fakejira.New(mode, jiraAccount)
	t.Cleanup(fake.Close)
	fake.AddProject("OSPR", "Task")
	servers, err := jiramap.ParseServers([]byte("test1:\n  server: "+fake.URL+"\n  email: "+jiraAccount.Email+
		"\n  token: "+jiraAccount.Token+"\n  mapping: m.yaml\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := servers.Lookup("test1")
	client, err := jiramap.NewClient(srv, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := testdb.New(t)
	return fake, client, db
}

func TestJiraIssueIsCreatedOnce(t *testing.T) {
	fake, client, db := newJiraWorld(t, fakejira.Cloud)
	pr := PR{Owner: "openedx", Repo: "widgets", Number: 7, ID: 7007, Title: "Fix the widgets"}
	ensure := func() (string, bool, error) {
		key, _, created, err := EnsureJiraIssue(context.Background(), db, client, pr, "test1", jiramap.Target{Project: "OSPR", Type: "Task"},
			pr.Title, "From GitHub")
		return key, created, err
	}
	key, created, err := ensure()
	if err != nil || key != "OSPR-1" || !created {
		t.Fatalf("first: %q %v %v", key, created, err)
	}
	issues := fake.Issues()
	if len(issues) != 1 || issues[0].Summary != "Fix the widgets" || !slices.Equal(issues[0].Labels, []string{FromGitHubLabel, "github-pr-7007-test1"}) {
		t.Errorf("issues = %+v", issues)
	}
	if key, created, err := ensure(); err != nil || key != "OSPR-1" || created {
		t.Errorf("again: %q %v %v", key, created, err)
	}
	if n := len(fake.Issues()); n != 1 {
		t.Errorf("%d issues", n)
	}
}

// Jira creates the issue but the answer is lost: the next attempt finds
// it by its label instead of creating another, on both kinds of Jira.
func TestJiraIssueAfterALostAnswer(t *testing.T) {
	for _, mode := range []fakejira.Mode{fakejira.Cloud, fakejira.DataCenter} {
		fake, client, db := newJiraWorld(t, mode)
		pr := PR{Owner: "openedx", Repo: "widgets", Number: 7, ID: 7007, Title: "Fix"}
		target := jiramap.Target{Project: "OSPR", Type: "Task"}
		ensure := func() (string, bool, error) {
			key, _, created, err := EnsureJiraIssue(context.Background(), db, client, pr, "test1", target, "Fix", "body")
			return key, created, err
		}
		fake.DropNext(http.MethodPost, "/rest/api/2/issue", 1)
		if _, _, err := ensure(); err == nil {
			t.Fatal("a dropped answer was not an error")
		}
		if _, _, err := ensure(); !errors.Is(err, ErrJiraIntentPending) {
			t.Errorf("right after: %v, want ErrJiraIntentPending", err)
		}
		age(t, db, JiraSettle+time.Second)
		key, created, err := ensure()
		if err != nil || key != "OSPR-1" || created {
			t.Errorf("after settling: %q %v %v", key, created, err)
		}
		if n := len(fake.Issues()); n != 1 {
			t.Errorf("mode %d: %d issues", mode, n)
		}
	}
}

// Jira failing (5xx) creates nothing; the next attempt, Jira back, finds
// nothing to adopt and creates the one issue.
func TestJiraIssueAfterJiraFailed(t *testing.T) {
	fake, client, db := newJiraWorld(t, fakejira.Cloud)
	pr := PR{Owner: "openedx", Repo: "widgets", Number: 7, ID: 7007}
	target := jiramap.Target{Project: "OSPR", Type: "Task"}
	fake.FailNext(http.MethodPost, "/rest/api/2/issue", 1, http.StatusServiceUnavailable, "")
	if _, _, _, err := EnsureJiraIssue(context.Background(), db, client, pr, "test1", target, "Fix", ""); err == nil {
		t.Fatal("a 503 was not an error")
	}
	age(t, db, JiraSettle+time.Second)
	key, _, created, err := EnsureJiraIssue(context.Background(), db, client, pr, "test1", target, "Fix", "")
	if err != nil || key != "OSPR-1" || !created || len(fake.Issues()) != 1 {
		t.Errorf("after recovery: %q %v %v, %d issues", key, created, err, len(fake.Issues()))
	}
}

// Reconciles racing for the same (pull request, nick) make one issue: the
// intent is recorded atomically, and the losers wait.
func TestJiraIssueConcurrently(t *testing.T) {
	fake, client, db := newJiraWorld(t, fakejira.Cloud)
	pr := PR{Owner: "openedx", Repo: "widgets", Number: 7, ID: 7007}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, pending := 0, 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, c, err := EnsureJiraIssue(context.Background(), db, client, pr, "test1", jiramap.Target{Project: "OSPR", Type: "Task"}, "Fix", "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case c:
				created++
			case errors.Is(err, ErrJiraIntentPending):
				pending++
			case err != nil:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(fake.Issues()); n != 1 || created != 1 {
		t.Errorf("%d issues, %d created, %d pending", n, created, pending)
	}
	// Two nicks are two issues.
	if _, _, c, err := EnsureJiraIssue(context.Background(), db, client, pr, "test2", jiramap.Target{Project: "OSPR", Type: "Task"}, "Fix", ""); err != nil || !c {
		t.Errorf("second nick: %v %v", c, err)
	}
	if n := len(fake.Issues()); n != 2 {
		t.Errorf("%d issues for two nicks", n)
	}
}

// age makes every Jira intent older by d, as if that time had passed.
func age(t *testing.T, db *pgxpool.Pool, d time.Duration) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `UPDATE jira_issues SET intended_at = intended_at - $1::interval`, d.String()); err != nil {
		t.Fatal(err)
	}
}

// Jira slow to index: an issue made by an attempt whose answer was lost is
// found by the search once JiraSettle has passed since that attempt ended,
// and a failure before the lost answer does not start the clock early.
func TestJiraIssueClockStartsAtTheLastAttempt(t *testing.T) {
	fake, client, db := newJiraWorld(t, fakejira.Cloud)
	pr := PR{Owner: "openedx", Repo: "widgets", Number: 7, ID: 7007}
	target := jiramap.Target{Project: "OSPR", Type: "Task"}
	ensure := func() error {
		_, _, _, err := EnsureJiraIssue(context.Background(), db, client, pr, "test1", target, "Fix", "")
		return err
	}
	fake.FailNext(http.MethodPost, "/rest/api/2/issue", 1, http.StatusServiceUnavailable, "")
	if err := ensure(); err == nil {
		t.Fatal("a 503 was not an error")
	}
	age(t, db, JiraSettle+time.Second) // long after the failure...
	fake.SetSearchLag(time.Hour)       // ...a create whose answer is lost, Jira slow to index it
	fake.DropNext(http.MethodPost, "/rest/api/2/issue", 1)
	if err := ensure(); err == nil {
		t.Fatal("a dropped answer was not an error")
	}
	if err := ensure(); !errors.Is(err, ErrJiraIntentPending) {
		t.Errorf("right after the lost answer: %v, want ErrJiraIntentPending (the clock restarts)", err)
	}
	if n := len(fake.Issues()); n != 1 {
		t.Errorf("%d issues", n)
	}
}
