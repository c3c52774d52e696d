// Package cleanup runs a store's periodic cleanup rounds, the loop the SQL
// adapters share.
package cleanup

import (
	"context"
	"log/slog"
	"time"
)

// Loop calls round at once and then every interval until ctx ends,
// logging a failure (as "<name>: session cleanup failed") or what a round
// removed. every <= 0 means one minute; a nil logger discards.
func Loop(ctx context.Context, name string, every time.Duration, logger *slog.Logger, round func(context.Context) (removed, batches int, err error)) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		removed, batches, err := round(ctx)
		if obs, ok := ctx.Value(observerKey{}).(func(time.Time, error)); ok {
			obs(start, err)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error(name+": session cleanup failed", "err", err, "removed", removed)
		case removed > 0:
			logger.Info(name+": removed expired sessions", "removed", removed, "batches", batches)
		}
		t.Reset(every)
	}
}

type observerKey struct{}

// WithObserver returns ctx making Loop call obs after each round, with
// the round's start and error (package app times the rounds for its
// metrics).
func WithObserver(ctx context.Context, obs func(start time.Time, err error)) context.Context {
	return context.WithValue(ctx, observerKey{}, obs)
}
