package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/store"
)

// Issues replicates issues events. Every action carries the issue as it is
// now; deleted keeps the row with deleted_at set; transferred also
// replicates the issue in its new repository and marks the old one deleted.
type Issues struct {
	Base
}

// issuesEvent adds what go-github's IssuesEvent leaves out: the
// organisation, and where a transferred issue went.
type issuesEvent struct {
	github.IssuesEvent
	Organization *github.Organization `json:"organization"`
	Transfer     *struct {
		NewIssue      *github.Issue      `json:"new_issue"`
		NewRepository *github.Repository `json:"new_repository"`
	} `json:"changes"`
}

// Handles names the event.
func (h *Issues) Handles() []string { return []string{"issues"} }

// Handle replicates the issue.
func (h *Issues) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event issuesEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	issue, repo := event.GetIssue(), event.GetRepo()
	if issue.GetID() == 0 {
		return missing(eventType, "issue")
	}
	return h.replicate(ctx, func(r *store.Replicator) {
		replicateContext(r, event.Sender, repo, event.Organization)
		r.Issue(repo.GetID(), issue)
		if event.Milestone != nil {
			r.Milestone(repo.GetID(), event.Milestone)
		}
		switch event.GetAction() {
		case "deleted":
			r.DeleteIssue(issue.GetID())
		case "transferred":
			if t := event.Transfer; t != nil && t.NewIssue != nil && t.NewIssue.GetID() != issue.GetID() {
				if t.NewRepository != nil {
					r.Repository(t.NewRepository)
				}
				r.Issue(t.NewRepository.GetID(), t.NewIssue)
				r.DeleteIssue(issue.GetID())
			}
		}
	})
}

var _ githubapp.EventHandler = &Issues{}
