package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/internal/mailpit"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/mail"
)

// fastMail retries a failed send within a fraction of a second.
var fastMail = WithMailTuning(mail.Tuning{Poll: 50 * time.Millisecond, MinBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Timeout: 5 * time.Second, Lease: 10 * time.Second})

// mailEnv is one server (the real wiring, SQLite) sending through Mailpit.
type mailEnv struct {
	t    *testing.T
	app  *App
	url  string
	mp   *mailpit.Server
	tag  string // makes this test's addresses unique in the shared Mailpit
	http *http.Client
}

func newMailEnv(t *testing.T, smtpURL string, change func(*config.Config), opts ...Option) *mailEnv {
	t.Helper()
	mp := mailpit.FromEnv(t)
	if smtpURL == "" {
		smtpURL = mp.SMTPURL()
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.SMTPURL, cfg.MailFrom = smtpURL, "Sesame <auth@sesame.test>"
	cfg.Tokens = true
	if change != nil {
		change(cfg)
	}
	a, err := newApp(t, cfg, append([]Option{fastMail}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a.Start(ctx)
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	var b [6]byte
	rand.Read(b[:])
	return &mailEnv{t: t, app: a, url: srv.URL, mp: mp, tag: hex.EncodeToString(b[:]),
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (e *mailEnv) addr(name string) string { return name + "-" + e.tag + "@example.test" }

// call sends a JSON request with the given cookie or bearer credential.
func (e *mailEnv) call(method, path string, body any, cred string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "sesame-test/1.0 (email)")
	if method != "GET" && cred != "" && !strings.HasPrefix(cred, "Bearer ") {
		req.Header.Set("Origin", e.url) // a same-origin page
	}
	switch {
	case strings.HasPrefix(cred, "Bearer "):
		req.Header.Set("Authorization", cred)
	case cred != "":
		req.Header.Set("Cookie", cred)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func (e *mailEnv) want(method, path string, body any, cred string, status int) []byte {
	e.t.Helper()
	resp, out := e.call(method, path, body, cred)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, out, status)
	}
	return out
}

func (e *mailEnv) signup(name, pw, addr string) {
	e.t.Helper()
	e.want("POST", "/api/v1/signup", map[string]string{"username": name, "password": pw, "email": addr}, "", 201)
}

// login signs in for a session cookie; device is the device cookie to
// present ("" for a new device). It returns the session cookie and the
// device cookie the browser would now hold.
func (e *mailEnv) login(name, pw, device string) (session, dev string) {
	e.t.Helper()
	cred := ""
	if device != "" {
		cred = "__Host-sesame-device=" + device
	}
	resp, out := e.call("POST", "/api/v1/login", map[string]string{"username": name, "password": pw}, cred)
	if resp.StatusCode != 200 {
		e.t.Fatalf("login %s: got %d %s", name, resp.StatusCode, out)
	}
	dev = device
	for _, c := range resp.Cookies() {
		switch c.Name {
		case "__Host-sesame":
			session = c.Name + "=" + c.Value
		case "__Host-sesame-device":
			dev = c.Value
		}
	}
	return session, dev
}

// verifyAddress follows the verification mail of addr.
func (e *mailEnv) verifyAddress(addr string) {
	e.t.Helper()
	ms := e.mp.Wait(e.t, addr, 1, 10*time.Second)
	tok := mailpit.Token(mailpit.Link(ms[0].Text, "/email/verify"))
	e.want("POST", "/api/v1/email/verify", map[string]string{"token": tok}, "", 204)
}

// TestSEC62_SignupVerificationMail: sign-up with an address sends a
// verification mail through a real SMTP server; the link's GET moves the
// token out of the URL into an HttpOnly cookie (no Referer, no history);
// the token confirms the address once.
func TestSEC62_SignupVerificationMail(t *testing.T) {
	e := newMailEnv(t, "", nil)
	addr := e.addr("Alice")
	e.signup("alice", "correct horse battery", addr)
	ms := e.mp.Wait(t, addr, 1, 10*time.Second)
	m := ms[0]
	if m.Subject != "Confirm your email address" || m.From != "auth@sesame.test" {
		t.Fatalf("got subject %q from %q", m.Subject, m.From)
	}
	link := mailpit.Link(m.Text, "/email/verify")
	if link == "" || !strings.HasPrefix(link, e.url+"/email/verify?token=") || !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Fatalf("no verification link in the text and HTML parts:\n%s\n%s", m.Text, m.HTML)
	}
	tok := mailpit.Token(link)
	if len(tok) != 43 {
		t.Fatalf("token %q: want 256 bits in base64url (43 characters)", tok)
	}
	// The landing GET: the token leaves the URL.
	resp, _ := e.call("GET", strings.TrimPrefix(link, e.url), nil, "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/email/verify" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("landing: got %d Location %q Referrer-Policy %q, want 303 to /email/verify, no-referrer",
			resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Referrer-Policy"))
	}
	var moved bool
	for _, c := range resp.Cookies() {
		moved = moved || c.Name == "__Host-sesame-verify" && c.Value == tok && c.HttpOnly && c.Secure
	}
	if !moved {
		t.Fatalf("landing: the token is not in an HttpOnly, Secure cookie: %v", resp.Header["Set-Cookie"])
	}
	// The GET used nothing: the token still works, once.
	e.want("POST", "/api/v1/email/verify", map[string]string{"token": tok}, "", 204)
	e.want("POST", "/api/v1/email/verify", map[string]string{"token": tok}, "", 400)
	sess, _ := e.login("alice", "correct horse battery", "")
	var got struct {
		Email    string
		Verified bool
	}
	json.Unmarshal(e.want("GET", "/api/v1/email", nil, sess, 200), &got)
	if got.Email != addr[:5]+addr[5:] || !got.Verified {
		t.Fatalf("GET /api/v1/email: got %+v, want %s verified", got, addr)
	}
	// The address is stored with its local part as given.
	if got.Email != addr {
		t.Fatalf("stored %q, want %q", got.Email, addr)
	}
	// Its case-folded form is taken.
	resp, out := e.call("POST", "/api/v1/signup", map[string]string{"username": "alice2", "password": "correct horse battery", "email": strings.ToUpper(addr)}, "")
	if resp.StatusCode != 409 {
		t.Fatalf("sign-up with the same address in upper case: got %d %s, want 409", resp.StatusCode, out)
	}
}

// TestSEC62_ResetEndsEverySessionAndRefreshFamily: forgot password → the
// mail → a new password ends the cookie session, the access token and
// the refresh family of before, and the link works once.
func TestSEC62_ResetEndsEverySessionAndRefreshFamily(t *testing.T) {
	e := newMailEnv(t, "", nil)
	addr := e.addr("bob")
	e.signup("bob", "correct horse battery", addr)
	e.verifyAddress(addr)
	sess, _ := e.login("bob", "correct horse battery", "")
	var toks struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(e.want("POST", "/api/v1/login", map[string]string{"username": "bob", "password": "correct horse battery", "transport": "header"}, "", 200), &toks)
	e.want("GET", "/api/v1/me", nil, sess, 200)
	e.want("GET", "/api/v1/me", nil, "Bearer "+toks.AccessToken, 200)

	e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "bob"}, "", 202)
	ms := e.mp.Wait(t, addr, 2, 10*time.Second)
	if ms[1].Subject != "Reset your password" {
		t.Fatalf("got subject %q", ms[1].Subject)
	}
	tok := mailpit.Token(mailpit.Link(ms[1].Text, "/password/reset"))
	// The policy still applies; a refused password leaves the link good.
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": tok, "new_password": "short"}, "", 400)
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": tok, "new_password": "a brand new passphrase"}, "", 204)
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": tok, "new_password": "another new passphrase"}, "", 400)

	e.want("GET", "/api/v1/me", nil, sess, 401)
	e.want("GET", "/api/v1/me", nil, "Bearer "+toks.AccessToken, 401)
	e.want("POST", "/api/v1/token/refresh", map[string]string{"refresh_token": toks.RefreshToken}, "", 401)
	resp, _ := e.call("POST", "/api/v1/login", map[string]string{"username": "bob", "password": "correct horse battery"}, "")
	if resp.StatusCode != 401 {
		t.Fatalf("old password: got %d, want 401", resp.StatusCode)
	}
	e.login("bob", "a brand new passphrase", "")
	ms = e.mp.Wait(t, addr, 3, 10*time.Second)
	if ms[2].Subject != "Your password was reset" {
		t.Fatalf("notice: got subject %q", ms[2].Subject)
	}
}

// TestSEC62_SupersededReusedAndExpiredLinks: a newer request voids the
// older link, a link works once, and not after 30 minutes; a successful
// sign-in voids a pending link.
func TestSEC62_SupersededReusedAndExpiredLinks(t *testing.T) {
	clock := testclock.New(time.Now())
	e := newMailEnv(t, "", nil, WithClock(clock))
	addr := e.addr("carol")
	e.signup("carol", "correct horse battery", addr)
	reset := func(n int) string {
		e.want("POST", "/api/v1/password/forgot", map[string]string{"login": addr}, "", 202) // by address
		ms := e.mp.Wait(t, addr, n, 10*time.Second)
		return mailpit.Token(mailpit.Link(ms[n-1].Text, "/password/reset"))
	}
	first, second := reset(2), reset(3)
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": first, "new_password": "a brand new passphrase"}, "", 400)
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": second, "new_password": "a brand new passphrase"}, "", 204)
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": second, "new_password": "yet another passphrase"}, "", 400)

	expiring := reset(5) // 4 was the reset notice
	clock.Add(30 * time.Minute)
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": expiring, "new_password": "yet another passphrase"}, "", 400)

	voided := reset(6)
	e.login("carol", "a brand new passphrase", "")
	e.want("POST", "/api/v1/password/reset", map[string]string{"token": voided, "new_password": "yet another passphrase"}, "", 400)
}

// TestSEC62_ForgotSameAnswerForUnknown: an unknown name, an unknown
// address and a user without an address get the answer a real user gets,
// and nothing is sent to anyone.
func TestSEC62_ForgotSameAnswerForUnknown(t *testing.T) {
	e := newMailEnv(t, "", nil)
	addr := e.addr("dave")
	e.signup("dave", "correct horse battery", addr)
	e.want("POST", "/api/v1/signup", map[string]string{"username": "noaddr", "password": "correct horse battery"}, "", 201)
	known := e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "dave"}, "", 202)
	for _, login := range []string{"nobody", e.addr("nobody"), "noaddr", "not an address@@"} {
		got := e.want("POST", "/api/v1/password/forgot", map[string]string{"login": login}, "", 202)
		if !bytes.Equal(got, known) {
			t.Fatalf("forgot %q: got %s, want the known user's answer %s", login, got, known)
		}
	}
	e.mp.Wait(t, addr, 2, 10*time.Second)
	// Every placeholder was taken out of the outbox without a send.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ms, err := e.app.durable.(mail.Store).ClaimMail(context.Background(), time.Now().Add(time.Hour), time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left in the outbox", len(ms))
		}
		for _, m := range ms {
			e.app.durable.(mail.Store).RetryMail(context.Background(), m.ID, time.Now(), "")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.mp.Count(t, e.addr("nobody")); n != 0 {
		t.Fatalf("unknown address: got %d messages, want 0", n)
	}
	if got := e.app.Outbox().Sent(); got != 2 {
		t.Fatalf("messages sent: got %d, want 2 (the known user's verification and reset)", got)
	}
}

