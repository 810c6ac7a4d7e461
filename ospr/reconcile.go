package ospr

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// catalogFile is the repository file that names its owner and extra projects.
const catalogFile = "catalog-info.yaml"

// Reconciler takes one pull request to the state the program wants:
// observe (GitHub, through the ETag cache), desire and plan (pure), apply
// (each action on its own). Running it again with nothing changed plans
// nothing and writes nothing.
type Reconciler struct {
	// Rules returns the effective settings for a repository.
	Rules func(ctx context.Context, gh GitHub, owner, repo string) (Rules, error)
	// Directory returns the contributor data in use.
	Directory func() *Directory
	// Templates renders the bot's comments.
	Templates *Templates
	// BotLogins are the logins of this app's comments (it edits them).
	BotLogins []string
	// PreviousBotLogins are the logins of the bot osprey replaces: their
	// first comments are adopted, never duplicated, never edited.
	PreviousBotLogins []string
}

// Result is what one reconcile found and did.
type Result struct {
	PR      PR
	Class   Class
	Actions []Action // planned (a dry run stops here)
	Failed  []Action // those that failed when applied
}

// Reconcile reconciles pull request owner/repo#number. With dryRun it
// plans and writes nothing. The error joins the failures of every action
// that failed; the others were still applied.
func (rc *Reconciler) Reconcile(ctx context.Context, gh GitHub, owner, repo string, number int, dryRun bool) (Result, error) {
	logger := zerolog.Ctx(ctx).With().Str("pull_request", fmt.Sprintf("%s/%s#%d", owner, repo, number)).Logger()
	pr, err := gh.PullRequest(ctx, owner, repo, number)
	if err != nil {
		return Result{}, err
	}
	res := Result{PR: pr}
	rules, err := rc.Rules(ctx, gh, owner, repo)
	if err != nil {
		return res, err
	}
	observed, catalog, err := rc.observe(ctx, gh, pr, rules, logger)
	if err != nil {
		return res, err
	}
	var author Author
	if rc.Directory != nil {
		author = rc.Directory().Author(pr.Author)
	}
	desired, err := Desire(Facts{PR: pr, Author: author, Catalog: catalog}, rules, rc.Templates)
	if err != nil {
		return res, err
	}
	res.Class = desired.Class.Class
	// Projects (v2) are read and written through GraphQL, which this
	// reconciler does not do yet: their actions are left out.
	desired.Projects, desired.Fields = nil, nil
	res.Actions = Plan(pr, desired, observed, rules.OSPRProject())
	if dryRun || len(res.Actions) == 0 {
		return res, nil
	}
	var errs []error
	for _, a := range res.Actions {
		if err := rc.apply(ctx, gh, pr, a); err != nil {
			logger.Error().Err(err).Str("action", a.String()).Msg("Triage action failed; the others still run")
			res.Failed = append(res.Failed, a)
			errs = append(errs, fmt.Errorf("%s: %w", a.Kind, err))
			continue
		}
		logger.Info().Str("action", a.String()).Msg("Triage action applied")
	}
	return res, errors.Join(errs...)
}

// observe reads what the plan compares against: the bot's first comment,
// the newest status of the triage's context on the head, and the catalog.
func (rc *Reconciler) observe(ctx context.Context, gh GitHub, pr PR, rules Rules, logger zerolog.Logger) (Observed, *Catalog, error) {
	o := Observed{Labels: pr.Labels}
	comments, err := gh.IssueComments(ctx, pr.Owner, pr.Repo, pr.Number)
	if err != nil {
		return o, nil, err
	}
	for _, c := range comments {
		own := containsFold(rc.BotLogins, c.Author)
		if !own && !containsFold(rc.PreviousBotLogins, c.Author) {
			continue
		}
		if kind, ok := FirstCommentKind(c.Body); ok {
			o.Comment = &BotComment{ID: c.ID, Kind: kind, Body: c.Body, Editable: own}
			break
		}
	}
	if pr.HeadSHA != "" {
		if o.Status, err = gh.Status(ctx, pr.Owner, pr.Repo, pr.HeadSHA, rules.Status.Context); err != nil {
			return o, nil, err
		}
	}
	data, found, err := gh.File(ctx, pr.Owner, pr.Repo, catalogFile)
	if err != nil {
		return o, nil, err
	}
	if !found {
		return o, nil, nil
	}
	catalog, err := ParseCatalog(data)
	if err != nil {
		// The repository's file is wrong, not the pull request: carry on
		// as if it had none, and say so.
		logger.Warn().Err(err).Msg("Ignoring the repository's catalog-info.yaml")
		return o, nil, nil
	}
	return o, &catalog, nil
}

func (rc *Reconciler) apply(ctx context.Context, gh GitHub, pr PR, a Action) error {
	switch a.Kind {
	case SetStatus:
		return gh.SetStatus(ctx, pr.Owner, pr.Repo, pr.HeadSHA, a.Status)
	case AddLabel:
		return gh.AddLabel(ctx, pr.Owner, pr.Repo, pr.Number, a.Label)
	case RemoveLabel:
		return gh.RemoveLabel(ctx, pr.Owner, pr.Repo, pr.Number, a.Label)
	case CreateComment:
		return gh.CreateComment(ctx, pr.Owner, pr.Repo, pr.Number, a.Body)
	case EditComment:
		return gh.EditComment(ctx, pr.Owner, pr.Repo, a.CommentID, a.Body)
	}
	return fmt.Errorf("no way to apply %q yet", a.Kind)
}
