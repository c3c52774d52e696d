package oauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
)

// The back-channel tests name their helpers bc* so as not to collide with
// the other tests of the package.

const bcIssuer = "https://sso.example.test"

// bcFastTuning retries after 20 ms and polls every 50 ms.
var bcFastTuning = oauth.BackchannelTuning{
	Poll:           50 * time.Millisecond,
	Lease:          5 * time.Second,
	MinBackoff:     20 * time.Millisecond,
	MaxBackoff:     100 * time.Millisecond,
	GiveUp:         time.Hour,
	Workers:        8,
	FeedPage:       3, // several pages per catch-up
	TargetPage:     2,
	RequestTimeout: 30 * time.Second,
	CursorEvery:    time.Minute,
}

// bcKeys is an oauth.Keys with one RS256 and one ES256 key.
type bcKeys struct {
	set  *jose.KeySet
	byAl map[jose.Algorithm]*jose.Key
	algs []jose.Algorithm
}

func newBCKeys(t testing.TB, algs ...jose.Algorithm) *bcKeys {
	t.Helper()
	k := &bcKeys{byAl: map[jose.Algorithm]*jose.Key{}, algs: algs}
	var keys []*jose.Key
	for _, alg := range algs {
		key, err := jose.GenerateKey(alg, "")
		if err != nil {
			t.Fatal(err)
		}
		k.byAl[alg] = key
		keys = append(keys, key)
	}
	set, err := jose.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	k.set = set
	return k
}

func (k *bcKeys) SigningKeyFor(alg jose.Algorithm) *jose.Key { return k.byAl[alg] }
func (k *bcKeys) Algorithms() []jose.Algorithm               { return k.algs }
func (k *bcKeys) ResolveKey(kid string) (*jose.Key, error)   { return k.set.ResolveKey(kid) }
func (k *bcKeys) JWKS() []byte {
	b, err := k.set.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b
}

// bcSessionStore is the memstore with a switch that makes ByID fail, as a
// session store outage would.
type bcSessionStore struct {
	*memstore.Store
	down     atomic.Bool
	byIDDown atomic.Int64 // ByID calls refused
}

func (s *bcSessionStore) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	if s.down.Load() {
		s.byIDDown.Add(1)
		return nil, errors.New("connection refused")
	}
	return s.Store.ByID(ctx, id)
}

// bcStore is memstore's oauth.Store with a switch that makes the outbox
// and cursor methods fail as a store outage would, and a mirror of the
// outbox for the tests to look at.
type bcStore struct {
	oauth.Store
	down atomic.Bool

	mu      sync.Mutex
	targets map[[2]string]string // (session, client) → last error
	marked  int                  // targets made due
}

func newBCStore() *bcStore {
	return &bcStore{Store: memstore.New(), targets: map[[2]string]string{}}
}

var errBCDown = errors.New("bcstore: database is locked")

func (s *bcStore) check() error {
	if s.down.Load() {
		return errBCDown
	}
	return nil
}

func (s *bcStore) AddLogoutTarget(ctx context.Context, t *oauth.LogoutTarget) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Store.AddLogoutTarget(ctx, t); err != nil {
		return err
	}
	if _, ok := s.targets[[2]string{t.SessionID, t.ClientID}]; !ok {
		s.targets[[2]string{t.SessionID, t.ClientID}] = ""
	}
	return nil
}

func (s *bcStore) SessionsEnded(ctx context.Context, ids []string, at time.Time) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	n, err := s.Store.SessionsEnded(ctx, ids, at)
	s.mu.Lock()
	s.marked += n
	s.mu.Unlock()
	return n, err
}

func (s *bcStore) ClaimLogouts(ctx context.Context, now, until time.Time, limit int) ([]*oauth.LogoutTarget, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.Store.ClaimLogouts(ctx, now, until, limit)
}

func (s *bcStore) RetryLogout(ctx context.Context, sid, cid string, due time.Time, lastError string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Store.RetryLogout(ctx, sid, cid, due, lastError); err != nil {
		return err
	}
	s.targets[[2]string{sid, cid}] = lastError
	return nil
}

func (s *bcStore) DeleteLogout(ctx context.Context, sid, cid string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Store.DeleteLogout(ctx, sid, cid); err != nil {
		return err
	}
	delete(s.targets, [2]string{sid, cid})
	return nil
}

