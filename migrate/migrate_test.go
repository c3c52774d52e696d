package migrate_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/email"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/migrate"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/passkey"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/redis"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/webhook"
)

const (
	publicURL = "https://auth.example.com"
	userPW    = "correct horse battery staple 42"
)

var masterKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))

// need returns the environment variable, or skips (fails under CI=true).
func need(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		msg := name + " is not set: run `eval \"$(bash .ci/services env)\"` to test against the shared services"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freshPostgres creates a database of its own and returns its URL.
func freshPostgres(t *testing.T) string {
	t.Helper()
	base := need(t, "SESAME_TEST_POSTGRES_URL")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	name := "migrate_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// privateRedis starts a redis-server of this test's own and returns its
// URL.
func privateRedis(t *testing.T) string {
	t.Helper()
	bin := need(t, "SESAME_TEST_REDIS_SERVER")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	for i := 0; ; i++ {
		r, err := redis.Open(context.Background(), u, redis.Options{})
		if err == nil {
			r.Close()
			return u
		}
		if i > 100 {
			t.Fatalf("private redis did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testConfig(db, sessions string) *config.Config {
	cfg := config.Default()
	cfg.DB, cfg.Sessions = db, sessions
	cfg.PublicURL = publicURL
	cfg.MasterKey = masterKey
	cfg.Tokens = true
	return cfg
}

func newApp(t *testing.T, cfg *config.Config) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), cfg, app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		app.WithPasswordParams(password.Params{Memory: 64, Time: 1, Threads: 1}))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// call sends one request to the app's handler.
func call(t *testing.T, a *app.App, method, path string, body any, cookies []*http.Cookie, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, publicURL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, req)
	return w
}

// credentials are what a browser and an app hold after signing in on the
// source deployment.
type credentials struct {
	cookies []*http.Cookie
	refresh string
}

// signIn creates a user and signs them in twice through the server: a
// browser session (cookie) and an app (refresh token); a wrong password
// leaves throttle counters.
func signIn(t *testing.T, a *app.App, name string) credentials {
	t.Helper()
	if _, err := a.Accounts().Signup(context.Background(), name, userPW, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Accounts().Users.ChangeGroups(context.Background(), mustUser(t, a, name).ID, sesame.GroupChange{Add: []string{"staff"}}); err != nil {
		t.Fatal(err)
	}
	if w := call(t, a, "POST", "/api/v1/login", map[string]any{"username": name, "password": "wrong password 1"}, nil); w.Code != 401 {
		t.Fatalf("wrong password: %d %s", w.Code, w.Body)
	}
	w := call(t, a, "POST", "/api/v1/login", map[string]any{"username": name, "password": userPW}, nil)
	if w.Code != 200 || len(w.Result().Cookies()) == 0 {
		t.Fatalf("cookie login: %d %s", w.Code, w.Body)
	}
	var cr credentials
	cr.cookies = w.Result().Cookies()
	if w := call(t, a, "GET", "/api/v1/me", nil, cr.cookies); w.Code != 200 {
		t.Fatalf("me on the source: %d", w.Code)
	}
	w = call(t, a, "POST", "/api/v1/login", map[string]any{"username": name, "password": userPW, "transport": "header"}, nil)
	var p struct {
		RefreshToken string `json:"refresh_token"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.RefreshToken == "" {
		t.Fatalf("header login: %d %s", w.Code, w.Body)
	}
	cr.refresh = p.RefreshToken
	return cr
}

func mustID(t *testing.T, s *sqlite.DB, name string) string {
	t.Helper()
	u, err := s.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func mustUser(t *testing.T, a *app.App, name string) *sesame.User {
	t.Helper()
	u, err := a.Durable().UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sourceDeployment is a SQLite deployment with users signed in, an OAuth
// client and a consent; its app is closed (the servers are stopped).
func sourceDeployment(t *testing.T) (db string, creds []credentials) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "sesame.db")
	a := newApp(t, testConfig(db, ""))
	for _, name := range []string{"alice", "bob"} {
		creds = append(creds, signIn(t, a, name))
	}
	ctx := context.Background()
	c := &oauth.Client{ID: "web", Name: "Web", SecretHash: bytes.Repeat([]byte{1}, 32), AuthMethod: "client_secret_basic",
		RedirectURIs: []string{"https://app.example.com/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"openid"}, IDTokenAlg: "RS256", CreatedAt: time.Now().UTC()}
	if err := a.Durable().CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := a.Durable().SaveConsent(ctx, &oauth.Consent{UserID: mustUser(t, a, "alice").ID, ClientID: "web", Scopes: []string{"openid"}, GrantedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	// The webhook outbox: one message pending after two attempts, one
	// dead-lettered.
	ws := a.Durable().(webhook.Store)
	now := time.Now().UTC()
	if err := ws.AddWebhooks(ctx, []*webhook.Message{
		{ID: "msg_pending", URL: "https://hooks.example.com/a", Type: "login.success", Payload: []byte(`{"type":"login.success"}`),
			CreatedAt: now, DueAt: now.Add(time.Hour), Attempts: 2, LastError: "HTTP 503"},
		{ID: "msg_dead", URL: "https://hooks.example.com/b", Type: "logout", Payload: []byte(`{"type":"logout"}`),
			CreatedAt: now.Add(-25 * time.Hour), DueAt: now, Attempts: 36, LastError: "HTTP 500", DeadAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	addAccountState(t, a.Durable(), mustUser(t, a, "alice").ID, mustUser(t, a, "bob").ID)
	addFactorState(t, a.Durable(), mustUser(t, a, "alice").ID, mustUser(t, a, "bob").ID)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return db, creds
}

// Account state besides the user records: a passkey with its user
// handle, email addresses (one verified), email tokens (one live, one
// expired: not copied), a known device and a sealed outbox message.
var (
	liveTokenHash    = bytes.Repeat([]byte{0xa1}, 32)
	expiredTokenHash = bytes.Repeat([]byte{0xa2}, 32)
	deviceHash       = bytes.Repeat([]byte{0xd1}, 32)
)

func addAccountState(t *testing.T, durable any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	ps := durable.(passkey.Store)
	if _, err := ps.PasskeyHandle(ctx, alice, bytes.Repeat([]byte{0x64}, 64)); err != nil {
		t.Fatal(err)
	}
	if err := ps.AddPasskey(ctx, &passkey.Credential{ID: "pk_alice", UserID: alice, CredentialID: []byte("cred-alice"), Name: "laptop",
		CreatedAt: now, LastUsedAt: now, SignCount: 7, BackupEligible: true, Transports: []string{"internal", "hybrid"},
		Data: []byte(`{"publicKey":"AQID"}`)}); err != nil {
		t.Fatal(err)
	}
	es := durable.(email.Store)
	if err := es.SetEmail(ctx, &email.Address{UserID: alice, Email: "Alice@example.com", VerifiedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := es.SetEmail(ctx, &email.Address{UserID: bob, Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := es.PutEmailToken(ctx, &email.Token{Hash: liveTokenHash, UserID: alice, Purpose: email.PurposeReset, Email: "Alice@example.com",
		CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := es.PutEmailToken(ctx, &email.Token{Hash: expiredTokenHash, UserID: bob, Purpose: email.PurposeVerify, Email: "bob@example.com",
		CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := es.SeeDevice(ctx, alice, deviceHash, now, "Firefox/140"); err != nil {
		t.Fatal(err)
	}
	if err := durable.(mail.Store).AddMail(ctx, &mail.Message{ID: "mail_1", Body: []byte("sealed bytes"), CreatedAt: now,
		DueAt: now.Add(time.Minute), Attempts: 3, LastError: "dial tcp: connection refused"}); err != nil {
		t.Fatal(err)
	}
}

// checkAccountState: the target holds the account state as the source
// had it, and a server on it finds it.
func checkAccountState(t *testing.T, durable any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	ps := durable.(passkey.Store)
	if id, err := ps.PasskeyUserByHandle(ctx, bytes.Repeat([]byte{0x64}, 64)); err != nil || id != alice {
		t.Errorf("passkey handle on the target: %q %v", id, err)
	}
	pks, err := ps.Passkeys(ctx, alice)
	if err != nil || len(pks) != 1 || pks[0].ID != "pk_alice" || pks[0].SignCount != 7 || string(pks[0].CredentialID) != "cred-alice" ||
		len(pks[0].Transports) != 2 || string(pks[0].Data) != `{"publicKey":"AQID"}` || !pks[0].BackupEligible {
		t.Errorf("passkeys on the target: %+v %v", pks, err)
	}
	es := durable.(email.Store)
	if a, err := es.EmailOf(ctx, alice); err != nil || a.Email != "Alice@example.com" || !a.Verified() {
		t.Errorf("alice's address on the target: %+v %v", a, err)
	}
	if id, err := es.UserIDByEmail(ctx, email.Key("bob@EXAMPLE.com")); err != nil || id != bob {
		t.Errorf("bob by address on the target: %q %v", id, err)
	}
	if _, err := es.TakeEmailToken(ctx, expiredTokenHash, email.PurposeVerify, time.Now()); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("the expired token on the target: %v, want not found", err)
	}
	if ds, err := es.Devices(ctx, alice); err != nil || len(ds) != 1 || ds[0].UserAgent != "Firefox/140" || ds[0].LastSeen.IsZero() {
		t.Errorf("alice's devices on the target: %+v %v", ds, err)
	}
	if isNew, known, err := es.SeeDevice(ctx, alice, deviceHash, time.Now(), "Firefox/141"); err != nil || isNew || known != 1 {
		t.Errorf("alice's device on the target: new %v, known %d, %v", isNew, known, err)
	}
	ms, err := durable.(mail.Store).ClaimMail(ctx, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour), 10)
	if err != nil || len(ms) != 1 || ms[0].ID != "mail_1" || string(ms[0].Body) != "sealed bytes" || ms[0].Attempts != 4 {
		t.Errorf("mail outbox on the target: %+v %v", ms, err)
	}
}

// checkWebhooks: the target holds the source's webhook outbox as it was.
func checkWebhooks(t *testing.T, d webhook.Store) {
	t.Helper()
	ctx := context.Background()
	pending, err := d.ListWebhooks(ctx, false, "", 10)
	if err != nil || len(pending) != 1 || pending[0].ID != "msg_pending" || pending[0].Attempts != 2 || pending[0].LastError != "HTTP 503" ||
		string(pending[0].Payload) != `{"type":"login.success"}` {
		t.Errorf("pending webhooks on the target: %+v %v", pending, err)
	}
	dead, err := d.ListWebhooks(ctx, true, "", 10)
	if err != nil || len(dead) != 1 || dead[0].ID != "msg_dead" || dead[0].DeadAt.IsZero() || dead[0].Attempts != 36 {
		t.Errorf("dead webhooks on the target: %+v %v", dead, err)
	}
}

func openSQLite(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T, u string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openRedis(t *testing.T, u string) *redis.Store {
	t.Helper()
	r, err := redis.Open(context.Background(), u, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func written(rep *migrate.Report) int {
	n := 0
	for _, k := range rep.Kinds {
		n += k.Copied + k.Updated + k.Deleted
	}
	return n
}

func kindReport(rep *migrate.Report, name string) migrate.KindReport {
	for _, k := range rep.Kinds {
		if k.Kind == name {
			return k
		}
	}
	return migrate.KindReport{}
}

// checkTarget starts a server on the target and checks that the source's
// cookies and refresh tokens work there.
func checkTarget(t *testing.T, cfg *config.Config, creds []credentials) {
	t.Helper()
	a := newApp(t, cfg)
	for i, c := range creds {
		if w := call(t, a, "GET", "/api/v1/me", nil, c.cookies); w.Code != 200 {
			t.Errorf("user %d: the source's session cookie on the target: %d %s", i, w.Code, w.Body)
		}
		if w := call(t, a, "POST", "/api/v1/token/refresh", map[string]string{"refresh_token": c.refresh}, nil); w.Code != 200 {
			t.Errorf("user %d: the source's refresh token on the target: %d %s", i, w.Code, w.Body)
		}
	}
	u := mustUser(t, a, "alice")
	if len(u.Groups) != 1 || u.Groups[0] != "staff" || u.PasswordHash == "" {
		t.Errorf("alice on the target: %+v", u)
	}
	if _, err := a.Accounts().Login(context.Background(), account.LoginRequest{Username: "alice", Password: userPW}); err != nil {
		t.Errorf("alice's password on the target: %v", err)
	}
}

func runTwice(t *testing.T, cfg migrate.Config) {
	t.Helper()
	ctx := context.Background()
	rep, err := migrate.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, k := range []string{"users", "signing keys", "sessions", "refresh tokens", "oauth clients", "oauth consents", "throttle counters", "webhook outbox",
		"passkey user handles", "passkeys", "email addresses", "email tokens", "known devices", "mail outbox",
		"second factors", "recovery codes", "factor requirements"} {
		if kr := kindReport(rep, k); kr.Copied == 0 || kr.Copied != kr.Source {
			t.Errorf("%s: %+v, want every source record copied", k, kr)
		}
	}
	again, err := migrate.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if n := written(again); n != 0 || again.Writes != 0 {
		t.Fatalf("the second run wrote %d records (%+v), want none", n, again.Kinds)
	}
	for i, k := range again.Kinds {
		if k.Digest == "" || k.Digest != rep.Kinds[i].Digest {
			t.Errorf("%s: digest %q, first run %q", k.Kind, k.Digest, rep.Kinds[i].Digest)
		}
	}
	if kr := kindReport(rep, "email tokens"); kr.Source != 1 {
		t.Errorf("email tokens: %+v, want only the live one", kr)
	}
}

// sourceChangesAccounts changes the source's account state after a first
// copy: the reset token is used, the passkey removed, the mail sent, bob's
// address removed. A second run mirrors each change.
func sourceChangesAccounts(t *testing.T, cfg migrate.Config, s, d any, alice, bob string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.(email.Store).TakeEmailToken(ctx, liveTokenHash, email.PurposeReset, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.(passkey.Store).DeletePasskey(ctx, alice, "pk_alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.(mail.Store).DeleteMail(ctx, "mail_1"); err != nil {
		t.Fatal(err)
	}
	if err := s.(email.Store).SetEmail(ctx, &email.Address{UserID: bob}); err != nil {
		t.Fatal(err)
	}
	changeFactorState(t, s, alice, bob)
	rep, err := migrate.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("migrate after the source changed: %v", err)
	}
	checkFactorChanges(t, rep, d, alice, bob)
	for _, k := range []string{"email tokens", "passkeys", "mail outbox", "email addresses"} {
		if kr := kindReport(rep, k); kr.Deleted != 1 {
			t.Errorf("%s: %+v, want the one removed in the source deleted in the target", k, kr)
		}
	}
	if _, err := d.(email.Store).TakeEmailToken(ctx, liveTokenHash, email.PurposeReset, time.Now()); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("a reset token used in the source still works in the target: %v", err)
	}
	if pks, err := d.(passkey.Store).Passkeys(ctx, alice); err != nil || len(pks) != 0 {
		t.Errorf("a passkey removed in the source is in the target: %+v %v", pks, err)
	}
	if _, err := d.(email.Store).EmailOf(ctx, bob); !errors.Is(err, sesame.ErrNotFound) {
		t.Errorf("bob's removed address in the target: %v", err)
	}
}

// SQLite → PostgreSQL: a server on the target accepts the source's
// cookies and refresh tokens; a second run copies nothing.
func TestSQLiteToPostgres(t *testing.T) {
	pgURL := freshPostgres(t)
	src, creds := sourceDeployment(t)
	s, d := openSQLite(t, src), openPostgres(t, pgURL)
	var progress bytes.Buffer
	runTwice(t, migrate.Config{From: migrate.Deployment{Durable: s, State: s}, To: migrate.Deployment{Durable: d, State: d},
		Sessions: app.SessionsIdentity(""), Observe: 100 * time.Millisecond, Progress: &progress})
	if !strings.Contains(progress.String(), "sessions: 4 in the source") {
		t.Errorf("progress: %s", progress.String())
	}
	checkWebhooks(t, d)
	alice, bob := mustID(t, s, "alice"), mustID(t, s, "bob")
	checkAccountState(t, d, alice, bob)
	checkFactorState(t, d, alice, bob)
	// A tampered outbox message in the target fails the verification
	// (the checksum covers the new kinds).
	if err := d.PutMail(context.Background(), &mail.Message{ID: "mail_1", Body: []byte("other bytes"), CreatedAt: time.Now().UTC(),
		DueAt: time.Now().UTC(), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	var me *migrate.MismatchError
	cfg := migrate.Config{From: migrate.Deployment{Durable: s, State: s}, To: migrate.Deployment{Durable: d, State: d},
		Sessions: app.SessionsIdentity(""), Observe: -1}
	if rep, err := migrate.Run(context.Background(), cfg); err != nil || kindReport(rep, "mail outbox").Updated != 1 {
		t.Fatalf("a changed outbox message is copied again: %v %+v", err, rep)
	}
	if err := d.PutDevice(context.Background(), &email.Device{UserID: alice, Hash: deviceHash, FirstSeen: time.Unix(1, 0).UTC()}); err != nil {
		t.Fatal(err)
	}
	if err := d.PutPasskey(context.Background(), &passkey.Credential{ID: "pk_alice", UserID: alice, CredentialID: []byte("cred-alice"),
		Name: "laptop", SignCount: 99, CreatedAt: time.Now().UTC(), LastUsedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	rep, err := migrate.Run(context.Background(), cfg)
	if !errors.As(err, &me) || len(me.Kinds) != 1 || !strings.HasPrefix(me.Kinds[0], "passkeys") {
		t.Fatalf("got %v, want a mismatch in passkeys (the target's, with a higher sign count, is kept)", err)
	}
	if kr := kindReport(rep, "known devices"); kr.Updated != 1 {
		t.Fatalf("known devices: %+v, want the changed one copied again", kr)
	}
	if err := d.RemovePasskey(context.Background(), "pk_alice"); err != nil {
		t.Fatal(err)
	}
	if rep, err := migrate.Run(context.Background(), cfg); err != nil || kindReport(rep, "passkeys").Copied != 1 {
		t.Fatalf("repair run: %v %+v", err, rep)
	}
	sourceChangesAccounts(t, cfg, s, d, alice, bob)
	s.Close()
	d.Close()
	checkTarget(t, testConfig(pgURL, ""), creds)
}

// SQLite → PostgreSQL + Redis.
func TestSQLiteToPostgresRedis(t *testing.T) {
	pgURL, redisURL := freshPostgres(t), privateRedis(t)
	src, creds := sourceDeployment(t)
	s, d, r := openSQLite(t, src), openPostgres(t, pgURL), openRedis(t, redisURL)
	runTwice(t, migrate.Config{From: migrate.Deployment{Durable: s, State: s}, To: migrate.Deployment{Durable: d, State: r},
		Sessions: app.SessionsIdentity(redisURL), Observe: -1})
	// The feed continues past the source's: a reader that followed the
	// source finds its position in a gap.
	pos, _ := s.FeedPosition(context.Background())
	_, oldest, err := r.Changes(context.Background(), pos, 10)
	if err != nil || oldest <= pos+1 {
		t.Errorf("target feed: oldest %d, source position %d (%v): want a gap", oldest, pos, err)
	}
	checkWebhooks(t, d)
	checkAccountState(t, d, mustID(t, s, "alice"), mustID(t, s, "bob"))
	checkFactorState(t, d, mustID(t, s, "alice"), mustID(t, s, "bob"))
	s.Close()
	d.Close()
	checkTarget(t, testConfig(pgURL, redisURL), creds)
}

// A copy that fails after some records is finished by running again, and
// the result verifies.
func TestResumeAfterFailure(t *testing.T) {
	src, creds := sourceDeployment(t)
	s := openSQLite(t, src)
	addSessions(t, s, 300)
	dst := filepath.Join(t.TempDir(), "target.db")
	d := openSQLite(t, dst)
	cfg := migrate.Config{From: migrate.Deployment{Durable: s, State: s}, To: migrate.Deployment{Durable: d, State: d},
		Sessions: "database", Observe: -1}
	failing := cfg
	migrate.FailAfter(&failing, 150)
	if _, err := migrate.Run(context.Background(), failing); !errors.Is(err, migrate.ErrInjected) {
		t.Fatalf("got %v, want the injected failure", err)
	}
	if ids, _ := d.Deployment(context.Background()); len(ids) != 0 {
		t.Fatalf("an interrupted copy recorded the identity: %v", ids)
	}
	rep, err := migrate.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	kr := kindReport(rep, "sessions")
	if kr.Unchanged == 0 || kr.Copied == 0 || kr.Unchanged+kr.Copied != kr.Source || kr.Source != 304 {
		t.Fatalf("resumed sessions: %+v", kr)
	}
	s.Close()
	d.Close()
	checkTarget(t, testConfig(dst, ""), creds)
}

// addSessions adds n sessions of a user to the store directly.
func addSessions(t *testing.T, s *sqlite.DB, n int) {
	t.Helper()
	now := time.Now().UTC()
	u, err := s.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var h [32]byte
		rand.Read(h[:])
		if err := s.Create(context.Background(), &sesame.Session{ID: fmt.Sprintf("bulk-%04d-%s", i, randomHex(4)), UserID: u.ID, TokenHash: h,
			CreatedAt: now, LastSeen: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(24 * time.Hour), AuthTime: now, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

// A source being written during the observation is refused; a SQLite
// source whose write lock another process holds is refused.
func TestRefusesWhileSourceWritten(t *testing.T) {
	src, _ := sourceDeployment(t)
	s := openSQLite(t, src)
	d := openSQLite(t, filepath.Join(t.TempDir(), "target.db"))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				addSessions(t, s, 1)
			}
		}
	}()
	_, err := migrate.Run(context.Background(), migrate.Config{From: migrate.Deployment{Durable: s, State: s},
		To: migrate.Deployment{Durable: d, State: d}, Sessions: "database", Observe: 300 * time.Millisecond})
	close(stop)
	<-done
	if !errors.Is(err, migrate.ErrSourceActive) {
		t.Fatalf("got %v, want ErrSourceActive", err)
	}
	if n, _ := count(d); n != 0 {
		t.Fatalf("a refused migration copied %d sessions", n)
	}
	// Another process's write transaction: the lock is refused at once.
	other, err := s.SQL().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`DELETE FROM throttle WHERE key = 'none'`); err != nil {
		t.Fatal(err)
	}
	if release, err := s.LockWrites(context.Background()); err == nil {
		release()
		t.Fatal("LockWrites succeeded while another transaction held the write lock")
	}
	other.Rollback()
	release, err := s.LockWrites(context.Background())
	if err != nil {
		t.Fatalf("LockWrites on an idle database: %v", err)
	}
	release()
}

func count(d *sqlite.DB) (int, error) {
	n := 0
	err := d.ExportSessions(context.Background(), func(*sesame.Session) error { n++; return nil })
	return n, err
}

// A target record that differs from the source (here a user changed in
// the target after the copy, so newer) fails the verification.
func TestMismatchDetected(t *testing.T) {
	src, _ := sourceDeployment(t)
	s := openSQLite(t, src)
	d := openSQLite(t, filepath.Join(t.TempDir(), "target.db"))
	cfg := migrate.Config{From: migrate.Deployment{Durable: s, State: s}, To: migrate.Deployment{Durable: d, State: d},
		Sessions: "database", Observe: -1}
	if _, err := migrate.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	u, err := d.UserByName(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	u.Blocked, u.UpdatedAt = true, u.UpdatedAt.Add(time.Minute)
	if err := d.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	rep, err := migrate.Run(context.Background(), cfg)
	var me *migrate.MismatchError
	if !errors.As(err, &me) || len(me.Kinds) != 1 || !strings.HasPrefix(me.Kinds[0], "users") {
		t.Fatalf("got %v, want a mismatch in users", err)
	}
	if kr := kindReport(rep, "users"); kr.Newer != 1 {
		t.Fatalf("users: %+v, want the target's newer record left", kr)
	}
}
