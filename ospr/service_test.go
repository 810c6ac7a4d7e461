package ospr

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// GitHub's word on the app's login beats a configured one, which is
// reported when wrong; until GitHub answers, the configured one serves.
func TestAppIdentityAsksGitHub(t *testing.T) {
	fake, clients := newFakeGitHub(t, nil)
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(context.Background())

	id := NewAppIdentity(clients, "osprey-typo[bot]")
	if got, err := id.Login(ctx); err != nil || got != "osprey-typo[bot]" {
		t.Errorf("before GitHub answers: %q, %v", got, err)
	}
	fake.SetResource("/app", map[string]any{"id": 99, "slug": "Osprey-Test"})
	id = NewAppIdentity(clients, "osprey-typo[bot]")
	if got, err := id.Login(ctx); err != nil || got != "osprey-test[bot]" {
		t.Errorf("GitHub's answer: %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), `"configured":"osprey-typo[bot]","actual":"osprey-test[bot]"`) {
		t.Errorf("the wrong triage.app_login was not reported:\n%s", logs.String())
	}
	if _, err := NewAppIdentity(nil, "").Login(ctx); err == nil {
		t.Error("no login and no GitHub, yet a login")
	}
}
