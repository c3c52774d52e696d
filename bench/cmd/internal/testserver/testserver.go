// Package testserver starts in-process Sesame servers for the tests of the
// bench tools: the real server package over a SQLite file, with cheap
// argon2 parameters so that sign-ups and logins are fast.
package testserver

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/server"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/token"
)

// Cheap keeps argon2 fast: these tests are not about hashing cost.
var Cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// Keys returns a fresh ES256 key set; pass one set to every node of a
// test so that each verifies the others' tokens.
func Keys(t testing.TB) *jose.KeySet {
	t.Helper()
	key, err := jose.GenerateKey(jose.ES256, "")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := jose.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// Start serves Sesame over plain HTTP on loopback, over the SQLite file
// at path (two servers on one path are two nodes of one deployment: each
// sees the other's revocations through the store's change feed), and
// returns its base URL. 127.0.0.1 is a trusted proxy, so X-Forwarded-For
// names the client. Everything stops when the test ends.
func Start(t testing.TB, path string, keys *jose.KeySet) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	audit := server.AuditLog{Logger: logger}
	sessions, err := session.New(db, session.Config{Events: audit, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sessions.Start(ctx)
	accounts := &account.Service{Users: db, Sessions: sessions, Hasher: &password.Hasher{Params: Cheap, AllowWeakParams: true}, Events: audit}
	tokens, err := token.New(token.Config{Issuer: "https://sesame.bench.test", Keys: keys, SuccessorKey: bytes.Repeat([]byte{7}, 32),
		Store: db, Sessions: sessions, Events: audit, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Config{Accounts: accounts, Sessions: sessions, Tokens: tokens,
		Logger: logger, Events: audit, CSRFKey: bytes.Repeat([]byte{9}, 32),
		Throttle:  guard.NewLimiter(db, guard.Config{}),
		ClientIPs: guard.IPResolver{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
