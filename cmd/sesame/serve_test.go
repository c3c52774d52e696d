package main

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeEndToEnd drives `sesame serve`, started through the real Run, over
// HTTP: sign-up, login, me, logout, replay of the logged-out cookie, and a
// graceful shutdown when the context is cancelled.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.serve()
	if u, err := url.Parse(s.url); err != nil || u.Scheme != "http" || u.Hostname() != "localhost" || u.Port() == "0" || u.Port() == "" {
		t.Fatalf("got printed URL %q, want http://localhost:PORT with a real port", s.url)
	}
	c := w.client(s.url)

	c.signup("alice", canaryPassword)
	if status, _ := c.loginStatus("alice", "wrong-password-0000"); status != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: got status %d, want 401", status)
	}
	status, ck := c.loginStatus("alice", canaryPassword)
	if status != http.StatusOK {
		t.Fatalf("login: got status %d, want 200", status)
	}
	if !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie: got Secure=%v HttpOnly=%v Path=%q Domain=%q SameSite=%v, want Secure, HttpOnly, Path=/, no Domain, SameSite=Lax",
			ck.Secure, ck.HttpOnly, ck.Path, ck.Domain, ck.SameSite)
	}
	token := ck.Value

	resp, body := c.do(http.MethodGet, "/api/v1/me", token, nil)
	c.expect(resp, body, http.StatusOK)
	if !strings.Contains(string(body), `"alice"`) {
		t.Errorf("GET /api/v1/me: got body %s, want it to name alice", body)
	}
	if got := c.meStatus(""); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me without a cookie: got status %d, want 401", got)
	}

	resp, body = c.do(http.MethodPost, "/api/v1/logout", token, nil)
	c.expect(resp, body, http.StatusNoContent)
	if got := c.meStatus(token); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me replaying the logged-out cookie: got status %d, want 401", got)
	}

	if code := s.stop(t); code != 0 {
		t.Fatalf("serve after cancellation: got exit %d, want 0; stderr:\n%s", code, s.stderr)
	}
	if resp, err := httpClient.Get(s.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET /healthz after shutdown: got status %d, want a connection error", resp.StatusCode)
	}
}

// TestServeRefuses covers configurations serve must refuse with a usage
// error before it opens the database or a listener.
func TestServeRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		args  []string
		wants []string // substrings of stderr
	}{
		{"plain HTTP on all interfaces", []string{"--addr", "0.0.0.0:0"}, []string{"--insecure-cookies", "0.0.0.0:0"}},
		{"plain HTTP on a public name", []string{"--addr", "example.com:0"}, []string{"--insecure-cookies"}},
		{"address without a port", []string{"--addr", "127.0.0.1"}, []string{"127.0.0.1"}},
		{"TLS cert without key", []string{"--tls-cert", "cert.pem"}, []string{"--tls-cert", "--tls-key"}},
		{"TLS key without cert", []string{"--tls-key", "key.pem"}, []string{"--tls-cert", "--tls-key"}},
		{"unsupported database", []string{"--db", "mysql://x"}, []string{"--db", "mysql", "not supported"}},
		{"unsupported sessions store", []string{"--sessions", "memcached://x"}, []string{"--sessions", "redis://"}},
		{"empty sqlite path", []string{"--db", "sqlite:"}, []string{"--db", "empty"}},
		{"unknown flag", []string{"--no-such-flag"}, []string{"no-such-flag"}},
		{"positional argument", []string{"extra"}, []string{"no arguments", "extra"}},
		{"bad log format", []string{"--log-format", "xml"}, []string{"--log-format", "xml"}},
		{"bad duration", []string{"--idle-timeout", "soon"}, []string{"idle-timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db}, tc.args...)
			r := w.run("", args...)
			if r.code != 2 {
				t.Fatalf("got exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			for _, want := range tc.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("got stderr %q, want it to contain %q", r.stderr, want)
				}
			}
			if strings.Contains(r.stdout, "listening") {
				t.Errorf("got stdout %q, want no listening line", r.stdout)
			}
			if _, err := os.Stat(w.db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("database file after a refused start: got stat error %v, want it not to exist", err)
			}
		})
	}
}

