package mail

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
)

// Rendered is a message ready to send: one recipient, a subject, a text
// body and an optional HTML alternative. It holds links with tokens: it
// redacts itself in logs.
type Rendered struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// String redacts the message.
func (r Rendered) String() string { return "mail message (redacted)" }

// GoString redacts the message.
func (r Rendered) GoString() string { return r.String() }

// sealer seals and opens message bodies with AES-256-GCM.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("mail: the sealing key must be 32 bytes, got %d", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(id string, r Rendered) ([]byte, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(id)), nil
}

var errUnseal = errors.New("mail: cannot open a stored message (another master key?)")

func (s *sealer) open(id string, body []byte) (Rendered, error) {
	var r Rendered
	n := s.aead.NonceSize()
	if len(body) < n {
		return r, errUnseal
	}
	plain, err := s.aead.Open(nil, body[:n], body[n:], []byte(id))
	if err != nil {
		return r, errUnseal
	}
	if err := json.Unmarshal(plain, &r); err != nil {
		return r, errUnseal
	}
	return r, nil
}
