package store

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

var orgMembershipsTable = observedTable(newTable("org_memberships", []string{"organization_id", "user_id"}, false,
	col("organization_login", keep), col("user_login", keep), col("role", keep), col("state", keep),
	col("deleted_at", replace)))

var collaboratorsTable = observedTable(newTable("repository_collaborators", []string{"repository_id", "user_id"}, false,
	col("user_login", keep), col("permission", keep), col("deleted_at", replace)))

var teamsTable = observedTable(newTable("teams", []string{"id"}, false,
	col("organization_id", keep), col("slug", keep), col("name", keep), col("privacy", keep),
	col("parent_id", replace), col("created_at", keep), col("updated_at", keep)))

var teamMembershipsTable = observedTable(newTable("team_memberships", []string{"team_id", "user_id"}, false,
	col("organization_id", keep), col("user_login", keep), col("deleted_at", replace)))

// OrgMembership replicates a member's membership of an organisation (role
// admin or member, state active or pending) and the member's account.
// removed says the member left; the row stays with deleted_at set, and a
// later membership clears it.
func (r *Replicator) OrgMembership(org *github.Organization, m *github.Membership, removed bool) {
	user := m.GetUser()
	if org.GetID() == 0 || user.GetID() == 0 {
		return
	}
	r.Organization(org)
	r.Account(user)
	r.upsert(orgMembershipsTable, fmt.Sprintf("replicating the membership of %s in %s", user.GetLogin(), org.GetLogin()), m, nil,
		org.GetID(), user.GetID(), nonZero(org.GetLogin()), nonZero(user.GetLogin()), m.Role, m.State, r.deletedAt(removed))
}

// Collaborator replicates a person's access to one repository (the member
// event): the permission granted, or removed.
func (r *Replicator) Collaborator(repo *github.Repository, user *github.User, permission string, removed bool) {
	if repo.GetID() == 0 || user.GetID() == 0 {
		return
	}
	r.Repository(repo)
	r.Account(user)
	data := map[string]any{"repository": repo.GetFullName(), "login": user.GetLogin()}
	if permission != "" {
		data["permission"] = permission
	}
	r.upsert(collaboratorsTable, fmt.Sprintf("replicating %s's access to %s", user.GetLogin(), repo.GetFullName()), data, nil,
		repo.GetID(), user.GetID(), nonZero(user.GetLogin()), nonZero(permission), r.deletedAt(removed))
}

// Team replicates a team of the organisation orgID.
func (r *Replicator) Team(orgID int64, t *github.Team) {
	if t.GetID() == 0 || !r.firstSight(teamsTable.name, t.GetID(), nil) {
		return
	}
	var nulls nullKeys
	nulls.add("parent", t.Parent == nil)
	nulls.add("description", t.Description == nil)
	r.upsert(teamsTable, fmt.Sprintf("replicating team %s (%d)", t.GetSlug(), t.GetID()), t, nulls,
		t.GetID(), nonZero(orgID), t.Slug, t.Name, t.Privacy, nonZero(t.GetParent().GetID()), nil, nil)
}

// TeamMembership replicates a person's membership of a team, or its end.
func (r *Replicator) TeamMembership(org *github.Organization, t *github.Team, user *github.User, removed bool) {
	if t.GetID() == 0 || user.GetID() == 0 {
		return
	}
	if org != nil {
		r.Organization(org)
	}
	r.Team(org.GetID(), t)
	r.Account(user)
	data := map[string]any{"team": t.GetSlug(), "login": user.GetLogin()}
	r.upsert(teamMembershipsTable, fmt.Sprintf("replicating %s's membership of team %s", user.GetLogin(), t.GetSlug()), data, nil,
		t.GetID(), user.GetID(), nonZero(org.GetID()), nonZero(user.GetLogin()), r.deletedAt(removed))
}

// deletedAt is the deleted_at an upsert writes: now for a removal, nil
// (not deleted, or no longer) otherwise.
func (r *Replicator) deletedAt(removed bool) any {
	if removed {
		return r.at
	}
	return nil
}
