package ospr

import (
	"slices"
)

// Commit status states.
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
)

// StatusWant is a commit status on the pull request's head.
type StatusWant struct {
	Context, State, Description, TargetURL string
}

// CommentWant is the first bot comment the pull request should have.
type CommentWant struct {
	Kind CommentKind
	Body string
}

// Desired is the state the program wants for one pull request.
type Desired struct {
	// Off says the triage is turned off for the repository: nothing is
	// wanted, and nothing is planned.
	Off     bool
	Class   Classification
	Status  StatusWant
	Labels  []string // must be on the pull request
	Absent  []string // must not be
	Comment *CommentWant
	// Projects the pull request must be an item of; it is never removed
	// from any.
	Projects []ProjectRef
	// Fields to set on its item of the OSPR board (field name → value;
	// dates as YYYY-MM-DD).
	Fields map[string]string
}

// Facts are everything desire decides from, gathered by the observe step.
type Facts struct {
	PR      PR
	Author  Author
	Catalog *Catalog // nil when the repository has none
	// OwnerFullName is the full name of a person the catalog names as
	// owner ("" when unknown or the owner is a team).
	OwnerFullName string
}

// Desire works out the state the program wants for a pull request. It is
// pure: everything it needs is in facts and rules.
func Desire(facts Facts, rules Rules, templates *Templates) (Desired, error) {
	pr := facts.PR
	c := Classify(pr, rules, facts.Author)
	if !rules.Enabled {
		return Desired{Off: true, Class: c}, nil
	}
	d := Desired{Class: c, Status: StatusWant{Context: rules.Status.Context, TargetURL: rules.Status.TargetURL, State: StatusSuccess}}
	switch c.Class {
	case Bot:
		d.Status.Description = rules.Status.Descriptions.Bot
	case PrivateExempt:
		d.Status.Description = rules.Status.Descriptions.PrivateExempt
	case Internal:
		d.Status.Description = rules.Status.Descriptions.Internal
	case Refused:
		d.Status.State = StatusFailure
		d.Status.Description = rules.Status.Descriptions.Refused
		if !pr.Closed() {
			body, err := templates.Render(NoContributionsComment, commentData(facts, rules, c))
			if err != nil {
				return d, err
			}
			d.Comment = &CommentWant{Kind: NoContributionsComment, Body: body}
		}
	case OSPR:
		if err := desireOSPR(&d, facts, rules, templates); err != nil {
			return d, err
		}
	}
	return d, nil
}

func desireOSPR(d *Desired, facts Facts, rules Rules, templates *Templates) error {
	pr, c := facts.PR, d.Class
	switch c.Author.Agreement {
	case NoAgreement:
		d.Status.State = StatusFailure
		d.Status.Description = rules.Status.Descriptions.NoAgreement
	case IndividualAgreement:
		d.Status.Description = rules.Status.Descriptions.Individual
	default:
		d.Status.Description = rules.Status.Descriptions.Institution
	}

	category, other := rules.Labels.OSPR, rules.Labels.Blended
	if c.Blended {
		category, other = other, category
	}
	d.Labels = append(d.Labels, category)
	d.Absent = append(d.Absent, other)
	if c.Author.Core && rules.Labels.CoreContributor != "" {
		d.Labels = append(d.Labels, rules.Labels.CoreContributor)
	}
	if pr.Closed() {
		d.Absent = append(d.Absent, rules.Labels.ObsoleteWhenClosed...)
		if pr.Merged {
			d.Absent = append(d.Absent, rules.Labels.ObsoleteWhenMerged...)
		}
	}

	kind := WelcomeComment
	switch {
	case pr.Closed():
		kind = ClosedWelcomeComment // written only if no first comment exists: see Plan
	case c.Blended:
		kind = BlendedComment
	}
	body, err := templates.Render(kind, commentData(facts, rules, c))
	if err != nil {
		return err
	}
	d.Comment = &CommentWant{Kind: kind, Body: body}

	board := rules.Projects.ospr
	if c.Blended {
		board = rules.Projects.blended
	}
	if board != nil {
		d.Projects = append(d.Projects, *board)
	}
	if facts.Catalog != nil && !c.Draft {
		for _, p := range facts.Catalog.AddToProjects {
			if !slices.Contains(d.Projects, p) {
				d.Projects = append(d.Projects, p)
			}
		}
	}
	if !c.Blended && rules.Projects.ospr != nil {
		d.Fields = ospFields(facts, rules.Projects.Fields)
	}
	return nil
}

// ospFields are the OSPR board's field values for the pull request.
func ospFields(facts Facts, names ProjectFields) map[string]string {
	pr := facts.PR
	fields := map[string]string{}
	set := func(name, value string) {
		if name != "" && value != "" {
			fields[name] = value
		}
	}
	if !pr.Closed() && !pr.CreatedAt.IsZero() {
		set(names.DateOpened, pr.CreatedAt.UTC().Format("2006-01-02"))
	}
	if pr.Closed() {
		at := pr.ClosedAt
		if pr.Merged && !pr.MergedAt.IsZero() {
			at = pr.MergedAt
		}
		if !at.IsZero() {
			set(names.DateClosed, at.UTC().Format("2006-01-02"))
		}
	}
	if facts.Catalog != nil {
		set(names.Owner, facts.Catalog.OwnerField(pr.Owner, facts.OwnerFullName))
	}
	return fields
}

func commentData(facts Facts, rules Rules, c Classification) CommentData {
	data := CommentData{
		Author:        facts.PR.Author,
		Repo:          facts.PR.Owner + "/" + facts.PR.Repo,
		NoAgreement:   c.Author.Agreement == NoAgreement,
		AgreementURL:  rules.AgreementURL,
		StatusContext: rules.Status.Context,
		FirstTimer:    c.FirstTimer,
		Draft:         c.Draft,
		Merged:        facts.PR.Merged,
	}
	if facts.Catalog != nil {
		data.Maintainer = facts.Catalog.Maintainer(facts.PR.Owner)
		data.Production = facts.Catalog.Lifecycle == "production"
	}
	return data
}

// StatusError is the commit status state that reports a problem with the
// triage's own settings rather than with the pull request.
const StatusError = "error"
