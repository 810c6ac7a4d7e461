package inbox

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/osprey-bot/osprey/store"
)

// Processor runs stored deliveries through the handler registered for their
// event type and records the outcome on the delivery's row.
type Processor struct {
	db       *pgxpool.Pool
	handlers map[string]githubapp.EventHandler
	timeout  time.Duration
	logger   zerolog.Logger
	metrics  *Metrics
}

// NewProcessor returns a Processor over handlers (the first one registered
// for an event type wins). timeout is each attempt's deadline.
func NewProcessor(db *pgxpool.Pool, handlers []githubapp.EventHandler, timeout time.Duration, logger zerolog.Logger, metrics *Metrics) *Processor {
	byEvent := map[string]githubapp.EventHandler{}
	for _, h := range handlers {
		for _, event := range h.Handles() {
			if _, taken := byEvent[event]; !taken {
				byEvent[event] = h
			}
		}
	}
	return &Processor{db: db, handlers: byEvent, timeout: timeout, logger: logger, metrics: metrics}
}

// Handles reports whether some handler takes event.
func (p *Processor) Handles(event string) bool {
	_, ok := p.handlers[event]
	return ok
}

// Process runs one attempt at the delivery guid. lastAttempt says whether a
// failure is final (the delivery becomes failed) or will be retried (it
// becomes retrying). The handler's error is returned as it is.
func (p *Processor) Process(ctx context.Context, guid string, lastAttempt bool) error {
	start := time.Now()
	d, err := store.GetDelivery(ctx, p.db, guid)
	if errors.Is(err, store.ErrDeliveryNotFound) {
		return Permanent(fmt.Errorf("delivery %s is not in the deliveries table", guid))
	}
	if err != nil {
		return err
	}
	logger := p.logger.With().
		Str(githubapp.LogKeyDeliveryID, d.GUID).
		Str(githubapp.LogKeyEventType, d.Event).
		Str("github_event_action", d.Action).
		Int64(githubapp.LogKeyInstallationID, d.InstallationID).
		Str("github_repository", d.Repository).
		Int("attempt", d.Attempts+1).
		Logger()
	ctx = logger.WithContext(ctx)

	handler, ok := p.handlers[d.Event]
	if !ok {
		logger.Debug().Msg("No handler for this event: delivery recorded and ignored")
		return p.finish(ctx, d, store.StatusIgnored, nil, start)
	}

	outcome := &Outcome{GUID: d.GUID, StartedAt: start, ReceivedAt: d.ReceivedAt}
	attemptCtx, cancel := context.WithTimeout(withOutcome(ctx, outcome), p.timeout)
	defer cancel()
	handlerErr := runHandler(attemptCtx, handler, d)
	if handlerErr != nil && attemptCtx.Err() == context.DeadlineExceeded {
		handlerErr = fmt.Errorf("handler did not finish within %s: %w", p.timeout, handlerErr)
	}

	status := store.StatusProcessed
	switch {
	case handlerErr == nil:
	case lastAttempt || IsPermanent(handlerErr):
		status = store.StatusFailed
	default:
		status = store.StatusRetrying
	}
	if handlerErr == nil && outcome.recorded {
		p.observe(ctx, d, status, nil, start)
		return nil
	}
	if err := p.finish(ctx, d, status, handlerErr, start); err != nil {
		return errors.Join(handlerErr, err)
	}
	return handlerErr
}

// finish records the attempt's outcome on the delivery's row.
func (p *Processor) finish(ctx context.Context, d store.Delivery, status string, handlerErr error, start time.Time) error {
	p.observe(ctx, d, status, handlerErr, start)
	// The outcome is recorded even when the attempt's context has ended, so
	// that a timed-out or cancelled attempt does not stay "processing".
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return store.FinishDelivery(recordCtx, p.db, d.GUID, status, errText(handlerErr), start)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// observe logs the attempt's outcome and counts it in the metrics.
func (p *Processor) observe(ctx context.Context, d store.Delivery, status string, handlerErr error, start time.Time) {
	logger := zerolog.Ctx(ctx)
	if handlerErr != nil {
		final := status == store.StatusFailed
		p.metrics.failures.WithLabelValues(d.Event, strconv.FormatBool(final)).Inc()
		level := logger.Warn()
		if final {
			level = logger.Error()
		}
		level.Err(handlerErr).Str("status", status).Msg("Delivery handler failed")
	} else if status == store.StatusProcessed {
		logger.Info().Float64("elapsed_ms", float64(time.Since(start).Microseconds())/1000).Msg("Delivery processed")
	}
	p.metrics.processed.WithLabelValues(d.Event, status).Observe(time.Since(start).Seconds())
}

// runHandler calls the handler, turning a panic into an error so that one bad
// payload cannot take a worker down.
func runHandler(ctx context.Context, h githubapp.EventHandler, d store.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			zerolog.Ctx(ctx).Error().Str("stack", string(debug.Stack())).Msg("Delivery handler panicked")
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h.Handle(ctx, d.Event, d.GUID, d.Payload)
}
