package ospr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/jiramap"
)

// catalogFile is the repository file that names its owner and extra projects.
const catalogFile = "catalog-info.yaml"

// Reconciler takes one pull request to the state the program wants:
// observe (GitHub, through the ETag cache), desire and plan (pure), apply
// (each action on its own). Running it again with nothing changed plans
// nothing and writes nothing.
type Reconciler struct {
	// Defaults are the server's triage settings, validated; each
	// organisation's and repository's osprey.yml apply over them.
	Defaults Rules
	// Directory returns the contributor data in use; nil (the function's
	// answer) while it is not loaded yet, and the reconcile then fails
	// with ErrNoContributorData, to be retried. A nil function means no
	// contributor data at all.
	Directory func() *Directory
	// Templates renders the bot's comments.
	Templates *Templates
	// BotLogins returns the logins of this app's comments (it edits them).
	BotLogins func(ctx context.Context) ([]string, error)
	// OwnCommentBy is told the login GitHub wrote a comment of osprey's
	// under when it is not one of BotLogins (a wrong triage.app_login):
	// without learning it, osprey would not know its own comment again
	// and would post one per event.
	OwnCommentBy func(ctx context.Context, login string)
	// PreviousBotLogins are the logins of the bot osprey replaces: their
	// first comments are adopted, never duplicated, never edited.
	PreviousBotLogins []string
	// Projects reads and writes Projects (v2) boards; nil leaves boards
	// alone.
	Projects Projects
	// Replica is osprey's copy of GitHub; nil reads everything from
	// GitHub.
	Replica Replica
	// Jira makes the issues jira:<nick> labels ask for; nil: no Jira.
	Jira *JiraStep
	// BoardOwners are the accounts, besides the pull request's own
	// organisation, whose boards an organisation's or repository's
	// settings or catalog may name. The boards of Defaults are always
	// allowed. Others are refused: a repository must not write to another
	// organisation's boards with that organisation's installation unless
	// the operator said so.
	BoardOwners []string
}

// ErrNoContributorData says the contributor data is configured but no good
// copy has been loaded yet.
var ErrNoContributorData = errors.New("the contributor data is not loaded yet")

// serverLayer names the server's settings in `osprey config check` and in
// messages about a broken layer.
const serverLayer = "server config"

// Result is what one reconcile found and did.
type Result struct {
	PR      PR
	Class   Class
	Actions []Action // planned (a dry run stops here)
	Failed  []Action // those that failed when applied
	// ConfigError says why the organisation's or repository's osprey.yml
	// could not be used; the reconcile then only reported it in the
	// commit status.
	ConfigError string
	// Problems are configuration problems found on the way (a board whose
	// owner has not installed the app, a missing project field): logged,
	// not retried.
	Problems []string
}

// Request names the pull request a reconcile is for and how to run it.
type Request struct {
	Owner, Repo string
	Number      int
	// DryRun plans and writes nothing.
	DryRun bool
	// Fresh says the pull request was just opened and this is the first
	// attempt of the reconcile that caused: when the replica holds no
	// comment of either bot on it, GitHub holds nothing of osprey's yet
	// (no comment, no status, no board item), so the reconcile reads the
	// pull request from the replica and writes without reading first.
	// Never for a dry run, a rescan or a retry.
	Fresh bool
}

// Reconcile reconciles pull request owner/repo#number. With dryRun it
// plans and writes nothing.
func (rc *Reconciler) Reconcile(ctx context.Context, gh GitHub, owner, repo string, number int, dryRun bool) (Result, error) {
	return rc.Run(ctx, gh, Request{Owner: owner, Repo: repo, Number: number, DryRun: dryRun})
}

