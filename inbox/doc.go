// Package inbox takes GitHub webhook deliveries durably and runs them.
//
// The path of one delivery:
//
//	Intake (http.Handler): size limit, X-Hub-Signature-256 against every
//	configured secret, then go-githubapp's EventDispatcher
//	  → Scheduler.Schedule: one transaction that records the delivery in the
//	    deliveries table and inserts a ProcessDelivery River job; GitHub gets
//	    its 2xx only after the commit (503 if Postgres cannot take it)
//	  → ProcessDeliveryWorker (River) → Processor.Process: runs the handler
//	    registered for the event type and records the outcome on the row.
//
// `osprey replay` calls Processor.Process directly, so a replay and a live
// delivery take the same path.
package inbox
