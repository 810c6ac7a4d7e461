package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

// load decodes a fixture (testdata/webhooks/NAME, or testdata/NAME when it
// has a directory) into the go-github type T.
func load[T any](t testing.TB, name string) *T {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if filepath.Dir(name) == "." {
		path = filepath.Join("..", "testdata", "webhooks", name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return &v
}

// step is one delivery's worth of writes: each runs in its own transaction.
type step func(r *store.Replicator)

// check is a query returning one text value, and the value wanted.
type check struct{ query, want string }

var at = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func replicate(t testing.TB, db *pgxpool.Pool, via store.Source, steps ...step) {
	t.Helper()
	ctx := context.Background()
	for i, s := range steps {
		r := store.NewReplicator(via, at.Add(time.Duration(i)*time.Second))
		s(r)
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return r.Send(ctx, tx) }); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
}

func runChecks(t testing.TB, db *pgxpool.Pool, checks []check) {
	t.Helper()
	for _, c := range checks {
		var got string
		if err := db.QueryRow(context.Background(), c.query).Scan(&got); err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.query, got, c.want)
		}
	}
}

func TestReplicate(t *testing.T) {
	pr := func(name string) step {
		e := load[github.PullRequestEvent](t, name)
		return func(r *store.Replicator) { r.Repository(e.Repo); r.Account(e.Sender); r.PullRequest(e.PullRequest) }
	}
	issue := func(name string) step {
		e := load[github.IssuesEvent](t, name)
		return func(r *store.Replicator) { r.Repository(e.Repo); r.Issue(e.Repo.GetID(), e.Issue) }
	}
	issueComment := func(name string) step {
		e := load[github.IssueCommentEvent](t, name)
		on := store.IssueRef{RepositoryID: e.Repo.GetID(), Number: e.Issue.GetNumber(), IssueID: e.Issue.GetID(), IsPullRequest: e.Issue.IsPullRequest()}
		return func(r *store.Replicator) {
			r.Issue(e.Repo.GetID(), e.Issue)
			r.IssueComment(on, e.Comment)
			if e.GetAction() == "deleted" {
				r.DeleteIssueComment(e.Comment.GetID())
			}
		}
	}
	ref := store.PullRequestRef{RepositoryID: 2001, Number: 1234, ID: 1800000001}
	review := func(name string) step {
		e := load[github.PullRequestReviewEvent](t, name)
		return func(r *store.Replicator) { r.PullRequest(e.PullRequest); r.PullRequestReview(ref, e.Review) }
	}
	reviewComment := func(name string) step {
		e := load[github.PullRequestReviewCommentEvent](t, name)
		return func(r *store.Replicator) {
			r.PullRequest(e.PullRequest)
			r.PullRequestReviewComment(ref, e.Comment)
			if e.GetAction() == "deleted" {
				r.DeletePullRequestReviewComment(e.Comment.GetID())
			}
		}
	}
	repository := func(name string) step {
		e := load[github.RepositoryEvent](t, name)
		return func(r *store.Replicator) {
			r.Repository(e.Repo)
			if e.GetAction() == "deleted" {
				r.DeleteRepository(e.Repo.GetID())
			}
		}
	}
	label := func(name string) step {
		e := load[github.LabelEvent](t, name)
		return func(r *store.Replicator) {
			r.Label(e.Repo.GetID(), e.Label)
			if e.GetAction() == "deleted" {
				r.DeleteLabel(e.Label.GetID())
			}
		}
	}
	milestone := func(name string) step {
		e := load[github.MilestoneEvent](t, name)
		return func(r *store.Replicator) {
			r.Milestone(e.Repo.GetID(), e.Milestone)
			if e.GetAction() == "deleted" {
				r.DeleteMilestone(e.Milestone.GetID())
			}
		}
	}
	const (
		prRow     = `SELECT format('%s|%s|%s|%s|%s', title, state, updated_at, user_login, head_sha) FROM pull_requests WHERE id = 1800000001`
		prLabels  = `SELECT coalesce(string_agg(label_name, ',' ORDER BY label_name), '-') FROM issue_labels WHERE repository_id = 2001 AND issue_number = 1234`
		issueRow  = `SELECT format('%s|%s|%s|%s', title, state, state_reason, deleted_at IS NOT NULL) FROM issues WHERE id = 1700000002`
		rowCounts = `SELECT format('%s prs, %s accounts, %s repos, %s labels', (SELECT count(*) FROM pull_requests),
			(SELECT count(*) FROM accounts), (SELECT count(*) FROM repositories), (SELECT count(*) FROM issue_labels))`
	)
	tests := []struct {
		name   string
		steps  []step
		checks []check
	}{
		{
			name:  "opened replicates the pull request and everything nested",
			steps: []step{pr("pull_request_opened.json")},
			checks: []check{
				{`SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', number, state, draft, user_login, head_ref, base_ref, repository_id, head_repository_id)
					FROM pull_requests WHERE id = 1800000001`, "1234|open|f|bob-contrib|env-config|main|2001|9002"},
				{`SELECT string_agg(login || ':' || type, ',' ORDER BY id) FROM accounts`, "alice:User,bob-contrib:User,acme:Organization"},
				{`SELECT string_agg(full_name, ',' ORDER BY id) FROM repositories`, "acme/widgets,bob-contrib/widgets"},
				{prLabels, "needs triage"},
				{`SELECT format('%s|%s', last_replicated_via_webhook_at IS NOT NULL AND last_replicated_at = last_replicated_via_webhook_at, last_replicated_via_api_at IS NULL) FROM pull_requests`, "t|t"},
			},
		},
		{
			name:  "an edited that arrives before its opened keeps the edit",
			steps: []step{pr("pull_request_edited.json"), pr("pull_request_opened.json")},
			checks: []check{
				{prRow, "Fix wobble under load (v2)|open|2026-11-20 10:05:00+00|bob-contrib|6dcb09b5b57875f334f61aebed695e2e4193db5e"},
				{prLabels, "-"},
			},
		},
		{
			name:   "the same delivery applied twice changes nothing",
			steps:  []step{pr("pull_request_opened.json"), pr("pull_request_opened.json")},
			checks: []check{{rowCounts, "1 prs, 3 accounts, 2 repos, 1 labels"}},
		},
		{
			name: "a nested simple user after a full one keeps the profile",
			steps: []step{
				func(r *store.Replicator) { r.Account(load[github.User](t, "api/user_alice-maint.json")) },
				pr("pull_request_review_requested.json"),
			},
			checks: []check{{`SELECT format('%s|%s|%s|%s|%s', login, name, company, data->>'bio' IS NOT NULL, updated_at)
				FROM accounts WHERE id = 3001`, "alice-maint|Alice Maintainer|Acme|t|2026-11-01 12:00:00+00"}},
		},
		{
			name:  "labeled then unlabeled",
			steps: []step{pr("pull_request_opened.json"), pr("pull_request_labeled.json"), pr("pull_request_unlabeled.json")},
			checks: []check{
				{prLabels, "-"},
				{`SELECT string_agg(name, ',' ORDER BY name) FROM labels`, "bug,needs triage"},
			},
		},
		{
			name:   "labeled only",
			steps:  []step{pr("pull_request_labeled.json")},
			checks: []check{{prLabels, "bug"}},
		},
		{
			name: "a label listed twice is one row",
			steps: []step{func(r *store.Replicator) {
				e := load[github.PullRequestEvent](t, "pull_request_labeled.json")
				e.PullRequest.Labels = append(e.PullRequest.Labels, e.PullRequest.Labels...)
				r.PullRequest(e.PullRequest)
			}},
			checks: []check{{prLabels, "bug"}},
		},
		{
			name:   "an unlabeled that arrives before its labeled leaves the label off",
			steps:  []step{pr("pull_request_unlabeled.json"), pr("pull_request_labeled.json")},
			checks: []check{{prLabels, "-"}},
		},
		{
			name:  "merged",
			steps: []step{pr("pull_request_opened.json"), pr("pull_request_review_requested.json"), pr("pull_request_closed_merged.json")},
			checks: []check{
				{`SELECT format('%s|%s|%s|%s|%s|%s', state, merged, merged_at, merged_by_login, merge_commit_sha, closed_at)
					FROM pull_requests WHERE id = 1800000001`,
					"closed|t|2026-11-20 12:00:00+00|alice-maint|3706e103200420429e09371713688548085081ff|2026-11-20 12:00:00+00"},
				{`SELECT format('%s|%s|%s', milestone_id, assignee_logins, data->'milestone'->>'title') FROM pull_requests`, "6001|{alice-maint}|v2.0"},
			},
		},
		{
			name:  "a simple pull request from a review event keeps the full one's counts",
			steps: []step{pr("pull_request_synchronize.json"), review("pull_request_review_submitted.json")},
			checks: []check{{`SELECT format('%s|%s|%s|%s', commits IS NOT NULL, additions IS NOT NULL, data ? 'mergeable_state', updated_at)
				FROM pull_requests`, "t|t|t|2026-11-20 10:40:00+00"}},
		},
		{
			name: "a review and its comments",
			steps: []step{
				review("pull_request_review_submitted.json"), reviewComment("pull_request_review_comment_created.json"),
				reviewComment("pull_request_review_comment_reply.json"), reviewComment("pull_request_review_comment_edited.json"),
			},
			checks: []check{
				{`SELECT format('%s|%s|%s|%s', user_login, state, commit_id, pull_request_id) FROM pull_request_reviews WHERE id = 2500001`,
					"carol-review|changes_requested|4eede514a937f3ffa20b6da30ca2a0a1d725b3aa|1800000001"},
				{`SELECT string_agg(format('%s:%s:%s:%s:%s', id, pull_request_review_id, coalesce(in_reply_to_id, 0), user_login, updated_at), ',' ORDER BY id)
					FROM pull_request_review_comments`,
					"2600001:2500001:0:carol-review:2026-11-20 10:55:00+00,2600002:2500002:2600001:bob-contrib:2026-11-20 10:50:00+00"},
			},
		},
		{
			name: "a dismissed review stays dismissed when an older edit arrives late",
			steps: []step{review("pull_request_review_submitted.json"), review("pull_request_review_dismissed.json"),
				review("pull_request_review_edited.json")},
			checks: []check{{`SELECT state FROM pull_request_reviews WHERE id = 2500001`, "dismissed"}},
		},
		{
			name: "a resolved thread links its comments",
			steps: []step{reviewComment("pull_request_review_comment_created.json"), func(r *store.Replicator) {
				e := load[github.PullRequestReviewThreadEvent](t, "pull_request_review_thread_resolved.json")
				r.PullRequestReviewThread(ref, e.Thread, true, e.GetSender().GetLogin())
			}},
			checks: []check{
				{`SELECT format('%s|%s|%s', resolved, resolved_by_login, comment_ids) FROM pull_request_review_threads`, "t|alice-maint|{2600001,2600002}"},
				{`SELECT string_agg(id || ':' || thread_node_id, ',' ORDER BY id) FROM pull_request_review_comments`,
					"2600001:PRRT_kwDOwidgets42,2600002:PRRT_kwDOwidgets42"},
			},
		},
		{
			name:  "a deleted review comment is kept",
			steps: []step{reviewComment("pull_request_review_comment_reply.json"), reviewComment("pull_request_review_comment_deleted.json")},
			checks: []check{{`SELECT format('%s|%s', deleted_at IS NOT NULL, data->>'body' IS NOT NULL) FROM pull_request_review_comments WHERE id = 2600002`,
				"t|t"}},
		},
		{
			name: "a deleted comment is kept, and a late edit does not bring it back",
			steps: []step{issueComment("issue_comment_created_issue.json"), issueComment("issue_comment_deleted.json"),
				issueComment("issue_comment_edited.json")},
			checks: []check{{`SELECT format('%s|%s|%s|%s', issue_number, is_pull_request, user_login, deleted_at IS NOT NULL)
				FROM issue_comments WHERE id = 2700002`, "1235|f|carol-review|t"}},
		},
		{
			name:  "a comment on a pull request",
			steps: []step{pr("pull_request_opened.json"), issueComment("issue_comment_created_pr.json")},
			checks: []check{
				{`SELECT format('%s|%s|%s', issue_number, is_pull_request, issue_id) FROM issue_comments WHERE id = 2700001`, "1234|t|1700000001"},
				{`SELECT format('%s|%s', number, is_pull_request) FROM issues`, "1234|t"},
			},
		},
		{
			name:  "an issue opened, labeled, closed and deleted",
			steps: []step{issue("issues_opened.json"), issue("issues_edited.json"), issue("issues_labeled.json"), issue("issues_closed.json"), issue("issues_deleted.json")},
			checks: []check{
				{issueRow, "Widgets wobble under heavy load|closed|completed|f"},
				{`SELECT string_agg(label_name, ',' ORDER BY label_name) FROM issue_labels WHERE issue_number = 1235`, "bug,needs triage"},
				{`SELECT format('%s|%s|%s', milestone_id, closed_at, data->>'closed_at') FROM issues`, "6001|2026-11-21 10:00:00+00|2026-11-21T10:00:00Z"},
			},
		},
		{
			name:   "an issue deleted",
			steps:  []step{issue("issues_opened.json"), issue("issues_closed.json"), func(r *store.Replicator) { r.DeleteIssue(1700000002) }},
			checks: []check{{issueRow, "Widgets wobble under heavy load|closed|completed|t"}},
		},
		{
			name:  "a renamed repository",
			steps: []step{pr("pull_request_opened.json"), repository("repository_renamed.json")},
			checks: []check{{`SELECT format('%s|%s|%s', name, full_name, updated_at) FROM repositories WHERE id = 2001`,
				"gizmos|acme/gizmos|2026-11-22 08:00:00+00"}},
		},
		{
			name:   "a rename that arrives before an older copy of the repository",
			steps:  []step{repository("repository_renamed.json"), pr("pull_request_closed_merged.json")},
			checks: []check{{`SELECT full_name FROM repositories WHERE id = 2001`, "acme/gizmos"}},
		},
		{
			name:  "a transferred then deleted repository",
			steps: []step{repository("repository_transferred.json"), repository("repository_deleted.json")},
			checks: []check{{`SELECT format('%s|%s|%s', full_name, owner_login, deleted_at IS NOT NULL) FROM repositories WHERE id = 2002`,
				"acme/old-tools|acme|t"}},
		},
		{
			name: "a label created, renamed and deleted comes off issues",
			steps: []step{label("label_created.json"), label("label_edited.json"), func(r *store.Replicator) {
				e := load[github.IssuesEvent](t, "issues_opened.json")
				e.Issue.Labels = append(e.Issue.Labels, load[github.LabelEvent](t, "label_edited.json").Label)
				r.Issue(2001, e.Issue)
			}, label("label_deleted.json")},
			checks: []check{
				{`SELECT format('%s|%s|%s', name, description, deleted_at IS NOT NULL) FROM labels WHERE id = 4003`, "documentation|Documentation|t"},
				{`SELECT string_agg(label_name, ',') FROM issue_labels`, "needs triage"},
			},
		},
		{
			name: "an organisation deleted",
			steps: []step{func(r *store.Replicator) {
				r.Organization(load[github.OrganizationEvent](t, "organization_member_added.json").Organization)
			}, func(r *store.Replicator) { r.DeleteAccount(5001) }},
			checks: []check{{`SELECT format('%s|%s|%s', login, type, deleted_at IS NOT NULL) FROM accounts`, "acme|Organization|t"}},
		},
		{
			name:  "a milestone closed and deleted",
			steps: []step{milestone("milestone_created.json"), milestone("milestone_closed.json"), milestone("milestone_deleted.json")},
			checks: []check{{`SELECT format('%s|%s|%s|%s', title, state, closed_at, deleted_at IS NOT NULL) FROM milestones`,
				"v2.0|closed|2026-11-25 08:00:00+00|t"}},
		},
		{
			name: "a push moves pushed_at forward only",
			steps: []step{pr("pull_request_opened.json"), func(r *store.Replicator) {
				r.RepositoryPushed(load[github.PushEvent](t, "push.json").Repo)
			}, pr("pull_request_opened.json")},
			checks: []check{{`SELECT format('%s|%s', pushed_at, updated_at) FROM repositories WHERE id = 2001`,
				"2026-11-22 11:00:00+00|2026-11-19 08:00:00+00"}},
		},
		{
			name: "organisation, team and repository memberships",
			steps: []step{
				func(r *store.Replicator) {
					e := load[github.OrganizationEvent](t, "organization_member_added.json")
					r.OrgMembership(e.Organization, e.Membership, false)
				},
				func(r *store.Replicator) {
					e := load[github.OrganizationEvent](t, "organization_member_removed.json")
					r.OrgMembership(e.Organization, e.Membership, true)
				},
				func(r *store.Replicator) {
					e := load[github.MembershipEvent](t, "membership_added.json")
					r.TeamMembership(e.Org, e.Team, e.Member, false)
				},
				func(r *store.Replicator) {
					e := load[github.MemberEvent](t, "member_added.json")
					r.Collaborator(e.Repo, e.Member, "write", false)
				},
			},
			checks: []check{
				{`SELECT string_agg(format('%s:%s:%s:%s', user_login, role, state, deleted_at IS NOT NULL), ',' ORDER BY user_id) FROM org_memberships`,
					"alice-maint:member:active:f,carol-review:member:active:t"},
				{`SELECT format('%s|%s|%s', t.slug, m.user_login, m.organization_id) FROM team_memberships m JOIN teams t ON t.id = m.team_id`, "maintainers|alice-maint|5001"},
				{`SELECT format('%s|%s', user_login, permission) FROM repository_collaborators`, "carol-review|write"},
			},
		},
		{
			name: "files: a shorter list marks the files that left",
			steps: []step{
				func(r *store.Replicator) {
					r.PullRequestFiles(1800000001, 2001, "aaa", []*github.CommitFile{
						{Filename: github.String("a.go"), Status: github.String("added"), Additions: github.Int(3)},
						{Filename: github.String("b.go"), Status: github.String("modified"), Additions: github.Int(1)},
					})
				},
				func(r *store.Replicator) {
					r.PullRequestFiles(1800000001, 2001, "bbb", []*github.CommitFile{
						{Filename: github.String("b.go"), Status: github.String("modified"), Additions: github.Int(2)},
					})
				},
			},
			checks: []check{{`SELECT string_agg(format('%s:%s:%s:%s', filename, head_sha, additions, deleted_at IS NOT NULL), ',' ORDER BY filename)
				FROM pull_request_files`, "a.go:aaa:3:t,b.go:bbb:2:f"}},
		},
		{
			name: "a reopened issue loses closed_at",
			steps: []step{issue("issues_closed.json"), func(r *store.Replicator) {
				e := load[github.IssuesEvent](t, "issues_closed.json")
				e.Issue.State, e.Issue.StateReason, e.Issue.ClosedAt = github.String("open"), github.String("reopened"), nil
				e.Issue.UpdatedAt = &github.Timestamp{Time: e.Issue.UpdatedAt.Add(time.Minute)}
				r.Issue(2001, e.Issue)
			}},
			checks: []check{{`SELECT format('%s|%s|%s|%s', state, state_reason, closed_at IS NULL, data ? 'closed_at') FROM issues`, "open|reopened|t|f"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, _ := testdb.New(t)
			replicate(t, db, store.ViaWebhook, tt.steps...)
			runChecks(t, db, tt.checks)
		})
	}
}

func TestReplicateStampsTheSource(t *testing.T) {
	db, _ := testdb.New(t)
	e := load[github.PullRequestEvent](t, "pull_request_opened.json")
	replicate(t, db, store.ViaAPI, func(r *store.Replicator) { r.PullRequest(e.PullRequest) })
	runChecks(t, db, []check{{`SELECT format('%s|%s', last_replicated_via_webhook_at IS NULL, last_replicated_at = last_replicated_via_api_at) FROM pull_requests`, "t|t"}})
	replicate(t, db, store.ViaWebhook, step(func(r *store.Replicator) {}), func(r *store.Replicator) { r.PullRequest(e.PullRequest) })
	runChecks(t, db, []check{{`SELECT format('%s|%s', last_replicated_via_api_at < last_replicated_via_webhook_at, last_replicated_at = last_replicated_via_webhook_at) FROM pull_requests`, "t|t"}})
}

func TestReplicateTextWithNUL(t *testing.T) {
	db, _ := testdb.New(t)
	replicate(t, db, store.ViaWebhook, func(r *store.Replicator) {
		r.IssueComment(store.IssueRef{RepositoryID: 1, Number: 2}, &github.IssueComment{ID: github.Int64(3), Body: github.String("a\x00b")})
		r.PullRequestReviewComment(store.PullRequestRef{Number: 7}, &github.PullRequestComment{ID: github.Int64(5), Path: github.String("src/a\x00b.go")})
		// The six characters \u0000, as a comment about code may hold, are text, not a NUL.
		r.IssueComment(store.IssueRef{RepositoryID: 1, Number: 2}, &github.IssueComment{ID: github.Int64(4), Body: github.String(`say \u0000 or \\u0000`)})
	})
	runChecks(t, db, []check{
		{`SELECT data->>'body' FROM issue_comments WHERE id = 3`, "a\uFFFDb"},
		{`SELECT data->>'body' FROM issue_comments WHERE id = 4`, `say \u0000 or \\u0000`},
		{`SELECT path FROM pull_request_review_comments WHERE id = 5`, "src/a\uFFFDb.go"},
	})
}

func TestReplicatorErrorNamesTheObject(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	r := store.NewReplicator(store.ViaWebhook, at)
	r.IssueComment(store.IssueRef{RepositoryID: 1, Number: 7}, &github.IssueComment{ID: github.Int64(98)})
	// Postgres refuses text that is not UTF-8 (JSON decoding never makes
	// such a string; a caller bug could).
	r.PullRequestReviewComment(store.PullRequestRef{Number: 7}, &github.PullRequestComment{ID: github.Int64(99), Path: github.String("a\xffb")})
	// Commit sends the batch as one implicit transaction: the comment
	// written before the refused row is rolled back with it.
	err := r.Commit(ctx, db)
	if err == nil || !strings.Contains(err.Error(), "replicating review comment 99 on pull request #7") {
		t.Fatalf("err = %v, want it to name review comment 99", err)
	}
	runChecks(t, db, []check{{`SELECT count(*)::text FROM issue_comments`, "0"}})
}

func TestViews(t *testing.T) {
	db, _ := testdb.New(t)
	opened := load[github.PullRequestEvent](t, "pull_request_opened.json")
	bot := load[github.PullRequestEvent](t, "pull_request_opened_bot.json")
	reviewed := load[github.PullRequestReviewEvent](t, "pull_request_review_submitted.json")
	commented := load[github.IssueCommentEvent](t, "issue_comment_created_pr.json")
	ref := store.PullRequestRef{RepositoryID: 2001, Number: 1234, ID: 1800000001}
	on := store.IssueRef{RepositoryID: 2001, Number: 1234, IsPullRequest: true}
	at := func(s string) *github.Timestamp {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &github.Timestamp{Time: ts}
	}
	replicate(t, db, store.ViaWebhook,
		func(r *store.Replicator) { r.PullRequest(opened.PullRequest); r.PullRequest(bot.PullRequest) },
		func(r *store.Replicator) {
			// Neither the author's own comment nor a bot's is a response.
			r.IssueComment(on, &github.IssueComment{ID: github.Int64(1), User: opened.PullRequest.User,
				CreatedAt: at("2026-11-20T10:01:00Z"), UpdatedAt: at("2026-11-20T10:01:00Z")})
			r.IssueComment(on, &github.IssueComment{ID: github.Int64(2), User: bot.PullRequest.User,
				CreatedAt: at("2026-11-20T10:02:00Z"), UpdatedAt: at("2026-11-20T10:02:00Z")})
		},
		func(r *store.Replicator) { r.PullRequestReview(ref, reviewed.Review) },
		func(r *store.Replicator) { r.IssueComment(on, commented.Comment) },
	)
	runChecks(t, db, []check{
		{`SELECT string_agg(format('%s#%s:%s:%s:%s:%s', repository, number, author, author_type, draft, labels), ',' ORDER BY number)
			FROM open_pull_requests`,
			"acme/widgets#1234:bob-contrib:User:f:{\"needs triage\"},acme/widgets#1236:renovate[bot]:Bot:f:{}"},
		{`SELECT string_agg(format('%s:%s:%s:%s', number, coalesce(first_responder, '-'), coalesce(first_response_kind, '-'),
			coalesce(time_to_first_response::text, '-')), ',' ORDER BY number) FROM pull_request_first_response`,
			"1234:carol-review:review:00:40:00,1236:-:-:-"},
	})
	// A renamed label shows its new name; a review an API listing gave
	// without the pull request's id still counts as a response.
	replicate(t, db, store.ViaAPI, func(r *store.Replicator) {
		r.Label(2001, &github.Label{ID: github.Int64(7001), Name: github.String("triage")})
		r.PullRequestReview(store.PullRequestRef{RepositoryID: 2001, Number: 1236}, &github.PullRequestReview{ID: github.Int64(9),
			User: reviewed.Review.User, State: github.String("APPROVED"), SubmittedAt: at("2026-11-20T13:30:00Z")})
	})
	runChecks(t, db, []check{
		{`SELECT labels::text FROM open_pull_requests WHERE number = 1234`, "{triage}"},
		{`SELECT format('%s:%s', first_responder, time_to_first_response) FROM pull_request_first_response WHERE number = 1236`, "carol-review:00:30:00"},
	})
	merged := load[github.PullRequestEvent](t, "pull_request_closed_merged.json")
	replicate(t, db, store.ViaWebhook, func(r *store.Replicator) { r.PullRequest(merged.PullRequest) })
	runChecks(t, db, []check{{`SELECT string_agg(number::text, ',') FROM open_pull_requests`, "1236"}})
}

// A shared row (an account every delivery carries) is not rewritten by an
// unchanged copy within a minute of its last stamp; a change, or the same
// copy later, is written.
func TestSharedRowsSkipUnchangedCopies(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	org := &github.User{ID: github.Int64(5001), Login: github.String("acme"), Type: github.String("Organization")}
	write := func(u *github.User, when time.Time) {
		r := store.NewReplicator(store.ViaWebhook, when)
		r.Account(u)
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return r.Send(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
	}
	stamp := func() (time.Time, uint32) {
		var at time.Time
		var xmin uint32
		if err := db.QueryRow(ctx, `SELECT last_replicated_via_webhook_at, xmin::text::bigint FROM accounts WHERE id = 5001`).Scan(&at, &xmin); err != nil {
			t.Fatal(err)
		}
		return at, xmin
	}
	write(org, at)
	first, firstVersion := stamp()
	write(org, at.Add(30*time.Second))
	if got, version := stamp(); !got.Equal(first) || version != firstVersion {
		t.Errorf("an unchanged copy 30s later rewrote the row: stamp %v (was %v)", got, first)
	}
	renamed := *org
	renamed.Login = github.String("acme-corp")
	write(&renamed, at.Add(40*time.Second))
	if got, _ := stamp(); !got.Equal(at.Add(40 * time.Second)) {
		t.Errorf("a changed copy was not written: stamp %v", got)
	}
	write(&renamed, at.Add(3*time.Minute))
	if got, _ := stamp(); !got.Equal(at.Add(3 * time.Minute)) {
		t.Errorf("an unchanged copy 3 minutes later did not refresh the stamp: %v", got)
	}
}

// With RecentWrites, a shared row this process committed lately with the
// same content is not queued again; a failed transaction is not remembered;
// a change, another source or a minute later is written.
func TestRecentWritesLeaveOutRepeats(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	recent := store.NewRecentWrites(100)
	acme := &github.User{ID: github.Int64(5001), Login: github.String("acme"), Type: github.String("Organization")}
	queue := func(via store.Source, when time.Time, u *github.User) *store.Replicator {
		r := store.NewReplicator(via, when)
		r.UseRecentWrites(recent)
		r.Account(u)
		return r
	}
	commit := func(r *store.Replicator) {
		if err := r.Commit(ctx, db); err != nil {
			t.Fatal(err)
		}
		r.Committed()
	}
	// Not committed: the next copy must still be written.
	r := queue(store.ViaWebhook, at, acme)
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := r.Send(ctx, tx); err != nil {
			return err
		}
		return errors.New("roll back")
	}); err == nil {
		t.Fatal("the transaction did not roll back")
	}
	if r := queue(store.ViaWebhook, at, acme); r.Len() != 1 {
		t.Fatalf("after a rollback: %d statements queued, want 1", r.Len())
	}
	commit(queue(store.ViaWebhook, at, acme))
	renamed := *acme
	renamed.Login = github.String("acme-corp")
	tests := []struct {
		name string
		r    *store.Replicator
		want int
	}{
		{"same content, same source, 30s later", queue(store.ViaWebhook, at.Add(30*time.Second), acme), 0},
		{"changed content", queue(store.ViaWebhook, at.Add(30*time.Second), &renamed), 1},
		{"another source", queue(store.ViaAPI, at.Add(30*time.Second), acme), 1},
		{"two minutes later", queue(store.ViaWebhook, at.Add(2*time.Minute), acme), 1},
	}
	for _, tt := range tests {
		if got := tt.r.Len(); got != tt.want {
			t.Errorf("%s: %d statements queued, want %d", tt.name, got, tt.want)
		}
	}
	// Two transactions commit different content, and tell the cache in
	// the other order: the row's content is not known, so nothing is left out.
	y, x := queue(store.ViaWebhook, at.Add(31*time.Second), &renamed), queue(store.ViaWebhook, at.Add(32*time.Second), acme)
	if err := y.Commit(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(ctx, db); err != nil {
		t.Fatal(err)
	}
	x.Committed()
	y.Committed()
	if r := queue(store.ViaWebhook, at.Add(33*time.Second), &renamed); r.Len() != 1 {
		t.Errorf("after crossed commits: %d statements queued, want 1", r.Len())
	}
	deleted := store.NewReplicator(store.ViaWebhook, at.Add(40*time.Second))
	deleted.UseRecentWrites(recent)
	deleted.DeleteAccount(5001)
	commit(deleted)
	if r := queue(store.ViaWebhook, at.Add(50*time.Second), acme); r.Len() != 1 {
		t.Errorf("after the row was marked deleted: %d statements queued, want 1", r.Len())
	}
}

// The guard that skips unchanged shared rows compares values: a repository
// whose topics lost one is a change, though the stored topics contain the new.
func TestSharedRowGuardSeesAShorterList(t *testing.T) {
	db, _ := testdb.New(t)
	repo := func(topics ...string) step {
		return func(r *store.Replicator) {
			r.Repository(&github.Repository{ID: github.Int64(7), Name: github.String("w"), FullName: github.String("acme/w"),
				Topics: topics, UpdatedAt: &github.Timestamp{Time: at}})
		}
	}
	replicate(t, db, store.ViaWebhook, repo("a", "b"), repo("a"))
	runChecks(t, db, []check{{`SELECT data->>'topics' FROM repositories`, `["a"]`}})
}

// Copies of objects without an updated_at (memberships, labels, accounts as
// nested in other objects) are ordered by when GitHub sent them: a late
// delivery of an older copy changes nothing.
func TestCopiesWithoutUpdatedAtAreOrderedByObservation(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	added := load[github.OrganizationEvent](t, "organization_member_added.json")
	removed := *added.Membership
	write := func(observed time.Time, fill step) {
		r := store.NewReplicator(store.ViaWebhook, at.Add(time.Hour)) // processed later, in any order
		r.ObservedAt(observed)
		fill(r)
		if err := r.Commit(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	user := func(login string) *github.User {
		return &github.User{ID: github.Int64(42), Login: github.String(login), Type: github.String("User")}
	}
	label := func(name string) *github.Label { return &github.Label{ID: github.Int64(43), Name: github.String(name)} }
	// Newer copies first, older ones after.
	write(at.Add(2*time.Minute), func(r *store.Replicator) {
		r.OrgMembership(added.Organization, &removed, true)
		r.Account(user("alice2"))
		r.Label(2001, label("triaged"))
	})
	write(at.Add(time.Minute), func(r *store.Replicator) {
		r.OrgMembership(added.Organization, added.Membership, false)
		r.Account(user("alice"))
		r.Label(2001, label("triage"))
	})
	runChecks(t, db, []check{
		{`SELECT format('%s:%s', user_login, deleted_at IS NOT NULL) FROM org_memberships`, "alice-maint:t"},
		{`SELECT login FROM accounts WHERE id = 42`, "alice2"},
		{`SELECT name FROM labels WHERE id = 43`, "triaged"},
	})
	// A full profile from the API (with updated_at) is ordered by that.
	full := user("alice3")
	full.UpdatedAt = &github.Timestamp{Time: at}
	write(at, func(r *store.Replicator) { r.Account(full) })
	runChecks(t, db, []check{{`SELECT login FROM accounts WHERE id = 42`, "alice3"}})
}
