// Package testserver starts in-process Sesame servers for the tests of the
// bench tools: the real server, built by the one wiring (package app) as
// `sesame serve` builds it, over a SQLite file, with cheap argon2
// parameters so that sign-ups and logins are fast.
package testserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/sesame-auth/sesame/app"
	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/password"
)

// Cheap keeps argon2 fast: these tests are not about hashing cost.
var Cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// masterKey is the master key of every test server, so that servers on one
// database are nodes of one deployment.
var masterKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// Keys returns a fresh ES256 key set. Servers no longer need one (the
// nodes on one database share its signing keys, sealed by one master key);
// it is kept for the tools' tests that pass it to Start.
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
// sees the other's revocations through the store's change feed and
// verifies the other's tokens), and returns its base URL. 127.0.0.1 is a
// trusted proxy, so X-Forwarded-For names the client. Everything stops when
// the test ends. keys is not used (see Keys).
func Start(t testing.TB, path string, keys *jose.KeySet) string {
	t.Helper()
	_ = keys
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB = path
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.Issuer = "https://sesame.bench.test"
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.MasterKey = config.Secret(masterKey)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, app.WithLogger(logger), app.WithPasswordParams(Cheap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Start(ctx)
	srv.Config.Handler = a.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
