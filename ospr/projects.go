package ospr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/shurcooL/githubv4"
)

// Projects is what a reconcile reads and writes on GitHub Projects (v2)
// boards. Each board is read and written through the installation of the
// board's owner, which may be another organisation than the pull request's.
type Projects interface {
	// Items reads the pull request's items (prNodeID is the PR's GraphQL node id) on boards, with each item's field
	// values by field name. Boards it could not read are missing from the map and their errors are joined in err
	// (each naming the board); the boards it could read are still returned.
	Items(ctx context.Context, prNodeID string, boards []ProjectRef) (map[ProjectRef]ProjectItem, error)
	// AddItem adds the pull request to board (idempotent on GitHub's side: adding twice returns the same item).
	AddItem(ctx context.Context, board ProjectRef, prNodeID string) (ProjectItem, error)
	// SetFields sets fields (value by field name) of item itemID on board,
	// in one request.
	SetFields(ctx context.Context, board ProjectRef, itemID string, values map[string]string) error
}

// ErrNoInstallation is the error of a board whose owner has not installed
// the app: a configuration error that retrying will not fix.
var ErrNoInstallation = errors.New("the GitHub App is not installed on the board's owner " +
	"(install it there with the organisation permission Projects: read and write, or remove the board from the configuration)")

// ErrNoSuchField is the error of a field the board does not have, of a
// single-select option the field does not have, or of a field of a kind
// osprey cannot set: a configuration error, not retried.
var ErrNoSuchField = errors.New("the board has no such field or option " +
	"(add it to the board, or fix the field name in the configuration)")

// ErrNoSuchProject is the error of a board number its owner does not have (or
// does not let the app see): a configuration error, not retried.
var ErrNoSuchProject = errors.New("the owner has no such project " +
	"(check the board's owner:number in the configuration)")

// ErrNoAccess is GitHub refusing the app a board (the app lacks the
// organisation's "Projects: read and write" permission): a configuration
// error, not retried. A pull request the board owner's installation cannot
// resolve is retried instead: right after it is opened, GitHub may not
// know it everywhere yet.
var ErrNoAccess = errors.New("the app may not do this on the board " +
	"(grant the app the organisation permission Projects: read and write)")

// refused turns GitHub's refusal of a permission into ErrNoAccess.
func refused(err error) error {
	msg := strings.ToLower(err.Error())
	// Only GitHub's words for a missing permission: a bare 403 is also
	// how GraphQL's secondary rate limit answers, which passes.
	if strings.Contains(msg, "resource not accessible by integration") {
		return fmt.Errorf("%w: %v", ErrNoAccess, err)
	}
	return err
}

// GraphQLProjects is Projects over GitHub's GraphQL API. It remembers each
// board's project, field and option ids (safe for concurrent use), and
// forgets a board's ids when GitHub says one of them is gone: the call that
// hits a stale id fails, and the next call looks the board up again.
type GraphQLProjects struct {
	clientFor func(ctx context.Context, owner string) (*githubv4.Client, error)

	mu     sync.Mutex
	boards map[ProjectRef]*boardIDs
}

var _ Projects = (*GraphQLProjects)(nil)

// NewGraphQLProjects returns Projects that reach each board's owner through
// the GraphQL client clientFor returns (an error wrapping ErrNoInstallation
// when the owner has not installed the app).
func NewGraphQLProjects(clientFor func(ctx context.Context, owner string) (*githubv4.Client, error)) *GraphQLProjects {
	return &GraphQLProjects{clientFor: clientFor, boards: map[ProjectRef]*boardIDs{}}
}

// InstallationV4ClientFor returns a clientFor for NewGraphQLProjects: it
// finds the owner's installation with the app's client (remembering the
// installation id of each owner), and returns that installation's GraphQL
// client. An owner without an installation is ErrNoInstallation; that answer
// is not remembered, so installing the app later is noticed on the next call.
func InstallationV4ClientFor(creator githubapp.ClientCreator) func(ctx context.Context, owner string) (*githubv4.Client, error) {
	ids := &installationIDs{creator: creator, byOwner: map[string]int64{}}
	return func(ctx context.Context, owner string) (*githubv4.Client, error) {
		id, err := ids.lookup(ctx, owner)
		if err != nil {
			return nil, err
		}
		client, err := creator.NewInstallationV4Client(id)
		if err != nil {
			return nil, fmt.Errorf("creating the GraphQL client of installation %d (%s): %w", id, owner, err)
		}
		return client, nil
	}
}

