package ospr

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestOperatorTemplates(t *testing.T) {
	own := "<!-- comment:external_pr -->\nWelcome, @{{.Author}}! Our own words.\n"
	tm, err := LoadTemplates(fstest.MapFS{"welcome.md.tmpl": {Data: []byte(own)}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := tm.Render(WelcomeComment, CommentData{Author: "dana"})
	if err != nil || body != "<!-- comment:external_pr -->\nWelcome, @dana! Our own words.\n" {
		t.Errorf("operator's welcome = %q, %v", body, err)
	}
	// The files the operator left out are osprey's.
	if body, err := tm.Render(BlendedComment, CommentData{Author: "dana"}); err != nil || !strings.Contains(body, Marker("welcome-blended")) {
		t.Errorf("blended = %q, %v", body, err)
	}
	for name, src := range map[string]string{
		"no marker":      "Welcome, @{{.Author}}!\n",
		"another marker": "<!-- comment:welcome-blended -->\nHi\n",
		"a bad template": "<!-- comment:external_pr -->\n{{.Nope}}\n",
		"does not parse": "<!-- comment:external_pr -->\n{{if}}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadTemplates(fstest.MapFS{"welcome.md.tmpl": {Data: []byte(src)}})
			if err == nil || !strings.Contains(err.Error(), "welcome.md.tmpl") {
				t.Errorf("err = %v, want one naming welcome.md.tmpl", err)
			}
		})
	}
	// A file that exists but cannot be read is an error, not osprey's text.
	if _, err := LoadTemplates(fstest.MapFS{"welcome.md.tmpl": {Mode: fs.ModeDir}}); err == nil {
		t.Error("an unreadable template was taken as missing")
	}
}

func TestAnEmptyBlendedPatternMatchesNothing(t *testing.T) {
	r := DefaultRules()
	r.BlendedPattern = ""
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if c := Classify(PR{Title: "[BD-7] anything", State: "open"}, r, Author{}); c.Blended {
		t.Error("an empty pattern made a title blended")
	}
}
