package fakegithub

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Projects (v2) boards, their owners' installations, and the GraphQL that
// reads and writes them. A test that adds a project gets a fake that answers
// the queries and mutations of boards without setting a resolver of its own
// (a resolver set with SetGraphQL still wins).
//
// Access follows GitHub's: a board whose owner was registered with
// SetOrgInstallation is visible only to that installation's tokens; any other
// installation gets what GitHub answers for a resource it cannot see (null and
// "Could not resolve to …"). A board whose owner was never registered is
// visible to every installation, for tests that do not care.

// ProjectField is a field of a fake board.
type ProjectField struct {
	Name string
	// DataType is a ProjectV2FieldType: DATE, TEXT, NUMBER, SINGLE_SELECT
	// (others, such as ITERATION, exist but cannot be set).
	DataType string
	// Options are the names of a single-select field's options.
	Options []string
}

// FakeProjectItem is an item of a fake board, as a test asserts it.
type FakeProjectItem struct {
	ID string
	// Content is the node id of the pull request the item stands for.
	Content string
	// Fields are the item's values by field name: a date as YYYY-MM-DD,
	// a number as strconv.FormatFloat(v, 'f', -1, 64), an option by name.
	Fields map[string]string
}

type projectStore struct {
	installations map[string]int64 // lower-case owner login → installation id
	projects      []*fakeProject
	pullRequests  map[string]bool // node ids registered with AddPullRequestNode
}

type fakeProject struct {
	owner  string
	number int
	id     string
	fields []*fakeField
	items  []*fakeItem
}

type fakeField struct {
	id, name, dataType string
	options            []fakeOption
}

type fakeOption struct{ id, name string }

type fakeItem struct {
	id, content string
	values      map[string]any // field id → string (date, text, option id) or float64
}

// store returns the Projects state, creating it on first use. Call with
// s.mu held.
func (s *Server) store() *projectStore {
	if s.projects == nil {
		s.projects = &projectStore{installations: map[string]int64{}, pullRequests: map[string]bool{}}
	}
	return s.projects
}

// newNodeID hands out a node id with GitHub's prefix for the kind. Call with
// s.mu held.
func (s *Server) newNodeID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s_fake%d", prefix, s.nextID)
}

// AddProject creates board number of owner with fields, replacing a board of
// the same number (which then gets new ids), and returns its node id.
func (s *Server) AddProject(owner string, number int, fields ...ProjectField) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store()
	st.remove(owner, number)
	p := &fakeProject{owner: owner, number: number, id: s.newNodeID("PVT")}
	for _, f := range fields {
		p.fields = append(p.fields, s.newField(f))
	}
	st.projects = append(st.projects, p)
	return p.id
}

// newField gives a field and its options new ids. Call with s.mu held.
func (s *Server) newField(f ProjectField) *fakeField {
	prefix := "PVTF"
	if f.DataType == "SINGLE_SELECT" {
		prefix = "PVTSSF"
	}
	field := &fakeField{id: s.newNodeID(prefix), name: f.Name, dataType: f.DataType}
	for _, o := range f.Options {
		field.options = append(field.options, fakeOption{id: s.newNodeID("PVTSSO"), name: o})
	}
	return field
}

// RemoveProject deletes board number of owner with its items, as if someone
// deleted the project on GitHub.
func (s *Server) RemoveProject(owner string, number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store().remove(owner, number)
}

func (st *projectStore) remove(owner string, number int) {
	kept := st.projects[:0]
	for _, p := range st.projects {
		if !strings.EqualFold(p.owner, owner) || p.number != number {
			kept = append(kept, p)
		}
	}
	st.projects = kept
}

// AddProjectField adds field to board number of owner, as someone editing
// the board would.
func (s *Server) AddProjectField(owner string, number int, field ProjectField) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.store().project(owner, number); p != nil {
		p.fields = append(p.fields, s.newField(field))
	}
}

