// Package ospr triages pull requests from outside contributors: who the
// author is (contributor data), how the pull request is classified, the state
// the program wants for it (desire), and the actions that get it there
// (plan). Deciding is pure; reading and writing GitHub sits at the edges.
package ospr

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// The CSV export's columns, as operators' contributor-agreement systems
// write them.
const (
	colFirstName   = "First Name"
	colLastName    = "Last Name"
	colIndCLAs     = "Number of Active Ind. CLA Contracts"
	colTitle       = "Title"
	colAccountName = "Account Name"
	colEntityCLAs  = "Number of Active Entity CLA Contracts"
	colGitHub      = "GitHub Username"
	colCore        = "Is Core Contributor"
)

// individualAccount is the Account Name that means an individual agreement.
const individualAccount = "Individual Contributors"

// Agreement is the kind of contributor agreement that covers an author.
type Agreement int

const (
	// NoAgreement: the author has signed nothing osprey knows of.
	NoAgreement Agreement = iota
	// IndividualAgreement: the author signed one as a person.
	IndividualAgreement
	// InstitutionAgreement: the author's institution signed one.
	InstitutionAgreement
)

func (a Agreement) String() string {
	switch a {
	case IndividualAgreement:
		return "individual"
	case InstitutionAgreement:
		return "institution"
	}
	return "none"
}

// Person is one row of the contributor export.
type Person struct {
	Login       string // as written in the export
	Name        string
	Agreement   Agreement
	Institution string // the Account Name, for an institution agreement
	Core        bool
}

// Institution is one entry of orgs.yaml.
type Institution struct {
	Key            string   `yaml:"-"`
	Name           string   `yaml:"name"` // an alias the export may use
	Agreement      string   `yaml:"agreement"`
	Internal       bool     `yaml:"internal"` // legacy: internal to every organisation
	InternalGHOrgs []string `yaml:"internal-ghorgs"`
	Contractor     bool     `yaml:"contractor"`
	Committer      bool     `yaml:"committer"`
	Contact        struct {
		Name  string `yaml:"name"`
		Email string `yaml:"email"`
	} `yaml:"contact"`
}

// InternalTo reports whether the institution's people are internal to the
// GitHub organisation org (case-insensitive).
func (i *Institution) InternalTo(org string) bool {
	if i == nil {
		return false
	}
	if i.Internal {
		return true
	}
	for _, o := range i.InternalGHOrgs {
		if strings.EqualFold(o, org) {
			return true
		}
	}
	return false
}

// ParsePeople reads the CSV export of contributor agreements, keyed by the
// lower-cased GitHub username. Every column the format names must be in the
// header (in any order); rows without a username are skipped. A broken file
// is an error that says where.
func ParsePeople(r io.Reader) (map[string]Person, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("contributor CSV is empty: it needs a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the contributor CSV header: %w", err)
	}
	index := map[string]int{}
	for i, name := range header {
		index[strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))] = i
	}
	var missing []string
	for _, name := range []string{colFirstName, colLastName, colIndCLAs, colTitle, colAccountName, colEntityCLAs, colGitHub, colCore} {
		if _, ok := index[name]; !ok {
			missing = append(missing, fmt.Sprintf("%q", name))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("contributor CSV lacks the column(s) %s", strings.Join(missing, ", "))
	}
	people := map[string]Person{}
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return people, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the contributor CSV: %w", err)
		}
		field := func(name string) string {
			if i := index[name]; i < len(record) {
				return strings.TrimSpace(record[i])
			}
			return ""
		}
		login := field(colGitHub)
		if login == "" {
			continue
		}
		p := Person{
			Login: login,
			Name:  strings.TrimSpace(field(colFirstName) + " " + field(colLastName)),
			Core:  field(colCore) == "1",
		}
		switch account := field(colAccountName); account {
		case "":
		case individualAccount:
			p.Agreement = IndividualAgreement
		default:
			p.Agreement = InstitutionAgreement
			p.Institution = account
		}
		people[strings.ToLower(login)] = p
	}
}

// ParseInstitutions reads orgs.yaml: institution name → its entry.
func ParseInstitutions(data []byte) (map[string]Institution, error) {
	var raw map[string]Institution
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing orgs.yaml: %w", err)
	}
	out := make(map[string]Institution, len(raw))
	for key, inst := range raw {
		inst.Key = key
		out[key] = inst
	}
	return out, nil
}

// Directory answers who an author is, from the contributor export and
// orgs.yaml. It is read-only once built, and safe to share.
type Directory struct {
	people       map[string]Person
	institutions map[string]*Institution // by lower-cased key and alias
}

// NewDirectory builds a Directory. An institution is found by its key or by
// its name alias, case-insensitively.
func NewDirectory(people map[string]Person, institutions map[string]Institution) *Directory {
	d := &Directory{people: people, institutions: map[string]*Institution{}}
	for key, inst := range institutions {
		inst := inst
		d.institutions[strings.ToLower(key)] = &inst
	}
	for _, inst := range d.institutions {
		if inst.Name != "" {
			if _, taken := d.institutions[strings.ToLower(inst.Name)]; !taken {
				d.institutions[strings.ToLower(inst.Name)] = inst
			}
		}
	}
	return d
}

// Author is what the contributor data says of one GitHub login.
type Author struct {
	Login       string
	Known       bool // the login is in the export
	Agreement   Agreement
	Core        bool
	Institution *Institution // nil when the author has none, or it is not in orgs.yaml
	// InstitutionName is the export's Account Name, known to orgs.yaml or not.
	InstitutionName string
}

// Author looks login up (case-insensitively).
func (d *Directory) Author(login string) Author {
	a := Author{Login: login}
	if d == nil {
		return a
	}
	p, ok := d.people[strings.ToLower(login)]
	if !ok {
		return a
	}
	a.Known, a.Agreement, a.Core, a.InstitutionName = true, p.Agreement, p.Core, p.Institution
	if p.Institution != "" {
		a.Institution = d.institutions[strings.ToLower(p.Institution)]
	}
	return a
}
