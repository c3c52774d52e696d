package keyring_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

func randomKeyText() (string, []byte) {
	raw := make([]byte, keyring.MasterKeySize)
	rand.Read(raw)
	return base64.StdEncoding.EncodeToString(raw), raw
}

func TestMasterKeyRedacts(t *testing.T) {
	text, raw := randomKeyText()
	m, err := keyring.ParseMasterKey(text)
	must(t, "ParseMasterKey", err)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", m)
	outputs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, m), fmt.Sprintf(verb, *m))
	}
	for _, out := range outputs {
		for _, secret := range []string{text, fmt.Sprintf("%x", raw), base64.RawURLEncoding.EncodeToString(raw)} {
			if strings.Contains(out, secret) {
				t.Fatalf("%q prints the master key", out)
			}
		}
		if strings.Contains(out, "MasterKey{") || !strings.Contains(out, "REDACTED") && !strings.Contains(out, "{") {
			t.Errorf("got %q, want a redacted form", out)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	text, raw := randomKeyText()
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"std", text, true},
		{"std with newline", text + "\n", true},
		{"raw url", base64.RawURLEncoding.EncodeToString(raw), true},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(raw, 0)), false},
		{"hex", fmt.Sprintf("%x", raw), false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keyring.ParseMasterKey(tc.text)
			if (err == nil) != tc.ok {
				t.Fatalf("got error %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), tc.text) && tc.text != "" {
				t.Errorf("error %q echoes the input", err)
			}
		})
	}
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	must(t, "write", os.WriteFile(path, []byte(text), mode))
	must(t, "chmod", os.Chmod(path, mode))
}

// sameKey reports whether a and b open each other's sealed keys.
func sameKey(t *testing.T, a, b *keyring.MasterKey) bool {
	t.Helper()
	e := newEnv(t)
	e.master = a
	e.open()
	_, err := keyring.Open(ctx, e.store, b, e.config())
	return err == nil
}

func TestLoadMasterKey(t *testing.T) {
	dir := t.TempDir()
	envText, _ := randomKeyText()
	fileText, _ := randomKeyText()
	file := filepath.Join(dir, "sesame.key")
	writeFile(t, file, fileText+"\n", 0o600)

	fromEnv, err := keyring.LoadMasterKey(envText, file)
	must(t, "LoadMasterKey(env)", err)
	fromFile, err := keyring.LoadMasterKey("", file)
	must(t, "LoadMasterKey(file)", err)
	wantEnv, _ := keyring.ParseMasterKey(envText)
	wantFile, _ := keyring.ParseMasterKey(fileText)
	if !sameKey(t, fromEnv, wantEnv) || sameKey(t, fromEnv, wantFile) {
		t.Error("SESAME_MASTER_KEY did not win over the file")
	}
	if !sameKey(t, fromFile, wantFile) {
		t.Error("the file's key was not loaded")
	}

	if _, err := keyring.LoadMasterKey("not base64!", file); err == nil || !strings.Contains(err.Error(), "SESAME_MASTER_KEY") {
		t.Errorf("bad env value: got %v, want an error naming SESAME_MASTER_KEY", err)
	}
	if _, err := keyring.LoadMasterKey("", filepath.Join(dir, "missing.key")); !errors.Is(err, keyring.ErrNoMasterKey) {
		t.Errorf("missing file: got %v, want ErrNoMasterKey", err)
	}
	if _, err := keyring.LoadMasterKey("", ""); !errors.Is(err, keyring.ErrNoMasterKey) {
		t.Errorf("no env, no file: got %v, want ErrNoMasterKey", err)
	}
	loose := filepath.Join(dir, "loose.key")
	writeFile(t, loose, fileText, 0o644)
	if _, err := keyring.LoadMasterKey("", loose); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("mode 0644: got %v, want a refusal saying chmod 600", err)
	}
	garbage := filepath.Join(dir, "garbage.key")
	writeFile(t, garbage, strings.Repeat("A", 1000), 0o600)
	if _, err := keyring.LoadMasterKey("", garbage); err == nil {
		t.Error("1000-byte file: got nil error")
	}
}

func TestCreateMasterKeyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sesame.key")
	m, err := keyring.CreateMasterKeyFile(file)
	must(t, "CreateMasterKeyFile", err)
	info, err := os.Stat(file)
	must(t, "stat", err)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %#o, want 0600", info.Mode().Perm())
	}
	loaded, err := keyring.LoadMasterKey("", file)
	must(t, "LoadMasterKey", err)
	if !sameKey(t, m, loaded) {
		t.Fatal("the created file does not hold the returned key")
	}
	before, _ := os.ReadFile(file)
	again, err := keyring.CreateMasterKeyFile(file)
	must(t, "CreateMasterKeyFile again", err)
	after, _ := os.ReadFile(file)
	if !bytes.Equal(before, after) || !sameKey(t, m, again) {
		t.Error("a second CreateMasterKeyFile replaced the existing key")
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("directory: got %d entries, want only the key file (no temporary left)", len(entries))
	}
}

func TestCreateMasterKeyFileConcurrent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sesame.key")
	keys := make([]*keyring.MasterKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			m, err := keyring.CreateMasterKeyFile(file)
			if err != nil {
				t.Error(err)
			}
			keys[i] = m
		})
	}
	wg.Wait()
	for i := 1; i < len(keys); i++ {
		if keys[i] != nil && !sameKey(t, keys[0], keys[i]) {
			t.Fatalf("concurrent creators got different keys (%d)", i)
		}
	}
}

func TestLoadOrCreateMasterKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sesame.key")
	store := newFakeStore()
	var log logBuffer
	m, err := keyring.LoadOrCreateMasterKey(ctx, "", file, store, log.logger())
	must(t, "LoadOrCreateMasterKey on a fresh install", err)
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("key file not created: %v", err)
	}
	if got := log.String(); !strings.Contains(got, "level=WARN msg=\"generated master key") || !strings.Contains(got, file) {
		t.Errorf("log: got %q, want a warning naming %s", got, file)
	}
	_, err = keyring.Open(ctx, store, m, keyring.Config{Alg: jose.ES256, Logger: log.logger()})
	must(t, "Open", err)

	again, err := keyring.LoadOrCreateMasterKey(ctx, "", file, store, log.logger())
	must(t, "LoadOrCreateMasterKey with the file", err)
	_, err = keyring.Open(ctx, store, again, keyring.Config{Alg: jose.ES256, Logger: log.logger()})
	must(t, "Open with the reloaded key", err)

	// The file is lost while the database holds keys: no new key.
	must(t, "remove", os.Remove(file))
	_, err = keyring.LoadOrCreateMasterKey(ctx, "", file, store, log.logger())
	if !errors.Is(err, keyring.ErrNoMasterKey) || !strings.Contains(err.Error(), "1 sealed signing key") {
		t.Fatalf("lost key file: got %v, want ErrNoMasterKey saying the database holds keys", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was created although the database holds keys (%v)", err)
	}
}