// RemoveProjectField deletes the field called name from board number of
// owner, with the items' values of it.
func (s *Server) RemoveProjectField(owner string, number int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.store().project(owner, number)
	if p == nil {
		return
	}
	kept := p.fields[:0]
	for _, f := range p.fields {
		if f.name != name {
			kept = append(kept, f)
			continue
		}
		for _, it := range p.items {
			delete(it.values, f.id)
		}
	}
	p.fields = kept
}

// SetOrgInstallation installs the app on owner (an organisation or a user) as
// installationID: GET /orgs/{owner}/installation and /users/{owner}/installation
// answer it, and only that installation's tokens see owner's boards.
func (s *Server) SetOrgInstallation(owner string, installationID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store().installations[strings.ToLower(owner)] = installationID
}

// AddPullRequestNode makes nodeID a pull request that GraphQL can resolve and
// boards can hold. A pull request added with AddPullRequest whose object has
// a "node_id" is resolvable without this.
func (s *Server) AddPullRequestNode(nodeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store().pullRequests[nodeID] = true
}

// ProjectItems returns the items of board number of owner, oldest first.
func (s *Server) ProjectItems(owner string, number int) []FakeProjectItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.store().project(owner, number)
	if p == nil {
		return nil
	}
	var out []FakeProjectItem
	for _, it := range p.items {
		fields := map[string]string{}
		for _, f := range p.fields {
			if v, ok := it.values[f.id]; ok {
				fields[f.name] = f.display(v)
			}
		}
		out = append(out, FakeProjectItem{ID: it.id, Content: it.content, Fields: fields})
	}
	return out
}

func (st *projectStore) project(owner string, number int) *fakeProject {
	for _, p := range st.projects {
		if strings.EqualFold(p.owner, owner) && p.number == number {
			return p
		}
	}
	return nil
}

// display is how a test reads a stored value.
func (f *fakeField) display(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		if o := f.option(v); o != nil {
			return o.name
		}
		return v
	}
	return fmt.Sprint(v)
}

func (f *fakeField) option(id string) *fakeOption {
	for i := range f.options {
		if f.options[i].id == id {
			return &f.options[i]
		}
	}
	return nil
}

// The installation endpoints of owners.

func isOwnerInstallationPath(path string) bool {
	_, ok := ownerOfInstallationPath(path)
	return ok
}

// ownerOfInstallationPath reads the owner of /orgs/{owner}/installation or
// /users/{owner}/installation.
func ownerOfInstallationPath(path string) (string, bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) != 3 || (parts[0] != "orgs" && parts[0] != "users") || parts[2] != "installation" || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// ownerInstallation answers the installation of an owner registered with
// SetOrgInstallation, and 404 for any other owner, as GitHub does.
func (s *Server) ownerInstallation(w http.ResponseWriter, path string) {
	owner, _ := ownerOfInstallationPath(path)
	s.mu.Lock()
	id, ok := s.store().installations[strings.ToLower(owner)]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	kind := "Organization"
	if strings.HasPrefix(path, "/users/") {
		kind = "User"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "app_id": s.AppID, "target_type": kind,
		"account": map[string]any{"login": owner, "type": kind},
	})
}

// The GraphQL of boards.

