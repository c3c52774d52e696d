// Package mailpit is a test client of a Mailpit server (an SMTP server
// with an HTTP API; .ci/services starts one): the email tests send
// through its SMTP port and read what arrived through its API.
package mailpit

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Server is one Mailpit: API is its HTTP API's base URL, SMTP its SMTP
// host:port.
type Server struct {
	API  string
	SMTP string
}

// FromEnv finds Mailpit through SESAME_TEST_MAILPIT (the API URL) and
// SESAME_TEST_MAILPIT_SMTP (host:port). Without them the test skips,
// except under CI=true, where that is a failure.
func FromEnv(t testing.TB) *Server {
	t.Helper()
	api, smtp := os.Getenv("SESAME_TEST_MAILPIT"), os.Getenv("SESAME_TEST_MAILPIT_SMTP")
	if api == "" || smtp == "" {
		msg := "no Mailpit: run eval \"$(bash .ci/services mailpit)\" (sets SESAME_TEST_MAILPIT and SESAME_TEST_MAILPIT_SMTP)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: a missing server is a failure)")
		}
		t.Skip(msg)
	}
	return &Server{API: api, SMTP: smtp}
}

// SMTPURL is the smtp_url of this server.
func (s *Server) SMTPURL() string { return "smtp://" + s.SMTP }

// Message is one received message.
type Message struct {
	ID      string
	Subject string
	Text    string
	HTML    string
	From    string
	Created time.Time
}

type summary struct {
	ID      string
	Subject string
	Created time.Time
}

// Search returns the messages to the address, oldest first, with their
// bodies.
func (s *Server) Search(ctx context.Context, to string) ([]Message, error) {
	var res struct{ Messages []summary }
	if err := s.get(ctx, "/api/v1/search?query="+url.QueryEscape("to:\""+to+"\""), &res); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(res.Messages))
	for i := len(res.Messages) - 1; i >= 0; i-- { // newest first in the API
		var m struct {
			ID, Subject, Text, HTML string
			From                    struct{ Address string }
			Date                    time.Time
		}
		if err := s.get(ctx, "/api/v1/message/"+url.PathEscape(res.Messages[i].ID), &m); err != nil {
			return nil, err
		}
		out = append(out, Message{ID: m.ID, Subject: m.Subject, Text: m.Text, HTML: m.HTML, From: m.From.Address, Created: res.Messages[i].Created})
	}
	return out, nil
}

// Wait polls until at least n messages to the address have arrived (or
// the timeout) and returns them all, oldest first.
func (s *Server) Wait(t testing.TB, to string, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms, err := s.Search(context.Background(), to)
		if err != nil {
			t.Fatalf("mailpit: %v", err)
		}
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit: got %d messages to %s after %v, want %d", len(ms), to, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Count returns how many messages to the address have arrived.
func (s *Server) Count(t testing.TB, to string) int {
	t.Helper()
	ms, err := s.Search(context.Background(), to)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	return len(ms)
}

func (s *Server) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.API+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link returns the first link in text whose path is path, or "".
func Link(text, path string) string {
	for _, l := range linkRE.FindAllString(text, -1) {
		if u, err := url.Parse(l); err == nil && u.Path == path {
			return l
		}
	}
	return ""
}

// Token returns the token= query value of a link.
func Token(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

// StartPrivate starts a Mailpit of the test's own (the binary in
// SESAME_TEST_MAILPIT_BIN, which .ci/services sets) on free loopback
// ports, with the extra flags args (TLS, authentication), and stops it
// when the test ends. Without the binary the test skips, except under
// CI=true.
func StartPrivate(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := os.Getenv("SESAME_TEST_MAILPIT_BIN")
	if bin == "" {
		msg := "no Mailpit binary: run eval \"$(bash .ci/services mailpit)\" (sets SESAME_TEST_MAILPIT_BIN)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: a missing server is a failure)")
		}
		t.Skip(msg)
	}
	smtp, api := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "mailpit.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--listen", api, "--smtp", smtp, "--database", filepath.Join(dir, "mailpit.db"),
		"--disable-version-check", "--quiet"}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	s := &Server{API: "http://" + api, SMTP: smtp}
	for i := 0; ; i++ {
		var info map[string]any
		if c, err := net.Dial("tcp", smtp); err == nil {
			c.Close()
			if s.get(context.Background(), "/api/v1/info", &info) == nil {
				return s
			}
		}
		if i == 200 {
			b, _ := os.ReadFile(filepath.Join(dir, "mailpit.log"))
			t.Fatalf("mailpit did not start in 10 s: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
