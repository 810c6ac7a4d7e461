package ospr

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"text/template"
)

// CommentKind is a variant of the first bot comment. Its value is the
// marker name the previous bot used, so its comments are recognised.
type CommentKind string

// The variants of the first bot comment.
const (
	WelcomeComment         CommentKind = "external_pr"
	BlendedComment         CommentKind = "welcome-blended"
	ClosedWelcomeComment   CommentKind = "welcome_closed"
	NoContributionsComment CommentKind = "no-contributions"
)

// firstCommentKinds are the markers that make a comment the first bot comment.
var firstCommentKinds = []CommentKind{WelcomeComment, BlendedComment, ClosedWelcomeComment, NoContributionsComment}

// Marker is the hidden line that identifies a bot comment.
func Marker(name string) string { return "<!-- comment:" + name + " -->" }

var markerLine = regexp.MustCompile(`(?m)^<!-- comment:([a-z_-]+) -->[ \t]*\r?$`)

// FirstCommentKind returns the kind of the first bot comment that body is,
// judging by its markers, and whether it is one.
func FirstCommentKind(body string) (CommentKind, bool) {
	for _, m := range markerLine.FindAllStringSubmatch(body, -1) {
		for _, k := range firstCommentKinds {
			if m[1] == string(k) {
				return k, true
			}
		}
	}
	return "", false
}

//go:embed templates/*.md.tmpl
var defaultTemplates embed.FS

var templateFiles = map[CommentKind]string{
	WelcomeComment:         "welcome.md.tmpl",
	BlendedComment:         "blended.md.tmpl",
	ClosedWelcomeComment:   "welcome_closed.md.tmpl",
	NoContributionsComment: "no_contributions.md.tmpl",
}

// Templates renders bot comments.
type Templates struct {
	byKind map[CommentKind]*template.Template
}

// LoadTemplates parses the comment templates from dir (an operator's own),
// each file missing there taken from osprey's; dir nil means osprey's only.
// A template that cannot be read, does not parse, or does not render its
// marker line is an error: without the marker osprey could not find its
// own comment again and would post a new one at every reconcile.
func LoadTemplates(dir fs.FS) (*Templates, error) {
	t := &Templates{byKind: map[CommentKind]*template.Template{}}
	for kind, name := range templateFiles {
		src, err := fs.ReadFile(defaultTemplates, "templates/"+name)
		if err != nil {
			return nil, err
		}
		if dir != nil {
			own, err := fs.ReadFile(dir, name)
			switch {
			case err == nil:
				src = own
			case !errors.Is(err, fs.ErrNotExist):
				return nil, fmt.Errorf("comment template %s: %w", name, err)
			}
		}
		tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("comment template %s: %w", name, err)
		}
		t.byKind[kind] = tmpl
	}
	for kind, name := range templateFiles {
		for _, data := range []CommentData{{Author: "someone", Repo: "org/repo"}, {Author: "someone", Repo: "org/repo", NoAgreement: true, Draft: true, FirstTimer: true, Merged: true}} {
			body, err := t.Render(kind, data)
			if err != nil {
				return nil, fmt.Errorf("comment template %s: %w", name, err)
			}
			if got, ok := FirstCommentKind(body); !ok || got != kind {
				return nil, fmt.Errorf("comment template %s: it must write the line %s on its own, so that osprey finds its comment again", name, Marker(string(kind)))
			}
		}
	}
	return t, nil
}

// CommentData is what a comment template can use.
type CommentData struct {
	Author        string // login, to @mention
	Repo          string // owner/name
	Maintainer    string // from catalog-info.yaml, as a name that pings nobody; "" for none
	Production    bool   // the catalog's lifecycle is production
	NoAgreement   bool
	AgreementURL  string
	StatusContext string
	FirstTimer    bool
	Draft         bool
	Merged        bool
}

// Render renders the comment of kind and tidies it into valid Markdown:
// no trailing spaces, no leading blank lines, at most one blank line in a
// row, a final newline.
func (t *Templates) Render(kind CommentKind, data CommentData) (string, error) {
	tmpl, ok := t.byKind[kind]
	if !ok {
		return "", fmt.Errorf("no template for comment %q", kind)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("rendering comment %q: %w", kind, err)
	}
	var out []string
	blank := true // drop leading blank lines
	for _, line := range strings.Split(buf.String(), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, line)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n", nil
}
