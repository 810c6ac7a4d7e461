package store

import (
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
)

var labelsTable = sharedTable(3, observedTable(newTable("labels", []string{"id"}, false,
	col("repository_id", keep), col("name", keep), col("color", keep), col("description", replace),
	col("is_default", keep), col("created_at", keep), col("updated_at", keep))))

var milestonesTable = newTable("milestones", []string{"id"}, true,
	col("repository_id", keep), col("number", keep), col("title", keep), col("state", keep),
	col("creator_id", keep), col("creator_login", keep), col("open_issues", keep), col("closed_issues", keep),
	col("due_on", replace), col("created_at", keep), col("updated_at", keep), col("closed_at", replace))

// Label replicates a label of the repository repoID. Labels carry no
// timestamps, so the last write wins.
func (r *Replicator) Label(repoID int64, l *github.Label) {
	if l.GetID() == 0 || !r.firstSight(labelsTable.name, l.GetID(), nil) {
		return
	}
	var nulls nullKeys
	nulls.add("description", l.Description == nil)
	r.upsert(labelsTable, fmt.Sprintf("replicating label %q (%d)", l.GetName(), l.GetID()), l, nulls,
		l.GetID(), nonZero(repoID), l.GetName(), nonZero(l.GetColor()), l.Description, l.Default, nil, nil)
}

// DeleteLabel marks a label deleted and takes it off every issue and pull
// request, as GitHub does.
func (r *Replicator) DeleteLabel(id int64) {
	r.markDeleted(labelsTable, fmt.Sprintf("marking label %d deleted", id), id)
	// In this delivery's own phase, like every other write to issue_labels,
	// so that locks on issue_labels rows are always taken before shared rows.
	r.queue(fmt.Sprintf("removing deleted label %d from issues", id), `DELETE FROM issue_labels WHERE label_id = $1`, id)
}

// Milestone replicates a milestone of the repository repoID and its creator.
func (r *Replicator) Milestone(repoID int64, m *github.Milestone) {
	if m.GetID() == 0 {
		return
	}
	r.accounts(m.Creator)
	if !r.firstSight(milestonesTable.name, m.GetID(), m.UpdatedAt) {
		return
	}
	var nulls nullKeys
	nulls.add("description", m.Description == nil)
	nulls.add("due_on", m.DueOn == nil)
	nulls.add("closed_at", m.ClosedAt == nil)
	r.upsert(milestonesTable, fmt.Sprintf("replicating milestone %q (%d)", m.GetTitle(), m.GetID()), m, nulls,
		m.GetID(), nonZero(repoID), m.GetNumber(), m.Title, m.State,
		nonZero(m.GetCreator().GetID()), nonZero(m.GetCreator().GetLogin()), m.OpenIssues, m.ClosedIssues,
		ts(m.DueOn), ts(m.CreatedAt), ts(m.UpdatedAt), ts(m.ClosedAt))
}

// DeleteMilestone marks a milestone deleted.
func (r *Replicator) DeleteMilestone(id int64) {
	r.markDeleted(milestonesTable, fmt.Sprintf("marking milestone %d deleted", id), id)
}

// issueLabelsSQL makes issue_labels of one issue or pull request exactly the
// labels given ($3, $4), unless the issue or pull request with that number
// is stored with a later updated_at than the object the labels came with
// ($5): the labels of an out-of-date object change nothing. Both tables are
// read because a pull request shows up as either.
const issueLabelsSQL = `WITH fresh AS (
		SELECT 1 WHERE $5::timestamptz IS NULL OR (
			NOT EXISTS (SELECT 1 FROM pull_requests WHERE repository_id = $1 AND number = $2 AND updated_at > $5::timestamptz)
			AND NOT EXISTS (SELECT 1 FROM issues WHERE repository_id = $1 AND number = $2 AND updated_at > $5::timestamptz))
	), removed AS (
		DELETE FROM issue_labels WHERE repository_id = $1 AND issue_number = $2 AND label_id <> ALL($3::bigint[])
			AND EXISTS (SELECT 1 FROM fresh)
	)
	INSERT INTO issue_labels AS o (repository_id, issue_number, label_id, label_name,
		last_replicated_via_webhook_at, last_replicated_via_api_at)
	SELECT $1, $2, l.id, l.name, CASE WHEN $6::boolean THEN $7::timestamptz END, CASE WHEN NOT $6::boolean THEN $7::timestamptz END
	FROM unnest($3::bigint[], $4::text[]) AS l (id, name)
	WHERE EXISTS (SELECT 1 FROM fresh)
	ON CONFLICT (repository_id, issue_number, label_id) DO UPDATE SET
		label_name = EXCLUDED.label_name,
		last_replicated_via_webhook_at = coalesce(EXCLUDED.last_replicated_via_webhook_at, o.last_replicated_via_webhook_at),
		last_replicated_via_api_at = coalesce(EXCLUDED.last_replicated_via_api_at, o.last_replicated_via_api_at)`

// issueLabels replicates the labels an issue or pull request (number in
// repository repoID, as of updated) carries and makes them its only rows in
// issue_labels. GitHub's labeled and unlabeled actions arrive as the object
// with its new list of labels, so this is also how they apply.
func (r *Replicator) issueLabels(repoID int64, number int, updated *github.Timestamp, labels []*github.Label) {
	ids := make([]int64, 0, len(labels))
	names := make([]string, 0, len(labels))
	seen := make(map[int64]bool, len(labels))
	for _, l := range labels {
		if l.GetID() == 0 || seen[l.GetID()] {
			continue
		}
		seen[l.GetID()] = true
		r.Label(repoID, l)
		ids = append(ids, l.GetID())
		names = append(names, strings.ReplaceAll(l.GetName(), "\x00", "\uFFFD"))
	}
	// One delivery at a time sets the labels of an issue or pull request:
	// a pull_request and an issue_comment delivery about the same number
	// would otherwise lock its issue_labels rows in different orders. The
	// lock comes in a statement of its own, so that the statement after it
	// reads the other delivery's committed rows.
	r.queue(fmt.Sprintf("waiting to set the labels of #%d in repository %d", number, repoID),
		`SELECT pg_advisory_xact_lock(hashtextextended('osprey.issue_labels/' || $1::bigint || '/' || $2::integer, 0))`,
		repoID, number)
	r.queue(fmt.Sprintf("replicating the labels of #%d in repository %d", number, repoID), issueLabelsSQL,
		repoID, number, ids, names, ts(updated), r.via == ViaWebhook, r.at)
}
