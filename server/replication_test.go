package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/handlers"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// timeline is every replication fixture with its event, in the order the
// story in testdata/webhooks/README.md happens.
var timeline = []struct{ event, file string }{
	{"pull_request", "pull_request_opened.json"},
	{"pull_request", "pull_request_edited.json"},
	{"pull_request", "pull_request_labeled.json"},
	{"pull_request", "pull_request_unlabeled.json"},
	{"pull_request", "pull_request_synchronize.json"},
	{"pull_request", "pull_request_review_requested.json"},
	{"pull_request_review", "pull_request_review_submitted.json"},
	{"pull_request_review_comment", "pull_request_review_comment_created.json"},
	{"pull_request_review", "pull_request_review_edited.json"},
	{"pull_request_review_comment", "pull_request_review_comment_reply.json"},
	{"pull_request_review_comment", "pull_request_review_comment_edited.json"},
	{"pull_request_review", "pull_request_review_dismissed.json"},
	{"pull_request_review_thread", "pull_request_review_thread_resolved.json"},
	{"pull_request_review_thread", "pull_request_review_thread_unresolved.json"},
	{"pull_request_review_comment", "pull_request_review_comment_deleted.json"},
	{"issue_comment", "issue_comment_created_pr.json"},
	{"pull_request", "pull_request_closed_merged.json"},
	{"pull_request", "pull_request_opened_bot.json"},
	{"milestone", "milestone_created.json"},
	{"issues", "issues_opened.json"},
	{"issue_comment", "issue_comment_created_issue.json"},
	{"issue_comment", "issue_comment_edited.json"},
	{"issue_comment", "issue_comment_deleted.json"},
	{"issues", "issues_edited.json"},
	{"issues", "issues_labeled.json"},
	{"issues", "issues_closed.json"},
	{"issues", "issues_deleted.json"},
	{"label", "label_created.json"},
	{"label", "label_edited.json"},
	{"label", "label_deleted.json"},
	{"repository", "repository_renamed.json"},
	{"repository", "repository_archived.json"},
	{"repository", "repository_transferred.json"},
	{"repository", "repository_deleted.json"},
	{"push", "push.json"},
	{"member", "member_added.json"},
	{"member", "member_removed.json"},
	{"membership", "membership_added.json"},
	{"membership", "membership_removed.json"},
	{"organization", "organization_member_added.json"},
	{"organization", "organization_member_removed.json"},
	{"organization", "organization_member_invited.json"},
	{"milestone", "milestone_closed.json"},
	{"milestone", "milestone_deleted.json"},
}

// followUpRecorder is a FollowUps that records its calls, and proves it runs
// inside the delivery's transaction by using it.
type followUpRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (f *followUpRecorder) PullRequestActivity(ctx context.Context, tx pgx.Tx, a handlers.PullRequestActivity) error {
	var title string
	if err := tx.QueryRow(ctx, `SELECT title FROM pull_requests WHERE repository_id = $1 AND number = $2`,
		a.PR.RepositoryID, a.PR.Number).Scan(&title); err != nil {
		return fmt.Errorf("the pull request is not visible to the follow-up: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s.%s %s/%s#%d %.7s files:%v by:%s", a.Event, a.Action, a.Owner, a.Repo, a.PR.Number, a.HeadSHA, a.FilesChanged, a.Sender))
	return nil
}