// TestSEC62_ForgotThrottled: per login name and per client address.
func TestSEC62_ForgotThrottled(t *testing.T) {
	e := newMailEnv(t, "", nil)
	for i := 0; i < 5; i++ {
		e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "erin"}, "", 202)
	}
	resp, _ := e.call("POST", "/api/v1/password/forgot", map[string]string{"login": "erin"}, "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6th request for one name: got %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Case does not make a new name.
	e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "ERIN"}, "", 429)
	// The client's own limit: 20 in the window, whatever the names, refused
	// ones included (7 used).
	for i := 0; i < 13; i++ {
		e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "user" + string(rune('a'+i))}, "", 202)
	}
	e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "someone-else"}, "", 429)
}

// TestSMTPDownDeliveredLater: with the SMTP server unreachable the
// request answers as always; the message stays in the outbox and is
// delivered once the server is back.
func TestSMTPDownDeliveredLater(t *testing.T) {
	mp := mailpit.FromEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().String()
	ln.Close() // down: connections refused
	e := newMailEnv(t, "smtp://"+port, nil)
	addr := e.addr("frank")
	e.want("POST", "/api/v1/signup", map[string]string{"username": "frank", "password": "correct horse battery"}, "", 201)
	e.want("PUT", "/api/v1/admin/users/frank/email", map[string]string{"email": addr}, "", 401) // admin only
	if err := e.app.EmailService().SetAddress(context.Background(), "frank", addr); err != nil {
		t.Fatal(err)
	}
	e.want("POST", "/api/v1/password/forgot", map[string]string{"login": "frank"}, "", 202)
	time.Sleep(time.Second) // a few failed attempts
	if n := mp.Count(t, addr); n != 0 {
		t.Fatalf("got %d messages while the server was down", n)
	}
	// The server comes back on the same address.
	up, err := net.Listen("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	go forward(&wg, up, mp.SMTP)
	ms := mp.Wait(t, addr, 1, 15*time.Second)
	if ms[0].Subject != "Reset your password" {
		t.Fatalf("got %q", ms[0].Subject)
	}
}

// forward relays every connection accepted on ln to target.
func forward(wg *sync.WaitGroup, ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			s, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer s.Close()
			go io.Copy(s, c)
			io.Copy(c, s)
		}()
	}
}

