package ospr

import (
	"fmt"
	"net/url"
	"regexp"
)

// Rules are the settings the triage decides by: the server's defaults with
// the organisation's and the repository's overrides applied.
type Rules struct {
	// Enabled false turns the triage off (a repository opting out).
	Enabled bool `yaml:"enabled"`
	// BotLogins are authors treated as bots besides accounts of type Bot.
	BotLogins []string `yaml:"bot_logins"`
	// ExemptPrivateOrgs need no agreements in their private repositories.
	ExemptPrivateOrgs []string `yaml:"exempt_private_orgs"`
	// RefusingOrgs accept no outside contributions.
	RefusingOrgs []string `yaml:"refusing_orgs"`
	// AcceptsOutsideContributions, when set (by a repository's config),
	// overrides RefusingOrgs for that repository.
	AcceptsOutsideContributions *bool `yaml:"accepts_outside_contributions"`
	// BlendedPattern matches the titles of blended pull requests.
	BlendedPattern string          `yaml:"blended_pattern"`
	Labels         Labels          `yaml:"labels"`
	Status         Status          `yaml:"status"`
	Projects       ProjectSettings `yaml:"projects"`
	// AgreementURL is where authors sign a contributor agreement ("" for
	// no link in the comment).
	AgreementURL string `yaml:"agreement_url"`
	// JiraNicks restricts the jira:<nick> labels that apply (a repository
	// may narrow the servers, never add one); empty: all.
	JiraNicks []string `yaml:"jira_nicks"`
	// CatalogProjectsAnnotation is the catalog-info.yaml annotation that
	// lists extra boards ("org:num, org:num").
	CatalogProjectsAnnotation string `yaml:"catalog_projects_annotation"`

	blendedRE *regexp.Regexp
}

// ProjectSettings names the GitHub Projects (v2) boards pull requests go to and the
// fields the triage keeps on the OSPR board.
type ProjectSettings struct {
	OSPR    string        `yaml:"ospr"`    // owner:number; "" for none
	Blended string        `yaml:"blended"` // owner:number; "" for none
	Fields  ProjectFields `yaml:"fields"`

	ospr, blended *ProjectRef
}

// ProjectFields are the names of the OSPR board's fields the triage sets.
type ProjectFields struct {
	DateOpened string `yaml:"date_opened"`
	DateClosed string `yaml:"date_closed"`
	Owner      string `yaml:"owner"`
}

// Labels are the label names the triage manages.
type Labels struct {
	OSPR               string   `yaml:"ospr"`
	Blended            string   `yaml:"blended"`
	CoreContributor    string   `yaml:"core_contributor"`
	ObsoleteWhenClosed []string `yaml:"obsolete_when_closed"`
	ObsoleteWhenMerged []string `yaml:"obsolete_when_merged"` // removed on merge, besides ObsoleteWhenClosed
}

// Status configures the contributor-agreement commit status.
type Status struct {
	Context      string             `yaml:"context"`
	TargetURL    string             `yaml:"target_url"`
	Descriptions StatusDescriptions `yaml:"descriptions"`
}

// StatusDescriptions are the commit status's descriptions, one for each
// outcome. GitHub keeps at most 140 characters.
type StatusDescriptions struct {
	Bot           string `yaml:"bot"`
	PrivateExempt string `yaml:"private_exempt"`
	Internal      string `yaml:"internal"`
	Refused       string `yaml:"refused"`
	Individual    string `yaml:"individual"`
	Institution   string `yaml:"institution"`
	NoAgreement   string `yaml:"no_agreement"`
}

