package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// JiraIssue is the record of one (pull request, Jira nickname): an intent
// (Key empty) or the issue created.
type JiraIssue struct {
	Repository    string // owner/name
	Number        int
	Nick          string
	PullRequestID int64
	Server        string
	Key           string
	IntendedAt    time.Time
	CreatedAt     time.Time
	// Earlier says the record was there before this call: an intent of an
	// earlier attempt may have reached Jira unheard.
	Earlier bool
	// Age is how long ago the intent was last touched, by Postgres's clock.
	Age time.Duration
}

const jiraIssueColumns = `repository, number, nick, pull_request_id, server, key, intended_at, created_at, now() - intended_at`

// IntendJiraIssue records that osprey is about to create the issue of
// (pull request, nick), unless a record exists; it returns the record as it
// now stands, which may be an older intent (Earlier) or an issue already
// created (Key set).
func IntendJiraIssue(ctx context.Context, db *pgxpool.Pool, in JiraIssue) (JiraIssue, error) {
	out, err := scanJiraIssue(db.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO jira_issues (repository, number, nick, pull_request_id, server)
			VALUES (lower($1), $2, lower($3), $4, $5)
			ON CONFLICT DO NOTHING
			RETURNING repository, number, nick, pull_request_id, server, key, intended_at, created_at)
		SELECT *, now() - intended_at, false FROM ins
		UNION ALL
		SELECT `+jiraIssueColumns+`, true FROM jira_issues WHERE repository = lower($1) AND number = $2 AND nick = lower($3)
		LIMIT 1`, in.Repository, in.Number, in.Nick, in.PullRequestID, in.Server))
	if errors.Is(err, pgx.ErrNoRows) {
		// Another session inserted it after this statement's snapshot:
		// it is committed now.
		out, err = scanJiraIssue(db.QueryRow(ctx, `SELECT `+jiraIssueColumns+`, true FROM jira_issues
			WHERE repository = lower($1) AND number = $2 AND nick = lower($3)`, in.Repository, in.Number, in.Nick))
	}
	if err != nil {
		return JiraIssue{}, fmt.Errorf("recording the intent of a jira:%s issue for %s#%d: %w", in.Nick, in.Repository, in.Number, err)
	}
	return out, nil
}

func scanJiraIssue(row pgx.Row) (JiraIssue, error) {
	var out JiraIssue
	var key *string
	var created *time.Time
	if err := row.Scan(&out.Repository, &out.Number, &out.Nick, &out.PullRequestID, &out.Server, &key, &out.IntendedAt, &created, &out.Age, &out.Earlier); err != nil {
		return JiraIssue{}, err
	}
	if key != nil {
		out.Key = *key
	}
	if created != nil {
		out.CreatedAt = *created
	}
	return out, nil
}

// RecordJiraKey records the key of the issue created for (pull request,
// nick) and returns the key kept: a key recorded before wins.
func RecordJiraKey(ctx context.Context, db *pgxpool.Pool, repository string, number int, nick, key string) (string, error) {
	var kept string
	err := db.QueryRow(ctx, `
		UPDATE jira_issues SET key = coalesce(key, $4), created_at = coalesce(created_at, now())
		WHERE repository = lower($1) AND number = $2 AND nick = lower($3)
		RETURNING key`, repository, number, nick, key).Scan(&kept)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("recording %s for %s#%d: no intent recorded for jira:%s", key, repository, number, nick)
	}
	if err != nil {
		return "", fmt.Errorf("recording %s for %s#%d: %w", key, repository, number, err)
	}
	return kept, nil
}

// TouchJiraIntent restarts the clock of an intent without a key: osprey is
// about to ask Jira again, or Jira just failed to answer. A later attempt
// searches for the issue only once Jira has had time to index whatever that
// call may have created.
func TouchJiraIntent(ctx context.Context, db *pgxpool.Pool, repository string, number int, nick string) error {
	_, err := db.Exec(ctx, `UPDATE jira_issues SET intended_at = now()
		WHERE repository = lower($1) AND number = $2 AND nick = lower($3) AND key IS NULL`, repository, number, nick)
	if err != nil {
		return fmt.Errorf("touching the intent of a jira:%s issue for %s#%d: %w", nick, repository, number, err)
	}
	return nil
}
