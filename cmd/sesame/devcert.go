package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

func init() {
	register("dev-cert", "write a self-signed TLS certificate for local use", runDevCert)
}

const devCertHelp = `
Writes a self-signed certificate and its private key (ECDSA P-256, PEM) for
local development: valid for localhost, 127.0.0.1 and ::1 (and any --host
names), for --days days. Use them with
  sesame serve --tls-cert sesame-cert.pem --tls-key sesame-key.pem
Browsers will warn that the certificate is not trusted: it is for local use
only. The key file is written with mode 0600; existing files are not
overwritten unless --force is given.`

func runDevCert(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "dev-cert", "sesame dev-cert [--dir DIR] [--host NAME,...] [--days N] [--force]", devCertHelp)
	dir := fs.String("dir", ".", "directory to write sesame-cert.pem and sesame-key.pem into")
	hosts := fs.String("host", "", "extra comma-separated DNS names or IP addresses")
	days := fs.Int("days", 30, "validity in days (1 to 397)")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *days < 1 || *days > 397 {
		return usageError("--days must be between 1 and 397")
	}
	names := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	for _, h := range splitList(*hosts) {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, h)
		}
	}
	certPEM, keyPEM, err := selfSigned(names, ips, time.Now(), time.Duration(*days)*24*time.Hour)
	if err != nil {
		return failure("generate certificate: %v", err)
	}
	certPath, keyPath := filepath.Join(*dir, "sesame-cert.pem"), filepath.Join(*dir, "sesame-key.pem")
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{keyPath, keyPEM, 0o600}, {certPath, certPEM, 0o644}} {
		fh, err := os.OpenFile(f.path, flags, f.mode)
		if err != nil {
			return failure("write %s: %v (use --force to overwrite)", f.path, err)
		}
		if _, err := fh.Write(f.data); err != nil {
			fh.Close()
			return failure("write %s: %v", f.path, err)
		}
		if err := fh.Close(); err != nil {
			return failure("write %s: %v", f.path, err)
		}
	}
	printf(env.Stdout, "wrote %s and %s\nrun: sesame serve --tls-cert %s --tls-key %s\n", certPath, keyPath, certPath, keyPath)
	return nil
}

// selfSigned returns a PEM certificate and PKCS#8 PEM key for names and ips.
func selfSigned(names []string, ips []net.IP, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sesame development certificate", Organization: []string{"Sesame (local development)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}
