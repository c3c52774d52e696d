// Package metrics exposes a Sesame node's Prometheus metrics, built on
// github.com/prometheus/client_golang in a private registry (never the
// global default one). `sesame serve --metrics-addr host:port` (config
// key metrics_addr) serves them at GET /metrics on a listener of its own;
// the public listener never serves them. docs/metrics.md has the same list
// with a scrape configuration and example queries.
//
// Wiring (package app does this; a library user does the same):
//
//	m := metrics.New()
//	events := m.Events(auditSink)                   // every component's EventSink
//	srvCfg.Metrics = m                              // server.Config: HTTP metrics
//	m.WatchSessions(manager.ViewStats)              // the session view, read at scrape time
//	m.WatchHashing(hashLimiter.Stats)               // the hashing gate, read at scrape time
//	op := m.StoreOp("session_by_token")             // per store operation, at startup
//	start := time.Now(); s, err := store.ByToken(ctx, h); op.Done(start, err)
//	http.Serve(metricsListener, m.Handler())
//
// # Label hygiene
//
// No label carries a user name or ID, session ID, token, cookie, IP,
// User-Agent, Host, path, OAuth client ID or any other free text: every
// label value comes from a fixed set written here (route patterns come from
// the server's route table at startup, never from a request). Unknown
// methods, unrouted requests and unknown event reasons are "other".
//
// # Metrics
//
// HTTP ([Metrics.Middleware], [Metrics.Route]; server.Config.Metrics):
//
//   - sesame_http_requests_total{route, method, status_class}: requests
//     answered. route is the pattern of the route table
//     ("/api/v1/sessions/{id}") or "other" (refused before routing: 421,
//     431, 413, the session store's 503, CSRF 403, 415; 404; 405). method is
//     GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS or "other"; status_class
//     2xx, 3xx, 4xx or 5xx.
//   - sesame_http_request_duration_seconds{route, method}: latency
//     histogram, from the outermost handler's start to its return.
//
// Authentication and revocations, from the audit events ([Metrics.Events]):
//
//   - sesame_auth_attempts_total{flow, result}: flow login, signup, refresh,
//     reauth or second_factor; result success, wrong_password, unknown_user (told apart from wrong_password by the
//     event's UserID, which the account service sets for a known user only;
//     clients are told the same for both), throttled, blocked,
//     reuse_detected (a used refresh token presented again), wrong_code
//     (a wrong second-factor code or passkey), invalid_input,
//     unavailable (a store could not answer) or other.
//   - sesame_revocations_total{kind, cause}: kind session (revoked or
//     expired) or refresh_token; cause a fixed mapping of the event's
//     reason (logout, replaced_at_login, user, user_others, admin,
//     user_blocked, password_changed, reauth_failures, refresh_reuse,
//     token_revoked, code_reuse, command, idle_timeout, absolute_timeout;
//     api and client for refresh tokens), else other.
//
// The in-process session view ([Metrics.WatchSessions], read at scrape
// time from session.Manager.ViewStats):
//
//   - sesame_session_view_trusted: 1 while the view answers without the
//     store (SEC-65), else 0.
//   - sesame_session_view_feed_lag_seconds: seconds since the view last
//     caught up with the change feed.
//   - sesame_session_view_cached_sessions: sessions held.
//   - sesame_session_view_denylist_size: revoked session IDs held.
//   - sesame_session_view_lookups_total{result="hit"|"miss"}: lookups of
//     the cookie and token paths; hit ratio = rate(hit) / rate(all).
//
// Stores ([Metrics.StoreOp]; the instrumenting wrappers are package
// app's):
//
//   - sesame_store_call_duration_seconds{op}: latency histogram per
//     operation, failures included.
//   - sesame_store_call_errors_total{op}: calls the store could not answer
//     (sesame.ErrNotFound and sesame.ErrConflict are answers).
//
// The password hashing gate ([Metrics.WatchHashing], read at scrape time
// from guard.HashLimiter.Stats):
//
//   - sesame_password_hash_slots, sesame_password_hash_in_use,
//     sesame_password_hash_queued: gauges.
//   - sesame_password_hash_rejected_total: checks refused with 503.
//
// Go runtime and process: go_* (collectors.NewGoCollector) and process_*
// (collectors.NewProcessCollector), and promhttp_metric_handler_errors_total.
//
// # Cost
//
// Per request with metrics on: the status-capturing writer (one 32-byte
// allocation), two clock reads, one counter and one histogram observation,
// on label children resolved at startup (bench/README.md). Gauges are
// read at scrape time, never updated per request.
package metrics
