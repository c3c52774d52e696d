package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevCertWritesUsableFiles(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"dev-cert", "--dir", dir, "--host", "sesame.test,192.0.2.1"}, nil, &out, &errb); code != 0 {
		t.Fatalf("dev-cert: exit %d: %s", code, errb.String())
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "sesame-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "sesame-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: got %v, want 0600", info.Mode().Perm())
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "sesame-cert.pem"), filepath.Join(dir, "sesame-key.pem")); err != nil {
		t.Fatalf("the pair does not load: %v", err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "sesame.test", "192.0.2.1"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("certificate not valid for %s: %v", h, err)
		}
	}
	// Existing files are kept unless --force.
	if code := Run(context.Background(), []string{"dev-cert", "--dir", dir}, nil, io.Discard, io.Discard); code != 1 {
		t.Fatalf("dev-cert over existing files: exit %d, want 1", code)
	}
	if code := Run(context.Background(), []string{"dev-cert", "--dir", dir, "--force"}, nil, io.Discard, io.Discard); code != 0 {
		t.Fatalf("dev-cert --force: exit %d, want 0", code)
	}
	if code := Run(context.Background(), []string{"dev-cert", "--days", "0"}, nil, io.Discard, io.Discard); code != 2 {
		t.Fatalf("dev-cert --days 0: exit %d, want 2", code)
	}
}

// SEC-49: `serve --tls-cert --tls-key` speaks TLS 1.2+ only, sends HSTS on
// every response, and its cookies stay __Host-.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	if code := Run(context.Background(), []string{"dev-cert", "--dir", dir}, nil, io.Discard, io.Discard); code != 0 {
		t.Fatal("dev-cert failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "s.db"),
			"--tls-cert", filepath.Join(dir, "sesame-cert.pem"), "--tls-key", filepath.Join(dir, "sesame-key.pem")}, nil, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listen line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "sesame listening on "))
	if !strings.HasPrefix(url, "https://localhost:") {
		t.Fatalf("printed URL %q: want https://localhost:PORT", url)
	}
	addr := strings.TrimPrefix(url, "https://")
	pool := x509.NewCertPool()
	certPEM, _ := os.ReadFile(filepath.Join(dir, "sesame-cert.pem"))
	pool.AppendCertsFromPEM(certPEM)

	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: v, MaxVersion: v})
		if err == nil {
			conn.Close()
			t.Fatalf("TLS version %x accepted, want refused", v)
		}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}}}
	for _, path := range []string{"/login", "/api/v1/me", "/nope"} {
		res, err := client.Get(url + path)
		if err != nil {
			t.Fatalf("TLS 1.2 GET %s: %v", path, err)
		}
		res.Body.Close()
		if hsts := res.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=63072000") || !strings.Contains(hsts, "includeSubDomains") {
			t.Fatalf("GET %s (%d): HSTS %q, want max-age of at least a year with includeSubDomains", path, res.StatusCode, hsts)
		}
	}
}
