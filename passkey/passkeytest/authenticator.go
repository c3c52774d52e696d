// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options Sesame's passkey ceremonies send with the JSON a
// browser would post back (a "none" attestation, ES256 assertions), and
// lets a test forge what a real authenticator never would: another origin
// or RP ID, a missing user-verification flag, a counter that goes back.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator is one software authenticator holding passkeys.
type Authenticator struct {
	// Origin is the origin the "browser" reports in client data.
	Origin string
	// RPID, when set, replaces the RP ID of the options (a phishing site's
	// authenticator would scope to its own).
	RPID string
	// NoUV leaves the user-verified flag out: a security key touched but
	// without its PIN.
	NoUV bool
	// Counter is the signature counter of the next assertion (0: a
	// synced passkey that does not count); every assertion adds 1 first.
	Counter uint32
	// Keys are the credentials made so far, by credential ID.
	Keys map[string]*Key
}

// Key is one credential of an [Authenticator].
type Key struct {
	ID   []byte
	User []byte // the user handle it was registered for
	RPID string
	Priv *ecdsa.PrivateKey
}

// New returns an authenticator whose browser is at origin.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, Keys: map[string]*Key{}}
}

var b64 = base64.RawURLEncoding

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func (a *Authenticator) flags() byte {
	f := byte(0x01) // UP
	if !a.NoUV {
		f |= 0x04 // UV
	}
	return f
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	cd, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return cd
}

// Create answers navigator.credentials.create options with a new
// credential, and returns the JSON body the browser would post.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	rpID := o.PublicKey.RP.ID
	if a.RPID != "" {
		rpID = a.RPID
	}
	user, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user id: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &Key{ID: make([]byte, 32), User: user, RPID: rpID, Priv: priv}
	rand.Read(k.ID)
	pub := webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        priv.PublicKey.X.FillBytes(make([]byte, 32)),
		YCoord:        priv.PublicKey.Y.FillBytes(make([]byte, 32)),
	}
	cose, err := webauthncbor.Marshal(pub)
	if err != nil {
		return nil, err
	}
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, a.flags()|0x40) // AT: attested credential data follows
	auth = binary.BigEndian.AppendUint32(auth, a.Counter)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.ID)))
	auth = append(auth, k.ID...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	a.Keys[string(k.ID)] = k
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Get answers navigator.credentials.get options with an assertion by the
// credential k (nil: the first allowed credential this authenticator
// holds, or any one for a discoverable request), and returns the JSON
// body the browser would post.
func (a *Authenticator) Get(options []byte, k *Key) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	if k == nil {
		for _, c := range o.PublicKey.AllowCredentials {
			id, _ := b64.DecodeString(c.ID)
			if x, ok := a.Keys[string(id)]; ok {
				k = x
				break
			}
		}
	}
	if k == nil && len(o.PublicKey.AllowCredentials) == 0 {
		for _, x := range a.Keys {
			k = x
			break
		}
	}
	if k == nil {
		return nil, fmt.Errorf("passkeytest: no credential for these options")
	}
	return a.Sign(k, o.PublicKey.Challenge, a.clientData("webauthn.get", o.PublicKey.Challenge))
}

// Challenge returns the challenge of options (creation or request).
func Challenge(options []byte) string {
	var o requestOptions
	json.Unmarshal(options, &o)
	return o.PublicKey.Challenge
}

// Sign returns an assertion by k over clientData (which a test may forge),
// with the authenticator's flags, counter (incremented first when not
// zero) and RP ID.
func (a *Authenticator) Sign(k *Key, challenge string, clientData []byte) ([]byte, error) {
	rpID := k.RPID
	if a.RPID != "" {
		rpID = a.RPID
	}
	if a.Counter != 0 {
		a.Counter++
	}
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, a.flags())
	auth = binary.BigEndian.AppendUint32(auth, a.Counter)
	cdHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.Priv, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.User),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// ClientData returns client data of typ for challenge at origin, for a
// test that forges it.
func ClientData(typ, challenge, origin string) []byte {
	cd, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return cd
}

// Only returns the one key a holds (for tests that registered one).
func (a *Authenticator) Only() *Key {
	for _, k := range a.Keys {
		return k
	}
	return nil
}
