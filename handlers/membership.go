package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Membership replicates membership events: a person added to or removed
// from a team. They go to teams and team_memberships.
type Membership struct {
	Base
}

// Handles names the event.
func (h *Membership) Handles() []string { return []string{"membership"} }

// Handle replicates the team and the membership.
func (h *Membership) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.MembershipEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	member, team := event.GetMember(), event.GetTeam()
	if member.GetID() == 0 || team.GetID() == 0 {
		return missing(eventType, "member or team")
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, nil, event.Org)
		r.TeamMembership(event.Org, team, member, event.GetAction() == "removed")
	})
}

var _ githubapp.EventHandler = &Membership{}