// installationIDs remembers the installation of each board owner.
type installationIDs struct {
	creator githubapp.ClientCreator
	mu      sync.Mutex
	byOwner map[string]int64 // lower-case login → installation id
}

func (c *installationIDs) lookup(ctx context.Context, owner string) (int64, error) {
	key := strings.ToLower(owner)
	c.mu.Lock()
	id, ok := c.byOwner[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := InstallationOn(ctx, c.creator, owner)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.byOwner[key] = id
	c.mu.Unlock()
	return id, nil
}

// boardIDs are the node ids of a board and its fields.
type boardIDs struct {
	project string
	fields  map[string]fieldIDs // by name
}

type fieldIDs struct {
	id       string
	dataType githubv4.ProjectV2FieldType
	options  map[string]string // single-select option name → id
}

// Items implements Projects with one GraphQL query per owner of boards.
func (p *GraphQLProjects) Items(ctx context.Context, prNodeID string, boards []ProjectRef) (map[ProjectRef]ProjectItem, error) {
	out := map[ProjectRef]ProjectItem{}
	var errs []error
	for _, group := range byOwner(boards) {
		items, err := p.ownerItems(ctx, group[0].Owner, prNodeID)
		for _, board := range group {
			if err != nil {
				errs = append(errs, fmt.Errorf("reading the items of board %s: %w", board, err))
			} else if item, ok := items[board.Number]; ok {
				out[board] = item
			}
		}
	}
	return out, errors.Join(errs...)
}

// byOwner groups boards by owner (case-insensitively), without duplicates,
// in the order the owners first appear.
func byOwner(boards []ProjectRef) [][]ProjectRef {
	index := map[string]int{}
	seen := map[ProjectRef]bool{}
	var groups [][]ProjectRef
	for _, b := range boards {
		if seen[b] {
			continue
		}
		seen[b] = true
		key := strings.ToLower(b.Owner)
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], b)
	}
	return groups
}

// itemsQuery reads a pull request's items with their field values.
type itemsQuery struct {
	Node struct {
		PullRequest struct {
			ProjectItems struct {
				Nodes []struct {
					ID      string
					Project struct {
						Number int
						Owner  struct {
							Organization struct{ Login string } `graphql:"... on Organization"`
							User         struct{ Login string } `graphql:"... on User"`
						}
					}
					FieldValues fieldValues `graphql:"fieldValues(first: 50)"`
				}
			} `graphql:"projectItems(first: 100, includeArchived: true)"`
		} `graphql:"... on PullRequest"`
	} `graphql:"node(id: $pr)"`
}

// fieldValues are an item's values of the four kinds osprey writes.
type fieldValues struct {
	Nodes []struct {
		Typename string `graphql:"__typename"`
		Date     struct {
			Date  string
			Field fieldName
		} `graphql:"... on ProjectV2ItemFieldDateValue"`
		Text struct {
			Text  string
			Field fieldName
		} `graphql:"... on ProjectV2ItemFieldTextValue"`
		Number struct {
			Number float64
			Field  fieldName
		} `graphql:"... on ProjectV2ItemFieldNumberValue"`
		SingleSelect struct {
			Name  string
			Field fieldName
		} `graphql:"... on ProjectV2ItemFieldSingleSelectValue"`
	}
}

type fieldName struct {
	Common struct{ Name string } `graphql:"... on ProjectV2FieldCommon"`
}

