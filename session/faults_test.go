package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/memstore"
	"github.com/sesame-auth/sesame/session"
)

// lossyStore is a session store that can lose all its data at once, as
// Redis without persistence does when it restarts, or fail every call, as
// a store that is down does.
//
// Like the Redis adapter, a feed begun again after a loss numbers its
// changes past every Seq the lost feed gave (here by an offset).
type lossyStore struct {
	mu   sync.Mutex
	st   *memstore.Store
	off  int64
	down bool

	// onChanges, when set, runs at the start of every Changes call.
	onChanges func(ctx context.Context)
}

func newLossyStore() *lossyStore { return &lossyStore{st: memstore.New()} }

// wipe loses every record and the change feed.
func (l *lossyStore) wipe() {
	l.mu.Lock()
	l.st = memstore.New()
	l.off += 1 << 30
	l.mu.Unlock()
}

func (l *lossyStore) setDown(down bool) {
	l.mu.Lock()
	l.down = down
	l.mu.Unlock()
}

var errDown = errors.New("store is down")

func (l *lossyStore) get() (*memstore.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return nil, errDown
	}
	return l.st, nil
}

func (l *lossyStore) Create(ctx context.Context, s *sesame.Session) error {
	st, err := l.get()
	if err != nil {
		return err
	}
	return st.Create(ctx, s)
}

func (l *lossyStore) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	st, err := l.get()
	if err != nil {
		return nil, err
	}
	return st.ByToken(ctx, h)
}

func (l *lossyStore) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	st, err := l.get()
	if err != nil {
		return nil, err
	}
	return st.ByID(ctx, id)
}

func (l *lossyStore) Update(ctx context.Context, s *sesame.Session) error {
	st, err := l.get()
	if err != nil {
		return err
	}
	return st.Update(ctx, s)
}

func (l *lossyStore) Touch(ctx context.Context, id string, t time.Time) error {
	st, err := l.get()
	if err != nil {
		return err
	}
	return st.Touch(ctx, id, t)
}

func (l *lossyStore) Delete(ctx context.Context, id string) (bool, error) {
	st, err := l.get()
	if err != nil {
		return false, err
	}
	return st.Delete(ctx, id)
}

func (l *lossyStore) ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error) {
	st, err := l.get()
	if err != nil {
		return nil, err
	}
	return st.ListByUser(ctx, userID)
}

func (l *lossyStore) DeleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	st, err := l.get()
	if err != nil {
		return nil, err
	}
	return st.DeleteByUser(ctx, userID, except)
}

func (l *lossyStore) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	l.mu.Lock()
	hook := l.onChanges
	l.mu.Unlock()
	if hook != nil {
		hook(ctx)
	}
	st, err := l.get()
	if err != nil {
		return nil, 0, err
	}
	l.mu.Lock()
	off := l.off
	l.mu.Unlock()
	cs, oldest, err := st.Changes(ctx, max(after-off, 0), limit)
	for i := range cs {
		cs[i].Seq += off
	}
	return cs, oldest + off, err
}

func newLossyManager(t *testing.T, st *lossyStore, n session.Notifier) *session.Manager {
	t.Helper()
	m, err := session.New(st, session.Config{SyncInterval: time.Hour, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.Start(ctx)
	return m
}

// SEC-64: the token path is an allowlist. A store that loses its data (a
// Redis restart without persistence, FLUSHDB) ends the access tokens of
// every session it held, revoked or not, on a running node and on a node
// started afterwards; before the fix a token was refused only if its
// session's revocation was known, and the loss erased that knowledge.
func TestSEC64_TokenPathRefusesSessionsTheStoreLost(t *testing.T) {
	ctx := context.Background()
	st := newLossyStore()
	node := newLossyManager(t, st, nil)
	live, err := node.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := node.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.CheckLive(ctx, live.ID); err != nil {
		t.Fatalf("a live session's token: %v", err)
	}
	if _, err := node.Revoke(ctx, revoked.ID, "logout"); err != nil {
		t.Fatal(err)
	}

	st.wipe()
	if err := node.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := newLossyManager(t, st, nil)
	for name, m := range map[string]*session.Manager{"running node": node, "node started after the loss": restarted} {
		for what, id := range map[string]string{"live": live.ID, "revoked": revoked.ID} {
			if err := m.CheckLive(ctx, id); !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("%s: token of a %s session the store lost: got %v, want ErrSessionRevoked", name, what, err)
			}
		}
	}
	// New sessions work.
	fresh, err := restarted.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.CheckLive(ctx, fresh.ID); err != nil {
		t.Errorf("a session created after the loss: %v", err)
	}
}

// SEC-64: a session ID that never existed is refused by the token path,
// whatever the view holds.
func TestSEC64_UnknownSessionRefused(t *testing.T) {
	node := newLossyManager(t, newLossyStore(), nil)
	if err := node.CheckLive(context.Background(), "bm90LWEtc2Vzc2lvbg"); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("unknown session: got %v, want ErrSessionRevoked", err)
	}
}

