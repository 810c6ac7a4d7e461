package ospr

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	d := testDirectory(t)
	rules := DefaultRules()
	rules.BotLogins = []string{"Edx-Deployment"}
	rules.ExemptPrivateOrgs = []string{"acme"}
	rules.RefusingOrgs = []string{"closed-shop"}
	if err := rules.Validate(); err != nil {
		t.Fatal(err)
	}
	no := false
	yes := true
	open := func(author string) PR {
		return PR{Owner: "openedx", Repo: "widgets", Number: 1, Title: "Fix the widgets", Author: author, AuthorType: "User", State: "open"}
	}
	tests := []struct {
		name  string
		pr    func() PR
		rules func(Rules) Rules
		want  Class
	}{
		{"a bot by account type", func() PR { p := open("renovate[bot]"); p.AuthorType = "Bot"; return p }, nil, Bot},
		{"a bot by the configured list, any case", func() PR { return open("edx-deployment") }, nil, Bot},
		{"a bot even in a private exempt repository", func() PR { p := open("edx-deployment"); p.Owner, p.Private = "acme", true; return p }, nil, Bot},
		{"a private repository of an exempt organisation", func() PR { p := open("dana-nosign"); p.Owner, p.Private = "acme", true; return p }, nil, PrivateExempt},
		{"a private repository elsewhere is not exempt", func() PR { p := open("dana-nosign"); p.Private = true; return p }, nil, OSPR},
		{"internal through internal-ghorgs", func() PR { p := open("carol-review"); p.Owner = "acme-labs"; return p }, nil, Internal},
		{"internal-ghorgs of another organisation", func() PR { return open("carol-review") }, nil, OSPR},
		{"internal everywhere (legacy internal: true)", func() PR { return open("eve-legacy") }, nil, Internal},
		{"closed without the OSPR label", func() PR { p := open("bob-contrib"); p.State = "closed"; return p }, nil, Internal},
		{"closed with the OSPR label", func() PR {
			p := open("bob-contrib")
			p.State, p.Labels = "closed", []string{"Open-Source-Contribution"}
			return p
		}, nil, OSPR},
		{"closed with the blended label", func() PR { p := open("bob-contrib"); p.State, p.Labels = "closed", []string{"blended"}; return p }, nil, OSPR},
		{"a refusing organisation", func() PR { p := open("bob-contrib"); p.Owner = "Closed-Shop"; return p }, nil, Refused},
		{"a repository that says it refuses", func() PR { return open("bob-contrib") }, func(r Rules) Rules { r.AcceptsOutsideContributions = &no; return r }, Refused},
		{"a repository that accepts in a refusing organisation", func() PR { p := open("bob-contrib"); p.Owner = "closed-shop"; return p },
			func(r Rules) Rules { r.AcceptsOutsideContributions = &yes; return r }, OSPR},
		{"closed, unlabelled, in a refusing organisation: left alone", func() PR {
			p := open("bob-contrib")
			p.Owner, p.State = "closed-shop", "closed"
			return p
		}, nil, Internal},
		{"an outside author with an agreement", func() PR { return open("bob-contrib") }, nil, OSPR},
		{"an outside author without one", func() PR { return open("stranger") }, nil, OSPR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules
			if tt.rules != nil {
				r = tt.rules(r)
			}
			pr := tt.pr()
			if got := Classify(pr, r, d.Author(pr.Author)).Class; got != tt.want {
				t.Errorf("class = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassifyAttributes(t *testing.T) {
	rules := DefaultRules()
	if err := rules.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		title                  string
		draft                  bool
		association            string
		wantDraft, wantBlended bool
		wantFirstTimer         bool
	}{
		{"Fix the widgets", false, "CONTRIBUTOR", false, false, false},
		{"Fix the widgets", true, "NONE", true, false, false},
		{"WIP: fix the widgets", false, "NONE", true, false, false},
		{"fix the widgets (wip)", false, "NONE", true, false, false},
		{"Wipe the cache", false, "NONE", false, false, false},
		{"[BD-18] Fix the widgets", false, "NONE", false, true, false},
		{"Fix the widgets [ BD - 0070 ]", false, "NONE", false, true, false},
		{"BD-18 Fix the widgets", false, "NONE", false, false, false},
		{"Fix", false, "FIRST_TIMER", false, false, true},
		{"Fix", false, "FIRST_TIME_CONTRIBUTOR", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.title+"/"+tt.association, func(t *testing.T) {
			c := Classify(PR{Owner: "openedx", Title: tt.title, Draft: tt.draft, AuthorAssociation: tt.association, State: "open"}, rules, Author{})
			if c.Draft != tt.wantDraft || c.Blended != tt.wantBlended || c.FirstTimer != tt.wantFirstTimer {
				t.Errorf("draft %v blended %v first-timer %v", c.Draft, c.Blended, c.FirstTimer)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	r := DefaultRules()
	r.BlendedPattern = "[BD"
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "blended_pattern") {
		t.Errorf("err = %v, want it to name blended_pattern", err)
	}
	r = DefaultRules()
	r.Status.Context = ""
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "status.context") {
		t.Errorf("err = %v, want it to name status.context", err)
	}
}