// byName is the values as Items reports them.
func (v fieldValues) byName() map[string]string {
	out := map[string]string{}
	for _, n := range v.Nodes {
		switch n.Typename {
		case "ProjectV2ItemFieldDateValue":
			out[n.Date.Field.Common.Name] = n.Date.Date
		case "ProjectV2ItemFieldTextValue":
			out[n.Text.Field.Common.Name] = n.Text.Text
		case "ProjectV2ItemFieldNumberValue":
			out[n.Number.Field.Common.Name] = strconv.FormatFloat(n.Number.Number, 'f', -1, 64)
		case "ProjectV2ItemFieldSingleSelectValue":
			out[n.SingleSelect.Field.Common.Name] = n.SingleSelect.Name
		}
	}
	return out
}

// ownerItems reads the pull request's items on owner's boards, by board
// number, through owner's installation.
func (p *GraphQLProjects) ownerItems(ctx context.Context, owner, prNodeID string) (map[int]ProjectItem, error) {
	client, err := p.clientFor(ctx, owner)
	if err != nil {
		return nil, err
	}
	var q itemsQuery
	if err := client.Query(ctx, &q, map[string]any{"pr": githubv4.ID(prNodeID)}); err != nil {
		return nil, fmt.Errorf("querying the project items of pull request %s: %w", prNodeID, refused(err))
	}
	out := map[int]ProjectItem{}
	for _, n := range q.Node.PullRequest.ProjectItems.Nodes {
		login := n.Project.Owner.Organization.Login
		if login == "" {
			login = n.Project.Owner.User.Login
		}
		if strings.EqualFold(login, owner) {
			out[n.Project.Number] = ProjectItem{ID: n.ID, Fields: n.FieldValues.byName()}
		}
	}
	return out, nil
}

// AddItem implements Projects. The item it returns carries the field values
// the item already had (none for a new item).
func (p *GraphQLProjects) AddItem(ctx context.Context, board ProjectRef, prNodeID string) (ProjectItem, error) {
	client, ids, err := p.prepare(ctx, board, false)
	if err != nil {
		return ProjectItem{}, err
	}
	var m struct {
		AddProjectV2ItemByID struct {
			Item struct {
				ID          string
				FieldValues fieldValues `graphql:"fieldValues(first: 50)"`
			}
		} `graphql:"addProjectV2ItemById(input: $input)"`
	}
	input := githubv4.AddProjectV2ItemByIdInput{ProjectID: githubv4.ID(ids.project), ContentID: githubv4.ID(prNodeID)}
	if err := client.Mutate(ctx, &m, input, nil); err != nil {
		p.forgetIfGone(board, err)
		return ProjectItem{}, fmt.Errorf("adding pull request %s to board %s: %w", prNodeID, board, refused(err))
	}
	item := m.AddProjectV2ItemByID.Item
	return ProjectItem{ID: item.ID, Fields: item.FieldValues.byName()}, nil
}

// SetField sets one field of item itemID on board (see SetFields).
func (p *GraphQLProjects) SetField(ctx context.Context, board ProjectRef, itemID, field, value string) error {
	return p.SetFields(ctx, board, itemID, map[string]string{field: value})
}

// SetFields implements Projects: every field in one GraphQL request, one
// aliased updateProjectV2ItemFieldValue each. A field or option missing
// from remembered ids makes it look the board up again before it answers
// ErrNoSuchField, so a field added to the board later is found; the fields
// the board has are still set.
func (p *GraphQLProjects) SetFields(ctx context.Context, board ProjectRef, itemID string, values map[string]string) error {
	client, ids, err := p.prepare(ctx, board, false)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(values))
	inputs, problems := fieldInputs(board, ids, itemID, names, values)
	if len(problems) > 0 && !ids.fresh {
		if client, ids, err = p.prepare(ctx, board, true); err != nil {
			return err
		}
		inputs, problems = fieldInputs(board, ids, itemID, names, values)
	}
	if len(inputs) > 0 {
		if err := mutateFields(ctx, client, inputs); err != nil {
			p.forgetIfGone(board, err)
			return fmt.Errorf("setting fields of item %s on board %s: %w", itemID, board, refused(err))
		}
	}
	return errors.Join(problems...)
}

// FieldError is why one field of a SetFields could not be set (the others
// still were).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap gives the cause (ErrNoSuchField, say).
func (e *FieldError) Unwrap() error { return e.Err }

