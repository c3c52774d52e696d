package keyring

import (
	"crypto/rand"
	"fmt"
)

// sealedAAD binds a sealed secret to its purpose and record ID, apart from
// the signing keys' own AAD (aad), so that no sealed blob opens as another.
func sealedAAD(purpose, id string) []byte {
	b := make([]byte, 0, 32+len(purpose)+len(id))
	b = append(b, "sesame sealed v1\x00"...)
	b = append(b, purpose...)
	b = append(b, 0)
	return append(b, id...)
}

// Seal encrypts a secret other than a signing key (a TOTP secret: purpose
// "totp", id the factor's ID) with AES-256-GCM under the master key, the
// way signing keys are sealed: a version byte, a random nonce, the
// ciphertext and tag. The blob opens only with the same purpose and id, so
// one copied into another record does not.
func (m *MasterKey) Seal(purpose, id string, plaintext []byte) []byte {
	ns := m.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+m.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1 : 1+ns])
	return m.aead.Seal(out, out[1:1+ns], plaintext, sealedAAD(purpose, id))
}

// Unseal decrypts what Seal wrote for (purpose, id). Every failure wraps
// [ErrUnseal] and names neither the secret nor the key.
func (m *MasterKey) Unseal(purpose, id string, sealed []byte) ([]byte, error) {
	ns := m.aead.NonceSize()
	if len(sealed) < 1+ns+m.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w (%s %q: not a sealed secret of a known format)", ErrUnseal, purpose, id)
	}
	plain, err := m.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealedAAD(purpose, id))
	if err != nil {
		return nil, fmt.Errorf("%w (%s %q)", ErrUnseal, purpose, id)
	}
	return plain, nil
}
