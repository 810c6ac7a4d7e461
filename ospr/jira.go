package ospr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/jiramap"
	"github.com/osprey-bot/osprey/store"
)

// FromGitHubLabel marks every Jira issue osprey creates (Jira labels hold
// no spaces).
const FromGitHubLabel = "from-GitHub"

// PullRequestLabel is the Jira label that ties an issue to one pull request
// and nickname, so that osprey can always find the issue again with JQL
// (issue properties are searchable only when a Jira app indexes them).
func PullRequestLabel(prID int64, nick string) string {
	return "github-pr-" + strconv.FormatInt(prID, 10) + "-" + nick
}

// JiraIssuer is what making an issue needs of a Jira server
// (*jiramap.Client).
type JiraIssuer interface {
	Server() jiramap.Server
	Create(ctx context.Context, issue jiramap.NewIssue) (string, error)
	FindByLabels(ctx context.Context, project string, labels ...string) (string, bool, error)
}

// ErrJiraIntentPending says an earlier attempt to create the Jira issue is too
// recent to tell from Jira's search whether it succeeded (Jira indexes new
// issues for search with a delay): try again after JiraSettle.
var ErrJiraIntentPending = errors.New("an earlier attempt to create the Jira issue is too recent to search for")

// ErrJiraServerMoved says an earlier attempt asked another Jira server than
// the one the nickname names now, without hearing back: osprey cannot tell
// whether that server has the issue, and will not risk a second one. An
// operator settles it (docs/jira.md).
var ErrJiraServerMoved = errors.New("an earlier attempt asked another Jira server for this issue")

// JiraSettle is how long after an unanswered attempt osprey trusts Jira's
// search to show the issue if it was created. Atlassian promises no bound
// on the delay; minutes are ample in practice.
const JiraSettle = 2 * time.Minute

// EnsureJiraIssue makes sure pull request pr has exactly one issue for nick
// on jc's server, in target, and returns its key, the base URL of the
// server that holds it, and whether this call created it. It never creates
// a second one: the intent is recorded in Postgres before Jira is asked,
// and an intent found without a key (an earlier attempt that may have
// reached Jira unheard: a timeout, a crash between Jira's answer and the
// commit) makes it search Jira for the issue's PullRequestLabel first, once
// Jira has had JiraSettle since that attempt to index it. The caller holds
// the pull request's lock.
func EnsureJiraIssue(ctx context.Context, db *pgxpool.Pool, jc JiraIssuer, pr PR, nick string, target jiramap.Target,
	summary, description string) (key, server string, created bool, err error) {
	repo := pr.Owner + "/" + pr.Repo
	srv := jc.Server()
	rec, err := store.IntendJiraIssue(ctx, db, store.JiraIssue{Repository: repo, Number: pr.Number, Nick: nick,
		PullRequestID: pr.ID, Server: srv.URL})
	if err != nil {
		return "", "", false, err
	}
	if rec.Key != "" {
		return rec.Key, rec.Server, false, nil
	}
	if rec.Server != srv.URL {
		return "", "", false, fmt.Errorf("jira:%s: %w (%s then, %s now)", nick, ErrJiraServerMoved, rec.Server, srv.URL)
	}
	labels := []string{FromGitHubLabel, PullRequestLabel(pr.ID, nick)}
	if rec.Earlier {
		if rec.Age < JiraSettle {
			return "", "", false, ErrJiraIntentPending
		}
		// In any project: the mapping may have changed since.
		found, ok, err := jc.FindByLabels(ctx, "", labels[1])
		if err != nil {
			return "", "", false, fmt.Errorf("looking in jira:%s for the issue of an earlier attempt: %w", nick, err)
		}
		if ok {
			kept, err := store.RecordJiraKey(ctx, db, repo, pr.Number, nick, found)
			return kept, rec.Server, false, err
		}
	}
	if rec.Earlier {
		if err := store.TouchJiraIntent(ctx, db, repo, pr.Number, nick); err != nil {
			return "", "", false, err
		}
	}
	made, err := jc.Create(ctx, jiramap.NewIssue{Target: target, Summary: summary, Description: description, Labels: labels})
	if err != nil {
		// Whatever that call did, Jira's search gets JiraSettle from now.
		if touchErr := store.TouchJiraIntent(context.WithoutCancel(ctx), db, repo, pr.Number, nick); touchErr != nil {
			return "", "", false, errors.Join(err, touchErr)
		}
		return "", "", false, err
	}
	kept, err := store.RecordJiraKey(ctx, db, repo, pr.Number, nick, made)
	return kept, rec.Server, err == nil && kept == made, err
}
