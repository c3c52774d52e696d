package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealUnseal(t *testing.T) {
	m, err := NewMasterKey(bytes.Repeat([]byte{7}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewMasterKey(bytes.Repeat([]byte{8}, MasterKeySize))
	secret := []byte("12345678901234567890")
	blob := m.Seal("totp", "f1", secret)
	if bytes.Contains(blob, secret) {
		t.Fatal("the sealed blob holds the secret in clear")
	}
	got, err := m.Unseal("totp", "f1", blob)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Unseal: got %q, %v; want the secret", got, err)
	}
	tampered := bytes.Clone(blob)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"another record":  func() ([]byte, error) { return m.Unseal("totp", "f2", blob) },
		"another purpose": func() ([]byte, error) { return m.Unseal("webauthn", "f1", blob) },
		"another key":     func() ([]byte, error) { return other.Unseal("totp", "f1", blob) },
		"tampered":        func() ([]byte, error) { return m.Unseal("totp", "f1", tampered) },
		"truncated":       func() ([]byte, error) { return m.Unseal("totp", "f1", blob[:10]) },
	} {
		if _, err := open(); !errors.Is(err, ErrUnseal) {
			t.Errorf("%s: got %v, want ErrUnseal", name, err)
		}
	}
}