// Run reconciles the pull request req names. The error joins the failures
// of every action that failed, and of reads that may succeed when tried
// again; the other actions were still applied.
func (rc *Reconciler) Run(ctx context.Context, gh GitHub, req Request) (Result, error) {
	logger := zerolog.Ctx(ctx).With().Str("pull_request", fmt.Sprintf("%s/%s#%d", req.Owner, req.Repo, req.Number)).Logger()
	ctx = logger.WithContext(ctx)
	pr, fresh, err := rc.readPullRequest(ctx, gh, req)
	if err != nil {
		return Result{}, err
	}
	res := Result{PR: pr}
	layers, err := gh.ConfigLayers(ctx, pr.Owner, pr.Repo)
	var layerErr *LayerError
	if errors.As(err, &layerErr) {
		return rc.reportBrokenConfig(ctx, gh, pr, layerErr, req.DryRun)
	}
	if err != nil {
		return res, err
	}
	rules, _, err := Effective(rc.Defaults, serverLayer, layers...)
	if errors.As(err, &layerErr) {
		return rc.reportBrokenConfig(ctx, gh, pr, layerErr, req.DryRun)
	}
	if err != nil {
		return res, err
	}

	facts, observed, err := rc.observe(ctx, gh, pr, rules, fresh)
	if err != nil {
		return res, err
	}
	desired, err := Desire(facts, rules, rc.Templates)
	if err != nil {
		return res, err
	}
	res.Class = desired.Class.Class
	var refused []ProjectRef
	desired.Projects, refused = PermittedBoards(desired.Projects, pr.Owner, rc.Defaults, rc.BoardOwners)
	for _, b := range refused {
		problem := fmt.Sprintf("board %s belongs to %s, which is neither the pull request's organisation nor in triage.board_owners: left alone", b, b.Owner)
		res.Problems = append(res.Problems, problem)
		logger.Error().Str("board", b.String()).Msg("Board refused: " + problem)
	}
	items, retry := rc.observeItems(ctx, &res, pr, &desired, fresh)
	if osp := rules.OSPRProject(); osp == nil || !slices.Contains(desired.Projects, *osp) {
		desired.Fields = nil // the board is not in use, or could not be read
	}
	observed.Items = items
	res.Actions = Plan(pr, desired, observed, rules.OSPRProject())
	if rc.Jira != nil && !desired.Off {
		var allowed []string
		if len(rules.JiraNicks) > 0 {
			allowed = rules.JiraNicks
		}
		res.Actions = append(res.Actions, PlanJira(pr.Owner+"/"+pr.Repo, pr.Labels, rc.Jira.Config(), allowed, observed.Jira)...)
	}
	if req.DryRun || len(res.Actions) == 0 {
		return res, errors.Join(retry...)
	}
	if rc.Replica != nil {
		if err := rc.Replica.MarkWrite(ctx, pr); err != nil {
			return res, err // nothing written yet: try again later
		}
	}
	addErrs := map[ProjectRef]error{}
	for _, batch := range batches(res.Actions) {
		err := rc.apply(ctx, gh, pr, items, addErrs, batch)
		failed := false
		for _, a := range batch {
			switch aerr := errorOf(err, a); {
			case aerr == nil:
				logger.Info().Str("action", a.String()).Msg("Triage action applied")
			case IsConfigProblem(aerr):
				res.Problems = append(res.Problems, fmt.Sprintf("%s: %v", a, aerr))
				logger.Error().Err(aerr).Str("action", a.String()).Msg("Triage action impossible as configured: fix the configuration")
			default:
				logger.Error().Err(aerr).Str("action", a.String()).Msg("Triage action failed; the others still run")
				res.Failed = append(res.Failed, a)
				failed = true
			}
		}
		if failed {
			retry = append(retry, fmt.Errorf("%s: %w", batch[0].Kind, err))
		}
	}
	return res, errors.Join(retry...)
}

// PermittedBoards splits boards into those the pull request may go to and
// those it may not: a board is permitted when the server's own settings
// name it, when it belongs to the pull request's organisation, or when its
// owner is one of owners (case-insensitive).
func PermittedBoards(boards []ProjectRef, prOwner string, server Rules, owners []string) (permitted, refused []ProjectRef) {
	same := func(a ProjectRef, b *ProjectRef) bool {
		return b != nil && a.Number == b.Number && strings.EqualFold(a.Owner, b.Owner)
	}
	for _, b := range boards {
		switch {
		case same(b, server.Projects.ospr), same(b, server.Projects.blended),
			strings.EqualFold(b.Owner, prOwner), containsFold(owners, b.Owner):
			permitted = append(permitted, b)
		default:
			refused = append(refused, b)
		}
	}
	return permitted, refused
}

// errorOf is the part of a batch's error that concerns action a: for a
// field, its own FieldError, or whatever failed the whole request.
func errorOf(err error, a Action) error {
	if err == nil || a.Kind != SetField {
		return err
	}
	var rest []error
	for _, e := range flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			if fe.Field == a.Field {
				return e
			}
			continue
		}
		rest = append(rest, e)
	}
	return errors.Join(rest...)
}

// batches groups the actions into the requests that apply them: one each,
// except the fields of one board, which are set together.
func batches(actions []Action) [][]Action {
	var out [][]Action
	for _, a := range actions {
		if n := len(out); a.Kind == SetField && n > 0 && out[n-1][0].Kind == SetField && out[n-1][0].Project == a.Project {
			out[n-1] = append(out[n-1], a)
			continue
		}
		out = append(out, []Action{a})
	}
	return out
}