func (s *bcStore) LogoutTargets(ctx context.Context, after string, limit int) ([]*oauth.LogoutTarget, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.Store.LogoutTargets(ctx, after, limit)
}

func (s *bcStore) Cursor(ctx context.Context, name string) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	return s.Store.Cursor(ctx, name)
}

func (s *bcStore) SetCursor(ctx context.Context, name string, pos int64) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.SetCursor(ctx, name, pos)
}

// count is how many targets the outbox holds.
func (s *bcStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.targets)
}

// lastError is the failure recorded for a target ("" for none or gone).
func (s *bcStore) lastError(sid, cid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.targets[[2]string{sid, cid}]
}

// due is how many targets were made due.
func (s *bcStore) due() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marked
}

// bcWorld is a provider over a memstore session manager and an OAuth store.
type bcWorld struct {
	t        *testing.T
	sessions *bcSessionStore
	mgr      *session.Manager
	store    *bcStore
	keys     *bcKeys
	p        *oauth.Provider
	events   chan sesame.Event
	logs     *bcLog
}

type bcLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *bcLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *bcLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newBCWorld(t *testing.T, sessionClock sesame.Clock, clients ...*oauth.Client) *bcWorld {
	t.Helper()
	w := &bcWorld{t: t, sessions: &bcSessionStore{Store: memstore.New()}, events: make(chan sesame.Event, 100), logs: &bcLog{}}
	mgr, err := session.New(w.sessions, session.Config{Clock: sessionClock, SyncInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.mgr = mgr
	w.store = newBCStore()
	for _, c := range clients {
		if err := w.store.CreateClient(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := oauth.NewRegistry(nil, w.store)
	if err != nil {
		t.Fatal(err)
	}
	w.keys = newBCKeys(t, jose.RS256, jose.ES256)
	w.p = oauth.NewBackchannelTestProvider(oauth.Config{
		Issuer:     bcIssuer,
		Registry:   reg,
		Store:      w.store,
		Sessions:   mgr,
		Keys:       w.keys,
		Clock:      sesame.SystemClock{},
		Events:     sesame.EventFunc(func(_ context.Context, e sesame.Event) { w.events <- e }),
		Logger:     slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	})
	return w
}

// start runs the dispatcher until the test ends.
func (w *bcWorld) start(tu oauth.BackchannelTuning) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.p.RunBackchannel(ctx, tu); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	w.t.Cleanup(stop)
	return stop
}

// login starts a token session for the user and records the client as a
// logout target of it, as the token endpoint does.
func (w *bcWorld) login(userID string, clients ...*oauth.Client) string {
	w.t.Helper()
	s, err := w.mgr.StartTokenSession(context.Background(), userID, session.LoginOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range clients {
		if err := w.p.TrackSession(context.Background(), c, s.ID, userID); err != nil {
			w.t.Fatal(err)
		}
	}
	return s.ID
}

func (w *bcWorld) revoke(sid string) {
	w.t.Helper()
	if _, err := w.mgr.Revoke(context.Background(), sid, "logout"); err != nil {
		w.t.Fatal(err)
	}
}

// bcRP is a relying party's back-channel logout endpoint. It records the
// logout tokens it is sent and answers with the status answer returns.
type bcRP struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []string
	calls  int
	got    chan string
	answer func(call int) int
	hold   chan struct{} // when set, every request waits for it to close
}

func newBCRP(t *testing.T, answer func(call int) int) *bcRP {
	rp := &bcRP{got: make(chan string, 100), answer: answer}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rp.hold != nil {
			<-rp.hold
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err != nil || len(r.PostForm) != 1 || len(r.PostForm["logout_token"]) != 1 {
			http.Error(w, "want exactly logout_token", http.StatusBadRequest)
			return
		}
		tok := r.PostForm.Get("logout_token")
		rp.mu.Lock()
		rp.calls++
		call := rp.calls
		rp.tokens = append(rp.tokens, tok)
		rp.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			status = answer(call)
		}
		w.WriteHeader(status)
		if status < 300 {
			rp.got <- tok
		}
	}))
	t.Cleanup(func() {
		if rp.hold != nil {
			select {
			case <-rp.hold:
			default:
				close(rp.hold)
			}
		}
		rp.srv.Close()
	})
	return rp
}

func (rp *bcRP) callCount() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.calls
}

// bcWait is how long a test waits for a notice before failing: a bound
// on a broken dispatcher, not a timing assertion.
const bcWait = 10 * time.Second