// fieldInputs are the mutations' inputs for the fields the board has, and
// the errors for the others.
func fieldInputs(board ProjectRef, ids lookedUp, itemID string, names []string, values map[string]string) ([]githubv4.UpdateProjectV2ItemFieldValueInput, []error) {
	var inputs []githubv4.UpdateProjectV2ItemFieldValueInput
	var problems []error
	for _, name := range names {
		v, err := fieldValue(board, ids, name, values[name])
		if err != nil {
			problems = append(problems, &FieldError{Field: name, Err: err})
			continue
		}
		inputs = append(inputs, githubv4.UpdateProjectV2ItemFieldValueInput{
			ProjectID: githubv4.ID(ids.project), ItemID: githubv4.ID(itemID), FieldID: githubv4.ID(ids.fields[name].id), Value: v,
		})
	}
	return inputs, problems
}

// fieldUpdate is what osprey reads back from one field update.
type fieldUpdate struct {
	ProjectV2Item struct{ ID string } `graphql:"projectV2Item"`
}

// mutateFields sends one document with an aliased mutation per input.
// githubv4 builds documents from struct types, so the type is made to fit
// the number of fields; the first input is githubv4's $input, the others
// $input1, $input2, ….
func mutateFields(ctx context.Context, client *githubv4.Client, inputs []githubv4.UpdateProjectV2ItemFieldValueInput) error {
	fields := make([]reflect.StructField, len(inputs))
	vars := map[string]any{}
	for i, in := range inputs {
		variable := "input"
		if i > 0 {
			variable = fmt.Sprintf("input%d", i)
			vars[variable] = in
		}
		fields[i] = reflect.StructField{
			Name: fmt.Sprintf("Set%d", i),
			Type: reflect.TypeFor[fieldUpdate](),
			Tag:  reflect.StructTag(fmt.Sprintf(`graphql:"set%d: updateProjectV2ItemFieldValue(input: $%s)"`, i, variable)),
		}
	}
	m := reflect.New(reflect.StructOf(fields)).Interface()
	if len(vars) == 0 {
		vars = nil
	}
	return client.Mutate(ctx, m, inputs[0], vars)
}

// lookedUp is a board's ids and whether this call just looked them up.
type lookedUp struct {
	*boardIDs
	fresh bool
}

// prepare returns the client of the board's owner and the board's ids,
// looking them up when they are not remembered or when refresh is set.
func (p *GraphQLProjects) prepare(ctx context.Context, board ProjectRef, refresh bool) (*githubv4.Client, lookedUp, error) {
	client, err := p.clientFor(ctx, board.Owner)
	if err != nil {
		return nil, lookedUp{}, fmt.Errorf("board %s: %w", board, err)
	}
	p.mu.Lock()
	ids, ok := p.boards[board]
	p.mu.Unlock()
	if ok && !refresh {
		return client, lookedUp{boardIDs: ids}, nil
	}
	ids, err = lookUpBoard(ctx, client, board)
	if err != nil {
		return nil, lookedUp{}, err
	}
	p.mu.Lock()
	p.boards[board] = ids
	p.mu.Unlock()
	return client, lookedUp{boardIDs: ids, fresh: true}, nil
}

// boardQuery reads a board's id and fields. repositoryOwner finds
// organisations and users alike, and both are ProjectV2Owners.
type boardQuery struct {
	RepositoryOwner struct {
		Owner struct {
			ProjectV2 *struct {
				ID     string
				Fields struct {
					Nodes []struct {
						Common struct {
							ID       string
							Name     string
							DataType githubv4.ProjectV2FieldType
						} `graphql:"... on ProjectV2FieldCommon"`
						SingleSelect struct {
							Options []struct{ ID, Name string }
						} `graphql:"... on ProjectV2SingleSelectField"`
					}
				} `graphql:"fields(first: 100)"`
			} `graphql:"projectV2(number: $number)"`
		} `graphql:"... on ProjectV2Owner"`
	} `graphql:"repositoryOwner(login: $owner)"`
}