func TestSignedDeliveriesReplicateEveryObject(t *testing.T) {
	followUps := &followUpRecorder{}
	h := newHarness(t, func(_ *server.Config, o *server.Options) {
		o.Handlers = func(b handlers.Base) []githubapp.EventHandler {
			b.FollowUps = followUps
			return handlers.All(b)
		}
	})
	// One at a time: labels, reviews and memberships carry no timestamps
	// to order them, so the last delivery processed wins for them.
	for i, d := range timeline {
		guid := fmt.Sprintf("guid-%02d", i)
		h.send(d.event, guid, fixture(t, d.file))
		h.waitFor(guid, store.StatusProcessed, 10*time.Second)
	}
	ctx := context.Background()
	checks := []struct{ query, want string }{
		{`SELECT string_agg(format('%s:%s:%s:%s:%s', number, state, merged, merged_by_login, title), ',' ORDER BY number) FROM pull_requests`,
			"1234:closed:t:alice-maint:Fix wobble under load (v2),1236:open:f::Update dependency foo to v2"},
		{`SELECT string_agg(format('%s:%s:%s', login, type, deleted_at IS NOT NULL), ',' ORDER BY id) FROM accounts`,
			"alice-maint:User:f,bob-contrib:User:f,carol-review:User:f,dave-new:User:f,renovate[bot]:Bot:f,acme:Organization:f"},
		{`SELECT string_agg(format('%s:%s:%s:%s', id, full_name, archived, deleted_at IS NOT NULL), ',' ORDER BY id) FROM repositories`,
			"2001:acme/gizmos:t:f,2002:acme/old-tools:f:t,9002:bob-contrib/widgets:f:f"},
		{`SELECT to_char(pushed_at, 'YYYY-MM-DD HH24:MI') FROM repositories WHERE id = 2001`, "2026-11-22 11:00"},
		{`SELECT string_agg(format('%s:%s:%s:%s', number, is_pull_request, state, deleted_at IS NOT NULL), ',' ORDER BY number) FROM issues`,
			"1234:t:open:f,1235:f:closed:t"},
		{`SELECT string_agg(format('%s:%s:%s', id, issue_number, deleted_at IS NOT NULL), ',' ORDER BY id) FROM issue_comments`,
			"2700001:1234:f,2700002:1235:t"},
		{`SELECT string_agg(format('%s:%s', id, state), ',') FROM pull_request_reviews`, "2500001:dismissed"},
		{`SELECT string_agg(format('%s:%s:%s', id, thread_node_id, deleted_at IS NOT NULL), ',' ORDER BY id) FROM pull_request_review_comments`,
			"2600001:PRRT_kwDOwidgets42:f,2600002:PRRT_kwDOwidgets42:t"},
		{`SELECT format('%s:%s', resolved, coalesce(resolved_by_login, '-')) FROM pull_request_review_threads`, "f:-"},
		{`SELECT string_agg(format('%s:%s:%s', id, name, deleted_at IS NOT NULL), ',' ORDER BY id) FROM labels`,
			"4001:bug:f,4002:needs triage:f,4003:documentation:t,7001:needs triage:f"},
		{`SELECT string_agg(format('#%s:%s', issue_number, label_name), ',' ORDER BY issue_number, label_name) FROM issue_labels`,
			"#1235:bug,#1235:needs triage"},
		{`SELECT format('%s:%s:%s', title, state, deleted_at IS NOT NULL) FROM milestones`, "v2.0:closed:t"},
		{`SELECT string_agg(format('%s:%s:%s:%s', user_login, role, state, deleted_at IS NOT NULL), ',' ORDER BY user_id) FROM org_memberships`,
			"alice-maint:member:active:f,carol-review:member:active:t,dave-new:member:pending:f"},
		{`SELECT format('%s:%s', user_login, deleted_at IS NOT NULL) FROM team_memberships`, "alice-maint:t"},
		{`SELECT format('%s:%s:%s', user_login, permission, deleted_at IS NOT NULL) FROM repository_collaborators`, "carol-review:write:t"},
		{`SELECT string_agg(number::text, ',') FROM open_pull_requests`, "1236"},
		{`SELECT format('%s:%s', first_responder, first_response_kind) FROM pull_request_first_response WHERE number = 1234`, "carol-review:review"},
		// The outcome commits with the rows: one attempt each, timed.
		{`SELECT string_agg(DISTINCT format('%s:%s:%s', status, attempts, started_at <= finished_at), ',') FROM deliveries`, "processed:1:t"},
	}
	for _, c := range checks {
		var got string
		if err := h.db.QueryRow(ctx, c.query).Scan(&got); err != nil {
			t.Errorf("%s: %v", c.query, err)
		} else if got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.query, got, c.want)
		}
	}
	followUps.mu.Lock()
	defer followUps.mu.Unlock()
	// Every delivery about a pull request, comments on it included; none
	// for the comments on plain issues.
	want := []string{
		"pull_request.opened acme/widgets#1234 6dcb09b files:true by:bob-contrib",
		"pull_request.edited acme/widgets#1234 6dcb09b files:false by:bob-contrib",
		"pull_request.labeled acme/widgets#1234 6dcb09b files:false by:alice-maint",
		"pull_request.unlabeled acme/widgets#1234 6dcb09b files:false by:alice-maint",
		"pull_request.synchronize acme/widgets#1234 4eede51 files:true by:bob-contrib",
		"pull_request.review_requested acme/widgets#1234 4eede51 files:false by:alice-maint",
		"pull_request_review.submitted acme/widgets#1234 4eede51 files:false by:carol-review",
		"pull_request_review_comment.created acme/widgets#1234 4eede51 files:false by:carol-review",
		"pull_request_review.edited acme/widgets#1234 4eede51 files:false by:carol-review",
		"pull_request_review_comment.created acme/widgets#1234 4eede51 files:false by:bob-contrib",
		"pull_request_review_comment.edited acme/widgets#1234 4eede51 files:false by:carol-review",
		"pull_request_review.dismissed acme/widgets#1234 4eede51 files:false by:alice-maint",
		"pull_request_review_comment.deleted acme/widgets#1234 4eede51 files:false by:bob-contrib",
		"issue_comment.created acme/widgets#1234  files:false by:alice-maint",
		"pull_request.closed acme/widgets#1234 4eede51 files:false by:alice-maint",
		"pull_request.opened acme/widgets#1236 fa50e76 files:true by:renovate[bot]",
	}
	if fmt.Sprint(followUps.calls) != fmt.Sprint(want) {
		t.Errorf("follow-ups:\n got %v\nwant %v", followUps.calls, want)
	}
}

