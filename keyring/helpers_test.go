package keyring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testclock"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

var ctx = context.Background()

// base has nanoseconds, so that boundaries are checked to the nanosecond.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// fakeStore is a keyring.Store in a map that tests can reach into, to
// tamper with records or make calls fail.
type fakeStore struct {
	mu      sync.Mutex
	recs    map[string]*keyring.Record
	listErr error
}

func newFakeStore() *fakeStore { return &fakeStore{recs: map[string]*keyring.Record{}} }

func (s *fakeStore) InsertKey(_ context.Context, r *keyring.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.recs[r.KID]; dup {
		return sesame.Errorf(sesame.EConflict, "kid exists")
	}
	s.recs[r.KID] = r.Clone()
	return nil
}

func (s *fakeStore) ListKeys(context.Context) ([]*keyring.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []*keyring.Record
	for _, r := range s.recs {
		out = append(out, r.Clone())
	}
	slices.SortFunc(out, func(a, b *keyring.Record) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.KID, b.KID)
	})
	return out, nil
}

func (s *fakeStore) RetireKey(_ context.Context, kid string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[kid]
	if !ok {
		return sesame.ErrNotFound
	}
	if r.RetiredAt.IsZero() || at.Before(r.RetiredAt) {
		r.RetiredAt = at
	}
	return nil
}

func (s *fakeStore) DeleteKey(_ context.Context, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, kid)
	return nil
}

// edit changes the stored record kid in place.
func (s *fakeStore) edit(kid string, f func(r *keyring.Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.recs[kid])
}

func (s *fakeStore) kids() []string {
	recs, _ := s.ListKeys(ctx)
	var out []string
	for _, r := range recs {
		out = append(out, r.KID)
	}
	return out
}

func newMaster(t testing.TB) *keyring.MasterKey {
	t.Helper()
	raw := make([]byte, keyring.MasterKeySize)
	rand.Read(raw)
	m, err := keyring.NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logBuffer collects log output; safe for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// env is one test's store, master key, clock and log.
type env struct {
	t      *testing.T
	store  *fakeStore
	master *keyring.MasterKey
	clock  *testclock.Clock
	log    *logBuffer
}

func newEnv(t *testing.T) *env {
	return &env{t: t, store: newFakeStore(), master: newMaster(t), clock: testclock.New(base), log: &logBuffer{}}
}

// config is one ES256 key at a time, the single-algorithm ring most
// tests walk; the multi-algorithm tests set Algs.
func (e *env) config() keyring.Config {
	return keyring.Config{Algs: []jose.Algorithm{jose.ES256}, Clock: e.clock, Logger: e.log.logger()}
}

// open opens a ring with the env's defaults changed by cfg.
func (e *env) open(change ...func(*keyring.Config)) *keyring.Ring {
	e.t.Helper()
	cfg := e.config()
	for _, f := range change {
		f(&cfg)
	}
	r, err := keyring.Open(ctx, e.store, e.master, cfg)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return r
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
