package jose

import (
	"fmt"
	"sync"
)

// KeyResolver finds the key that verifies a token, given the kid of its
// header ("" when the header has none). It returns an error wrapping
// [ErrKeyNotFound] when no key matches. The kid is only ever a lookup key:
// implementations must not treat it as a path, URL or query.
//
// [*Key] and [*KeySet] implement KeyResolver; a remote JWKS cache can too.
type KeyResolver interface {
	ResolveKey(kid string) (*Key, error)
}

// KeySet holds the keys of one issuer: verification keys looked up by kid
// (a map key only, SEC-18), and at most one active signing key. Retired
// keys stay in the set to verify tokens signed before a rotation until they
// are removed.
//
// A KeySet never mixes HMAC secrets with asymmetric keys (SEC-17), and
// never holds two keys with one kid. The zero value is an empty set ready to
// use. A KeySet is safe for concurrent use.
type KeySet struct {
	mu      sync.RWMutex
	byKID   map[string]*Key
	order   []string // kids in insertion order, for stable export
	signing *Key
}

// NewKeySet returns a set holding keys for verification. The first key
// that can sign becomes the active signing key.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	s := &KeySet{}
	for _, k := range keys {
		if err := s.Add(k); err != nil {
			return nil, err
		}
		if s.signing == nil && k.CanSign() {
			s.signing = k
		}
	}
	return s, nil
}

// Add adds k as a verification key. It fails when the kid is taken or when
// k would mix HMAC and asymmetric keys in the set.
func (s *KeySet) Add(k *Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(k)
}

func (s *KeySet) addLocked(k *Key) error {
	if k == nil {
		return errorf(ErrInvalidKey, "nil key")
	}
	if _, dup := s.byKID[k.kid]; dup {
		return errorf(ErrInvalidKey, "key set already holds a key with this kid")
	}
	for _, other := range s.byKID {
		if other.IsSymmetric() != k.IsSymmetric() {
			return errorf(ErrInvalidKey, "key set may not mix HMAC and asymmetric keys")
		}
		break
	}
	if s.byKID == nil {
		s.byKID = make(map[string]*Key)
	}
	s.byKID[k.kid] = k
	s.order = append(s.order, k.kid)
	return nil
}

// SetSigningKey makes k the active signing key, adding it to the set if
// needed. The previous signing key stays in the set, retired: it verifies
// but no longer signs.
func (s *KeySet) SetSigningKey(k *Key) error {
	if k == nil || !k.CanSign() {
		return errorf(ErrInvalidKey, "signing key must hold private or secret material")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.byKID[k.kid]; ok {
		if cur != k {
			return errorf(ErrInvalidKey, "key set already holds a different key with this kid")
		}
	} else if err := s.addLocked(k); err != nil {
		return err
	}
	s.signing = k
	return nil
}

// Remove deletes the key with the given kid and reports whether it was
// present. Removing the active signing key leaves the set without one.
func (s *KeySet) Remove(kid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byKID[kid]
	if !ok {
		return false
	}
	delete(s.byKID, kid)
	for i, id := range s.order {
		if id == kid {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
	if s.signing == k {
		s.signing = nil
	}
	return true
}

// SigningKey returns the active signing key, or nil when there is none.
func (s *KeySet) SigningKey() *Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.signing
}

// Lookup returns the key with the given kid.
func (s *KeySet) Lookup(kid string) (*Key, bool) {
	s.mu.RLock()
	k, ok := s.byKID[kid]
	s.mu.RUnlock()
	return k, ok
}

// Len returns the number of keys.
func (s *KeySet) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byKID)
}

// Keys returns the keys in the order they were added.
func (s *KeySet) Keys() []*Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Key, 0, len(s.order))
	for _, kid := range s.order {
		out = append(out, s.byKID[kid])
	}
	return out
}

// ResolveKey implements [KeyResolver]. A token without kid resolves only
// when the set holds exactly one key.
func (s *KeySet) ResolveKey(kid string) (*Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if kid == "" {
		if len(s.byKID) == 1 {
			for _, k := range s.byKID {
				return k, nil
			}
		}
		return nil, errNoKid
	}
	if k, ok := s.byKID[kid]; ok {
		return k, nil
	}
	return nil, errNoKey
}

// MarshalJSON returns the public JWKS ({"keys":[...]}) to publish, e.g. at
// /.well-known/jwks.json: public members only. It fails for a set of HMAC
// keys, which have nothing public.
func (s *KeySet) MarshalJSON() ([]byte, error) { return s.marshal(false) }

// MarshalPrivateJWKS returns the JWKS with private and secret members. The
// active signing key comes first, so that [ParseJWKS] restores it as the
// signing key. The result is a secret: store it encrypted.
func (s *KeySet) MarshalPrivateJWKS() ([]byte, error) { return s.marshal(true) }

func (s *KeySet) marshal(private bool) ([]byte, error) {
	keys := s.Keys()
	if signing := s.SigningKey(); private && signing != nil {
		for i, k := range keys {
			if k == signing {
				keys = append(append([]*Key{k}, keys[:i]...), keys[i+1:]...)
				break
			}
		}
	}
	b := []byte(`{"keys":[`)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case !private && k.IsSymmetric():
			return nil, errorf(ErrInvalidKey, "an HMAC key set has no public JWKS")
		case private && !k.CanSign() && !k.IsSymmetric():
			b = k.appendJWK(b, false)
		default:
			b = k.appendJWK(b, private)
		}
	}
	return append(b, "]}"...), nil
}

// ParseJWKS parses a JWK Set ({"keys":[...]}) strictly: every key must
// parse as with [ParseJWK], kids must be unique (keys without kid get their
// thumbprint), and HMAC and asymmetric keys may not be mixed. The first key
// that can sign becomes the active signing key.
func ParseJWKS(data []byte) (*KeySet, error) {
	sc := scanner{s: string(data)}
	bad := errorf(ErrInvalidKey, "jwks is not a strict JSON object with a keys array")
	var keys []*Key
	var names nameSet
	sawKeys := false
	it := sc.object()
	for {
		name, more, ok := it.next()
		if !ok {
			return nil, bad
		}
		if !more {
			break
		}
		if !names.add(name) {
			return nil, errorf(ErrInvalidKey, "jwks has a duplicate member name")
		}
		if name != "keys" {
			if _, ok := sc.value(1); !ok {
				return nil, bad
			}
			continue
		}
		sawKeys = true
		if !sc.consume('[') {
			return nil, bad
		}
		if sc.consume(']') {
			continue
		}
		for {
			var f jwkFields
			if err := readJWKFields(&sc, &f); err != nil {
				return nil, fmt.Errorf("jose: jwks key %d: %w", len(keys), err)
			}
			k, err := keyFromFields(&f, "")
			if err != nil {
				return nil, fmt.Errorf("jose: jwks key %d: %w", len(keys), err)
			}
			keys = append(keys, k)
			if sc.consume(',') {
				continue
			}
			if !sc.consume(']') {
				return nil, bad
			}
			break
		}
	}
	if !sawKeys || !sc.atEnd() {
		return nil, bad
	}
	return NewKeySet(keys...)
}
