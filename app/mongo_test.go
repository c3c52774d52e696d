package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/mongo"
)

func TestSessionsIdentityMongo(t *testing.T) {
	cases := map[string]string{
		"mongodb://u:pw-canary@h2:27017,h1/sesame?replicaSet=rs0": "mongodb h1:27017,h2:27017/sesame",
		"mongodb://127.0.0.1:27018/":                              "mongodb 127.0.0.1:27018/sesame",
		"mongodb+srv://u:pw-canary@cluster0.example.net/s":        "mongodb+srv cluster0.example.net/s",
	}
	for in, want := range cases {
		if got := SessionsIdentity(in); got != want || strings.Contains(got, "pw-canary") {
			t.Errorf("SessionsIdentity(%q): got %q, want %q", in, got, want)
		}
	}
}

// serve --sessions mongodb://...: the state store is the mongo adapter,
// with its notifier, on the database the URL names.
func TestOpenMongoSessions(t *testing.T) {
	u := os.Getenv("SESAME_TEST_MONGO_URL")
	if u == "" {
		const msg = "SESAME_TEST_MONGO_URL is not set: start FerretDB with eval \"$(bash .ci/services start)\" (see .ci/services)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	base, query, _ := strings.Cut(u, "?")
	if i := strings.Index(strings.TrimPrefix(base, "mongodb://"), "/"); i >= 0 {
		base = base[:len("mongodb://")+i]
	}
	db := "t_app_" + strings.ReplaceAll(filepath.Base(t.TempDir()), "-", "")
	url := base + "/" + db
	if query != "" {
		url += "?" + query
	}
	cfg := testConfig(t, filepath.Join(t.TempDir(), "sesame.db"))
	cfg.Sessions = url
	a, err := newApp(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := a.state.(*mongo.Store)
	if !ok {
		t.Fatalf("state store: got %T, want *mongo.Store", a.state)
	}
	t.Cleanup(func() { m.Database().Drop(context.Background()) })
	if m.Database().Name() != db || a.notifier == nil {
		t.Fatalf("database %q notifier %v: want %q and a notifier", m.Database().Name(), a.notifier, db)
	}
	rec, _, err := a.LoadIdentity(context.Background())
	if err != nil || !strings.HasPrefix(rec.Sessions, "mongodb ") {
		t.Fatalf("recorded sessions %q (%v), want the mongodb store", rec.Sessions, err)
	}
}
