package ospr

import (
	"os"
	"strings"
	"testing"
)

func testDirectory(t *testing.T) *Directory {
	t.Helper()
	f, err := os.Open("../testdata/contributors/people.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	people, err := ParsePeople(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../testdata/contributors/orgs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	institutions, err := ParseInstitutions(data)
	if err != nil {
		t.Fatal(err)
	}
	return NewDirectory(people, institutions)
}

func TestDirectoryAuthor(t *testing.T) {
	d := testDirectory(t)
	tests := []struct {
		login        string
		known        bool
		agreement    Agreement
		core         bool
		institution  string // the orgs.yaml key found, "" for none
		internalAcme bool
		internalElse bool
	}{
		{"bob-contrib", true, IndividualAgreement, false, "", false, false},
		{"BOB-CONTRIB", true, IndividualAgreement, false, "", false, false},
		{"carol-review", true, InstitutionAgreement, true, "Acme", true, false}, // found by the alias
		{"dana-nosign", true, NoAgreement, false, "", false, false},
		{"eve-legacy", true, InstitutionAgreement, false, "Old Partner Inc", true, true}, // legacy internal: true
		{"frank-unlisted", true, InstitutionAgreement, false, "", false, false},
		{"stranger", false, NoAgreement, false, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			a := d.Author(tt.login)
			key := ""
			if a.Institution != nil {
				key = a.Institution.Key
			}
			if a.Known != tt.known || a.Agreement != tt.agreement || a.Core != tt.core || key != tt.institution {
				t.Errorf("got known %v agreement %v core %v institution %q", a.Known, a.Agreement, a.Core, key)
			}
			if got := a.Institution.InternalTo("ACME"); got != tt.internalAcme {
				t.Errorf("internal to acme = %v", got)
			}
			if got := a.Institution.InternalTo("elsewhere"); got != tt.internalElse {
				t.Errorf("internal to elsewhere = %v", got)
			}
		})
	}
}

func TestParsePeopleErrors(t *testing.T) {
	tests := []struct{ name, csv, want string }{
		{"empty", "", "needs a header row"},
		{"missing columns", "First Name,Last Name,GitHub Username\nA,B,c\n", `lacks the column(s) "Number of Active Ind. CLA Contracts"`},
		{"broken quoting", "First Name,Last Name,Number of Active Ind. CLA Contracts,Title,Account Name,Number of Active Entity CLA Contracts,GitHub Username,Is Core Contributor\n\"a,b\n", "reading the contributor CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePeople(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
	// A byte-order mark before the header, as spreadsheet exports write it.
	people, err := ParsePeople(strings.NewReader("\ufeffFirst Name,Last Name,Number of Active Ind. CLA Contracts,Title,Account Name,Number of Active Entity CLA Contracts,GitHub Username,Is Core Contributor\nA,B,1,,Individual Contributors,0,ab,0\n"))
	if err != nil || people["ab"].Agreement != IndividualAgreement {
		t.Errorf("with a BOM: %v %+v", err, people)
	}
}

func TestParseInstitutionsError(t *testing.T) {
	if _, err := ParseInstitutions([]byte("Acme: [unclosed")); err == nil || !strings.Contains(err.Error(), "orgs.yaml") {
		t.Errorf("err = %v", err)
	}
}
