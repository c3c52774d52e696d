package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/sqlite"
)

// copyFile copies the master key file next to a migrated SQLite target:
// migrate copies records, not the key (docs/migrate.md).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// `sesame migrate` copies a stopped deployment, says so, copies nothing
// the second time, and a server on the target accepts the old session.
// A target it cannot open fails with exit 1 and without its password.
func TestMigrateCommand(t *testing.T) {
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	s := w.serve()
	c := w.client(s.url)
	tok := c.login("alice", canaryPassword)
	target := filepath.Join(t.TempDir(), "target.db")
	// The server is idle: it writes nothing while migrate watches, but it
	// announced itself in the database, and migrate refuses (exit 1,
	// nothing copied, no target created).
	r := w.run("", "migrate", "--from", w.db, "--to", "sqlite:"+target, "--observe", "100ms")
	if r.code != 1 || !strings.Contains(r.stderr, "1 server(s) of the deployment are running on the source") ||
		!strings.Contains(r.stderr, "nothing was copied") || strings.Contains(r.stdout, "verified") {
		t.Fatalf("migrate beside an idle server: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("the refused migrate touched the target: %v", err)
	}
	if s.stop(t) != 0 {
		t.Fatal("serve did not exit 0")
	}
	r = w.run("", "migrate", "--from", w.db, "--to", "sqlite:"+target, "--observe", "100ms")
	if r.code != 0 || !strings.Contains(r.stdout, "the target matches the source (verified)") ||
		!strings.Contains(r.stderr, "migrate: sessions: 1 in the source, 1 copied") {
		t.Fatalf("migrate: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = w.run("", "migrate", "--from", w.db, "--to", "sqlite:"+target, "--observe", "100ms")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing new to copy") {
		t.Fatalf("second migrate: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	copyFile(t, strings.TrimSuffix(w.db, ".db")+".key", strings.TrimSuffix(target, ".db")+".key")
	s2 := w.serveArgs("serve", "--addr", "127.0.0.1:0", "--db", target)
	if got := w.client(s2.url).meStatus(tok); got != 200 {
		t.Fatalf("the source's session on a server started on the target: %d", got)
	}
	s2.stop(t)

	w.secret("canary-db-pw-91c2")
	r = w.run("", "migrate", "--from", w.db, "--to", "postgres://sesame:canary-db-pw-91c2@127.0.0.1:1/x?connect_timeout=2", "--observe", "10ms")
	if r.code != 1 || !strings.Contains(r.stderr, "target:") {
		t.Fatalf("unreachable target: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r = w.run("", "migrate", "--from", w.db); r.code != 2 {
		t.Fatalf("without --to: exit %d, want 2", r.code)
	}
}

// A real `sesame migrate` process killed with SIGKILL in the middle of a
// large copy leaves a target that a second run finishes and verifies.
func TestMigrateKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	w := newWorld(t)
	w.addUser("alice", canaryPassword, false)
	s := w.serve()
	w.client(s.url).login("alice", canaryPassword)
	s.stop(t)
	const n = 5000
	db, err := sqlite.Open(context.Background(), w.db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range n {
		var h [32]byte
		rand.Read(h[:])
		if err := db.Create(context.Background(), &sesame.Session{ID: fmt.Sprintf("bulk-%05d", i), UserID: u.ID, TokenHash: h,
			CreatedAt: now, LastSeen: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(time.Hour), AuthTime: now, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	bin := buildBinary(t, t.TempDir())
	target := filepath.Join(t.TempDir(), "target.db")
	cmd := exec.Command(bin, "migrate", "--from", w.db, "--to", target, "--observe", "100ms")
	cmd.Env = withoutSesameEnv(os.Environ())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		// "migrate: sessions: 1000 read, ..." : well into the copy.
		if strings.HasPrefix(sc.Text(), "migrate: sessions: 1000 read") {
			cmd.Process.Kill()
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("the migration ended before it could be killed")
	}
	r := w.run("", "migrate", "--from", w.db, "--to", target, "--observe", "100ms")
	if r.code != 0 || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("resumed migrate: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// Some sessions were copied by the killed run, the rest now.
	var line string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "migrate: sessions: ") && strings.Contains(l, "in the source") {
			line = l
		}
	}
	var src, copied, updated, same, newer, deleted int
	if _, err := fmt.Sscanf(line, "migrate: sessions: %d in the source, %d copied, %d updated, %d already there, %d newer in the target, %d deleted",
		&src, &copied, &updated, &same, &newer, &deleted); err != nil || src != n+1 || same == 0 || copied == 0 || copied+same != src {
		t.Fatalf("resumed sessions: %q (%v)", line, err)
	}
}
