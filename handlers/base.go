// Package handlers has one struct per GitHub webhook event. Each parses its
// payload into the go-github type, replicates what it carries through store,
// and queues follow-up jobs in the same transaction. Handlers run in River
// workers (or `osprey replay`), never in the HTTP request.
package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/osprey-bot/osprey/inbox"
)

// Base holds what every handler needs; each handler struct embeds it.
type Base struct {
	// DB is the pool replicated objects are written through.
	DB *pgxpool.Pool
	// Clients creates GitHub clients for installations.
	Clients githubapp.ClientCreator
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// All returns every handler osprey registers, sharing base.
func All(base Base) []githubapp.EventHandler {
	if base.Now == nil {
		base.Now = time.Now
	}
	return []githubapp.EventHandler{
		&Installation{Base: base},
		&InstallationRepositories{Base: base},
		&Ping{Base: base},
	}
}

// parse decodes a payload into the go-github event type. A payload that does
// not decode can never be processed, so the error is permanent.
func parse(eventType string, payload []byte, into any) error {
	if err := json.Unmarshal(payload, into); err != nil {
		return inbox.Permanent(fmt.Errorf("failed to parse %s event payload: %w", eventType, err))
	}
	return nil
}

// inTx runs fn in one transaction: all writes of a delivery commit together.
func (b Base) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, b.DB, fn)
}