// SEC-65: a sync that fails makes the view untrusted at once, so a store
// that died after acknowledging a revocation made elsewhere is answered
// 503 (EUnavailable), never from the view, until a sync succeeds.
func TestSEC65_FailedSyncDistrustsTheViewAtOnce(t *testing.T) {
	ctx := context.Background()
	st := newLossyStore()
	node := newLossyManager(t, st, nil)
	other := newLossyManager(t, st, nil) // another process on the same store
	s, err := node.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.CheckLive(ctx, s.ID); err != nil { // now held by node's view
		t.Fatal(err)
	}
	if _, err := other.Revoke(ctx, s.ID, "logout"); err != nil {
		t.Fatal(err)
	}
	st.setDown(true)
	if err := node.Sync(ctx); err == nil {
		t.Fatal("sync against a down store succeeded")
	}
	if err := node.CheckLive(ctx, s.ID); sesame.ErrorCode(err) != sesame.EUnavailable {
		t.Fatalf("after a failed sync: got %v, want EUnavailable (the view must not answer)", err)
	}
	st.setDown(false)
	if err := node.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := node.CheckLive(ctx, s.ID); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("after recovery: got %v, want ErrSessionRevoked", err)
	}
}

// chanNotifier is an in-process Notifier: Notify hands the payload to the
// test, which delivers it to subscribers when it chooses.
type chanNotifier struct {
	mu        sync.Mutex
	sent      []string
	changed   []func(string)
	connected []func(bool)
}

func (n *chanNotifier) Notify(_ context.Context, p string) error {
	n.mu.Lock()
	n.sent = append(n.sent, p)
	n.mu.Unlock()
	return nil
}

func (n *chanNotifier) Subscribe(ctx context.Context, changed func(string), connected func(bool)) error {
	n.mu.Lock()
	n.changed = append(n.changed, changed)
	n.connected = append(n.connected, connected)
	n.mu.Unlock()
	connected(true)
	<-ctx.Done()
	return nil
}

func (n *chanNotifier) deliver(p string) {
	n.mu.Lock()
	fs := append([]func(string){}, n.changed...)
	n.mu.Unlock()
	for _, f := range fs {
		f(p)
	}
}

func (n *chanNotifier) last(t *testing.T) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.sent) == 0 {
		t.Fatal("nothing was notified")
	}
	return n.sent[len(n.sent)-1]
}

