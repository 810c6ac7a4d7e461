package store

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

var repositoriesTable = sharedTable(2, newTable("repositories", []string{"id"}, true,
	col("owner_id", keep), col("owner_login", keep), col("name", keep), col("full_name", keep),
	col("private", keep), col("fork", keep), col("archived", keep), col("disabled", keep),
	col("visibility", keep), col("default_branch", keep), col("language", replace),
	col("stargazers_count", keep), col("forks_count", keep), col("open_issues_count", keep),
	col("created_at", keep), col("updated_at", keep), col("pushed_at", latest)))

// Repository replicates a repository and its owner. A rename or transfer
// arrives as the repository with its new name and owner, which this writes
// like any other change.
func (r *Replicator) Repository(repo *github.Repository) {
	if repo.GetID() == 0 {
		return
	}
	r.accounts(repo.Owner)
	if repo.Organization != nil {
		r.Organization(repo.Organization)
	}
	if !r.firstSight(repositoriesTable.name, repo.GetID(), repo.UpdatedAt) {
		return
	}
	var nulls nullKeys
	nulls.add("description", repo.Description == nil)
	nulls.add("homepage", repo.Homepage == nil)
	nulls.add("language", repo.Language == nil)
	nulls.add("license", repo.License == nil)
	nulls.add("topics", len(repo.Topics) == 0)
	r.upsert(repositoriesTable, fmt.Sprintf("replicating repository %s (%d)", repo.GetFullName(), repo.GetID()), repo, nulls,
		repo.GetID(), nonZero(repo.GetOwner().GetID()), nonZero(repo.GetOwner().GetLogin()),
		repo.GetName(), repo.GetFullName(), repo.Private, repo.Fork, repo.Archived, repo.Disabled,
		nonZero(repo.GetVisibility()), nonZero(repo.GetDefaultBranch()), repo.Language,
		repo.StargazersCount, repo.ForksCount, repo.OpenIssuesCount,
		ts(repo.CreatedAt), ts(repo.UpdatedAt), ts(repo.PushedAt))
}

// DeleteRepository marks a repository deleted. Its issues, pull requests
// and comments stay as they were.
func (r *Replicator) DeleteRepository(id int64) {
	r.markDeleted(repositoriesTable, fmt.Sprintf("marking repository %d deleted", id), id)
}

// RepositoryPushed records a push: only the repository's pushed_at column
// moves (never backwards); data keeps the last full repository seen. A
// repository osprey has not seen yet is inserted with what the push payload
// says of it.
func (r *Replicator) RepositoryPushed(repo *github.PushEventRepository) {
	if repo.GetID() == 0 {
		return
	}
	data := map[string]any{"id": repo.GetID(), "name": repo.GetName(), "full_name": repo.GetFullName()}
	if repo.PushedAt != nil {
		data["pushed_at"] = repo.PushedAt
	}
	r.queueOn(repositoriesTable, repo.GetID(), fmt.Sprintf("recording a push to repository %s (%d)", repo.GetFullName(), repo.GetID()), `
		INSERT INTO repositories AS o (id, owner_id, owner_login, name, full_name, private, pushed_at, data,
			last_replicated_via_webhook_at, last_replicated_via_api_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
			CASE WHEN $9::boolean THEN $10::timestamptz END, CASE WHEN NOT $9::boolean THEN $10::timestamptz END)
		ON CONFLICT (id) DO UPDATE SET
			pushed_at = greatest(o.pushed_at, EXCLUDED.pushed_at),
			last_replicated_via_webhook_at = coalesce(EXCLUDED.last_replicated_via_webhook_at, o.last_replicated_via_webhook_at),
			last_replicated_via_api_at = coalesce(EXCLUDED.last_replicated_via_api_at, o.last_replicated_via_api_at)`,
		repo.GetID(), nonZero(repo.GetOwner().GetID()), nonZero(repo.GetOwner().GetLogin()), repo.GetName(),
		repo.GetFullName(), repo.Private, ts(repo.PushedAt), jsonOf(data), r.via == ViaWebhook, r.at)
}
