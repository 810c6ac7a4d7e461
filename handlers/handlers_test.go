package handlers

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/inbox"
)

// Payloads that decode but lack parts their event usually carries must not
// panic: a panic costs a retry cycle, an error says what is wrong.
func TestHandlersSurvivePartialPayloads(t *testing.T) {
	ctx := zerolog.Nop().WithContext(context.Background())
	tests := []struct {
		name    string
		handler interface {
			Handle(context.Context, string, string, []byte) error
		}
		event         string
		payload       string
		wantPermanent bool
	}{
		{"ping without hook", &Ping{}, "ping", `{"zen":"z"}`, false},
		{"ping that is not an object", &Ping{}, "ping", `[]`, true},
		{"installation without installation", &Installation{}, "installation", `{"action":"created"}`, true},
		{"installation_repositories without installation", &InstallationRepositories{}, "installation_repositories", `{"action":"added"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.handler.Handle(ctx, tt.event, "guid", []byte(tt.payload))
			if tt.wantPermanent != inbox.IsPermanent(err) || (!tt.wantPermanent && err != nil) {
				t.Errorf("err = %v, want permanent: %v", err, tt.wantPermanent)
			}
		})
	}
}
