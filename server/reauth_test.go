package server_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
)

// The attacker's address in the SEC-56 tests; the victim and the control
// logins come from elsewhere.
const thiefIP = "203.0.113.66"

// loginThreshold is how many wrong passwords a login from one address may
// give for one account before it is answered 429, measured through the
// login endpoint on a fresh account.
func loginThreshold(t *testing.T, e *env, user string) int {
	t.Helper()
	c := e.client()
	c.signup(user, pw)
	for i := range 40 {
		r := c.do("POST", "/api/v1/login", map[string]string{"username": user, "password": "wrong guess " + strconv.Itoa(i)},
			"X-Forwarded-For", "198.51.100.201")
		switch r.StatusCode {
		case 401:
		case 429:
			return i
		default:
			t.Fatalf("login guess %d: got %d %s", i+1, r.StatusCode, r.body)
		}
	}
	t.Fatal("40 wrong logins were never throttled")
	return 0
}

// stolenSession is one way of holding a victim's session: guess sends a
// current-password guess with it, alive tells whether the session still
// answers GET /api/v1/me (200) or not (401).
type stolenSession struct {
	sid   string
	guess func(current string) *resp
	alive func() int
}

// SEC-56: with one stolen session, wrong current passwords are throttled
// after the same number as wrong logins, audited one by one, and the
// ReauthLimit-th (10) ends the session; a throttled right password is not
// accepted. Through the JSON API with the cookie, with a Bearer token, and
// through the account page's form with the page's CSRF token.
func TestSEC56_PasswordOracleClosed(t *testing.T) {
	for name, steal := range map[string]func(t *testing.T, e *env) stolenSession{
		"api cookie":   stealCookieAPI,
		"bearer token": stealBearer,
		"account form": stealCookieForm,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			threshold := loginThreshold(t, e, "bob")
			s := steal(t, e)
			oracleScenario(t, e, s, threshold)
		})
	}
}

func oracleScenario(t *testing.T, e *env, s stolenSession, threshold int) {
	// 30 quick guesses: the first `threshold` are wrong-password answers,
	// the rest 429 with Retry-After.
	firstThrottled := -1
	var wait int
	for i := range 30 {
		r := s.guess("wrong guess " + strconv.Itoa(i))
		switch {
		case r.StatusCode == 401 && firstThrottled < 0:
		case r.StatusCode == 429:
			if firstThrottled < 0 {
				firstThrottled = i
			}
			n, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || n < 1 {
				t.Fatalf("guess %d: 429 with Retry-After %q, want whole seconds", i+1, r.Header.Get("Retry-After"))
			}
			wait = n
		default:
			t.Fatalf("guess %d: got %d %.200s", i+1, r.StatusCode, r.body)
		}
	}
	if firstThrottled < 0 {
		t.Fatal("30 wrong current passwords from one session were never throttled")
	}
	if firstThrottled != threshold {
		t.Fatalf("the %d-th wrong current password was the first throttled; logins are throttled from the %d-th", firstThrottled+1, threshold+1)
	}
	// The right password while throttled is refused like any other.
	if r := s.guess(pw); r.StatusCode != 429 {
		t.Fatalf("right password while throttled: got %d, want 429", r.StatusCode)
	}
	if s.alive() != 200 {
		t.Fatal("the session ended before the limit")
	}

	// A patient thief waits out every Retry-After: the 10th wrong password
	// ends the session.
	wrong := threshold
	for range 50 {
		e.clock.Add(time.Duration(wait) * time.Second)
		r := s.guess("patient guess " + strconv.Itoa(wrong))
		if r.StatusCode == 429 {
			wait, _ = strconv.Atoi(r.Header.Get("Retry-After"))
			continue
		}
		if r.StatusCode != 401 {
			t.Fatalf("patient guess: got %d %.200s", r.StatusCode, r.body)
		}
		wrong++
		if wrong == 10 {
			break
		}
		if s.alive() != 200 {
			t.Fatalf("the session ended after %d wrong passwords, want 10", wrong)
		}
	}
	if wrong != 10 {
		t.Fatalf("only %d wrong passwords were answered", wrong)
	}
	if s.alive() != 401 {
		t.Fatal("the session survived 10 wrong current passwords")
	}
	e.clock.Add(time.Hour) // every throttle wait is over
	// (401; the form is refused even earlier, 403, since its CSRF token was
	// bound to the ended session.)
	if r := s.guess(pw); r.StatusCode != 401 && r.StatusCode != 403 {
		t.Fatalf("the right password with the ended session: got %d, want 401 or 403", r.StatusCode)
	}

	// Each failure was audited, with the user, the session and the address.
	evs := e.events(sesame.EventReauthFailure)
	wrongEvs, throttled, ended := 0, 0, 0
	for _, ev := range evs {
		if ev["username"] != "alice" || ev["session_id"] != s.sid || ev["ip"] != thiefIP {
			t.Fatalf("reauth.failure without user, session or address: %v", ev)
		}
		reason, _ := ev["reason"].(string)
		switch {
		case reason == "throttled":
			throttled++
		case strings.HasPrefix(reason, "wrong password"):
			wrongEvs++
			if strings.HasSuffix(reason, "session ended") {
				ended++
			}
		}
	}
	if wrongEvs != 10 || ended != 1 || throttled < 30-threshold+1 {
		t.Fatalf("audit: %d wrong-password, %d session-ended, %d throttled events; want 10, 1, at least %d", wrongEvs, ended, throttled, 30-threshold+1)
	}
	// The password never changed: the owner still logs in with it.
	owner := e.client()
	owner.want(owner.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw}, "X-Forwarded-For", "192.0.2.10"), 200)
}

