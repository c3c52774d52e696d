package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sesame-auth/sesame"
)

// AuditLog writes lifecycle events as structured slog records (SEC-53):
// UTC time, what (event), who (user_id, username), from where (ip,
// user_agent), and why (reason). Events never carry a password or token;
// the session_id is the public session ID, which is not a credential.
// Values go through slog's handler, whose JSON and text encodings escape
// CR, LF and quotes, so a crafted username cannot forge a log line (SEC-55).
// AuditLog is safe for concurrent use.
type AuditLog struct {
	Logger *slog.Logger
}

// Emit implements [sesame.EventSink].
func (a AuditLog) Emit(ctx context.Context, e sesame.Event) {
	if ri, ok := ctx.Value(requestInfoKey{}).(requestInfo); ok {
		if e.IP == "" {
			e.IP = ri.ip
		}
		if e.UserAgent == "" {
			e.UserAgent = ri.userAgent
		}
	}
	attrs := []slog.Attr{
		slog.String("event", string(e.Type)),
		slog.Time("at", e.Time.UTC()),
	}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("user_id", e.UserID)
	add("username", e.Username)
	add("session_id", e.SessionID)
	add("ip", e.IP)
	add("user_agent", e.UserAgent)
	add("reason", e.Reason)
	level := slog.LevelInfo
	switch e.Type {
	case sesame.EventLoginFailure, sesame.EventReauthFailure, sesame.EventCSRFRejected, sesame.EventSecondFactorFailure:
		level = slog.LevelWarn
	}
	a.Logger.LogAttrs(ctx, level, "audit", attrs...)
}

type requestInfoKey struct{}

type requestInfo struct{ ip, userAgent string }

// withRequestInfo puts where the request came from into its context, for
// the audit events emitted below the HTTP layer.
func (s *Server) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := requestInfo{ip: s.clientIP(r), userAgent: truncate(r.UserAgent(), 256)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)))
	})
}

// audit emits e for request r, filling in the time and where it came from.
func (s *Server) audit(r *http.Request, e sesame.Event) { s.auditIn(r.Context(), r, e) }

// auditIn is audit with ctx, the context of a store write's events
// ([Server.withEvent]): the webhook sink skips the events the write queued.
func (s *Server) auditIn(ctx context.Context, r *http.Request, e sesame.Event) {
	if s.cfg.Events == nil {
		return
	}
	s.cfg.Events.Emit(ctx, s.filled(r, e))
}

// filled is e with the time and where request r came from.
func (s *Server) filled(r *http.Request, e sesame.Event) sesame.Event {
	if e.Time.IsZero() {
		e.Time = sesame.ClockOrSystem(s.accounts.Clock).Now().UTC()
	}
	if e.IP == "" {
		e.IP = s.clientIP(r)
	}
	if e.UserAgent == "" {
		e.UserAgent = truncate(r.UserAgent(), 256)
	}
	return e
}

// withEvent is r's context carrying e, filled, for the store write about
// to be made ([sesame.TxEvents]): a SQL store queues its webhooks in the
// write's transaction. Pass it to that one write, and e to auditIn with it.
func (s *Server) withEvent(r *http.Request, e sesame.Event) (context.Context, sesame.Event) {
	e = s.filled(r, e)
	ctx, _ := sesame.WithTxEvents(r.Context(), e)
	return ctx, e
}

// clientIP is the client's address: the connection's peer, or the
// X-Forwarded-For entry a configured trusted proxy vouches for (SEC-52).
func (s *Server) clientIP(r *http.Request) string {
	if ip := s.cfg.ClientIPs.ClientIP(r); ip.IsValid() {
		return ip.String()
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
