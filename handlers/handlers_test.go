package handlers

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/inbox"
)

// Payloads that decode but lack parts their event usually carries must not
// panic: a panic costs a retry cycle, an error says what is wrong.
func TestHandlersSurvivePartialPayloads(t *testing.T) {
	ctx := zerolog.Nop().WithContext(context.Background())
	tests := []struct {
		name    string
		handler interface {
			Handle(context.Context, string, string, []byte) error
		}
		event         string
		payload       string
		wantPermanent bool
	}{
		{"ping without hook", &Ping{}, "ping", `{"zen":"z"}`, false},
		{"ping that is not an object", &Ping{}, "ping", `[]`, true},
		{"installation without installation", &Installation{}, "installation", `{"action":"created"}`, true},
		{"installation_repositories without installation", &InstallationRepositories{}, "installation_repositories", `{"action":"added"}`, true},
		{"pull_request without pull request", &PullRequest{}, "pull_request", `{"action":"opened"}`, true},
		{"pull_request_review without review", &PullRequestReview{}, "pull_request_review", `{"action":"submitted","pull_request":{"id":1}}`, true},
		{"pull_request_review_comment without comment", &PullRequestReviewComment{}, "pull_request_review_comment", `{"action":"created"}`, true},
		{"pull_request_review_thread without thread", &PullRequestReviewThread{}, "pull_request_review_thread", `{"action":"resolved"}`, true},
		{"issues without issue", &Issues{}, "issues", `{"action":"opened"}`, true},
		{"issue_comment without comment", &IssueComment{}, "issue_comment", `{"action":"created","issue":{"id":1}}`, true},
		{"label without label", &Label{}, "label", `{"action":"created"}`, true},
		{"milestone without milestone", &Milestone{}, "milestone", `{"action":"created"}`, true},
		{"repository without repository", &Repository{}, "repository", `{"action":"created"}`, true},
		{"member without member", &Member{}, "member", `{"action":"added","repository":{"id":1}}`, true},
		{"membership without team", &Membership{}, "membership", `{"action":"added","member":{"id":1}}`, true},
		{"organization without organization", &Organization{}, "organization", `{"action":"member_added"}`, true},
		{"push without repository", &Push{}, "push", `{"ref":"refs/heads/main"}`, true},
		{"pull_request with a wrongly typed field", &PullRequest{}, "pull_request", `{"action":"opened","pull_request":{"id":"x"}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.handler.Handle(ctx, tt.event, "guid", []byte(tt.payload))
			if tt.wantPermanent != inbox.IsPermanent(err) || (!tt.wantPermanent && err != nil) {
				t.Errorf("err = %v, want permanent: %v", err, tt.wantPermanent)
			}
		})
	}
}
