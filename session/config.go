package session

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame"
)

// Config configures a [Manager]. The zero value of every field is the
// secure default written in its comment.
type Config struct {
	// CookieName is the session cookie's name. Default "__Host-sesame"
	// (Secure, Path=/, no Domain: a sibling subdomain cannot set or
	// overwrite it). With InsecureCookie the default is "sesame".
	CookieName string

	// CookieDomain, when set, sends the session cookie to this domain and
	// every subdomain (Domain=example.com), so that one login covers
	// wiki.example.com and grafana.example.com behind a forward-auth
	// proxy; the default name is then "__Secure-sesame", since a
	// "__Host-" cookie cannot carry a Domain. Every subdomain, and any
	// application running there, receives the cookie, and any of them can
	// set a cookie of that name for the others. Default "": this host only.
	CookieDomain string

	// InsecureCookie drops the Secure attribute (and so the __Host-
	// prefix) for plain-HTTP deployments on addresses browsers do not treat
	// as secure. Default false. Only for development: the cookie then
	// travels in clear text.
	InsecureCookie bool

	// SameSite of the session cookie. Default Lax (top-level navigations
	// from other sites keep the user signed in; cross-site subrequests and
	// POSTs carry no cookie). Strict is allowed; None is refused.
	SameSite http.SameSite

	// IdleTimeout ends a session that has seen no request for this long.
	// Default 30 minutes.
	IdleTimeout time.Duration
	// Lifetime is a session's absolute lifetime; it is never extended.
	// Default 12 hours.
	Lifetime time.Duration
	// RememberIdleTimeout and RememberLifetime apply to "remember me"
	// sessions, which get a persistent cookie whose Max-Age never exceeds
	// the remaining absolute lifetime. Defaults 7 days and 30 days.
	RememberIdleTimeout time.Duration
	RememberLifetime    time.Duration

	// PendingLifetime is how long a session waiting for its second
	// factor ([LoginOptions.Pending]) lives, idle or not. Default 5
	// minutes.
	PendingLifetime time.Duration

	// RenewGrace is how long the token a session had before a renewal
	// stays usable, for requests already in flight. Default 10 seconds; a
	// negative value disables the grace (the old token dies at once).
	RenewGrace time.Duration

	// TouchInterval is the minimum time between two last-seen writes of one
	// session. Default 1 minute. The idle timeout is therefore enforced
	// with this much slack at most: a node that believes a session idle
	// re-reads the store before rejecting it.
	TouchInterval time.Duration

	// SyncInterval is how often the in-process view reads the store's
	// change feed. Revocations made by this process apply at once; made by
	// another process, within about this interval. Default 200 ms.
	SyncInterval time.Duration

	// Notifier, when set, pushes change notifications between processes:
	// a view applies the session IDs a notification names on receipt and
	// then syncs; while the notifier is disconnected, or after a
	// notification it could not read, the view is not trusted (every
	// request reads the store) until it has caught up (SEC-65). Default
	// nil: the view polls the feed every SyncInterval.
	Notifier Notifier

	// DenylistTTL is how long a revoked session ID stays on the in-process
	// denylist. The denylist only refuses (a revoked session's record may
	// linger in the store a moment after its revocation is in the feed);
	// credentials are accepted only for sessions the view holds or the
	// store returns (SEC-64). It must be at least the longest access-token
	// lifetime. Default 1 hour.
	DenylistTTL time.Duration

	// Anonymous configures sessions before login (carts, flash messages,
	// preferences). Default off: Put before login is ErrNoSession.
	Anonymous AnonymousConfig

	// CacheSize bounds the number of sessions held in the in-process view.
	// Default 100000.
	CacheSize int

	// CacheControl is the Cache-Control set on every response that carries
	// a session or sets or clears the session cookie, unless the handler
	// set one itself; every response of the middleware also gets "Vary:
	// Cookie". Default "no-store" (a shared cache must never serve one
	// user's page to another); "private, no-cache" lets browsers keep a
	// copy; "-" leaves Cache-Control alone.
	CacheControl string

	// LoginPath is where RequireAuth redirects HTML requests that carry no
	// session. Default "/login".
	LoginPath string

	// Clock tells the time for every expiry decision. Default the system
	// clock.
	Clock sesame.Clock

	// Events receives lifecycle events. Default none.
	Events sesame.EventSink

	// Logger receives operational messages (never a token). Default
	// slog.Default().
	Logger *slog.Logger

	// ErrorHandler writes an error response. Default: JSON
	// {"error":{"code","message"}} with the status of the error's code.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// AnonymousConfig configures anonymous sessions: sessions with no user,
// created by the first [Put] of a request that carries no session.
//
// Creation is lazy: a visitor who stores nothing costs no store write and
// gets no cookie. An anonymous session has its own (short) timeouts and a
// browser-session cookie; it never authenticates ([Current] reports none,
// [Manager.RequireAuth] refuses, no token is ever bound to it), is never
// listed or revoked as a user's device, and [Manager.Login] replaces it by a
// fresh session ID (the anonymous token dies, SEC-10) that takes its data
// along unless DropOnLogin is set. A cookie naming a session the server does
// not hold (planted, expired, revoked) is never adopted: the next Put
// creates a new session with a new token (SEC-09).
//
// Concurrency: the Puts of one request, even from several goroutines, make
// one session. Two requests of a cookie-less visitor that both store data
// make two sessions; the browser keeps the cookie of the response it
// processes last, and the other session (and its data) is orphaned until its
// idle timeout ends it, as with scs.
//
// Anonymous data comes from an unauthenticated client: anyone can make an
// anonymous session and fill it, and a site that can set cookies for this
// one could plant it in a victim's browser (the default __Host- cookie name
// prevents that from sibling subdomains). Treat data carried over at login
// as user input, never as a decision already made.
type AnonymousConfig struct {
	// Enabled turns anonymous sessions on. Default false.
	Enabled bool
	// IdleTimeout ends an anonymous session that has seen no request for
	// this long. Default 30 minutes.
	IdleTimeout time.Duration
	// Lifetime is an anonymous session's absolute lifetime. Default 24
	// hours.
	Lifetime time.Duration
	// DropOnLogin discards the anonymous session's data at login instead
	// of carrying it into the new session. Default false (carried over).
	DropOnLogin bool
}

func (c *Config) setDefaults() {
	if c.CookieName == "" {
		c.CookieName = "__Host-sesame"
		if c.CookieDomain != "" {
			c.CookieName = "__Secure-sesame"
		}
		if c.InsecureCookie {
			c.CookieName = "sesame"
		}
	}
	if c.SameSite == 0 || c.SameSite == http.SameSiteDefaultMode {
		c.SameSite = http.SameSiteLaxMode
	}
	setDur(&c.IdleTimeout, 30*time.Minute)
	setDur(&c.Lifetime, 12*time.Hour)
	setDur(&c.RememberIdleTimeout, 7*24*time.Hour)
	setDur(&c.RememberLifetime, 30*24*time.Hour)
	setDur(&c.PendingLifetime, 5*time.Minute)
	setDur(&c.RenewGrace, 10*time.Second)
	if c.RenewGrace < 0 {
		c.RenewGrace = 0
	}
	setDur(&c.Anonymous.IdleTimeout, 30*time.Minute)
	setDur(&c.Anonymous.Lifetime, 24*time.Hour)
	setDur(&c.TouchInterval, time.Minute)
	setDur(&c.SyncInterval, 200*time.Millisecond)
	setDur(&c.DenylistTTL, time.Hour)
	if c.CacheSize <= 0 {
		c.CacheSize = 100000
	}
	if c.CacheControl == "" {
		c.CacheControl = "no-store"
	}
	if c.LoginPath == "" {
		c.LoginPath = "/login"
	}
	c.Clock = sesame.ClockOrSystem(c.Clock)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = WriteJSONError
	}
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}
