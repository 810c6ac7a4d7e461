package ospr

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// PR is what the triage needs to know of a pull request.
type PR struct {
	Owner, Repo       string // of the base repository
	RepoID            int64  // GitHub's id of the base repository
	Number            int
	ID                int64  // GitHub's numeric id of the pull request
	NodeID            string // GraphQL id, for Projects (v2)
	Title             string
	Body              string
	Author            string
	AuthorType        string // "User", "Bot", …
	AuthorAssociation string
	Draft             bool
	Private           bool // the base repository is private
	State             string
	Merged            bool
	Labels            []string
	CreatedAt         time.Time
	ClosedAt          time.Time
	MergedAt          time.Time
	HeadSHA           string
}

// Closed reports whether the pull request is closed (merged or not).
func (pr PR) Closed() bool { return pr.State == "closed" }

// HasLabel reports whether the pull request carries label (GitHub compares
// label names case-insensitively).
func (pr PR) HasLabel(label string) bool {
	return slices.ContainsFunc(pr.Labels, func(l string) bool { return strings.EqualFold(l, label) })
}

// Class is who a pull request comes from, as the program sees it.
type Class int

const (
	// Bot: the author is a bot.
	Bot Class = iota
	// PrivateExempt: a private repository of an organisation that needs no
	// agreements there.
	PrivateExempt
	// Internal: the author works for an institution internal to the base
	// organisation (or the closed pull request never was an OSPR).
	Internal
	// Refused: the repository accepts no outside contributions.
	Refused
	// OSPR: an open-source pull request from outside.
	OSPR
)

func (c Class) String() string {
	return [...]string{"bot", "private-exempt", "internal", "refused", "ospr"}[c]
}

// Classification is the class of a pull request and what else the rules
// say of it and its author.
type Classification struct {
	Class      Class
	Author     Author
	Draft      bool // draft, or the title says WIP
	Blended    bool // the title carries the blended marker
	FirstTimer bool // GitHub calls the author a first-time contributor
}

var wipWord = regexp.MustCompile(`\b(WIP|wip)\b`)

// Classify decides the class of pr (first match wins) from the rules and
// what the contributor data says of its author.
func Classify(pr PR, rules Rules, author Author) Classification {
	c := Classification{
		Author:     author,
		Draft:      pr.Draft || wipWord.MatchString(pr.Title),
		Blended:    rules.blended().MatchString(pr.Title),
		FirstTimer: pr.AuthorAssociation == "FIRST_TIMER" || pr.AuthorAssociation == "FIRST_TIME_CONTRIBUTOR",
	}
	switch {
	case pr.AuthorType == "Bot" || containsFold(rules.BotLogins, pr.Author):
		c.Class = Bot
	case pr.Private && containsFold(rules.ExemptPrivateOrgs, pr.Owner):
		c.Class = PrivateExempt
	case author.Institution.InternalTo(pr.Owner):
		c.Class = Internal
	case pr.Closed() && !pr.HasLabel(rules.Labels.OSPR) && !pr.HasLabel(rules.Labels.Blended):
		// Closed before osprey (or its predecessor) saw it as an OSPR:
		// its author may have left the company since; leave it alone.
		c.Class = Internal
	case !rules.acceptsOutside(pr.Owner):
		c.Class = Refused
	default:
		c.Class = OSPR
	}
	return c
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
