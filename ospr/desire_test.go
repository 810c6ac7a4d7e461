package ospr

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	opened = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	closed = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func testRules(t *testing.T) Rules {
	t.Helper()
	r := DefaultRules()
	r.RefusingOrgs = []string{"closed-shop"}
	r.Projects.OSPR, r.Projects.Blended = "openedx:19", "openedx:26"
	r.AgreementURL = "https://example.org/agreement"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func testTemplates(t *testing.T) *Templates {
	t.Helper()
	tm, err := LoadTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func openPR(author string) PR {
	return PR{Owner: "openedx", Repo: "widgets", Number: 7, Title: "Fix the widgets", Author: author, AuthorType: "User",
		AuthorAssociation: "CONTRIBUTOR", State: "open", CreatedAt: opened, HeadSHA: "abc"}
}

// reconcile runs desire and plan, and returns the actions as strings.
func reconcile(t *testing.T, facts Facts, observed Observed) (Desired, []string) {
	t.Helper()
	rules := testRules(t)
	d, err := Desire(facts, rules, testTemplates(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range Plan(facts.PR, d, observed, rules.OSPRProject()) {
		out = append(out, a.String())
	}
	return d, out
}

// applied is what observed looks like after every action of d has been done.
func applied(d Desired, pr PR) Observed {
	o := Observed{Labels: append([]string{}, d.Labels...), Status: &d.Status, Items: map[ProjectRef]ProjectItem{}}
	if d.Comment != nil {
		o.Comment = &BotComment{ID: 1, Kind: d.Comment.Kind, Body: d.Comment.Body, Editable: true}
	}
	for _, p := range d.Projects {
		o.Items[p] = ProjectItem{ID: "item", Fields: d.Fields}
	}
	return o
}

func TestDesireAndPlan(t *testing.T) {
	d := testDirectory(t)
	catalog := &Catalog{Owner: "group:widget-maintainers", Lifecycle: "production", AddToProjects: []ProjectRef{{"openedx", 33}}}
	welcome := func(pr PR) Observed {
		return Observed{Labels: []string{"open-source-contribution"}, Comment: &BotComment{ID: 5, Kind: WelcomeComment, Body: "old text", Editable: true}}
	}
	tests := []struct {
		name     string
		pr       func() PR
		catalog  *Catalog
		observed func(PR) Observed
		want     []string
		body     []string // substrings the comment must hold
		notBody  []string // and must not
	}{
		{
			name: "a new outside pull request with an agreement",
			pr:   func() PR { return openPR("bob-contrib") }, catalog: catalog,
			want: []string{`set-status osprey/cla=success "The author is covered by an individual contributor agreement."`,
				`add-label "open-source-contribution"`, "create-comment external_pr", "add-to-project openedx:19",
				"add-to-project openedx:33", `set-field openedx:19 "Date opened"="2026-11-20"`,
				`set-field openedx:19 "Repo Owner / Owning Team"="openedx/widget-maintainers"`},
			body:    []string{"@bob-contrib", "`openedx/widget-maintainers`", "### What happens next"},
			notBody: []string{Marker("no_cla"), Marker("end_of_wip"), "### Tests"},
		},
		{
			name: "no agreement",
			pr:   func() PR { return openPR("stranger") },
			want: []string{`set-status osprey/cla=failure "No contributor agreement is on file for the author."`,
				`add-label "open-source-contribution"`, "create-comment external_pr", "add-to-project openedx:19",
				`set-field openedx:19 "Date opened"="2026-11-20"`},
			body: []string{Marker("no_cla"), "[sign one here](https://example.org/agreement)", "`osprey/cla`", "not maintained"},
		},
		{
			name: "a core contributor (a person's label stays)",
			pr:   func() PR { p := openPR("carol-review"); p.Labels = []string{"needs triage"}; return p },
			want: []string{`set-status osprey/cla=success "The author is covered by an institution contributor agreement."`,
				`add-label "open-source-contribution"`, `add-label "core contributor"`, "create-comment external_pr",
				"add-to-project openedx:19", `set-field openedx:19 "Date opened"="2026-11-20"`},
		},
		{
			name: "a draft, by title, from a first-timer: no catalog projects",
			pr: func() PR {
				p := openPR("bob-contrib")
				p.Title, p.AuthorAssociation = "WIP: fix the widgets", "FIRST_TIME_CONTRIBUTOR"
				return p
			}, catalog: catalog,
			want: []string{`set-status osprey/cla=success "The author is covered by an individual contributor agreement."`,
				`add-label "open-source-contribution"`, "create-comment external_pr", "add-to-project openedx:19",
				`set-field openedx:19 "Date opened"="2026-11-20"`,
				`set-field openedx:19 "Repo Owner / Owning Team"="openedx/widget-maintainers"`},
			body: []string{Marker("end_of_wip"), "### Tests"},
		},
		{
			name: "blended",
			pr:   func() PR { p := openPR("bob-contrib"); p.Title = "[BD-18] Fix the widgets"; return p },
			want: []string{`set-status osprey/cla=success "The author is covered by an individual contributor agreement."`,
				`add-label "blended"`, "create-comment welcome-blended", "add-to-project openedx:26"},
			body: []string{"tag your technical lead"},
		},
		{
			name: "switching from blended to OSPR edits the comment in place",
			pr:   func() PR { return openPR("bob-contrib") },
			observed: func(PR) Observed {
				return Observed{Labels: []string{"blended"}, Comment: &BotComment{ID: 9, Kind: BlendedComment, Body: "blended text", Editable: true},
					Items: map[ProjectRef]ProjectItem{{"openedx", 26}: {}}}
			},
			want: []string{`set-status osprey/cla=success "The author is covered by an individual contributor agreement."`,
				`add-label "open-source-contribution"`, `remove-label "blended"`, "edit-comment 9 external_pr",
				"add-to-project openedx:19", `set-field openedx:19 "Date opened"="2026-11-20"`},
		},
		{
			name: "merged: obsolete labels go, the comment is frozen, the close date is set",
			pr: func() PR {
				p := openPR("bob-contrib")
				p.State, p.Merged, p.MergedAt, p.ClosedAt = "closed", true, closed, closed
				p.Labels = []string{"open-source-contribution", "waiting on author", "changes requested", "needs triage"}
				return p
			},
			observed: func(pr PR) Observed {
				o := welcome(pr)
				o.Labels = pr.Labels
				o.Status = &StatusWant{Context: "osprey/cla", State: "success", Description: "The author is covered by an individual contributor agreement."}
				o.Items = map[ProjectRef]ProjectItem{{"openedx", 19}: {Fields: map[string]string{"Date opened": "2026-11-20"}}}
				return o
			},
			want: []string{`remove-label "waiting on author"`, `remove-label "changes requested"`,
				`set-field openedx:19 "Date merged/closed"="2026-11-24"`},
		},
		{
			name: "closed without merging keeps the merge-only labels",
			pr: func() PR {
				p := openPR("bob-contrib")
				p.State, p.ClosedAt = "closed", closed
				p.Labels = []string{"open-source-contribution", "waiting on author", "changes requested"}
				return p
			},
			observed: func(pr PR) Observed { o := welcome(pr); o.Labels = pr.Labels; return o },
			want: []string{`set-status osprey/cla=success "The author is covered by an individual contributor agreement."`,
				`remove-label "waiting on author"`, "add-to-project openedx:19", `set-field openedx:19 "Date merged/closed"="2026-11-24"`},
		},
		{
			name: "first seen already merged, with the OSPR label",
			pr: func() PR {
				p := openPR("bob-contrib")
				p.State, p.Merged, p.MergedAt, p.ClosedAt, p.Labels = "closed", true, closed, closed, []string{"open-source-contribution"}
				return p
			},
			want: []string{`set-status osprey/cla=success "The author is covered by an individual contributor agreement."`,
				"create-comment welcome_closed", "add-to-project openedx:19", `set-field openedx:19 "Date merged/closed"="2026-11-24"`},
			body: []string{"was merged before"},
		},
		{
			name: "a refusing organisation",
			pr:   func() PR { p := openPR("bob-contrib"); p.Owner = "closed-shop"; return p },
			want: []string{`set-status osprey/cla=failure "This repository accepts outside contributions only under contract."`,
				"create-comment no-contributions"},
		},
		{
			name: "a refused pull request already closed gets nothing new",
			pr: func() PR {
				p := openPR("bob-contrib")
				p.Owner, p.State, p.Labels = "closed-shop", "closed", []string{"open-source-contribution"}
				return p
			},
			want: []string{`set-status osprey/cla=failure "This repository accepts outside contributions only under contract."`},
		},
		{
			name: "a bot",
			pr:   func() PR { p := openPR("renovate[bot]"); p.AuthorType = "Bot"; return p },
			want: []string{`set-status osprey/cla=success "Bots need no contributor agreement."`},
		},
		{
			name: "an internal author",
			pr:   func() PR { p := openPR("eve-legacy"); return p },
			want: []string{`set-status osprey/cla=success "The author is internal: no contributor agreement is needed."`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := tt.pr()
			facts := Facts{PR: pr, Author: d.Author(pr.Author), Catalog: tt.catalog}
			observed := Observed{Labels: pr.Labels}
			if tt.observed != nil {
				observed = tt.observed(pr)
			}
			desired, got := reconcile(t, facts, observed)
			if !slices.Equal(got, tt.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tt.want)
			}
			if desired.Comment != nil {
				for _, s := range tt.body {
					if !strings.Contains(desired.Comment.Body, s) {
						t.Errorf("comment lacks %q:\n%s", s, desired.Comment.Body)
					}
				}
				for _, s := range tt.notBody {
					if strings.Contains(desired.Comment.Body, s) {
						t.Errorf("comment holds %q:\n%s", s, desired.Comment.Body)
					}
				}
			}
			// Once every action is done, a reconcile has nothing to do.
			if _, again := reconcile(t, facts, applied(desired, pr)); len(again) != 0 {
				t.Errorf("a reconcile after applying still plans %q", again)
			}
		})
	}
}

func TestMaintainerNames(t *testing.T) {
	tests := []struct {
		owner, lifecycle, comment, field string
	}{
		{"group:widget-maintainers", "production", "`openedx/widget-maintainers`", "openedx/widget-maintainers"},
		{"user:ada", "production", "`ada`", "Ada Lovelace (@ada)"},
		{"ada", "production", "`ada`", "Ada Lovelace (@ada)"},
		{"", "production", "has no maintainer yet", ""},
		{"", "deprecated", "not maintained at the moment", ""},
	}
	for _, tt := range tests {
		t.Run(tt.owner+"/"+tt.lifecycle, func(t *testing.T) {
			c := &Catalog{Owner: tt.owner, Lifecycle: tt.lifecycle}
			facts := Facts{PR: openPR("bob-contrib"), Author: testDirectory(t).Author("bob-contrib"), Catalog: c, OwnerFullName: "Ada Lovelace"}
			d, err := Desire(facts, testRules(t), testTemplates(t))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d.Comment.Body, tt.comment) {
				t.Errorf("comment lacks %q:\n%s", tt.comment, d.Comment.Body)
			}
			if got := d.Fields["Repo Owner / Owning Team"]; got != tt.field {
				t.Errorf("owner field %q, want %q", got, tt.field)
			}
		})
	}
}

// Every rendered comment is valid Markdown in the ways GitHub is strict
// about: no line starts with whitespace (it would become a code block),
// markers sit alone on their lines, no link is empty, one blank line at most.
func TestCommentsAreTidyMarkdown(t *testing.T) {
	tm := testTemplates(t)
	emptyLink := regexp.MustCompile(`\]\(\s*\)`)
	for kind := range templateFiles {
		for _, data := range []CommentData{
			{Author: "bob", NoAgreement: true, FirstTimer: true, Draft: true, StatusContext: "osprey/cla"},
			{Author: "bob", NoAgreement: true, AgreementURL: "https://example.org", Maintainer: "openedx/x", Merged: true},
			{Author: "bob"},
		} {
			body, err := tm.Render(kind, data)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := FirstCommentKind(body); !ok || got != kind {
				t.Errorf("%s: first-comment kind %q %v", kind, got, ok)
			}
			if emptyLink.MatchString(body) || strings.Contains(body, "\n\n\n") || strings.HasPrefix(body, "\n") {
				t.Errorf("%s: untidy:\n%s", kind, body)
			}
			for _, line := range strings.Split(body, "\n") {
				if strings.TrimLeft(line, " \t") != line {
					t.Errorf("%s: line starts with whitespace: %q", kind, line)
				}
				if strings.Contains(line, "<!--") && !markerLine.MatchString(line) {
					t.Errorf("%s: marker not alone on its line: %q", kind, line)
				}
			}
		}
	}
}

// Comments the previous bot left are recognised by their markers.
func TestFirstCommentKindOfThePreviousBot(t *testing.T) {
	old := "Thanks for the pull request, @bob!\n\n<!-- comment:external_pr -->\n\nSome text.\n<!-- comment:no_cla -->\n"
	if kind, ok := FirstCommentKind(old); !ok || kind != WelcomeComment {
		t.Errorf("kind %q %v", kind, ok)
	}
	if _, ok := FirstCommentKind("A person's comment quoting `<!-- comment:external_pr -->` inline."); ok {
		t.Error("an inline quotation of a marker was taken for a bot comment")
	}
}

func TestPermittedBoards(t *testing.T) {
	server := DefaultRules()
	server.Projects.OSPR = "program-office:19"
	if err := server.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		board    ProjectRef
		owners   []string
		permited bool
	}{
		{"the server's board, another organisation's", ProjectRef{"program-office", 19}, nil, true},
		{"the server's board, spelt otherwise", ProjectRef{"Program-Office", 19}, nil, true},
		{"another board of that organisation", ProjectRef{"program-office", 20}, nil, false},
		{"the pull request's organisation", ProjectRef{"OpenEdX", 3}, nil, true},
		{"a listed owner", ProjectRef{"partner", 4}, []string{"Partner"}, true},
		{"anybody else", ProjectRef{"partner", 4}, []string{"other"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, refused := PermittedBoards([]ProjectRef{tt.board}, "openedx", server, tt.owners)
			if got := len(ok) == 1 && len(refused) == 0; got != tt.permited || len(ok)+len(refused) != 1 {
				t.Errorf("permitted %v refused %v", ok, refused)
			}
		})
	}
}