// projectsResolver answers GraphQL about boards for the installation whose
// bucket is given; nil when the test added no board and registered no
// owner.
func (s *Server) projectsResolver(bucket string) GraphQLResolver {
	s.mu.Lock()
	active := s.projects != nil
	s.mu.Unlock()
	if !active {
		return nil
	}
	installation, _ := strconv.ParseInt(bucket[strings.LastIndex(bucket, ":")+1:], 10, 64)
	return func(op *ast.OperationDefinition, vars map[string]any) (data any, errs []string) {
		sch, err := loadSchema()
		if err != nil {
			return nil, []string{err.Error()}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		defer func() {
			// A variable of the wrong shape makes gqlparser panic while
			// reading arguments; GitHub answers such a request with an error.
			if r := recover(); r != nil {
				data, errs = nil, []string{fmt.Sprint(r)}
			}
		}()
		v := &boardView{s: s, st: s.store(), installation: installation}
		root := v.query()
		if op.Operation == ast.Mutation {
			root = v.mutation()
		}
		e := &executor{schema: sch, vars: vars}
		data = e.selectOn(root, op.SelectionSet)
		return data, e.errs
	}
}

// boardView is the fake's GitHub as one installation sees it, during one
// request (s.mu held).
type boardView struct {
	s            *Server
	st           *projectStore
	installation int64
}

func notResolved(id string) error {
	return fmt.Errorf("Could not resolve to a node with the global id of '%s'", id)
}

func (v *boardView) visible(p *fakeProject) bool {
	id, installed := v.st.installations[strings.ToLower(p.owner)]
	return !installed || id == v.installation
}

// ownerKnown says whether login owns a board or has installed the app.
func (v *boardView) ownerKnown(login string) bool {
	if _, ok := v.st.installations[strings.ToLower(login)]; ok {
		return true
	}
	for _, p := range v.st.projects {
		if strings.EqualFold(p.owner, login) {
			return true
		}
	}
	return false
}

func (v *boardView) isPullRequest(id string) bool {
	if v.st.pullRequests[id] {
		return true
	}
	for path, obj := range v.s.resources {
		if pr, ok := obj.(map[string]any); ok && strings.Contains(path, "/pulls/") && pr["node_id"] == id {
			return true
		}
	}
	return false
}

func (v *boardView) query() gqlObject {
	return gqlObject{typename: "Query", field: func(name string, args map[string]any) (any, error) {
		login, _ := args["login"].(string)
		switch name {
		case "node":
			id, _ := args["id"].(string)
			return v.node(id)
		case "organization":
			if !v.ownerKnown(login) {
				return nil, fmt.Errorf("Could not resolve to an Organization with the login of '%s'.", login)
			}
			return v.owner(login), nil
		case "user":
			return nil, fmt.Errorf("Could not resolve to a User with the login of '%s'.", login)
		case "repositoryOwner":
			if !v.ownerKnown(login) {
				return nil, nil
			}
			return v.owner(login), nil
		}
		return nil, nil
	}}
}

// node resolves a pull request, board, field or item by node id.
func (v *boardView) node(id string) (any, error) {
	if v.isPullRequest(id) {
		return v.pullRequest(id), nil
	}
	for _, p := range v.st.projects {
		if !v.visible(p) {
			continue
		}
		if p.id == id {
			return v.project(p), nil
		}
		for _, f := range p.fields {
			if f.id == id {
				return v.field(p, f), nil
			}
		}
		for _, it := range p.items {
			if it.id == id {
				return v.item(p, it), nil
			}
		}
	}
	return nil, notResolved(id)
}

// owner is a board owner; the fake makes every owner an organisation.
func (v *boardView) owner(login string) gqlObject {
	return gqlObject{typename: "Organization", field: func(name string, args map[string]any) (any, error) {
		switch name {
		case "login", "name":
			return login, nil
		case "id":
			return "O_fake" + login, nil
		case "projectV2":
			n := toInt(args["number"], 0)
			if p := v.st.project(login, n); p != nil && v.visible(p) {
				return v.project(p), nil
			}
			return nil, fmt.Errorf("Could not resolve to a ProjectV2 with the number %d.", n)
		}
		return nil, nil
	}}
}

func (v *boardView) pullRequest(id string) gqlObject {
	return gqlObject{typename: "PullRequest", field: func(name string, args map[string]any) (any, error) {
		switch name {
		case "id":
			return id, nil
		case "projectItems":
			var nodes []gqlObject
			for _, p := range v.st.projects {
				for _, it := range p.items {
					if it.content == id && v.visible(p) {
						nodes = append(nodes, v.item(p, it))
					}
				}
			}
			return connection("ProjectV2ItemConnection", nodes, args), nil
		}
		return nil, nil
	}}
}

func (v *boardView) project(p *fakeProject) gqlObject {
	return gqlObject{typename: "ProjectV2", field: func(name string, args map[string]any) (any, error) {
		switch name {
		case "id":
			return p.id, nil
		case "number":
			return p.number, nil
		case "title":
			return fmt.Sprintf("Board %d", p.number), nil
		case "closed", "public", "template":
			return false, nil
		case "owner":
			return v.owner(p.owner), nil
		case "fields":
			var nodes []gqlObject
			for _, f := range p.fields {
				nodes = append(nodes, v.field(p, f))
			}
			return connection("ProjectV2FieldConfigurationConnection", nodes, args), nil
		case "field":
			for _, f := range p.fields {
				if f.name == args["name"] {
					return v.field(p, f), nil
				}
			}
			return nil, nil
		case "items":
			var nodes []gqlObject
			for _, it := range p.items {
				nodes = append(nodes, v.item(p, it))
			}
			return connection("ProjectV2ItemConnection", nodes, args), nil
		}
		return nil, nil
	}}
}

func fieldTypename(dataType string) string {
	switch dataType {
	case "SINGLE_SELECT":
		return "ProjectV2SingleSelectField"
	case "ITERATION":
		return "ProjectV2IterationField"
	}
	return "ProjectV2Field"
}

func (v *boardView) field(p *fakeProject, f *fakeField) gqlObject {
	return gqlObject{typename: fieldTypename(f.dataType), field: func(name string, args map[string]any) (any, error) {
		switch name {
		case "id":
			return f.id, nil
		case "name":
			return f.name, nil
		case "dataType":
			return f.dataType, nil
		case "project":
			return v.project(p), nil
		case "options":
			var out []gqlObject
			for _, o := range f.options {
				out = append(out, option(o))
			}
			return out, nil
		}
		return nil, nil
	}}
}

func option(o fakeOption) gqlObject {
	return gqlObject{typename: "ProjectV2SingleSelectFieldOption", field: func(name string, _ map[string]any) (any, error) {
		switch name {
		case "id":
			return o.id, nil
		case "name", "nameHTML":
			return o.name, nil
		case "color":
			return "GRAY", nil
		case "description", "descriptionHTML":
			return "", nil
		}
		return nil, nil
	}}
}

func (v *boardView) item(p *fakeProject, it *fakeItem) gqlObject {
	return gqlObject{typename: "ProjectV2Item", field: func(name string, args map[string]any) (any, error) {
		switch name {
		case "id":
			return it.id, nil
		case "project":
			return v.project(p), nil
		case "content":
			return v.pullRequest(it.content), nil
		case "isArchived":
			return false, nil
		case "type":
			return "PULL_REQUEST", nil
		case "fieldValues":
			var nodes []gqlObject
			for _, f := range p.fields {
				if val, ok := it.values[f.id]; ok {
					nodes = append(nodes, v.fieldValue(p, it, f, val))
				}
			}
			return connection("ProjectV2ItemFieldValueConnection", nodes, args), nil
		case "fieldValueByName":
			for _, f := range p.fields {
				if val, ok := it.values[f.id]; ok && f.name == args["name"] {
					return v.fieldValue(p, it, f, val), nil
				}
			}
			return nil, nil
		}
		return nil, nil
	}}
}

// valueKinds maps a field's data type to the typename of its values and
// the name of the value's own field.
var valueKinds = map[string][2]string{
	"DATE":          {"ProjectV2ItemFieldDateValue", "date"},
	"TEXT":          {"ProjectV2ItemFieldTextValue", "text"},
	"NUMBER":        {"ProjectV2ItemFieldNumberValue", "number"},
	"SINGLE_SELECT": {"ProjectV2ItemFieldSingleSelectValue", "name"},
}

func (v *boardView) fieldValue(p *fakeProject, it *fakeItem, f *fakeField, val any) gqlObject {
	kind := valueKinds[f.dataType]
	return gqlObject{typename: kind[0], field: func(name string, _ map[string]any) (any, error) {
		switch name {
		case "field":
			return v.field(p, f), nil
		case "item":
			return v.item(p, it), nil
		case "id":
			return it.id + "_" + f.id, nil
		case "optionId":
			return val, nil
		case kind[1]:
			if n, ok := val.(float64); ok {
				return n, nil
			}
			return f.display(val), nil
		}
		return nil, nil
	}}
}

// connection is a one-page connection of nodes, honouring first and last.
func connection(typename string, nodes []gqlObject, args map[string]any) gqlObject {
	if n := toInt(args["first"], -1); n >= 0 && n < len(nodes) {
		nodes = nodes[:n]
	}
	if n := toInt(args["last"], -1); n >= 0 && n < len(nodes) {
		nodes = nodes[len(nodes)-n:]
	}
	total := len(nodes)
	return gqlObject{typename: typename, field: func(name string, _ map[string]any) (any, error) {
		switch name {
		case "nodes":
			return nodes, nil
		case "totalCount":
			return total, nil
		case "pageInfo":
			return pageInfo(), nil
		}
		return nil, nil
	}}
}

func pageInfo() gqlObject {
	return gqlObject{typename: "PageInfo", field: func(name string, _ map[string]any) (any, error) {
		if name == "hasNextPage" || name == "hasPreviousPage" {
			return false, nil
		}
		return nil, nil
	}}
}

func toInt(v any, def int) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case int:
		return n
	case float64:
		return int(n)
	}
	return def
}

