package app

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame/audit"
)

// The durable audit log (package audit; the admin audit view): every event
// also goes through an audit.Sink, which appends it to the durable store's
// audit log from a bounded buffer (a request never waits for it; a full
// buffer drops and counts). Commands record their events too (an admin's
// `sesame user block`). The cleanup prunes events older than
// audit.Retention.

// auditPruneEvery is how often events older than audit.Retention are
// deleted.
const auditPruneEvery = time.Hour

// setupAudit wraps the event sink with the audit Sink, after the durable
// store is open, before the webhook sink wraps it and before any component
// takes the sink. The sink's
// writer runs from now on; closing the stores flushes it first.
func (a *App) setupAudit() {
	p, ok := a.durable.(audit.Provider)
	if !ok {
		return
	}
	a.auditLog = p.AuditLog()
	a.auditSink = &audit.Sink{Next: a.opts.events, Log: a.auditLog, Logger: a.logger}
	a.auditSink.Start()
	sink := a.auditSink
	a.closers = append(a.closers, func() error { // closed before the durable store
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		sink.Close(ctx)
		return nil
	})
	a.opts.events = sink
}

// AuditLog is the durable store's audit log, or nil.
func (a *App) AuditLog() audit.Log { return a.auditLog }

// FlushAudit waits until the events emitted so far are in the audit log
// (tests).
func (a *App) FlushAudit(ctx context.Context) {
	if a.auditSink != nil {
		a.auditSink.Flush(ctx)
	}
}

// startAuditPrune deletes events older than audit.Retention now and then
// every auditPruneEvery until ctx ends.
func (a *App) startAuditPrune(ctx context.Context) {
	if a.auditLog == nil {
		return
	}
	clock, meter := a.Clock(), a.meterCleanup("cleanup_audit")
	a.spawn(func() {
		t := time.NewTicker(auditPruneEvery)
		defer t.Stop()
		for {
			start := time.Now()
			n, err := a.auditLog.Prune(ctx, clock.Now().Add(-audit.Retention))
			meter(start, err)
			switch {
			case err != nil && ctx.Err() == nil:
				a.logger.Warn("audit log: pruning old events failed; retried later", "err", err)
			case n > 0:
				a.logger.Info("audit log: pruned old events", "removed", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}