// readPullRequest reads the pull request, from the replica when the request
// is fresh and the replica has it, and says whether the reconcile may take
// the fresh path.
func (rc *Reconciler) readPullRequest(ctx context.Context, gh GitHub, req Request) (PR, bool, error) {
	if req.Fresh && !req.DryRun && rc.Replica != nil {
		pr, found, err := rc.Replica.PullRequest(ctx, req.Owner, req.Repo, req.Number)
		if err != nil {
			return PR{}, false, err
		}
		if found {
			fresh, err := rc.untouched(ctx, pr)
			if err != nil || fresh {
				return pr, fresh, err
			}
		}
	}
	pr, err := gh.PullRequest(ctx, req.Owner, req.Repo, req.Number)
	return pr, false, err
}

// untouched reports whether the replica shows that nothing of osprey's can
// be on the pull request yet: no reconcile ever began to write to it (even
// one whose answers were lost), and no comment of either bot has reached
// the replica.
func (rc *Reconciler) untouched(ctx context.Context, pr PR) (bool, error) {
	wrote, err := rc.Replica.WroteTo(ctx, pr.Owner, pr.Repo, pr.Number)
	if err != nil || wrote {
		return false, err
	}
	bots, err := rc.bots(ctx)
	if err != nil {
		return false, err
	}
	commented, err := rc.Replica.HasCommentBy(ctx, pr.Owner, pr.Repo, pr.Number, bots)
	return !commented, err
}

// bots are the logins whose first comments count: osprey's and its
// predecessor's.
func (rc *Reconciler) bots(ctx context.Context) ([]string, error) {
	own, err := rc.ownLogins(ctx)
	return append(own, rc.PreviousBotLogins...), err
}

func (rc *Reconciler) ownLogins(ctx context.Context) ([]string, error) {
	if rc.BotLogins == nil {
		return nil, nil
	}
	return rc.BotLogins(ctx)
}

// observeItems reads the pull request's items on the boards it should be
// on. Boards that cannot be read are left out of the plan this time; the
// errors that may pass are returned, so that the job is retried.
func (rc *Reconciler) observeItems(ctx context.Context, res *Result, pr PR, desired *Desired, fresh bool) (map[ProjectRef]ProjectItem, []error) {
	items := map[ProjectRef]ProjectItem{}
	if rc.Projects == nil || pr.NodeID == "" {
		desired.Projects, desired.Fields = nil, nil
		return items, nil
	}
	if len(desired.Projects) == 0 || fresh {
		// Fresh: on no board yet, as far as osprey knows. Adding it is
		// idempotent and answers the item's fields, should someone (or
		// a board's auto-add workflow) have been quicker.
		return items, nil
	}
	read, err := rc.Projects.Items(ctx, pr.NodeID, desired.Projects)
	for p, item := range read {
		items[p] = item
	}
	if err == nil {
		return items, nil
	}
	// A board missing from the answer is either one the pull request is
	// not on or one that could not be read: ask for each alone to know.
	var unreadable []error
	desired.Projects = slices.DeleteFunc(desired.Projects, func(p ProjectRef) bool {
		if _, ok := items[p]; ok {
			return false
		}
		one, err := rc.Projects.Items(ctx, pr.NodeID, []ProjectRef{p})
		if err != nil {
			unreadable = append(unreadable, err)
			return true
		}
		if item, ok := one[p]; ok {
			items[p] = item
		}
		return false
	})
	return items, rc.sortProblems(res, zerolog.Ctx(ctx), errors.Join(unreadable...))
}

// sortProblems splits the joined errors of reading boards into
// configuration problems (logged and recorded, never retried) and the rest
// (returned, so the job is retried).
func (rc *Reconciler) sortProblems(res *Result, logger *zerolog.Logger, err error) []error {
	if err == nil {
		return nil
	}
	var retry []error
	for _, e := range flatten(err) {
		if IsConfigProblem(e) {
			res.Problems = append(res.Problems, e.Error())
			logger.Error().Err(e).Msg("Project board unusable as configured: fix the configuration; the other steps still run")
			continue
		}
		logger.Error().Err(e).Msg("Reading project items failed; the other steps still run")
		retry = append(retry, e)
	}
	return retry
}

