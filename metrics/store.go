package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-auth/sesame"
)

// StoreOp is one store operation's label children, resolved once (see
// [Metrics.StoreOp]).
type StoreOp struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// StoreOp returns the metrics of the store operation named op (a fixed
// name chosen by the instrumenting wrapper, such as "session_by_token"),
// created at zero. Call it once per operation at startup.
func (m *Metrics) StoreOp(op string) *StoreOp {
	return &StoreOp{duration: m.storeDuration.WithLabelValues(op), errors: m.storeErrors.WithLabelValues(op)}
}

// Done records one call that started at start and returned err.
// sesame.ErrNotFound and sesame.ErrConflict are answers, not errors.
func (o *StoreOp) Done(start time.Time, err error) {
	o.duration.Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, sesame.ErrNotFound) && !errors.Is(err, sesame.ErrConflict) {
		o.errors.Inc()
	}
}