// SEC-65: the store dies right after a revocation made on another node,
// whose notification reaches this node: it must never answer from its view
// that the session is live (the notification is applied on receipt; see
// TestViewAppliesNotificationOnReceipt for the view itself).
func TestSEC65_NotificationAppliedOnReceipt(t *testing.T) {
	ctx := context.Background()
	st := newLossyStore()
	n := &chanNotifier{}
	node := newLossyManager(t, st, n)
	other := newLossyManager(t, st, &chanNotifier{})
	s, err := node.StartTokenSession(ctx, "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.CheckLive(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	other.Revoke(ctx, s.ID, "logout")
	payload := other.Config().Notifier.(*chanNotifier).last(t)
	st.setDown(true)
	n.deliver(payload)
	for range 100 {
		if err := node.CheckLive(ctx, s.ID); !errors.Is(err, session.ErrSessionRevoked) && sesame.ErrorCode(err) != sesame.EUnavailable {
			t.Fatalf("after the notification, store down: got %v, want a refusal or 503", err)
		}
	}
}

// SEC-65: a notification the view cannot read makes it distrust itself
// until a sync succeeds.
func TestSEC65_UnreadableNotificationDistrusts(t *testing.T) {
	ctx := context.Background()
	st, n, node, s := notifiedNode(t)
	for _, p := range []string{"", "1", "s1 r", "s1 x abc", "s1 r a\x00b", "s1 r " + string(make([]byte, 5000))} {
		waitTrusted(t, node, st, s.ID)
		st.setDown(true)
		n.deliver(p)
		if err := node.CheckLive(ctx, s.ID); sesame.ErrorCode(err) != sesame.EUnavailable {
			t.Fatalf("payload %q: got %v, want EUnavailable until a sync succeeds", p, err)
		}
	}
}

// SEC-65: a notification that cannot be read while a sync is running may
// announce a change past what that sync read, so that sync must not make
// the view trusted again; only a sync begun after it may. Before the fix,
// the sync in flight cleared the failure and the view answered "live" from
// its cache with the store down (seen as a flaky
// TestSEC65_UnreadableNotificationDistrusts in CI).
func TestSEC65_UnreadableNotificationDuringSync(t *testing.T) {
	st, n, node, s := notifiedNode(t)
	waitTrusted(t, node, st, s.ID)

	type mine struct{}
	ctx := context.WithValue(context.Background(), mine{}, true)
	var once sync.Once
	st.mu.Lock()
	st.onChanges = func(c context.Context) {
		if c.Value(mine{}) == nil {
			// The manager's own sync loop: held until the test ends, so
			// that only the syncs below run.
			<-c.Done()
			return
		}
		once.Do(func() { n.deliver("s1 r a\x00b") })
	}
	st.mu.Unlock()

	if err := node.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st.setDown(true)
	if err := node.CheckLive(ctx, s.ID); sesame.ErrorCode(err) != sesame.EUnavailable {
		t.Fatalf("after a sync that was running when the notification came: got %v, want EUnavailable", err)
	}
	// A sync begun after the notification makes the view trusted again.
	st.setDown(false)
	if err := node.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st.setDown(true)
	if err := node.CheckLive(ctx, s.ID); err != nil {
		t.Fatalf("after a later sync: got %v, want the view to answer", err)
	}
	st.setDown(false)
}

// Notification payloads round-trip and stay within the size bound, split
// over several payloads when there are many IDs.
func TestNotificationEncode(t *testing.T) {
	var n session.Notification
	for i := range 500 {
		n.Revoked = append(n.Revoked, "c2Vzc2lvbi0xMjM0NTY3OA"+string(rune('a'+i%26)))
	}
	n.Updated = []string{"dXBkYXRlZA"}
	ps := n.Encode()
	if len(ps) < 2 {
		t.Fatalf("500 IDs in %d payload(s); want several", len(ps))
	}
	for _, p := range ps {
		if len(p) > session.MaxNotificationBytes {
			t.Fatalf("payload of %d bytes", len(p))
		}
	}
}

func (n *chanNotifier) setConnected(up bool) {
	n.mu.Lock()
	fs := append([]func(bool){}, n.connected...)
	n.mu.Unlock()
	for _, f := range fs {
		f(up)
	}
}

// SEC-65: a lost notifier connection keeps the view untrusted until the
// notifier is listening again and a sync since has succeeded: a sync that
// succeeds while it is still disconnected (the store came back before the
// subscription did) must not make the view trusted, since notifications
// sent meanwhile are lost. Found by the multinode test that kills Redis
// right after a logout.
func TestSEC65_DisconnectedNotifierKeepsViewUntrusted(t *testing.T) {
	ctx := context.Background()
	st, n, node, s := notifiedNode(t)
	trustedWithStoreDown := func() bool {
		st.setDown(true)
		defer st.setDown(false)
		return node.CheckLive(ctx, s.ID) == nil
	}
	waitTrusted(t, node, st, s.ID)
	n.setConnected(false)
	if err := node.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if trustedWithStoreDown() {
		t.Fatal("a sync while the notifier is disconnected made the view trusted")
	}
	n.setConnected(true)
	if err := node.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !trustedWithStoreDown() {
		t.Fatal("reconnected and synced: the view should be trusted again")
	}
}

// waitTrusted waits until node answers for session id from its view alone
// (its notifier connected and a sync since succeeded), then leaves the
// store up.
func waitTrusted(t *testing.T, node *session.Manager, st *lossyStore, id string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.setDown(false)
		if err := node.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		st.setDown(true)
		ok := node.CheckLive(ctx, id) == nil
		st.setDown(false)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the view never became trusted")
		}
		time.Sleep(time.Millisecond)
	}
}

// notifiedNode is a manager over a lossy store with an in-process notifier,
// holding one session.
func notifiedNode(t *testing.T) (*lossyStore, *chanNotifier, *session.Manager, *sesame.Session) {
	t.Helper()
	st, n := newLossyStore(), &chanNotifier{}
	node := newLossyManager(t, st, n)
	s, err := node.StartTokenSession(context.Background(), "alice", session.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st, n, node, s
}
