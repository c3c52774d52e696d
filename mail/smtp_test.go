package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/mailpit"
	"github.com/sesame-auth/sesame/internal/testlog"
	"github.com/sesame-auth/sesame/mail"
	"github.com/sesame-auth/sesame/memstore"
)

const (
	smtpUser     = "sesame"
	smtpPassword = "canary-smtp-pw-5b1e"
)

// testPKI writes a CA and a server certificate for 127.0.0.1 signed by
// it, and returns the paths of the CA certificate, the server certificate
// and its key.
func testPKI(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Sesame test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", leafDER), write("server.key", "EC PRIVATE KEY", keyDER)
}

// tlsMailpits starts two Mailpits with the test certificate, both
// requiring authentication: one requiring STARTTLS on a plain port, one
// speaking TLS from the first byte.
func tlsMailpits(t *testing.T) (caFile string, starttls, implicit *mailpit.Server) {
	t.Helper()
	caFile, cert, key := testPKI(t)
	auth := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(auth, []byte(smtpUser+":"+smtpPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-auth-file", auth}
	starttls = mailpit.StartPrivate(t, append(common, "--smtp-require-starttls")...)
	implicit = mailpit.StartPrivate(t, append(common, "--smtp-require-tls")...)
	return caFile, starttls, implicit
}

func newSender(t *testing.T, rawURL, password, caFile string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(rawURL, password, "Sesame <auth@sesame.test>")
	if err != nil {
		t.Fatal(err)
	}
	if caFile != "" {
		roots, err := mail.LoadCAFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		s.TrustOnly(roots)
	}
	return s
}

func tag() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// smtp:// upgrades with STARTTLS and authenticates; smtps:// speaks TLS
// from the first byte and authenticates: both deliver, checking the
// server's certificate against smtp_ca_file. Without that CA (the
// system's roots) the certificate is refused and nothing is sent in
// plain text instead.
func TestSMTPAuthOverSTARTTLSAndImplicitTLS(t *testing.T) {
	caFile, starttls, implicit := tlsMailpits(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		url  string
		mp   *mailpit.Server
	}{
		{"STARTTLS", "smtp://" + smtpUser + "@" + starttls.SMTP, starttls},
		{"implicit TLS", "smtps://" + smtpUser + "@" + implicit.SMTP, implicit},
	} {
		t.Run(c.name, func(t *testing.T) {
			to := "user-" + tag() + "@example.test"
			msg := mail.Rendered{To: to, Subject: "hello over " + c.name, Text: "a test message"}
			if err := newSender(t, c.url, smtpPassword, caFile).Send(ctx, msg); err != nil {
				t.Fatalf("send with the CA trusted: %v", err)
			}
			ms := c.mp.Wait(t, to, 1, 10*time.Second)
			if ms[0].Subject != msg.Subject || ms[0].From != "auth@sesame.test" || !strings.Contains(ms[0].Text, "a test message") {
				t.Fatalf("received %+v", ms[0])
			}
			other := "user-" + tag() + "@example.test"
			err := newSender(t, c.url, smtpPassword, "").Send(ctx, mail.Rendered{To: other, Subject: "x", Text: "x"})
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("send without the CA: %v, want a certificate error", err)
			}
			time.Sleep(200 * time.Millisecond)
			if n := c.mp.Count(t, other); n != 0 {
				t.Fatalf("a message reached the server over an unverified connection: %d", n)
			}
		})
	}
}

// Wrong SMTP credentials: the message stays in the outbox, due again
// later, with the server's refusal as its last error; the log says why,
// by message ID, and holds neither the password nor the recipient.
func TestSMTPWrongCredentialsKeepTheMessage(t *testing.T) {
	caFile, starttls, _ := tlsMailpits(t)
	ctx := context.Background()
	store := memstore.New()
	var logs testlog.Buffer
	box, err := mail.NewOutbox(mail.Config{Store: store, Key: bytes.Repeat([]byte{3}, 32),
		Sender: newSender(t, "smtp://"+smtpUser+"@"+starttls.SMTP, "not-the-"+smtpPassword, caFile),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	to := "user-" + tag() + "@example.test"
	if err := box.Queue(ctx, mail.Rendered{To: to, Subject: "reset", Text: "a link"}); err != nil {
		t.Fatal(err)
	}
	if n := box.RunOnce(ctx); n != 1 {
		t.Fatalf("claimed %d, want 1", n)
	}
	if box.Sent() != 0 || starttls.Count(t, to) != 0 {
		t.Fatal("a message was sent with wrong credentials")
	}
	later := time.Now().Add(time.Hour)
	ms, err := store.ClaimMail(ctx, later, later.Add(time.Minute), 10)
	if err != nil || len(ms) != 1 || ms[0].Attempts != 2 {
		t.Fatalf("outbox after the failure: %+v %v, want the message still there", ms, err)
	}
	if e := strings.ToLower(ms[0].LastError); !strings.Contains(e, "auth") {
		t.Errorf("last error %q does not say authentication failed", ms[0].LastError)
	}
	t.Logf("last error: %s", ms[0].LastError)
	out := logs.String()
	if !strings.Contains(out, "mail: send failed; will retry") || !strings.Contains(strings.ToLower(out), "auth") ||
		!strings.Contains(out, "id="+ms[0].ID) {
		t.Errorf("log does not say the send failed on authentication:\n%s", out)
	}
	for _, secret := range []string{smtpPassword, to} {
		if strings.Contains(out, secret) || strings.Contains(ms[0].LastError, secret) {
			t.Errorf("%q is in the log or the stored error:\n%s", secret, out)
		}
	}
}

func TestLoadCAFile(t *testing.T) {
	caFile, _, keyFile := testPKI(t)
	if _, err := mail.LoadCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.LoadCAFile(keyFile); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a key file: %v, want an error", err)
	}
	if _, err := mail.LoadCAFile(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("a missing file: no error")
	}
}