// The two mutations.

func (v *boardView) mutation() gqlObject {
	return gqlObject{typename: "Mutation", field: func(name string, args map[string]any) (any, error) {
		input, _ := args["input"].(map[string]any)
		switch name {
		case "addProjectV2ItemById":
			return v.addItem(input)
		case "updateProjectV2ItemFieldValue":
			return v.updateField(input)
		}
		return nil, fmt.Errorf("fakegithub: mutation %s is not faked", name)
	}}
}

// projectByID finds a board the installation can see.
func (v *boardView) projectByID(id any) (*fakeProject, error) {
	for _, p := range v.st.projects {
		if p.id == id && v.visible(p) {
			return p, nil
		}
	}
	return nil, notResolved(fmt.Sprint(id))
}

func payload(typename, itemField string, item gqlObject) gqlObject {
	return gqlObject{typename: typename, field: func(name string, _ map[string]any) (any, error) {
		if name == itemField {
			return item, nil
		}
		return nil, nil
	}}
}

// addItem adds a pull request to a board, or returns its item there.
func (v *boardView) addItem(input map[string]any) (any, error) {
	p, err := v.projectByID(input["projectId"])
	if err != nil {
		return nil, err
	}
	content, _ := input["contentId"].(string)
	if !v.isPullRequest(content) {
		return nil, notResolved(content)
	}
	for _, it := range p.items {
		if it.content == content {
			return payload("AddProjectV2ItemByIdPayload", "item", v.item(p, it)), nil
		}
	}
	it := &fakeItem{id: v.s.newNodeID("PVTI"), content: content, values: map[string]any{}}
	p.items = append(p.items, it)
	return payload("AddProjectV2ItemByIdPayload", "item", v.item(p, it)), nil
}