// victim signs alice up and logs her in with a cookie session; it returns
// the session cookie and the session's ID.
func victimCookie(t *testing.T, e *env) (string, string) {
	v := e.client()
	v.signup("alice", pw)
	v.want(v.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw}, "X-Forwarded-For", "192.0.2.10"), 200)
	var me struct{ Session sesame.SessionInfo }
	v.want(v.do("GET", "/api/v1/me", nil), 200).json(t, &me)
	return v.sessionCookie(), me.Session.ID
}

func stealCookieAPI(t *testing.T, e *env) stolenSession {
	cookie, sid := victimCookie(t, e)
	thief := e.client()
	thief.setSessionCookie(cookie)
	return stolenSession{
		sid: sid,
		guess: func(current string) *resp {
			return thief.do("POST", "/api/v1/password", map[string]string{"current_password": current, "new_password": "thief's new passphrase"},
				"X-Forwarded-For", thiefIP)
		},
		alive: thief.me,
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func stealCookieForm(t *testing.T, e *env) stolenSession {
	cookie, sid := victimCookie(t, e)
	thief := e.client()
	thief.setSessionCookie(cookie)
	thief.noCSRF = true // only the token the account page's form carries
	page := thief.want(thief.do("GET", "/account", nil, "Accept", "text/html"), 200)
	m := csrfField.FindSubmatch(page.body)
	if m == nil || !strings.Contains(string(page.body), `action="/account/password"`) {
		t.Fatal("the account page has no password form with a CSRF token")
	}
	tok := string(m[1])
	return stolenSession{
		sid: sid,
		guess: func(current string) *resp {
			r := thief.do("POST", "/account/password", form("csrf_token", tok, "current_password", current,
				"new_password", "thief's new passphrase"), "X-Forwarded-For", thiefIP)
			if ct := r.Header.Get("Content-Type"); r.StatusCode != 303 && !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("form answer: %d with Content-Type %q, want an HTML page", r.StatusCode, ct)
			}
			return r
		},
		alive: thief.me,
	}
}

func stealBearer(t *testing.T, e *env) stolenSession {
	v := e.client()
	v.origin = ""
	v.signup("alice", pw)
	var p pairBody
	v.want(v.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw, "transport": "header"},
		"X-Forwarded-For", "192.0.2.10"), 200).json(t, &p)
	var me struct{ Session sesame.SessionInfo }
	v.want(v.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+p.AccessToken), 200).json(t, &me)
	thief := e.client()
	thief.origin = "" // a script: no Origin, no cookies
	return stolenSession{
		sid: me.Session.ID,
		guess: func(current string) *resp {
			return thief.do("POST", "/api/v1/password", map[string]string{"current_password": current, "new_password": "thief's new passphrase"},
				"Authorization", "Bearer "+p.AccessToken, "X-Forwarded-For", thiefIP)
		},
		alive: func() int { return e.meBearer(p.AccessToken) },
	}
}

