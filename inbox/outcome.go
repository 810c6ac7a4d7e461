package inbox

import (
	"context"
	"time"
)

// Outcome lets a handler record its delivery's outcome in the transaction
// that writes its rows, saving the processor a transaction of its own. The
// processor puts one in the context of every attempt; a handler that wants
// it queues the outcome write with its own writes and, once they have
// committed, calls Recorded.
type Outcome struct {
	// GUID is the delivery being processed.
	GUID string
	// StartedAt is when this attempt started.
	StartedAt time.Time
	// ReceivedAt is when osprey first stored the delivery: when GitHub
	// sent what it carries, as near as osprey knows.
	ReceivedAt time.Time
	recorded   bool
}

// Recorded says the handler committed the delivery's outcome (processed)
// with its writes.
func (o *Outcome) Recorded() { o.recorded = true }

type outcomeKey struct{}

// withOutcome returns ctx carrying o.
func withOutcome(ctx context.Context, o *Outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

// OutcomeFrom returns the Outcome of the attempt running in ctx, or nil when
// the handler runs outside the processor.
func OutcomeFrom(ctx context.Context) *Outcome {
	o, _ := ctx.Value(outcomeKey{}).(*Outcome)
	return o
}