// TestServeInsecureCookies: --insecure-cookies lets serve listen on a
// non-loopback address, loudly, with a cookie that has neither the Secure
// attribute nor the __Host- prefix (which requires Secure).
func TestServeInsecureCookies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.serveArgs("serve", "--addr", "0.0.0.0:0", "--db", w.db, "--insecure-cookies")
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatalf("parse printed URL %q: %v", s.url, err)
	}
	// An all-interfaces address is printed as localhost, which opens in a
	// browser on this machine.
	if u.Hostname() != "localhost" {
		t.Errorf("got printed host %q, want localhost", u.Hostname())
	}
	base := "http://" + net.JoinHostPort("127.0.0.1", u.Port())
	c := w.client(base)
	c.cookieName = "sesame"

	c.signup("alice", canaryPassword)
	status, ck := c.loginStatus("alice", canaryPassword)
	if status != http.StatusOK {
		t.Fatalf("login: got status %d, want 200", status)
	}
	if ck.Secure {
		t.Errorf("cookie %s: got Secure, want no Secure attribute", ck.Name)
	}
	if !ck.HttpOnly {
		t.Errorf("cookie %s: got no HttpOnly, want HttpOnly", ck.Name)
	}
	if got := c.meStatus(ck.Value); got != http.StatusOK {
		t.Errorf("GET /api/v1/me: got status %d, want 200", got)
	}
	if !strings.Contains(s.stderr.String(), "INSECURE") {
		t.Errorf("got stderr %q, want a loud INSECURE warning", s.stderr)
	}
}

// TestServeEnvironment: SESAME_ADDR and SESAME_DB configure serve and the
// command line overrides them. It uses t.Setenv, so it cannot be parallel.
func TestServeEnvironment(t *testing.T) {
	t.Run("env addr and db are used", func(t *testing.T) {
		w := newWorld(t)
		envDB := filepath.Join(t.TempDir(), "env.db")
		t.Setenv("SESAME_ADDR", "127.0.0.1:0")
		t.Setenv("SESAME_DB", envDB)
		// The default --addr is 127.0.0.1:8080 and the default --db is
		// ./sesame.db: a random port and envDB prove both came from the env.
		s := w.serveArgs("serve")
		if u, err := url.Parse(s.url); err != nil || u.Port() == "8080" {
			t.Errorf("got printed URL %q, want a random port from SESAME_ADDR", s.url)
		}
		if _, err := os.Stat(envDB); err != nil {
			t.Errorf("stat SESAME_DB file: got %v, want it created", err)
		}
		// SESAME_DB reaches the other commands too: a user added with only
		// the env var set can log in on the server.
		if r := w.run(canaryPassword+"\n", "user", "add", "--password-stdin", "envuser"); r.code != 0 {
			t.Fatalf("user add with SESAME_DB: got exit %d, want 0; stderr: %s", r.code, r.stderr)
		}
		w.client(s.url).login("envuser", canaryPassword)
	})

	t.Run("env addr is validated like the flag", func(t *testing.T) {
		w := newWorld(t)
		t.Setenv("SESAME_ADDR", "0.0.0.0:0")
		t.Setenv("SESAME_DB", w.db)
		r := w.run("", "serve")
		if r.code != 1 || !strings.Contains(r.stderr, "SESAME_ADDR") || !strings.Contains(r.stderr, "--insecure-cookies") {
			t.Fatalf("got exit %d, stderr %q; want exit 1 (a configuration problem, not the command line's) naming SESAME_ADDR and --insecure-cookies", r.code, r.stderr)
		}
	})

	t.Run("env bool flag", func(t *testing.T) {
		w := newWorld(t)
		t.Setenv("SESAME_ADDR", "0.0.0.0:0")
		t.Setenv("SESAME_DB", w.db)
		t.Setenv("SESAME_INSECURE_COOKIES", "true")
		s := w.serveArgs("serve")
		if !strings.Contains(s.stderr.String(), "INSECURE") {
			t.Errorf("got stderr %q, want the INSECURE warning", s.stderr)
		}
	})

	t.Run("invalid env value is a configuration error", func(t *testing.T) {
		w := newWorld(t)
		t.Setenv("SESAME_INSECURE_COOKIES", "maybe")
		r := w.run("", "serve", "--db", w.db, "--addr", "127.0.0.1:0")
		if r.code != 1 || !strings.Contains(r.stderr, "SESAME_INSECURE_COOKIES") {
			t.Fatalf("got exit %d, stderr %q; want exit 1 naming SESAME_INSECURE_COOKIES", r.code, r.stderr)
		}
	})

	t.Run("flags override env", func(t *testing.T) {
		w := newWorld(t)
		envDB := filepath.Join(t.TempDir(), "env.db")
		// Both env values would fail or differ: the flags must win.
		t.Setenv("SESAME_ADDR", "0.0.0.0:0")
		t.Setenv("SESAME_DB", envDB)
		s := w.serveArgs("serve", "--addr", "127.0.0.1:0", "--db", w.db)
		if u, err := url.Parse(s.url); err != nil || u.Hostname() != "localhost" {
			t.Errorf("got printed URL %q, want localhost from --addr", s.url)
		}
		if _, err := os.Stat(w.db); err != nil {
			t.Errorf("stat --db file: got %v, want it created", err)
		}
		if _, err := os.Stat(envDB); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stat SESAME_DB file: got %v, want it not created", err)
		}
	})

	t.Run("unreachable postgres in env", func(t *testing.T) {
		w := newWorld(t)
		t.Setenv("SESAME_DB", "postgres://sesame:secret-pw@127.0.0.1:1/none?connect_timeout=2")
		r := w.run("", "serve", "--addr", "127.0.0.1:0")
		if r.code != 1 || !strings.Contains(r.stderr, "open database") || strings.Contains(r.stderr, "secret-pw") {
			t.Fatalf("got exit %d, stderr %q; want exit 1 saying the database could not be opened, without its password", r.code, r.stderr)
		}
	})
}