// updateField sets one field of an item, checking the value against the
// field's type as GitHub does.
func (v *boardView) updateField(input map[string]any) (any, error) {
	p, err := v.projectByID(input["projectId"])
	if err != nil {
		return nil, err
	}
	var it *fakeItem
	for _, candidate := range p.items {
		if candidate.id == input["itemId"] {
			it = candidate
		}
	}
	if it == nil {
		return nil, notResolved(fmt.Sprint(input["itemId"]))
	}
	var f *fakeField
	for _, candidate := range p.fields {
		if candidate.id == input["fieldId"] {
			f = candidate
		}
	}
	if f == nil {
		return nil, notResolved(fmt.Sprint(input["fieldId"]))
	}
	value, _ := input["value"].(map[string]any)
	stored, err := f.accept(value)
	if err != nil {
		return nil, err
	}
	it.values[f.id] = stored
	return payload("UpdateProjectV2ItemFieldValuePayload", "projectV2Item", v.item(p, it)), nil
}

// accept checks that value holds exactly the kind of value field f takes,
// and returns what the board stores.
func (f *fakeField) accept(value map[string]any) (any, error) {
	set := map[string]any{}
	for k, x := range value {
		if x != nil {
			set[k] = x
		}
	}
	if len(set) != 1 {
		return nil, fmt.Errorf("Only one value can be updated at a time, got %d", len(set))
	}
	wrong := fmt.Errorf("The value does not match the type %s of the field %s", f.dataType, f.name)
	switch f.dataType {
	case "DATE":
		return acceptDate(set["date"], wrong)
	case "TEXT":
		if text, ok := set["text"].(string); ok {
			return text, nil
		}
	case "NUMBER":
		switch n := set["number"].(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		}
	case "SINGLE_SELECT":
		id, ok := set["singleSelectOptionId"].(string)
		if ok && f.option(id) != nil {
			return id, nil
		}
		if ok {
			return nil, fmt.Errorf("The single select option Id does not belong to the field")
		}
	default:
		return nil, fmt.Errorf("fakegithub: fields of type %s cannot be set", f.dataType)
	}
	return nil, wrong
}

