package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-auth/sesame"
)

// errorView is what the error page (error.html) shows: a heading for the
// status, the error's own message once, capitalised, and for a 429 or 503
// with Retry-After when to try again.
type errorView struct {
	Status  int
	Heading string
	Message string
	Retry   string // "Try again in 2 minutes (at 14:05 UTC)."; empty without Retry-After
	SignIn  bool   // offer the sign-in page (401)
}

// errorHeadings name each status the pages answer with.
var errorHeadings = map[int]string{
	http.StatusBadRequest:                   "This request cannot be completed",
	http.StatusUnauthorized:                 "Please sign in",
	http.StatusForbidden:                    "Access denied",
	http.StatusNotFound:                     "Page not found",
	http.StatusMethodNotAllowed:             "Method not allowed",
	http.StatusConflict:                     "This conflicts with the current state",
	http.StatusGone:                         "This link has expired",
	http.StatusRequestEntityTooLarge:        "The request is too large",
	http.StatusTooManyRequests:              "Too many attempts",
	http.StatusServiceUnavailable:           "Service unavailable",
	http.StatusRequestHeaderFieldsTooLarge:  "The request headers are too large",
	http.StatusInternalServerError:          "Something went wrong",
	http.StatusUnsupportedMediaType:         "Unsupported request",
	http.StatusMisdirectedRequest:           "Wrong host",
	http.StatusUnprocessableEntity:          "This request cannot be completed",
	http.StatusPreconditionFailed:           "This request cannot be completed",
	http.StatusRequestedRangeNotSatisfiable: "This request cannot be completed",
}

// friendlier replaces the bare messages of a few codes with a sentence.
var friendlier = map[string]string{
	"forbidden":                       "You do not have permission to open this page.",
	"service temporarily unavailable": "The service is temporarily unavailable. Nothing was changed.",
	"internal error":                  "An unexpected error happened on the server. Nothing was changed.",
}

// newErrorView builds the error page's view for err answered with status;
// retryAfter is the response's Retry-After header (seconds), if any.
func newErrorView(status int, message, retryAfter string, now time.Time) *errorView {
	v := &errorView{Status: status, Heading: errorHeadings[status], SignIn: status == http.StatusUnauthorized}
	if v.Heading == "" {
		v.Heading = http.StatusText(status)
	}
	if f, ok := friendlier[message]; ok {
		message = f
	}
	v.Message = sentence(message)
	if secs, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && secs >= 0 {
		at := now.Add(time.Duration(secs) * time.Second).UTC()
		v.Retry = "Try again in " + roughDuration(time.Duration(secs)*time.Second) + " (at " + at.Format("15:04:05") + " UTC)."
	} else if status == http.StatusServiceUnavailable {
		v.Retry = "Try again in a moment."
	}
	return v
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}

// roughDuration says d as a person would: "45 seconds", "3 minutes",
// "2 hours", "1 day".
func roughDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d < time.Minute:
		return plural(max(int64(d/time.Second), 1), "second")
	case d < time.Hour:
		return plural(int64((d+30*time.Second)/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int64((d+30*time.Minute)/time.Hour), "hour")
	}
	return plural(int64((d+12*time.Hour)/(24*time.Hour)), "day")
}

// renderError answers a page request that failed with the error page, in
// the layout, with the error's status (and Retry-After when it has one).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	if sesame.ErrorCode(err) == sesame.EStepUp && r.Method == http.MethodPost {
		// A page's sensitive action with a stale sign-in (SEC-14): the
		// step-up form, which returns to the page the form was on.
		back := "/account"
		if strings.HasPrefix(r.URL.Path, "/admin") {
			back = "/admin"
		}
		http.Redirect(w, r, "/reauthenticate?next="+url.QueryEscape(back), http.StatusSeeOther)
		return
	}
	setRetryAfter(w, err)
	status := sesame.HTTPStatus(sesame.ErrorCode(err))
	s.renderStatus(w, r, status, sesame.ErrorMessage(err))
}

// renderStatus is the error page for status with message.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, message string) {
	v := newErrorView(status, message, w.Header().Get("Retry-After"), sesame.ClockOrSystem(s.accounts.Clock).Now())
	s.render(w, r, status, "error", pageData{Title: v.Heading, Err: v})
}

// pageFallback answers what no route takes outside /api/: the 404 page,
// or 405 with Allow when the path has a route for another method.
func (s *Server) pageFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.renderStatus(w, r, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here")
			return
		}
		s.renderStatus(w, r, http.StatusNotFound, "there is no page at this address")
	})
}

// handleFavicon serves the icon (an SVG) at /static/favicon.svg and at
// /favicon.ico, where browsers look without being told.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(s.pages.favicon)
}