// TestHelpAndUsage: --help exits 0 and documents the flags; a missing or
// unknown command is a usage error (exit 2).
func TestHelpAndUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string // substrings of stdout+stderr
	}{
		{"top-level help", []string{"--help"}, 0, []string{"Usage: sesame", "serve", "user", "sessions"}},
		{"help command", []string{"help"}, 0, []string{"Usage: sesame"}},
		{"no command", nil, 2, []string{"Usage: sesame"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"serve help", []string{"serve", "--help"}, 0, []string{
			"sesame serve", "-addr", "-db", "-insecure-cookies", "-tls-cert", "-tls-key",
			"-idle-timeout", "-lifetime", "SESAME_ADDR", "SESAME_DB",
		}},
		{"serve -h", []string{"serve", "-h"}, 0, []string{"-addr"}},
		{"user help", []string{"user", "--help"}, 0, []string{"add", "list", "block", "unblock", "passwd"}},
		{"user without subcommand", []string{"user"}, 2, []string{"add", "list"}},
		{"unknown user subcommand", []string{"user", "frob"}, 2, []string{`unknown command "frob"`}},
		{"user add help", []string{"user", "add", "--help"}, 0, []string{"-admin", "-password-stdin", "-db", "NAME"}},
		{"user passwd help", []string{"user", "passwd", "--help"}, 0, []string{"-password-stdin", "NAME"}},
		{"sessions without subcommand", []string{"sessions"}, 2, []string{"Usage: sesame sessions", "list", "revoke"}},
		{"unknown sessions subcommand", []string{"sessions", "kill"}, 2, []string{`unknown command "kill"`}},
		{"sessions help", []string{"sessions", "--help"}, 0, []string{"list", "revoke"}},
		{"sessions list help", []string{"sessions", "list", "--help"}, 0, []string{"-user", "-db"}},
		{"sessions revoke help", []string{"sessions", "revoke", "--help"}, 0, []string{"-user", "ID"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			r := w.run("", tc.args...)
			if r.code != tc.code {
				t.Fatalf("sesame %s: got exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, r.stderr)
			}
			out := r.stdout + r.stderr
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("got output %q, want it to contain %q", out, want)
				}
			}
		})
	}
}
