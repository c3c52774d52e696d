package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
)

// auditPageSize is how many events one page of the audit view shows.
const auditPageSize = 50

// auditView is what the audit page (admin_audit.html) shows.
type auditView struct {
	Types  []sesame.EventType // the filter's choices (audit.EventTypes)
	Type   sesame.EventType   // the selected type; empty: all
	User   string             // the username filtered on; empty: all
	Events []audit.Record     // newest first
	Next   string             // the link to older events; empty on the last page
	First  string             // the link to the newest events; empty on the first page
}

// auditRoutes are the audit view's routes, with an audit log (Config.Audit).
func (s *Server) auditRoutes() []Route {
	if s.cfg.Audit == nil {
		return nil
	}
	return []Route{
		{"GET", "/admin/audit", true, s.handleAuditPage},
		{"GET", "/api/v1/admin/audit", false, s.apiAdminAudit},
	}
}

// auditQuery reads the filters and the page of ?type=&user=&before=: type
// one of audit.EventTypes, user a username (normalised as the admin search
// is), before a positive seq.
func auditQuery(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Type: sesame.EventType(q.Get("type")), Username: searchPrefix(q.Get("user")), Limit: auditPageSize + 1}
	if f.Type != "" && !slices.Contains(audit.EventTypes, f.Type) {
		return f, sesame.Errorf(sesame.EInvalid, "unknown event type")
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return f, sesame.Errorf(sesame.EInvalid, "before must be a positive integer")
		}
		f.Before = n
	}
	return f, nil
}

// auditPage reads one page for f: the records (at most auditPageSize) and
// the seq to pass as before for the next page (0 on the last).
func (s *Server) auditPage(r *http.Request, f audit.Filter) ([]audit.Record, int64, error) {
	recs, err := s.cfg.Audit.Recent(r.Context(), f)
	if err != nil {
		return nil, 0, sesame.Wrap(sesame.EUnavailable, err, "audit log unavailable")
	}
	var next int64
	if len(recs) > auditPageSize {
		recs = recs[:auditPageSize]
		next = recs[len(recs)-1].Seq
	}
	return recs, next, nil
}

func auditURL(f audit.Filter, before int64) string {
	v := url.Values{}
	if f.Type != "" {
		v.Set("type", string(f.Type))
	}
	if f.Username != "" {
		v.Set("user", f.Username)
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if len(v) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + v.Encode()
}

// handleAuditPage is GET /admin/audit[?type=][&user=][&before=seq]: the
// most recent events, newest first, paged by seq (keyset).
func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.admin(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := auditQuery(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	recs, next, err := s.auditPage(r, f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := &auditView{Types: audit.EventTypes, Type: f.Type, User: f.Username, Events: recs}
	if next > 0 {
		v.Next = auditURL(f, next)
	}
	if f.Before > 0 {
		v.First = auditURL(f, 0)
	}
	pu := u.Public()
	s.render(w, r, http.StatusOK, "admin_audit", pageData{Title: "Audit log", Nav: "admin", User: &pu, Audit: v})
}

// auditEventJSON is one event of GET /api/v1/admin/audit.
type auditEventJSON struct {
	Seq       int64     `json:"seq"`
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	UserID    string    `json:"user_id,omitempty"`
	Username  string    `json:"username,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

type auditList struct {
	Events []auditEventJSON `json:"events"`
	Next   *int64           `json:"next"` // the before of the next page; null on the last
}

// apiAdminAudit is GET /api/v1/admin/audit?type=&user=&before=.
func (s *Server) apiAdminAudit(w http.ResponseWriter, r *http.Request) {
	if _, err := s.admin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := auditQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, next, err := s.auditPage(r, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := auditList{Events: make([]auditEventJSON, 0, len(recs))}
	for _, x := range recs {
		out.Events = append(out.Events, auditEventJSON{Seq: x.Seq, Type: string(x.Type), At: x.At, UserID: x.UserID,
			Username: x.Username, SessionID: x.SessionID, IP: x.IP, Reason: x.Reason})
	}
	if next > 0 {
		out.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
}