// SEC-56, the library side: a right password after wrong ones is accepted
// while the throttle allows it, and the count of wrong passwords belongs to
// the session: another session of the same user is not ended by the
// first's failures.
func TestSEC56_OtherSessionsUnaffected(t *testing.T) {
	e := newEnv(t)
	cookie, _ := victimCookie(t, e)
	thief := e.client()
	thief.setSessionCookie(cookie)
	owner := e.client()
	owner.want(owner.do("POST", "/api/v1/login", map[string]any{"username": "alice", "password": pw}, "X-Forwarded-For", "192.0.2.10"), 200)
	for i := 0; i < 10; {
		r := thief.do("POST", "/api/v1/password", map[string]string{"current_password": "nope " + strconv.Itoa(i), "new_password": "whatever passphrase"},
			"X-Forwarded-For", thiefIP)
		switch r.StatusCode {
		case 401:
			i++
		case 429:
			e.clock.Add(time.Minute)
		default:
			t.Fatalf("got %d %s", r.StatusCode, r.body)
		}
	}
	if thief.me() != 401 || owner.me() != 200 {
		t.Fatalf("after 10 wrong passwords in one session: that session %d (want 401), the owner's other session %d (want 200)", thief.me(), owner.me())
	}
	// The owner, from their own address, is not throttled by the thief.
	owner.want(owner.do("POST", "/api/v1/password", map[string]string{"current_password": pw, "new_password": "a brand new passphrase"},
		"X-Forwarded-For", "192.0.2.10"), 204)
}

// SEC-46 for sign-up: one address probing for taken names is throttled
// like one guessing passwords, and a free name is not an oracle either.
func TestSEC46_SignupProbesThrottled(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"alice", "bob", "carol"} {
		e.client().signup(name, pw)
	}
	prober := e.client()
	taken := []string{"alice", "bob", "carol"}
	throttled := -1
	for i := range 30 {
		r := prober.do("POST", "/api/v1/signup", map[string]string{"username": taken[i%3], "password": "probe passphrase " + strconv.Itoa(i)},
			"X-Forwarded-For", thiefIP)
		if r.StatusCode == 429 {
			if r.Header.Get("Retry-After") == "" || r.errCode(t) != "too_many_requests" {
				t.Fatalf("probe %d: 429 without Retry-After or code", i+1)
			}
			throttled = i
			break
		}
		if r.StatusCode != 409 {
			t.Fatalf("probe %d: got %d %s, want 409", i+1, r.StatusCode, r.body)
		}
	}
	if throttled < 0 || throttled > 10 {
		t.Fatalf("sign-up probes from one address: first throttled at %d, want within the first 11", throttled+1)
	}
	// The form answers the same.
	r := prober.do("POST", "/signup", form("username", "dave", "password", pw), "X-Forwarded-For", thiefIP)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("sign-up form from the throttled address: got %d, want 429 with Retry-After", r.StatusCode)
	}
	// Another address signs up normally.
	other := e.client()
	other.want(other.do("POST", "/api/v1/signup", map[string]string{"username": "dave", "password": pw}, "X-Forwarded-For", "198.51.100.3"), 201)
}