// flatten lists the errors a joined error holds (itself when it holds none).
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// IsConfigProblem reports whether err is a configuration problem that
// trying again will not fix: a board whose owner has not installed the
// app, a board or field that does not exist.
func IsConfigProblem(err error) bool {
	return errors.Is(err, ErrNoInstallation) || errors.Is(err, ErrNoSuchProject) || errors.Is(err, ErrNoSuchField) ||
		errors.Is(err, ErrNoAccess) || jiramap.IsAuth(err) || jiramap.IsRejected(err) || errors.Is(err, ErrJiraServerMoved)
}

// observe reads what desire and plan need: the bot's first comment, the
// newest status of the triage's context on the head, the catalog, and the
// full name of a person the catalog names as owner.
func (rc *Reconciler) observe(ctx context.Context, gh GitHub, pr PR, rules Rules, fresh bool) (Facts, Observed, error) {
	facts := Facts{PR: pr}
	if rc.Directory != nil {
		dir := rc.Directory()
		if dir == nil {
			return facts, Observed{}, ErrNoContributorData
		}
		facts.Author = dir.Author(pr.Author)
	}
	o := Observed{Labels: pr.Labels}
	var err error
	// Fresh: no comment or status of osprey's yet. The previous bot's
	// comment, though, may still be on its way to the replica (or that bot
	// still running): with one configured, the comments are listed.
	if !fresh || len(rc.PreviousBotLogins) > 0 {
		if o.Comment, o.Jira, err = rc.botComments(ctx, gh, pr); err != nil {
			return facts, o, err
		}
	}
	if pr.HeadSHA != "" && !fresh {
		if o.Status, err = gh.Status(ctx, pr.Owner, pr.Repo, pr.HeadSHA, rules.Status.Context); err != nil {
			return facts, o, err
		}
	}
	if facts.Catalog, err = rc.catalog(ctx, gh, pr, rules.CatalogProjectsAnnotation); err != nil {
		return facts, o, err
	}
	if facts.Catalog != nil && rules.OSPRProject() != nil && rules.Projects.Fields.Owner != "" &&
		Classify(pr, rules, facts.Author).Class == OSPR {
		if login, ok := facts.Catalog.PersonOwner(); ok {
			if facts.OwnerFullName, err = gh.UserName(ctx, login); err != nil {
				return facts, o, err
			}
		}
	}
	return facts, o, nil
}

// botComments finds the first bot comment, osprey's own or its
// predecessor's (adopted, not editable),
// and the Jira comments of both.
func (rc *Reconciler) botComments(ctx context.Context, gh GitHub, pr PR) (*BotComment, JiraComments, error) {
	own, err := rc.ownLogins(ctx)
	if err != nil {
		return nil, nil, err
	}
	comments, err := gh.IssueComments(ctx, pr.Owner, pr.Repo, pr.Number)
	if err != nil {
		return nil, nil, err
	}
	var first *BotComment
	var bodies []string
	for _, c := range comments {
		mine := containsFold(own, c.Author)
		if !mine && !containsFold(rc.PreviousBotLogins, c.Author) {
			continue
		}
		bodies = append(bodies, c.Body)
		if kind, ok := FirstCommentKind(c.Body); ok && first == nil {
			first = &BotComment{ID: c.ID, Kind: kind, Body: c.Body, Editable: mine}
		}
	}
	return first, ReadJiraComments(bodies), nil
}

// catalog reads the repository's catalog-info.yaml; nil when it has none.
func (rc *Reconciler) catalog(ctx context.Context, gh GitHub, pr PR, annotation string) (*Catalog, error) {
	data, found, err := gh.File(ctx, pr.Owner, pr.Repo, catalogFile)
	if err != nil || !found {
		return nil, err
	}
	catalog, err := ParseCatalog(data, annotation)
	if err != nil {
		// The repository's file is wrong, not the pull request: carry on
		// as if it had none, and say so.
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Ignoring the repository's catalog-info.yaml")
		return nil, nil
	}
	return &catalog, nil
}