// DefaultRules are the server's defaults.
func DefaultRules() Rules {
	return Rules{
		Enabled:        true,
		BlendedPattern: `\[\s*BD\s*-\s*\d+\s*\]`,
		Labels: Labels{
			OSPR:            "open-source-contribution",
			Blended:         "blended",
			CoreContributor: "core contributor",
			ObsoleteWhenClosed: []string{"needs maintainer attention", "needs reviewer assigned", "needs test run",
				"waiting for eng review", "waiting on author"},
			ObsoleteWhenMerged: []string{"blocked by other work", "changes requested", "inactive",
				"needs more product information", "needs rescoping"},
		},
		Status: Status{Context: "osprey/cla", Descriptions: StatusDescriptions{
			Bot:           "Bots need no contributor agreement.",
			PrivateExempt: "No contributor agreement is needed in this private repository.",
			Internal:      "The author is internal: no contributor agreement is needed.",
			Refused:       "This repository accepts outside contributions only under contract.",
			Individual:    "The author is covered by an individual contributor agreement.",
			Institution:   "The author is covered by an institution contributor agreement.",
			NoAgreement:   "No contributor agreement is on file for the author.",
		}},
		CatalogProjectsAnnotation: "openedx.org/add-to-projects",
		Projects: ProjectSettings{Fields: ProjectFields{
			DateOpened: "Date opened", DateClosed: "Date merged/closed", Owner: "Repo Owner / Owning Team"}},
	}
}

// Validate compiles what needs compiling and says what is wrong, naming the
// setting.
func (r *Rules) Validate() error {
	re, err := regexp.Compile(r.BlendedPattern)
	if err != nil {
		return &SettingError{Key: "blended_pattern", Err: err}
	}
	if r.BlendedPattern == "" {
		re = matchNothing // "" turns blended detection off; compiled, it would match every title
	}
	r.blendedRE = re
	if r.Status.Context == "" {
		return &SettingError{Key: "status.context", Err: errEmpty}
	}
	d := r.Status.Descriptions
	for _, desc := range []struct{ key, value string }{
		{"bot", d.Bot}, {"private_exempt", d.PrivateExempt}, {"internal", d.Internal}, {"refused", d.Refused},
		{"individual", d.Individual}, {"institution", d.Institution}, {"no_agreement", d.NoAgreement},
	} {
		key := "status.descriptions." + desc.key
		if desc.value == "" {
			return &SettingError{Key: key, Err: errEmpty}
		}
		if n := len([]rune(desc.value)); n > maxStatusDescription {
			return &SettingError{Key: key, Err: fmt.Errorf("is %d characters long; GitHub keeps at most %d", n, maxStatusDescription)}
		}
	}
	if u := r.Status.TargetURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			return &SettingError{Key: "status.target_url", Err: fmt.Errorf("%q is not an http(s) URL", u)}
		}
	}
	for _, l := range []struct{ key, name string }{
		{"labels.ospr", r.Labels.OSPR}, {"labels.blended", r.Labels.Blended}, {"labels.core_contributor", r.Labels.CoreContributor},
	} {
		if n := len([]rune(l.name)); n > maxLabelName {
			return &SettingError{Key: l.key, Err: fmt.Errorf("is %d characters long; GitHub's labels have at most %d", n, maxLabelName)}
		}
	}
	if r.CatalogProjectsAnnotation == "" {
		return &SettingError{Key: "catalog_projects_annotation", Err: errEmpty}
	}
	for _, p := range []struct {
		key, value string
		into       **ProjectRef
	}{{"projects.ospr", r.Projects.OSPR, &r.Projects.ospr}, {"projects.blended", r.Projects.Blended, &r.Projects.blended}} {
		*p.into = nil
		if p.value == "" {
			continue
		}
		ref, err := ParseProjectRef(p.value)
		if err != nil {
			return &SettingError{Key: p.key, Err: err}
		}
		*p.into = &ref
	}
	return nil
}

// maxLabelName is the longest label name GitHub accepts.
const maxLabelName = 50

// matchNothing is the pattern of an empty BlendedPattern.
var matchNothing = regexp.MustCompile(`$.^`)

// blended is the compiled BlendedPattern: compiled by Validate, or here for
// rules that skipped it (a pattern that does not compile matches nothing).
func (r Rules) blended() *regexp.Regexp {
	if r.blendedRE != nil {
		return r.blendedRE
	}
	re, err := regexp.Compile(r.BlendedPattern)
	if err != nil || r.BlendedPattern == "" {
		return matchNothing
	}
	return re
}

func (r Rules) acceptsOutside(org string) bool {
	if r.AcceptsOutsideContributions != nil {
		return *r.AcceptsOutsideContributions
	}
	return !containsFold(r.RefusingOrgs, org)
}
