package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Organization replicates organization events: members added, removed and
// invited (org_memberships), the organisation renamed or deleted (accounts).
type Organization struct {
	Base
}

// organizationEvent adds the invited user go-github's OrganizationEvent
// leaves out.
type organizationEvent struct {
	github.OrganizationEvent
	User *github.User `json:"user"`
}

// Handles names the event.
func (h *Organization) Handles() []string { return []string{"organization"} }

// Handle replicates the organisation and the membership the event is about.
func (h *Organization) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event organizationEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	org := event.GetOrganization()
	if org.GetID() == 0 {
		return missing(eventType, "organization")
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, nil, org)
		switch event.GetAction() {
		case "member_added":
			r.OrgMembership(org, event.GetMembership(), false)
		case "member_removed":
			r.OrgMembership(org, event.GetMembership(), true)
		case "member_invited":
			if event.User != nil {
				r.OrgMembership(org, invitedMembership(event.User, event.GetInvitation()), false)
			}
		case "deleted":
			r.DeleteAccount(org.GetID())
		}
	})
}

// invitedMembership is the pending membership an invitation stands for.
// Invitations name the role "direct_member" where memberships say "member".
func invitedMembership(user *github.User, inv *github.Invitation) *github.Membership {
	role := inv.GetRole()
	if role == "direct_member" || role == "" {
		role = "member"
	}
	return &github.Membership{User: user, Role: github.String(role), State: github.String("pending")}
}

var _ githubapp.EventHandler = &Organization{}
