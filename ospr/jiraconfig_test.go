package ospr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestJiraLoader(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mapping := write("test1.yaml", "defaults: {type: Task}\nrepos:\n  - name: \"openedx/*\"\n    project: OSPR\n")
	shared := write("shared.yaml", "repos:\n  - name: \"*\"\n    project: ALL\n    type: Bug\n")
	servers := write("servers.yaml", "Test1:\n  server: https://j1.example.org\n  email: a@b\n  token_env: T1\n  mapping: "+mapping+
		"\nother:\n  server: https://j2.example.org\n  email: a@b\n  token: x\n  mapping: "+shared+
		"\nthird:\n  server: https://j3.example.org\n  email: a@b\n  token: y\n  mapping: "+shared+"\n")
	var logs strings.Builder
	l := NewJiraLoader(DataSource(servers), nil, nil, func(k string) (string, bool) { return "tok1", k == "T1" }, zerolog.New(&logs))
	if err := l.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := l.Config()
	if !cfg.Loaded {
		t.Error("not marked loaded")
	}
	srv, target, err := cfg.Resolve("TEST1", "openedx/widgets")
	if err != nil || srv.Token() != "tok1" || target.Project != "OSPR" || target.Type != "Task" {
		t.Errorf("test1: %v %+v %v", srv, target, err)
	}
	if _, _, err := cfg.Resolve("test1", "closed/shop"); !errors.Is(err, ErrNoJiraMapping) {
		t.Errorf("unmapped repository: %v", err)
	}
	if _, _, err := cfg.Resolve("nobody", "openedx/widgets"); !errors.Is(err, ErrNoJiraServer) {
		t.Errorf("unknown nick: %v", err)
	}
	for _, nick := range []string{"other", "third"} { // two servers sharing one mapping file
		if _, target, err := cfg.Resolve(nick, "acme/x"); err != nil || target.Project != "ALL" {
			t.Errorf("%s: %+v %v", nick, target, err)
		}
	}

	// A mapping file two servers share: a change reaches both.
	write("shared.yaml", "repos:\n  - name: \"*\"\n    project: NEWPROJ\n    type: Bug\n")
	if err := l.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, nick := range []string{"other", "third"} {
		if _, target, err := l.Config().Resolve(nick, "acme/x"); err != nil || target.Project != "NEWPROJ" {
			t.Errorf("%s after the shared file changed: %+v %v", nick, target, err)
		}
	}

	// A broken mapping keeps the last good copy, and says so at every reload.
	write("test1.yaml", "defaults: [broken\n")
	for i := 0; i < 2; i++ {
		if err := l.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "jira:Test1 mapping") {
			t.Errorf("reload %d: %v", i, err)
		}
		if _, target, err := l.Config().Resolve("test1", "openedx/widgets"); err != nil || target.Project != "OSPR" {
			t.Errorf("reload %d: the last good mapping is gone: %+v %v", i, target, err)
		}
	}
	// A broken servers file keeps the last good servers.
	write("servers.yaml", "Test1:\n  server: nope\n")
	if err := l.Reload(context.Background()); err == nil {
		t.Error("a broken servers file was taken")
	}
	if got := strings.Join(l.Config().Nicks(), ","); got != "Test1,other,third" {
		t.Errorf("servers after a broken file: %s", got)
	}
	if strings.Contains(logs.String(), "tok1") {
		t.Error("a token reached the logs")
	}
}
