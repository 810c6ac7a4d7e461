package store

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

var accountsTable = sharedTable(1, observedTable(newTable("accounts", []string{"id"}, true,
	col("login", keep), col("type", keep), col("node_id", keep), col("site_admin", keep),
	col("name", keep), col("email", keep), col("company", keep),
	col("created_at", keep), col("updated_at", keep))))

// Account replicates a user, bot or organisation in its user shape: the full
// profile the API returns, or the simple form nested in other objects. A
// simple form only adds to what a full one filled in.
func (r *Replicator) Account(u *github.User) {
	if u.GetID() == 0 || u.GetLogin() == "" || !r.firstSight(accountsTable.name, u.GetID(), u.UpdatedAt) {
		return
	}
	data := u
	if u.GetType() == "Organization" {
		// An organisation comes in two shapes: as a user (the owner of a
		// repository) and as an organisation (the payload's organization).
		// They disagree on url, repos_url and events_url; the user shape
		// leaves those to the organisation shape, or the row would flip
		// between the two with every delivery.
		c := *u
		c.URL, c.ReposURL, c.EventsURL = nil, nil, nil
		data = &c
	}
	r.upsert(accountsTable, fmt.Sprintf("replicating account %s (%d)", u.GetLogin(), u.GetID()), data, nil,
		u.GetID(), u.GetLogin(), nonZero(u.GetType()), nonZero(u.GetNodeID()), u.SiteAdmin,
		nonZero(u.GetName()), nonZero(u.GetEmail()), nonZero(u.GetCompany()),
		ts(u.CreatedAt), ts(u.UpdatedAt))
}

// Organization replicates an organisation in its organisation shape (the
// "organization" of webhook payloads, or the API's full organisation) into
// accounts, with type Organization.
func (r *Replicator) Organization(o *github.Organization) {
	if o.GetID() == 0 || o.GetLogin() == "" || !r.firstSight(accountsTable.name, o.GetID(), o.UpdatedAt) {
		return
	}
	r.upsert(accountsTable, fmt.Sprintf("replicating organization %s (%d)", o.GetLogin(), o.GetID()), o, nil,
		o.GetID(), o.GetLogin(), "Organization", nonZero(o.GetNodeID()), nil,
		nonZero(o.GetName()), nonZero(o.GetEmail()), nonZero(o.GetCompany()),
		ts(o.CreatedAt), ts(o.UpdatedAt))
}

// accounts replicates each of users.
func (r *Replicator) accounts(users ...*github.User) {
	for _, u := range users {
		if u != nil {
			r.Account(u)
		}
	}
}

// DeleteAccount marks an account deleted (an organisation deleted on GitHub).
func (r *Replicator) DeleteAccount(id int64) {
	r.markDeleted(accountsTable, fmt.Sprintf("marking account %d deleted", id), id)
}
