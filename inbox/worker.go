package inbox

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// ProcessDeliveryWorker is the River worker for ProcessDeliveryArgs.
type ProcessDeliveryWorker struct {
	river.WorkerDefaults[ProcessDeliveryArgs]
	processor *Processor
}

// NewProcessDeliveryWorker returns the worker that runs deliveries through p.
func NewProcessDeliveryWorker(p *Processor) *ProcessDeliveryWorker {
	return &ProcessDeliveryWorker{processor: p}
}

// Work runs one attempt. A permanent failure cancels the job so River does
// not retry it; any other error is retried with River's backoff.
func (w *ProcessDeliveryWorker) Work(ctx context.Context, job *river.Job[ProcessDeliveryArgs]) error {
	err := w.processor.Process(ctx, job.Args.GUID, job.Attempt >= job.MaxAttempts)
	if err != nil && IsPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// Timeout leaves the processor's own deadline to fire first, with time to
// record the outcome.
func (w *ProcessDeliveryWorker) Timeout(*river.Job[ProcessDeliveryArgs]) time.Duration {
	return w.processor.timeout + WorkerGrace
}

// WorkerGrace is how long past the handler's deadline River waits before it
// cancels a job itself: time for the processor to record the outcome.
// deliveries.rescue_after must exceed handler_timeout plus this.
const WorkerGrace = 5 * time.Second
