package ospr

import (
	"fmt"

	"github.com/osprey-bot/osprey/jiramap"
	"sort"
	"strings"
)

// BotComment is a comment the bot (or its predecessor) left on the pull
// request, recognised by its markers.
type BotComment struct {
	ID   int64
	Kind CommentKind
	Body string
	// Editable is false for a comment of the previous bot: osprey adopts
	// it (never writes a second one) but cannot edit another account's
	// comment.
	Editable bool
}

// ProjectItem is the pull request's item on a project board.
type ProjectItem struct {
	ID     string
	Fields map[string]string // field name → value as Desired writes it
}

// Observed is the pull request's state on GitHub, as the observe step read it.
type Observed struct {
	Labels []string
	// Status is the newest status of the triage's context on the head
	// commit; nil when there is none.
	Status *StatusWant
	// Comment is the first bot comment; nil when there is none.
	Comment *BotComment
	// Items are the pull request's items, by project.
	Items map[ProjectRef]ProjectItem
	// Jira are the Jira comments already on the pull request.
	Jira JiraComments
}

// ActionKind says what an action does.
type ActionKind string

// The actions a plan is made of.
const (
	SetStatus     ActionKind = "set-status"
	AddLabel      ActionKind = "add-label"
	RemoveLabel   ActionKind = "remove-label"
	CreateComment ActionKind = "create-comment"
	EditComment   ActionKind = "edit-comment"
	AddToProject  ActionKind = "add-to-project"
	SetField      ActionKind = "set-field"
)

// Action is one change to make on GitHub. Each is applied on its own and is
// idempotent; the list is also what a dry run prints.
type Action struct {
	Kind       ActionKind
	Label      string         // add-label, remove-label
	Status     StatusWant     // set-status
	CommentID  int64          // edit-comment
	Comment    CommentKind    // create-comment, edit-comment
	Body       string         // create-comment, edit-comment
	Project    ProjectRef     // add-to-project, set-field
	Field      string         // set-field
	Value      string         // set-field
	Nick       string         // jira-issue, jira-comment
	JiraTarget jiramap.Target // jira-issue: the project and issue type
	// Err says why a jira-issue cannot be made yet (its mapping file is
	// not loaded); applying it fails with it, so the job is retried.
	Err string
}

func (a Action) String() string {
	switch a.Kind {
	case SetStatus:
		return fmt.Sprintf("%s %s=%s %q", a.Kind, a.Status.Context, a.Status.State, a.Status.Description)
	case AddLabel, RemoveLabel:
		return fmt.Sprintf("%s %q", a.Kind, a.Label)
	case CreateComment:
		return fmt.Sprintf("%s %s", a.Kind, a.Comment)
	case EditComment:
		return fmt.Sprintf("%s %d %s", a.Kind, a.CommentID, a.Comment)
	case AddToProject:
		return fmt.Sprintf("%s %s", a.Kind, a.Project)
	case SetField:
		return fmt.Sprintf("%s %s %q=%q", a.Kind, a.Project, a.Field, a.Value)
	case CreateJiraIssue:
		if a.Err != "" {
			return fmt.Sprintf("%s jira:%s (waiting: %s)", a.Kind, a.Nick, a.Err)
		}
		return fmt.Sprintf("%s jira:%s project %s type %s", a.Kind, a.Nick, a.JiraTarget.Project, a.JiraTarget.Type)
	case CommentNoJira:
		return fmt.Sprintf("%s jira:%s %s", a.Kind, a.Nick, a.Comment)
	}
	return string(a.Kind)
}

// Plan lists the actions that take the pull request from observed to
// desired; nothing when they agree. It is pure. osprProject is the board
// Desired.Fields belong to (nil when there is none).
func Plan(pr PR, desired Desired, observed Observed, osprProject *ProjectRef) []Action {
	if desired.Off {
		return nil
	}
	var actions []Action
	if s := observed.Status; s == nil || s.State != desired.Status.State || s.Description != desired.Status.Description ||
		s.TargetURL != desired.Status.TargetURL {
		actions = append(actions, Action{Kind: SetStatus, Status: desired.Status})
	}

	has := func(label string) bool {
		for _, l := range observed.Labels {
			if strings.EqualFold(l, label) {
				return true
			}
		}
		return false
	}
	for _, l := range desired.Labels {
		if l != "" && !has(l) {
			actions = append(actions, Action{Kind: AddLabel, Label: l})
		}
	}
	for _, l := range desired.Absent {
		if l != "" && has(l) {
			actions = append(actions, Action{Kind: RemoveLabel, Label: l})
		}
	}

	if want := desired.Comment; want != nil {
		switch have := observed.Comment; {
		case have == nil:
			actions = append(actions, Action{Kind: CreateComment, Comment: want.Kind, Body: want.Body})
		case pr.Closed():
			// The first comment is frozen once the pull request is closed.
		case !have.Editable:
			// The previous bot's comment: adopted as it is.
		case have.Body != want.Body:
			actions = append(actions, Action{Kind: EditComment, CommentID: have.ID, Comment: want.Kind, Body: want.Body})
		}
	}

	for _, p := range desired.Projects {
		if _, ok := observed.Items[p]; !ok {
			actions = append(actions, Action{Kind: AddToProject, Project: p})
		}
	}
	if osprProject != nil && len(desired.Fields) > 0 {
		item := observed.Items[*osprProject]
		names := make([]string, 0, len(desired.Fields))
		for name := range desired.Fields {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if value := desired.Fields[name]; item.Fields[name] != value {
				actions = append(actions, Action{Kind: SetField, Project: *osprProject, Field: name, Value: value})
			}
		}
	}
	return actions
}

// OSPRProject is the OSPR board of validated rules, or nil.
func (r Rules) OSPRProject() *ProjectRef { return r.Projects.ospr }