// A NUL character in a title (Postgres text cannot hold one) is stored as
// U+FFFD: the delivery is processed, not failed.
func TestNULInATitleIsStored(t *testing.T) {
	h := newHarness(t)
	body := strings.ReplaceAll(string(fixture(t, "pull_request_opened.json")),
		`"title": "feat: read widget configuration from the environment"`, `"title": "a\u0000b"`)
	h.send("pull_request", "nul", []byte(body))
	h.waitFor("nul", store.StatusProcessed, 10*time.Second)
	var title string
	if err := h.db.QueryRow(context.Background(), `SELECT title FROM pull_requests`).Scan(&title); err != nil || title != "a\uFFFDb" {
		t.Errorf("title %q (err %v), want a\uFFFDb", title, err)
	}
}

// A transferred issue is replicated where it went, and the old one is kept
// as deleted.
func TestTransferredIssue(t *testing.T) {
	h := newHarness(t)
	var event map[string]any
	if err := json.Unmarshal(fixture(t, "issues_opened.json"), &event); err != nil {
		t.Fatal(err)
	}
	var moved map[string]any
	if err := json.Unmarshal(fixture(t, "repository_transferred.json"), &moved); err != nil {
		t.Fatal(err)
	}
	newIssue := map[string]any{}
	for k, v := range event["issue"].(map[string]any) {
		newIssue[k] = v
	}
	newIssue["id"], newIssue["number"] = 1700000099, 7
	event["action"] = "transferred"
	event["changes"] = map[string]any{"new_issue": newIssue, "new_repository": moved["repository"]}
	body, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	h.send("issues", "transfer", body)
	h.waitFor("transfer", store.StatusProcessed, 10*time.Second)
	var got string
	if err := h.db.QueryRow(context.Background(), `SELECT string_agg(format('%s:%s:%s', id, repository_id, deleted_at IS NOT NULL), ',' ORDER BY id)
		FROM issues`).Scan(&got); err != nil || got != "1700000002:2001:t,1700000099:2002:f" {
		t.Errorf("issues = %q (err %v)", got, err)
	}
}
