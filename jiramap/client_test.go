package jiramap

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/osprey-bot/osprey/internal/fakejira"
)

var account = fakejira.Account{AccountID: "5b10a", Email: "osprey@example.org", DisplayName: "osprey bot", Token: "tok-secret"}

func newJira(t *testing.T, mode fakejira.Mode, token string) (*fakejira.Server, *Client) {
	t.Helper()
	fake := fakejira.New(mode, account)
	t.Cleanup(fake.Close)
	fake.AddProject("OSPR", "Task", "Story")
	c, err := NewClient(Server{Nick: "test1", URL: fake.URL, Email: account.Email, token: token}, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

func TestClientAgainstBothJiras(t *testing.T) {
	for _, mode := range []fakejira.Mode{fakejira.Cloud, fakejira.DataCenter} {
		t.Run(map[fakejira.Mode]string{fakejira.Cloud: "cloud", fakejira.DataCenter: "data center"}[mode], func(t *testing.T) {
			fake, c := newJira(t, mode, account.Token)
			ctx := context.Background()
			if name, err := c.Myself(ctx); err != nil || name != "osprey bot" {
				t.Fatalf("myself: %q %v", name, err)
			}
			key, err := c.Create(ctx, NewIssue{Target: Target{"OSPR", "Task"}, Summary: strings.Repeat("s", 300),
				Description: "from GitHub", Labels: []string{"from-GitHub", "github-pr-7-test1"}})
			if err != nil || key != "OSPR-1" {
				t.Fatalf("create: %q %v", key, err)
			}
			if issues := fake.Issues(); len(issues) != 1 || len([]rune(issues[0].Summary)) != 255 || issues[0].Type != "Task" {
				t.Errorf("issues = %+v", issues)
			}
			for i := 0; i < 2; i++ { // the second search goes straight to the endpoint that answered
				got, found, err := c.FindByLabels(ctx, "", "github-pr-7-test1")
				if err != nil || !found || got != "OSPR-1" {
					t.Errorf("search %d: %q %v %v", i, got, found, err)
				}
			}
			if _, found, err := c.FindByLabels(ctx, "OSPR", "github-pr-8-test1"); err != nil || found {
				t.Errorf("search for another pull request: %v %v", found, err)
			}
			if mode == fakejira.Cloud {
				if n := fake.Count(http.MethodPost, "/rest/api/2/search", http.StatusGone); n != 0 {
					t.Errorf("Cloud was asked the removed search %d times", n)
				}
			} else if n := fake.Count(http.MethodPost, "/rest/api/3/search/jql", http.StatusNotFound); n != 1 {
				t.Errorf("Data Center was asked Cloud's search %d times, want once (then remembered)", n)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	_, bad := newJira(t, fakejira.Cloud, "wrong-token")
	if _, err := bad.Myself(ctx); !IsAuth(err) || strings.Contains(err.Error(), "wrong-token") || strings.Contains(err.Error(), "tok-secret") {
		t.Errorf("bad token: %v", err)
	}
	// A short timeout, for the request that hangs.
	jira := fakejira.New(fakejira.Cloud, account)
	t.Cleanup(jira.Close)
	jira.AddProject("OSPR", "Task")
	c, err := NewClient(Server{Nick: "test1", URL: jira.URL, Email: account.Email, token: account.Token}, nil, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	jira.FailNext(http.MethodPost, "/rest/api/2/issue", 1, http.StatusTooManyRequests, "7")
	_, err = c.Create(ctx, NewIssue{Target: Target{"OSPR", "Task"}, Summary: "x"})
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("429: %v (%v %v)", err, d, ok)
	}
	if _, err := c.Create(ctx, NewIssue{Target: Target{"OSPR", "Task"}, Summary: "x", Labels: []string{"two words"}}); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "spaces") {
		t.Errorf("a label with a space: %v", err)
	}
	jira.HangNext(http.MethodPost, "/rest/api/2/issue", 1)
	if _, err := c.Create(ctx, NewIssue{Target: Target{"OSPR", "Task"}, Summary: "x"}); err == nil || strings.Contains(err.Error(), jira.URL) {
		t.Errorf("a hung request: %v", err)
	}
	jira.SetForbidden(true)
	if _, err := c.Create(ctx, NewIssue{Target: Target{"OSPR", "Task"}, Summary: "x"}); !IsAuth(err) {
		t.Errorf("403: %v", err)
	}
	var apiErr *APIError
	if _, err := c.Create(ctx, NewIssue{Target: Target{"NOPE", "Task"}, Summary: "x"}); !errors.As(err, &apiErr) {
		t.Errorf("an unknown project: %v", err)
	}
}