func lookUpBoard(ctx context.Context, client *githubv4.Client, board ProjectRef) (*boardIDs, error) {
	var q boardQuery
	vars := map[string]any{"owner": githubv4.String(board.Owner), "number": githubv4.Int(board.Number)}
	err := client.Query(ctx, &q, vars)
	if err != nil && strings.Contains(err.Error(), "Could not resolve to a ProjectV2") {
		return nil, fmt.Errorf("board %s: %w", board, ErrNoSuchProject)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up board %s: %w", board, err)
	}
	project := q.RepositoryOwner.Owner.ProjectV2
	if project == nil {
		return nil, fmt.Errorf("board %s: %w", board, ErrNoSuchProject)
	}
	ids := &boardIDs{project: project.ID, fields: map[string]fieldIDs{}}
	for _, n := range project.Fields.Nodes {
		f := fieldIDs{id: n.Common.ID, dataType: n.Common.DataType, options: map[string]string{}}
		for _, o := range n.SingleSelect.Options {
			f.options[o.Name] = o.ID
		}
		ids.fields[n.Common.Name] = f
	}
	return ids, nil
}

// fieldValue is value in the form field's kind takes.
func fieldValue(board ProjectRef, ids lookedUp, field, value string) (githubv4.ProjectV2FieldValue, error) {
	f, ok := ids.fields[field]
	if !ok {
		return githubv4.ProjectV2FieldValue{}, fmt.Errorf("board %s has no field %q: %w", board, field, ErrNoSuchField)
	}
	switch f.dataType {
	case githubv4.ProjectV2FieldTypeDate:
		day, err := time.Parse(time.DateOnly, value)
		if err != nil {
			return githubv4.ProjectV2FieldValue{}, fmt.Errorf("field %q of board %s takes a date (YYYY-MM-DD), not %q", field, board, value)
		}
		return githubv4.ProjectV2FieldValue{Date: githubv4.NewDate(githubv4.Date{Time: day})}, nil
	case githubv4.ProjectV2FieldTypeText:
		return githubv4.ProjectV2FieldValue{Text: githubv4.NewString(githubv4.String(value))}, nil
	case githubv4.ProjectV2FieldTypeNumber:
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return githubv4.ProjectV2FieldValue{}, fmt.Errorf("field %q of board %s takes a number, not %q", field, board, value)
		}
		return githubv4.ProjectV2FieldValue{Number: githubv4.NewFloat(githubv4.Float(n))}, nil
	case githubv4.ProjectV2FieldTypeSingleSelect:
		id, ok := f.options[value]
		if !ok {
			return githubv4.ProjectV2FieldValue{}, fmt.Errorf("field %q of board %s has no option %q: %w", field, board, value, ErrNoSuchField)
		}
		return githubv4.ProjectV2FieldValue{SingleSelectOptionID: githubv4.NewString(githubv4.String(id))}, nil
	}
	return githubv4.ProjectV2FieldValue{}, fmt.Errorf("field %q of board %s is of type %s, which osprey cannot set: %w",
		field, board, f.dataType, ErrNoSuchField)
}

// forgetIfGone forgets the board's ids when GitHub's answer says a node is
// gone (its NOT_FOUND errors say "Could not resolve to …"), so that the
// next call looks the board up again.
func (p *GraphQLProjects) forgetIfGone(board ProjectRef, err error) {
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "could not resolve to") && !strings.Contains(msg, "not found") &&
		!strings.Contains(msg, "does not exist") && !strings.Contains(msg, "does not belong") {
		return
	}
	p.mu.Lock()
	delete(p.boards, board)
	p.mu.Unlock()
}

// CheckBoard looks board up afresh through its owner's installation and
// says what keeps the triage from using it: no installation on the owner,
// no such project, or a field of fields that the board lacks (the errors
// wrap ErrNoInstallation, ErrNoSuchProject and ErrNoSuchField).
func (p *GraphQLProjects) CheckBoard(ctx context.Context, board ProjectRef, fields ...string) error {
	_, ids, err := p.prepare(ctx, board, true)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fields {
		if _, ok := ids.fields[f]; f != "" && !ok {
			errs = append(errs, fmt.Errorf("board %s has no field %q: %w", board, f, ErrNoSuchField))
		}
	}
	return errors.Join(errs...)
}