// reportBrokenConfig is the whole reconcile when an osprey.yml that applies
// to the repository is broken: nothing can be decided by settings nobody
// can read, so the only change is the commit status, state error, naming
// the file and what is wrong. It is not retried: the next event after the
// file is fixed reconciles as usual.
func (rc *Reconciler) reportBrokenConfig(ctx context.Context, gh GitHub, pr PR, layerErr *LayerError, dryRun bool) (Result, error) {
	res := Result{PR: pr, ConfigError: layerErr.Error()}
	zerolog.Ctx(ctx).Error().Err(layerErr).Msg("The triage settings of this repository are broken: reporting it in the commit status and changing nothing else")
	if pr.HeadSHA == "" {
		return res, nil
	}
	desired := Desired{Status: StatusWant{Context: rc.Defaults.Status.Context, State: StatusError, Description: BrokenConfigDescription(layerErr)}}
	var observed Observed
	var err error
	if observed.Status, err = gh.Status(ctx, pr.Owner, pr.Repo, pr.HeadSHA, desired.Status.Context); err != nil {
		return res, err
	}
	res.Actions = Plan(pr, desired, observed, nil) // the status, or nothing
	if dryRun || len(res.Actions) == 0 {
		return res, nil
	}
	if err := rc.apply(ctx, gh, pr, nil, nil, res.Actions); err != nil {
		res.Failed = res.Actions
		return res, fmt.Errorf("%s: %w", SetStatus, err)
	}
	return res, nil
}

// maxStatusDescription is the longest description GitHub keeps on a
// commit status.
const maxStatusDescription = 140

// BrokenConfigDescription is the commit status description that tells a
// repository its osprey.yml is broken: the file, then the problem, cut to
// what GitHub keeps.
func BrokenConfigDescription(e *LayerError) string {
	msg := strings.Join(strings.Fields(fmt.Sprintf("osprey config broken: %s: %v", e.Layer, e.Err)), " ")
	if r := []rune(msg); len(r) > maxStatusDescription {
		msg = string(r[:maxStatusDescription-3]) + "..."
	}
	return msg
}

// apply makes one batch of actions (see batches) on GitHub.
// items gains the boards the pull request is added to; addErrs the reasons
// it could not be, which its fields then share (a configuration problem
// stays one).
func (rc *Reconciler) apply(ctx context.Context, gh GitHub, pr PR, items map[ProjectRef]ProjectItem, addErrs map[ProjectRef]error, batch []Action) error {
	a := batch[0]
	switch a.Kind {
	case SetStatus:
		return gh.SetStatus(ctx, pr.Owner, pr.Repo, pr.HeadSHA, a.Status)
	case AddLabel:
		return gh.AddLabel(ctx, pr.Owner, pr.Repo, pr.Number, a.Label)
	case RemoveLabel:
		return gh.RemoveLabel(ctx, pr.Owner, pr.Repo, pr.Number, a.Label)
	case CreateComment:
		c, err := gh.CreateComment(ctx, pr.Owner, pr.Repo, pr.Number, a.Body)
		if err != nil {
			return err
		}
		if own, _ := rc.ownLogins(ctx); c.Author != "" && !containsFold(own, c.Author) && rc.OwnCommentBy != nil {
			rc.OwnCommentBy(ctx, c.Author)
		}
		if rc.Replica == nil {
			return nil
		}
		// The replica knows of the comment at once, so a fresh reconcile
		// never takes it for a pull request without one. Should that
		// fail, the job is retried, and a retry is never fresh.
		if err := rc.Replica.RecordComment(ctx, pr, c); err != nil {
			return fmt.Errorf("comment %d written, but not put in the replica: %w", c.ID, err)
		}
		return nil
	case EditComment:
		return gh.EditComment(ctx, pr.Owner, pr.Repo, a.CommentID, a.Body)
	case CreateJiraIssue, CommentNoJira:
		c, err := rc.Jira.apply(ctx, gh, pr, pr.Body, a)
		if err != nil || rc.Replica == nil {
			return err
		}
		if err := rc.Replica.RecordComment(ctx, pr, c); err != nil {
			return fmt.Errorf("comment %d written, but not put in the replica: %w", c.ID, err)
		}
		return nil
	case AddToProject:
		item, err := rc.Projects.AddItem(ctx, a.Project, pr.NodeID)
		if err != nil {
			addErrs[a.Project] = err
			return err
		}
		items[a.Project] = item
		return nil
	case SetField:
		item, ok := items[a.Project]
		if !ok || item.ID == "" {
			if cause := addErrs[a.Project]; cause != nil {
				return fmt.Errorf("the pull request is not on board %s: %w", a.Project, cause)
			}
			return fmt.Errorf("the pull request is not on board %s", a.Project)
		}
		values := map[string]string{}
		for _, f := range batch {
			if item.Fields[f.Field] != f.Value { // adding it may have shown it set already
				values[f.Field] = f.Value
			}
		}
		if len(values) == 0 {
			return nil
		}
		return rc.Projects.SetFields(ctx, a.Project, item.ID, values)
	}
	return fmt.Errorf("no way to apply %q", a.Kind)
}
