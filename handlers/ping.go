package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// Ping acknowledges the ping GitHub sends when a webhook is created: the
// delivery is already recorded; the handler logs which hook it came from.
type Ping struct {
	Base
}

// Handles names the event.
func (h *Ping) Handles() []string { return []string{"ping"} }

// Handle logs the ping.
func (h *Ping) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var event github.PingEvent
	if err := parse(eventType, payload, &event); err != nil {
		return err
	}
	var events []string
	if hook := event.GetHook(); hook != nil {
		events = hook.Events
	}
	zerolog.Ctx(ctx).Info().
		Int64("hook_id", event.GetHookID()).
		Strs("hook_events", events).
		Str("zen", event.GetZen()).
		Msg("Ping received: GitHub can reach osprey")
	return nil
}

var _ githubapp.EventHandler = &Ping{}
