package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Member replicates member events: a person given access to one repository
// as a collaborator (added, edited) or losing it (removed). They go to
// repository_collaborators; organisation membership comes from organization
// events.
type Member struct {
	Base
}

// memberEvent adds the permission change go-github's MemberEvent leaves out.
type memberEvent struct {
	github.MemberEvent
	Changes struct {
		Permission struct {
			To string `json:"to"`
		} `json:"permission"`
		RoleName struct {
			To string `json:"to"`
		} `json:"role_name"`
	} `json:"changes"`
}

// Handles names the event.
func (h *Member) Handles() []string { return []string{"member"} }

// Handle replicates the collaborator's access.
func (h *Member) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event memberEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	member, repo := event.GetMember(), event.GetRepo()
	if member.GetID() == 0 || repo.GetID() == 0 {
		return missing(eventType, "member or repository")
	}
	permission := event.Changes.Permission.To
	if permission == "" {
		permission = event.Changes.RoleName.To
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, repo, event.Org)
		r.Collaborator(repo, member, permission, event.GetAction() == "removed")
	})
}

var _ githubapp.EventHandler = &Member{}
