package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/session"
)

// WatchSessions adds the in-process session view's metrics, read from
// stats at each scrape (nothing is updated per request but the view's
// own hit and miss counters). Call it once.
func (m *Metrics) WatchSessions(stats func() session.ViewStats) {
	m.reg.MustRegister(&viewCollector{stats: stats})
}

// WatchHashing adds the password hashing gate's metrics, read from stats
// at each scrape. Call it once.
func (m *Metrics) WatchHashing(stats func() guard.HashStats) {
	m.reg.MustRegister(&hashCollector{stats: stats})
}

var (
	viewTrusted = prometheus.NewDesc("sesame_session_view_trusted",
		"1 while the in-process session view is in sync with the store's change feed and may answer without the store (SEC-65), else 0.", nil, nil)
	viewLag = prometheus.NewDesc("sesame_session_view_feed_lag_seconds",
		"Seconds since the view last caught up with the change feed (since start before the first sync): how late a revocation made on another node may be seen here.", nil, nil)
	viewCached = prometheus.NewDesc("sesame_session_view_cached_sessions",
		"Sessions held in the in-process view.", nil, nil)
	viewDenied = prometheus.NewDesc("sesame_session_view_denylist_size",
		"Revoked session IDs on the in-process denylist.", nil, nil)
	viewLookups = prometheus.NewDesc("sesame_session_view_lookups_total",
		"Session lookups by the cookie and token paths: hit answered from the view, miss read the store. Hit ratio: rate(hit) / rate(all).", []string{"result"}, nil)

	hashSlots = prometheus.NewDesc("sesame_password_hash_slots",
		"How many password hashes may run at once (the hashing gate's concurrency).", nil, nil)
	hashInUse = prometheus.NewDesc("sesame_password_hash_in_use",
		"Password hashes running now.", nil, nil)
	hashQueued = prometheus.NewDesc("sesame_password_hash_queued",
		"Callers waiting for a hashing slot now.", nil, nil)
	hashRejected = prometheus.NewDesc("sesame_password_hash_rejected_total",
		"Password checks refused by the hashing gate (queue full, or no slot within its wait): answered 503.", nil, nil)
)

type viewCollector struct{ stats func() session.ViewStats }

func (c *viewCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- viewTrusted
	ch <- viewLag
	ch <- viewCached
	ch <- viewDenied
	ch <- viewLookups
}

func (c *viewCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	trusted := 0.0
	if s.Trusted {
		trusted = 1
	}
	ch <- prometheus.MustNewConstMetric(viewTrusted, prometheus.GaugeValue, trusted)
	ch <- prometheus.MustNewConstMetric(viewLag, prometheus.GaugeValue, s.SinceSync.Seconds())
	ch <- prometheus.MustNewConstMetric(viewCached, prometheus.GaugeValue, float64(s.Cached))
	ch <- prometheus.MustNewConstMetric(viewDenied, prometheus.GaugeValue, float64(s.Denylisted))
	ch <- prometheus.MustNewConstMetric(viewLookups, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(viewLookups, prometheus.CounterValue, float64(s.Misses), "miss")
}

type hashCollector struct{ stats func() guard.HashStats }

func (c *hashCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hashSlots
	ch <- hashInUse
	ch <- hashQueued
	ch <- hashRejected
}

func (c *hashCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(hashSlots, prometheus.GaugeValue, float64(s.Slots))
	ch <- prometheus.MustNewConstMetric(hashInUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(hashQueued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(hashRejected, prometheus.CounterValue, float64(s.Rejected))
}