// accepted waits for the next logout token the RP accepted.
func (rp *bcRP) accepted(t *testing.T, what string) string {
	t.Helper()
	select {
	case tok := <-rp.got:
		return tok
	case <-time.After(bcWait):
		t.Fatalf("%s: no back-channel logout notice within %v", what, bcWait)
		return ""
	}
}

// none fails if the RP accepts a notice within d.
func (rp *bcRP) none(t *testing.T, d time.Duration, what string) {
	t.Helper()
	select {
	case tok := <-rp.got:
		c := bcClaimsUnverified(t, tok)
		t.Fatalf("%s: got a notice for sid %v, want none", what, c["sid"])
	case <-time.After(d):
	}
}

func bcClient(id, uri string) *oauth.Client {
	return &oauth.Client{ID: id, Name: id, RedirectURIs: []string{"https://" + id + ".example.test/cb"}, BackchannelLogoutURI: uri}
}

// bcVerify verifies tok as the RP does (Back-Channel Logout §2.6) with the
// provider's published JWKS, and returns its claims.
func bcVerify(t *testing.T, w *bcWorld, tok, clientID string) map[string]any {
	t.Helper()
	set, err := jose.ParseJWKS(w.keys.JWKS())
	if err != nil {
		t.Fatalf("parse JWKS: %v", err)
	}
	v := &jose.Verifier{
		Keys:     set,
		Issuer:   bcIssuer,
		Audience: []string{clientID},
		Type:     "logout+jwt",
		Required: []string{"iat", "jti", "sub", "sid", "events"},
	}
	var c map[string]any
	if err := v.Verify(tok, &c); err != nil {
		t.Fatalf("logout token does not verify with the JWKS: %v", err)
	}
	if _, ok := c["nonce"]; ok {
		t.Errorf("logout token has a nonce; Back-Channel Logout §2.4 forbids it")
	}
	ev, ok := c["events"].(map[string]any)
	if !ok || len(ev) != 1 {
		t.Fatalf("events: got %v, want one member", c["events"])
	}
	if m, ok := ev[oauth.BackchannelLogoutEvent].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("events[%q]: got %v, want {}", oauth.BackchannelLogoutEvent, ev[oauth.BackchannelLogoutEvent])
	}
	exp, _ := c["exp"].(float64)
	iat, _ := c["iat"].(float64)
	if exp-iat != oauth.LogoutTokenTTL.Seconds() {
		t.Errorf("exp - iat: got %v s, want %v", exp-iat, oauth.LogoutTokenTTL.Seconds())
	}
	return c
}