// TestSEC48_NewDeviceNoticeOncePerDevice: the first device of an account
// is not news; a sign-in from another device sends one notice (time,
// device, IP, the account page), and only one, whatever follows.
func TestSEC48_NewDeviceNoticeOncePerDevice(t *testing.T) {
	e := newMailEnv(t, "", nil)
	addr := e.addr("grace")
	e.signup("grace", "correct horse battery", addr)
	e.mp.Wait(t, addr, 1, 10*time.Second) // the verification mail
	_, d1 := e.login("grace", "correct horse battery", "")
	if len(d1) != 43 {
		t.Fatalf("no device cookie after a browser sign-in: %q", d1)
	}
	e.login("grace", "correct horse battery", d1)
	_, d2 := e.login("grace", "correct horse battery", "")
	if d2 == d1 {
		t.Fatal("a client without the cookie got the same device")
	}
	ms := e.mp.Wait(t, addr, 2, 10*time.Second)
	n := ms[1]
	if n.Subject != "New sign-in to your account" || !strings.Contains(n.Text, "sesame-test/1.0 (email)") ||
		!strings.Contains(n.Text, "127.0.0.1") || !strings.Contains(n.Text, e.url+"/account") || !strings.Contains(n.Text, "UTC") {
		t.Fatalf("notice: %q\n%s", n.Subject, n.Text)
	}
	e.login("grace", "correct horse battery", d2)
	e.login("grace", "correct horse battery", d1)
	e.login("grace", "correct horse battery", "forged-device-cookie") // malformed: a new device
	ms = e.mp.Wait(t, addr, 3, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got := e.mp.Count(t, addr); got != 3 {
		t.Fatalf("got %d messages, want 3 (verification, one notice per new device)", got)
	}
	// The account page lists the three known devices, the browser showing
	// it marked, and no device cookie or hash in the page.
	sess, _ := e.login("grace", "correct horse battery", d1)
	req, _ := http.NewRequest("GET", e.url+"/account", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Cookie", sess+"; __Host-sesame-device="+d1)
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	html := string(page)
	i := strings.Index(html, `<table id="devices"`)
	if i < 0 {
		t.Fatalf("no known devices table on the account page:\n%s", html)
	}
	table := html[i : i+strings.Index(html[i:], "</table>")]
	if rows := strings.Count(table, "<tr"); rows != 4 { // the header and three devices
		t.Fatalf("known devices: %d rows, want a header and 3 devices:\n%s", rows, table)
	}
	if strings.Count(table, "This device") != 1 || strings.Count(table, `<tr class="current">`) != 1 ||
		!strings.Contains(table, "sesame-test/1.0 (email)") {
		t.Fatalf("known devices: the current one is not marked once, or the browser is missing:\n%s", table)
	}
	if strings.Contains(html, d1) || strings.Contains(html, d2) {
		t.Fatal("a device cookie is in the account page")
	}
}