// acceptDate takes a date as GitHub does, either a bare date or a full
// timestamp (which githubv4.Date sends), and stores the date.
func acceptDate(x any, wrong error) (any, error) {
	text, _ := x.(string)
	if d, err := time.Parse("2006-01-02", text); err == nil {
		return d.Format("2006-01-02"), nil
	}
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return t.Format("2006-01-02"), nil
	}
	return nil, wrong
}

// A small GraphQL executor: it answers a validated selection set from
// gqlObjects, honouring aliases, __typename, inline fragments and named
// fragments (by type condition) and arguments (with variables and
// defaults).

// gqlObject is an object of some GraphQL type: field answers one of its
// fields with a scalar, a gqlObject, a []gqlObject or nil. An error makes the
// field null and is reported in "errors".
type gqlObject struct {
	typename string
	field    func(name string, args map[string]any) (any, error)
}

type executor struct {
	schema *ast.Schema
	vars   map[string]any
	errs   []string
}

func (e *executor) selectOn(obj gqlObject, set ast.SelectionSet) map[string]any {
	out := map[string]any{}
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			out[sel.Alias] = e.resolveField(obj, sel)
		case *ast.InlineFragment:
			if e.applies(obj.typename, sel.TypeCondition) {
				merge(out, e.selectOn(obj, sel.SelectionSet))
			}
		case *ast.FragmentSpread:
			if d := sel.Definition; d != nil && e.applies(obj.typename, d.TypeCondition) {
				merge(out, e.selectOn(obj, d.SelectionSet))
			}
		}
	}
	return out
}

func (e *executor) resolveField(obj gqlObject, f *ast.Field) any {
	if f.Name == "__typename" {
		return obj.typename
	}
	var args map[string]any
	if f.Definition != nil {
		args = f.ArgumentMap(e.vars)
	}
	v, err := obj.field(f.Name, args)
	if err != nil {
		e.errs = append(e.errs, err.Error())
		return nil
	}
	return e.complete(v, f.SelectionSet)
}

func (e *executor) complete(v any, set ast.SelectionSet) any {
	switch v := v.(type) {
	case gqlObject:
		return e.selectOn(v, set)
	case []gqlObject:
		out := make([]any, 0, len(v))
		for _, o := range v {
			out = append(out, e.selectOn(o, set))
		}
		return out
	}
	return v
}

// applies says whether a fragment on cond applies to an object of
// typename: the same type, or an interface or union it belongs to.
func (e *executor) applies(typename, cond string) bool {
	if cond == "" || cond == typename {
		return true
	}
	def := e.schema.Types[typename]
	if def == nil {
		return false
	}
	for _, d := range e.schema.GetImplements(def) {
		if d.Name == cond {
			return true
		}
	}
	return false
}

// merge adds from's keys to into, merging objects that both select.
func merge(into, from map[string]any) {
	for k, v := range from {
		a, aok := into[k].(map[string]any)
		b, bok := v.(map[string]any)
		if aok && bok {
			merge(a, b)
			continue
		}
		into[k] = v
	}
}