// bcClaimsUnverified decodes a token's claims without verifying it (for
// messages).
func bcClaimsUnverified(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func bcHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// bcPending reports the logout targets still in the store.
func bcPending(t *testing.T, s *bcStore) int {
	t.Helper()
	return s.count()
}

func bcEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bcWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, bcWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBackchannelLogoutDelivered: a session ends by logout; each client that
// got tokens for it receives a logout token that verifies with the JWKS,
// signed with the client's ID-token algorithm, typ logout+jwt, with iss,
// aud (the client), iat, exp, jti, sub, sid, events and no nonce; the
// outbox is then empty.
func TestBackchannelLogoutDelivered(t *testing.T) {
	rpA, rpB := newBCRP(t, nil), newBCRP(t, func(int) int { return http.StatusNoContent })
	a := bcClient("app-a", rpA.srv.URL+"/bcl")
	b := bcClient("app-b", rpB.srv.URL+"/bcl")
	b.IDTokenAlg = jose.ES256
	other := bcClient("app-c", "") // no back-channel URI: nothing recorded
	w := newBCWorld(t, nil, a, b, other)
	w.start(bcFastTuning)

	sid := w.login("user-1", a.WithDefaults(), b.WithDefaults(), other.WithDefaults())
	if n := bcPending(t, w.store); n != 2 {
		t.Fatalf("logout targets after the code exchange: got %d, want 2 (the client without a URI has none)", n)
	}
	bystander := w.login("user-1", a.WithDefaults())
	w.revoke(sid)

	for _, tc := range []struct {
		rp     *bcRP
		client string
		alg    string
	}{{rpA, "app-a", "RS256"}, {rpB, "app-b", "ES256"}} {
		tok := tc.rp.accepted(t, tc.client)
		h := bcHeader(t, tok)
		if h["typ"] != "logout+jwt" || h["alg"] != tc.alg {
			t.Errorf("%s: header typ %v alg %v, want logout+jwt %s", tc.client, h["typ"], h["alg"], tc.alg)
		}
		c := bcVerify(t, w, tok, tc.client)
		if c["sid"] != sid || c["sub"] != "user-1" || c["iss"] != bcIssuer || c["aud"] != tc.client {
			t.Errorf("%s: claims sid %v sub %v iss %v aud %v; want %s user-1 %s %s", tc.client, c["sid"], c["sub"], c["iss"], c["aud"], sid, bcIssuer, tc.client)
		}
		if j, _ := c["jti"].(string); len(j) < 16 {
			t.Errorf("%s: jti %q, want a random one", tc.client, j)
		}
	}
	bcEventually(t, "the outbox keeps only the live session's target", func() bool { return bcPending(t, w.store) == 1 })
	rpA.none(t, 200*time.Millisecond, "the live session")
	_ = bystander
}

// TestBackchannelRetriesUntilAccepted: an RP that answers 500 then 503
// gets the notice again, with backoff, and the third attempt delivers it.
// The failure is recorded in the outbox meanwhile.
func TestBackchannelRetriesUntilAccepted(t *testing.T) {
	rp := newBCRP(t, func(call int) int {
		switch call {
		case 1:
			return http.StatusInternalServerError
		case 2:
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	tu := bcFastTuning
	tu.MinBackoff = 300 * time.Millisecond // long enough to see the recorded failure
	w.start(tu)
	sid := w.login("user-1", c.WithDefaults())
	w.revoke(sid)

	bcEventually(t, "first failure recorded", func() bool {
		return w.store.lastError(sid, "app") == "answered HTTP 500"
	})
	tok := rp.accepted(t, "after two failures")
	if got := bcVerify(t, w, tok, "app")["sid"]; got != sid {
		t.Errorf("sid: got %v, want %s", got, sid)
	}
	if n := rp.callCount(); n != 3 {
		t.Errorf("RP calls: got %d, want 3", n)
	}
	bcEventually(t, "outbox empty", func() bool { return bcPending(t, w.store) == 0 })
}

// TestBackchannelSlowRPDoesNotDelayOthers: one RP hangs; the other RP of
// the same session gets its notice while the first is still hanging.
func TestBackchannelSlowRPDoesNotDelayOthers(t *testing.T) {
	slow := newBCRP(t, nil)
	slow.hold = make(chan struct{})
	fast := newBCRP(t, nil)
	cs := bcClient("slow", slow.srv.URL)
	cf := bcClient("fast", fast.srv.URL)
	w := newBCWorld(t, nil, cs, cf)
	w.start(bcFastTuning)
	// Several sessions, so that the slow RP holds several workers.
	var sids []string
	for i := range 5 {
		sids = append(sids, w.login(fmt.Sprintf("user-%d", i), cs.WithDefaults(), cf.WithDefaults()))
	}
	for _, sid := range sids {
		w.revoke(sid)
	}
	seen := map[string]bool{}
	for range sids {
		seen[bcVerify(t, w, fast.accepted(t, "the fast RP while the slow one hangs"), "fast")["sid"].(string)] = true
	}
	if len(seen) != len(sids) {
		t.Errorf("fast RP: got notices for %d sessions, want %d", len(seen), len(sids))
	}
	select {
	case <-slow.got:
		t.Fatal("the slow RP answered while held")
	default:
	}
	close(slow.hold)
	for range sids {
		slow.accepted(t, "the slow RP once released")
	}
}

// TestBackchannelExpiry: a session removed by the expiry sweep (a
// revocation in the feed, made by the store's cleanup, not by this
// manager) gets its notice.
func TestBackchannelExpiry(t *testing.T) {
	rp := newBCRP(t, nil)
	c := bcClient("app", rp.srv.URL)
	clock := testclock.New(time.Now())
	w := newBCWorld(t, clock, c)
	w.start(bcFastTuning)
	sid := w.login("user-1", c.WithDefaults())
	clock.Add(w.mgr.Config().Lifetime + time.Minute)
	n, err := w.sessions.DeleteExpired(context.Background(), clock.Now(), 100*time.Hour, 100)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired: got %d, %v; want 1 session removed", n, err)
	}
	if got := bcVerify(t, w, rp.accepted(t, "expired session"), "app")["sid"]; got != sid {
		t.Errorf("sid: got %v, want %s", got, sid)
	}
}

// TestBackchannelRevokeUser: "sign out everywhere" ends several sessions
// at once; each gets its own notice; the session kept gets none.
func TestBackchannelRevokeUser(t *testing.T) {
	rp := newBCRP(t, nil)
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	w.start(bcFastTuning)
	var want []string
	for range 4 {
		want = append(want, w.login("user-1", c.WithDefaults()))
	}
	keep := w.login("user-1", c.WithDefaults())
	other := w.login("user-2", c.WithDefaults())
	ids, err := w.mgr.RevokeUser(context.Background(), "user-1", keep, "sign out other devices")
	if err != nil || len(ids) != 4 {
		t.Fatalf("RevokeUser: got %v, %v", ids, err)
	}
	var got []string
	for range want {
		got = append(got, bcVerify(t, w, rp.accepted(t, "revoke-user"), "app")["sid"].(string))
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notified sessions: got %v, want %v", got, want)
	}
	rp.none(t, 300*time.Millisecond, "the kept session and another user's")
	_ = other
}

// TestBackchannelFeedGoneReconciles: the stored position is not one of the
// feed (the session store was reset). The dispatcher checks every pending
// target's session: during a session store outage it marks nothing (an
// unanswered lookup is not an ended session); once the store answers it
// notifies only the sessions that are gone, never a live one, and then
// follows the feed from its start.
func TestBackchannelFeedGoneReconciles(t *testing.T) {
	rp := newBCRP(t, nil)
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	ctx := context.Background()
	live := w.login("user-1", c.WithDefaults())
	// Sessions the reset store lost: targets without a session.
	for _, sid := range []string{"lost-1", "lost-2", "lost-3"} {
		if err := w.p.TrackSession(ctx, c.WithDefaults(), sid, "user-9"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.store.SetCursor(ctx, oauth.BackchannelCursor, 1_000_000); err != nil {
		t.Fatal(err)
	}
	w.sessions.down.Store(true)
	w.start(bcFastTuning)
	bcEventually(t, "a lookup refused by the outage", func() bool { return w.sessions.byIDDown.Load() >= 3 })
	rp.none(t, 200*time.Millisecond, "during the session store outage")
	if n := w.store.due(); n != 0 {
		t.Fatalf("targets made due during the outage: got %d, want 0", n)
	}

	w.sessions.down.Store(false)
	got := map[string]bool{}
	for range 3 {
		got[bcVerify(t, w, rp.accepted(t, "reconciliation"), "app")["sid"].(string)] = true
	}
	if !got["lost-1"] || !got["lost-2"] || !got["lost-3"] {
		t.Errorf("notified: got %v, want lost-1..3", got)
	}
	rp.none(t, 200*time.Millisecond, "the live session")
	bcEventually(t, "position restarted on the feed", func() bool {
		pos, _ := w.store.Cursor(ctx, oauth.BackchannelCursor)
		return pos < 1_000_000
	})
	// The feed is followed again.
	w.revoke(live)
	if got := bcVerify(t, w, rp.accepted(t, "after reconciliation"), "app")["sid"]; got != live {
		t.Errorf("sid: got %v, want %s", got, live)
	}
}

// TestBackchannelOAuthStoreOutage: while the OAuth store fails, nothing is
// lost: the revocation is marked and delivered once it answers again, and
// the position is not stored past an unmarked revocation.
func TestBackchannelOAuthStoreOutage(t *testing.T) {
	rp := newBCRP(t, nil)
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	sid := w.login("user-1", c.WithDefaults())
	bs := w.store
	bs.down.Store(true)
	w.start(bcFastTuning)
	w.revoke(sid)
	rp.none(t, 300*time.Millisecond, "during the store outage")
	bs.down.Store(false)
	if got := bcVerify(t, w, rp.accepted(t, "after the outage"), "app")["sid"]; got != sid {
		t.Errorf("sid: got %v, want %s", got, sid)
	}
}

// TestBackchannelRestartKeepsPending: a notice the RP refused before the
// dispatcher stopped is delivered by the next run (the outbox is durable;
// cmd/sesame's TestBackchannelLogoutSurvivesRestart does it with SIGKILL).
// A revocation made while no dispatcher ran is found from the stored
// position.
func TestBackchannelRestartKeepsPending(t *testing.T) {
	var healthy atomic.Bool
	rp := newBCRP(t, func(int) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	first, second := w.login("user-1", c.WithDefaults()), w.login("user-2", c.WithDefaults())
	stop := w.start(bcFastTuning)
	w.revoke(first)
	bcEventually(t, "a refused attempt", func() bool { return rp.callCount() > 0 })
	stop()
	w.revoke(second) // while no dispatcher runs
	healthy.Store(true)
	w.start(bcFastTuning)
	got := map[string]bool{}
	for range 2 {
		got[bcVerify(t, w, rp.accepted(t, "after restart"), "app")["sid"].(string)] = true
	}
	if !got[first] || !got[second] {
		t.Errorf("notified: got %v, want %s and %s", got, first, second)
	}
}

// TestBackchannelTwoNodesDeliverOnce: two dispatchers on one store (two
// nodes) deliver each notice once.
func TestBackchannelTwoNodesDeliverOnce(t *testing.T) {
	rp := newBCRP(t, nil)
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	w.start(bcFastTuning)
	w.start(bcFastTuning)
	var sids []string
	for i := range 20 {
		sids = append(sids, w.login(fmt.Sprintf("user-%d", i), c.WithDefaults()))
	}
	for _, sid := range sids {
		w.revoke(sid)
	}
	for range sids {
		rp.accepted(t, "two nodes")
	}
	bcEventually(t, "outbox empty", func() bool { return bcPending(t, w.store) == 0 })
	rp.none(t, 300*time.Millisecond, "a second delivery")
	if n := rp.callCount(); n != len(sids) {
		t.Errorf("RP calls: got %d, want %d (one per session)", n, len(sids))
	}
}

// TestBackchannelClientRemoved: a notice for a client removed since is
// dropped without a request.
func TestBackchannelClientRemoved(t *testing.T) {
	rp := newBCRP(t, nil)
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil) // the client is not registered
	// The store's DeleteClient removes pending targets itself; this one
	// stands for a target whose client vanished otherwise (a client of
	// the configuration file taken out of it).
	sid := w.login("user-1", c.WithDefaults())
	w.start(bcFastTuning)
	w.revoke(sid)
	bcEventually(t, "the target dropped", func() bool { return bcPending(t, w.store) == 0 })
	if n := rp.callCount(); n != 0 {
		t.Errorf("RP calls: got %d, want 0", n)
	}
}

// TestBackchannelGivesUp: an RP that never accepts is given up once the
// schedule has run its course: the notice leaves the outbox, an audit
// event names the client and the session, and the warning names the
// client, never the token.
func TestBackchannelGivesUp(t *testing.T) {
	rp := newBCRP(t, func(int) int { return http.StatusBadGateway })
	c := bcClient("app", rp.srv.URL)
	w := newBCWorld(t, nil, c)
	tu := bcFastTuning
	tu.MinBackoff, tu.MaxBackoff = 10*time.Millisecond, 10*time.Millisecond
	tu.GiveUp = 30 * time.Millisecond // about 4 attempts
	w.start(tu)
	sid := w.login("user-1", c.WithDefaults())
	w.revoke(sid)
	var ev sesame.Event
	select {
	case ev = <-w.events:
	case <-time.After(bcWait):
		t.Fatal("no event for a notice given up")
	}
	if ev.Type != sesame.EventBackchannelLogoutFailed || ev.SessionID != sid || ev.UserID != "user-1" || !strings.Contains(ev.Reason, "app") || !strings.Contains(ev.Reason, "502") {
		t.Errorf("event: got %+v", ev)
	}
	if n := bcPending(t, w.store); n != 0 {
		t.Errorf("outbox after giving up: got %d targets, want 0", n)
	}
	if n := rp.callCount(); n < 2 || n > 10 {
		t.Errorf("attempts: got %d, want a few", n)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "given up") || !strings.Contains(logs, "client_id=app") {
		t.Errorf("log: want a warning naming the client; got:\n%s", logs)
	}
	rp.mu.Lock()
	for _, tok := range rp.tokens {
		if strings.Contains(logs, tok) || strings.Contains(logs, strings.Split(tok, ".")[2]) {
			t.Errorf("the log holds a logout token")
		}
	}
	rp.mu.Unlock()
}

// TestBackchannelSigningKeyFallback: a client whose ID-token algorithm the
// deployment has no key for gets a logout token signed with the first
// algorithm's key.
func TestBackchannelSigningKeyFallback(t *testing.T) {
	w := newBCWorld(t, nil)
	w.keys = newBCKeys(t, jose.ES256)
	cfg := w.p.Config()
	cfg.Keys = w.keys
	w.p = oauth.NewBackchannelTestProvider(cfg)
	c := bcClient("app", "https://app.example.test/bcl").WithDefaults() // RS256
	tok, err := w.p.LogoutToken(c, "user-1", "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	if h := bcHeader(t, tok); h["alg"] != "ES256" {
		t.Errorf("alg: got %v, want ES256", h["alg"])
	}
	bcVerify(t, w, tok, "app")
}

// TestBackchannelBackoff: the delay doubles from MinBackoff to MaxBackoff
// and the default schedule gives up after about a day.
func TestBackchannelBackoff(t *testing.T) {
	tu := oauth.DefaultBackchannelTuning
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {5, 16 * time.Second}, {10, 512 * time.Second}, {11, 10 * time.Minute}, {100, 10 * time.Minute}} {
		if got := tu.NominalBackoff(tc.attempts); got != tc.want {
			t.Errorf("nominalBackoff(%d): got %v, want %v", tc.attempts, got, tc.want)
		}
		for range 20 {
			if got := tu.Backoff(tc.attempts); got < tc.want*3/4 || got > tc.want {
				t.Fatalf("backoff(%d): got %v, want within [%v, %v]", tc.attempts, got, tc.want*3/4, tc.want)
			}
		}
	}
	n := 1
	for tu.ScheduleSpan(n) < tu.GiveUp {
		n++
	}
	// 1 s doubling to 10 min, at 7/8 (mean jitter): about 170 attempts.
	if n < 150 || n > 200 {
		t.Errorf("attempts before giving up: got %d, want about 170", n)
	}
	if tu.ScheduleSpan(n-1) >= tu.GiveUp || tu.ScheduleSpan(n) < tu.GiveUp {
		t.Errorf("scheduleSpan is not monotone around %d", n)
	}
}

// TestTrackSession: only a client with a back-channel URI is recorded;
// recording twice is one target.
func TestTrackSession(t *testing.T) {
	w := newBCWorld(t, nil)
	ctx := context.Background()
	with, without := bcClient("a", "https://a.example.test/bcl"), bcClient("b", "")
	for range 2 {
		if err := w.p.TrackSession(ctx, with, "sid-1", "user-1"); err != nil {
			t.Fatal(err)
		}
		if err := w.p.TrackSession(ctx, without, "sid-1", "user-1"); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := w.store.LogoutTargets(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].ClientID != "a" || ts[0].UserID != "user-1" || ts[0].SessionID != "sid-1" || ts[0].CreatedAt.IsZero() {
		t.Errorf("targets: got %+v, want one for client a", ts)
	}
	if err := w.p.TrackSession(ctx, with, "", "user-1"); err == nil {
		t.Error("trackSession without a session: got nil error")
	}
}

// TestBackchannelShutdownGivesClaimBack: a dispatcher stopped in the middle
// of a delivery gives its claim back, so that the next run delivers at
// once instead of after the claim's lease (an hour here).
func TestBackchannelShutdownGivesClaimBack(t *testing.T) {
	var calls atomic.Int64
	inFlight := make(chan struct{}, 1)
	got := make(chan string, 4)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // the server notices a closed connection only once the body is read
		if calls.Add(1) == 1 {
			inFlight <- struct{}{}
			<-r.Context().Done() // hangs until the dispatcher gives up on it
			return
		}
		got <- r.PostFormValue("logout_token")
	}))
	defer rp.Close()
	c := bcClient("app", rp.URL)
	w := newBCWorld(t, nil, c)
	tu := bcFastTuning
	tu.Lease = time.Hour
	sid := w.login("user-1", c.WithDefaults())
	stop := w.start(tu)
	w.revoke(sid)
	select {
	case <-inFlight:
	case <-time.After(bcWait):
		t.Fatal("no delivery attempt")
	}
	stop()
	w.start(tu)
	select {
	case tok := <-got:
		if s := bcVerify(t, w, tok, "app")["sid"]; s != sid {
			t.Errorf("sid: got %v, want %s", s, sid)
		}
	case <-time.After(bcWait):
		t.Fatal("the notice interrupted by the shutdown was not delivered by the next run (its claim was kept)")
	}
}
