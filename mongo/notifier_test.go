package mongo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/mongo"
)

// FerretDB has no change streams: "auto" falls back to polling, and a
// revocation made through one handle reaches a subscriber on another.
func TestNotifierPolls(t *testing.T) {
	db := newDB(t)
	a := openDB(t, db, mongo.Options{PollInterval: 20 * time.Millisecond})
	b := openDB(t, db, mongo.Options{})
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan string, 16)
	up := make(chan bool, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Notifier().Subscribe(c, func(p string) { got <- p }, func(ok bool) { up <- ok })
	}()
	select {
	case ok := <-up:
		if !ok {
			t.Fatal("connected(false) before connected(true)")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notifier never said it was listening")
	}
	sess := newSession("u")
	must(t, "Create", b.Create(ctx, sess))
	_, err := b.Delete(ctx, sess.ID)
	must(t, "Delete", err)
	select {
	case p := <-got:
		if !strings.Contains(p, "r "+sess.ID) {
			t.Fatalf("notification %q does not name the revoked session", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification of a revocation made through another handle")
	}
	must(t, "Notify", a.Notifier().Notify(ctx, "s1 r x"))
	cancel()
	<-done
}

func TestOpenURL(t *testing.T) {
	u := testURL(t)
	for _, bad := range []string{"http://127.0.0.1:1", "mongodb://127.0.0.1:1/?notify=bogus", "mongodb://127.0.0.1:1/?poll_interval=-1s"} {
		if s, err := mongo.Open(ctx, bad, mongo.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q): got nil error, want one", bad)
		}
	}
	db := newDB(t)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	base, _, _ := strings.Cut(u, "?")
	url := strings.TrimSuffix(base, "/") + "/" + db + sep + "notify=poll&poll_interval=50ms"
	if i := strings.Index(u, "?"); i >= 0 {
		url = strings.TrimSuffix(base, "/") + "/" + db + u[i:] + "&notify=poll&poll_interval=50ms"
	}
	s, err := mongo.Open(ctx, url, mongo.Options{})
	must(t, "Open", err)
	defer s.Close()
	if s.Database().Name() != db {
		t.Fatalf("database: got %q, want %q from the URL's path", s.Database().Name(), db)
	}
}
