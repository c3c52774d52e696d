package keyring_test

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

var bothAlgs = func(c *keyring.Config) { c.Algs = []jose.Algorithm{jose.ES256, jose.RS256} }

// signingKIDs maps each algorithm to the kid of its active key.
func signingKIDs(r *keyring.Ring) map[jose.Algorithm]string {
	out := map[jose.Algorithm]string{}
	for _, alg := range []jose.Algorithm{jose.ES256, jose.RS256, jose.ES384} {
		if k := r.SigningKeyFor(alg); k != nil {
			out[alg] = k.KID()
		}
	}
	return out
}

// jwksAlgs maps each kid of a JWKS document to its alg.
func jwksAlgs(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	must(t, "unmarshal JWKS", json.Unmarshal(doc, &set))
	out := map[string]string{}
	for _, k := range set.Keys {
		kid, _ := k["kid"].(string)
		alg, _ := k["alg"].(string)
		out[kid] = alg
	}
	return out
}

func TestDefaultAlgsOneKeyEach(t *testing.T) {
	e := newEnv(t)
	r, err := keyring.Open(ctx, e.store, e.master, keyring.Config{Clock: e.clock, Logger: e.log.logger()})
	must(t, "Open", err)

	if got := r.Algorithms(); !slices.Equal(got, []jose.Algorithm{jose.ES256, jose.RS256}) {
		t.Fatalf("Algorithms: got %v, want [ES256 RS256]", got)
	}
	es, rs := r.SigningKeyFor(jose.ES256), r.SigningKeyFor(jose.RS256)
	if es == nil || rs == nil || es.Algorithm() != jose.ES256 || rs.Algorithm() != jose.RS256 || !es.CanSign() || !rs.CanSign() {
		t.Fatalf("SigningKeyFor: got %v and %v, want a private ES256 and a private RS256 key", es, rs)
	}
	if r.SigningKey() != es {
		t.Errorf("SigningKey: got %v, want the default algorithm's key %v", r.SigningKey(), es)
	}
	if pub, ok := rs.CryptoPublicKey().(*rsa.PublicKey); !ok || pub.N.BitLen() < 2048 {
		t.Errorf("RS256 key: got %T, want an RSA key of 2048 bits or more", rs.CryptoPublicKey())
	}
	for _, alg := range []jose.Algorithm{jose.ES384, jose.PS256, jose.HS256, ""} {
		if k := r.SigningKeyFor(alg); k != nil {
			t.Errorf("SigningKeyFor(%q): got %v, want nil (not configured)", alg, k)
		}
	}
	if got, want := jwksAlgs(t, r.JWKS()), map[string]string{es.KID(): "ES256", rs.KID(): "RS256"}; !mapsEqual(got, want) {
		t.Errorf("JWKS: got %v, want %v", got, want)
	}
	if n := len(e.store.kids()); n != 2 {
		t.Errorf("store: got %d keys, want 2", n)
	}
	for _, alg := range []string{"ES256", "RS256"} {
		if !strings.Contains(e.log.String(), "msg=\"generated signing key\" kid=") || !strings.Contains(e.log.String(), "alg="+alg) {
			t.Errorf("log: got %q, want the generation of the %s key", e.log.String(), alg)
		}
	}

	// Tokens of both algorithms verify against the ring, and only with
	// their own key.
	v := &jose.Verifier{Keys: r, Now: e.clock.Now}
	for _, k := range []*jose.Key{es, rs} {
		tok, err := jose.SignJWT(k, &jose.Claims{Subject: "u1", ExpiresAt: jose.NewNumericDate(base.Add(time.Minute))}, jose.SignOptions{})
		must(t, "SignJWT", err)
		var c jose.Claims
		if err := v.Verify(tok, &c); err != nil || c.Subject != "u1" {
			t.Errorf("%s token: %v, want valid", k.Algorithm(), err)
		}
	}

	// A restart generates nothing.
	again, err := keyring.Open(ctx, e.store, e.master, keyring.Config{Clock: e.clock, Logger: discard()})
	must(t, "Open again", err)
	if got := signingKIDs(again); got[jose.ES256] != es.KID() || got[jose.RS256] != rs.KID() || len(e.store.kids()) != 2 {
		t.Errorf("after restart: signing %v, store %d keys; want the same two keys", got, len(e.store.kids()))
	}
}

// An existing deployment's store holds an ES256 key only: opening it with
// [ES256, RS256] keeps the ES256 key and makes an RS256 key that signs at
// once (no JWKS can hold an RS256 key of this issuer yet).
func TestOpenUpgradesES256OnlyStore(t *testing.T) {
	e := newEnv(t)
	old := e.open().SigningKey().KID() // env: ES256 only
	e.clock.Add(24 * time.Hour)
	e.log = &logBuffer{}
	r := e.open(bothAlgs)
	got := signingKIDs(r)
	if got[jose.ES256] != old {
		t.Fatalf("ES256 signing kid: got %s, want the stored %s", got[jose.ES256], old)
	}
	rs := got[jose.RS256]
	if rs == "" {
		t.Fatal("no RS256 key signs after the upgrade")
	}
	if k := r.SigningKey(); k == nil || k.KID() != old {
		t.Errorf("SigningKey: got %v, want the ES256 key (first-party tokens keep it)", k)
	}
	for _, k := range r.Keys() {
		if k.KID == rs && (!k.ActivateAt.Equal(e.clock.Now()) || k.State != keyring.StateActive) {
			t.Errorf("RS256 key: %+v, want active from now", k)
		}
		if k.KID == old && (k.State != keyring.StateActive || !k.RetireAt.IsZero()) {
			t.Errorf("ES256 key: %+v, want active with no retirement", k)
		}
	}
	if log := e.log.String(); !strings.Contains(log, "level=INFO msg=\"generated signing key\" kid="+rs+" alg=RS256") {
		t.Errorf("log: got %q, want the RS256 generation at info level", log)
	}
	wantKIDs(t, "JWKS", jwksKIDs(t, r.JWKS()), old, rs)

	// A node still configured for ES256 only (a rolling upgrade) keeps
	// signing with the same ES256 key, and resolves the RS256 key.
	legacy := e.open()
	if legacy.SigningKey().KID() != old || legacy.SigningKeyFor(jose.RS256) != nil {
		t.Errorf("ES256-only node: signing %s, RS256 %v; want %s and none", legacy.SigningKey().KID(), legacy.SigningKeyFor(jose.RS256), old)
	}
	if _, err := legacy.ResolveKey(rs); err != nil {
		t.Errorf("ES256-only node: ResolveKey(RS256 key): %v", err)
	}
}

// TestRotateAllBoundaries: a rotation makes one key per algorithm; each
// takes over from its own algorithm's key at the activation instant, to the
// nanosecond, and the old keys leave the JWKS together.
func TestRotateAllBoundaries(t *testing.T) {
	e := newEnv(t)
	r := e.open(bothAlgs)
	before := signingKIDs(r)
	rotatedAt := base.Add(time.Hour)
	e.clock.Set(rotatedAt)
	infos, err := r.RotateAll(ctx)
	must(t, "RotateAll", err)
	if len(infos) != 2 || infos[0].Alg != jose.ES256 || infos[1].Alg != jose.RS256 {
		t.Fatalf("RotateAll: got %+v, want an ES256 then an RS256 key", infos)
	}
	activate := rotatedAt.Add(time.Hour)
	after := map[jose.Algorithm]string{}
	for _, in := range infos {
		if in.State != keyring.StatePending || !in.ActivateAt.Equal(activate) {
			t.Errorf("new %s key: %+v, want pending until %v", in.Alg, in, activate)
		}
		after[in.Alg] = in.KID
	}
	all := []string{before[jose.ES256], before[jose.RS256], after[jose.ES256], after[jose.RS256]}
	wantKIDs(t, "JWKS after rotation", jwksKIDs(t, r.JWKS()), all...)

	e.clock.Set(activate.Add(-time.Nanosecond))
	if got := signingKIDs(r); !mapsEqual(got, before) {
		t.Fatalf("1 ns before activation: signing %v, want the old keys %v", got, before)
	}
	e.clock.Set(activate)
	if got := signingKIDs(r); !mapsEqual(got, after) {
		t.Fatalf("at activation: signing %v, want the new keys %v", got, after)
	}
	st := states(r)
	for alg, kid := range before {
		if st[kid] != keyring.StateRetired {
			t.Errorf("old %s key: %s, want retired", alg, st[kid])
		}
	}
	gone := activate.Add(17 * time.Minute)
	e.clock.Set(gone.Add(-time.Nanosecond))
	wantKIDs(t, "JWKS 1 ns before the old keys leave", jwksKIDs(t, r.JWKS()), all...)
	e.clock.Set(gone)
	wantKIDs(t, "JWKS when the old keys leave", jwksKIDs(t, r.JWKS()), after[jose.ES256], after[jose.RS256])

	// Rotate is RotateAll returning the default algorithm's key.
	info, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	if info.Alg != jose.ES256 || len(r.Keys()) != 4 { // the expired keys were deleted
		t.Errorf("Rotate: got %+v and %d keys, want a new ES256 key and one new key per algorithm", info, len(r.Keys()))
	}
}

// A newer key of one algorithm retires nothing of another: the lives of
// the algorithms' keys are independent.
func TestAlgKeysLiveIndependently(t *testing.T) {
	e := newEnv(t)
	r := e.open(bothAlgs)
	es := r.SigningKeyFor(jose.ES256).KID()
	oldRS := r.SigningKeyFor(jose.RS256).KID()

	e.clock.Add(time.Hour)
	// Every RS256 key retired in the store: the next reload makes one
	// RS256 key and leaves ES256 alone.
	must(t, "RetireKey", e.store.RetireKey(ctx, oldRS, e.clock.Now()))
	n := len(e.store.kids())
	must(t, "Reload", r.Reload(ctx))
	got := signingKIDs(r)
	if got[jose.ES256] != es || got[jose.RS256] == "" || got[jose.RS256] == oldRS {
		t.Fatalf("after every RS256 key retired: signing %v, want ES256 %s and a new RS256 key", got, es)
	}
	if added := len(e.store.kids()) - n; added != 1 {
		t.Errorf("reload added %d keys, want 1", added)
	}
	if !strings.Contains(e.log.String(), "level=WARN msg=\"generated signing key: no stored key signs or will sign\" kid="+got[jose.RS256]+" alg=RS256") {
		t.Errorf("log: got %q, want a warning for the RS256 key", e.log.String())
	}
	// The new RS256 key is newer than the ES256 key and active: under one
	// succession for all algorithms it would have retired the ES256 key.
	e.clock.Add(24 * time.Hour)
	for _, k := range r.Keys() {
		if k.KID == es && (!k.RetireAt.IsZero() || k.State != keyring.StateActive) {
			t.Errorf("ES256 key: %+v, want active with no retirement", k)
		}
	}
	if got := signingKIDs(r); got[jose.ES256] != es {
		t.Errorf("a day later: signing %v, want ES256 %s still", got, es)
	}
}

// Keys of an algorithm no longer configured still verify and stay
// published, sign nothing, and retire at the next rotation.
func TestUnconfiguredAlgKeys(t *testing.T) {
	e := newEnv(t)
	old := e.open(func(c *keyring.Config) { c.Algs = []jose.Algorithm{jose.ES384} }).SigningKey()
	tok, err := jose.SignJWT(old, &jose.Claims{Subject: "u1", ExpiresAt: jose.NewNumericDate(base.Add(15 * time.Minute))}, jose.SignOptions{})
	must(t, "SignJWT", err)

	r := e.open() // ES256
	if k := r.SigningKeyFor(jose.ES384); k != nil {
		t.Errorf("SigningKeyFor(ES384): got %v, want nil: ES384 is no longer configured", k)
	}
	if got := r.Algorithms(); !slices.Equal(got, []jose.Algorithm{jose.ES256}) {
		t.Errorf("Algorithms: got %v, want [ES256]", got)
	}
	if _, _, err := jose.Verify(tok, r); err != nil {
		t.Errorf("token of the ES384 key: %v, want valid", err)
	}
	wantKIDs(t, "JWKS", jwksKIDs(t, r.JWKS()), old.KID(), r.SigningKey().KID())

	info, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	for _, k := range r.Keys() {
		if k.KID == old.KID() && !k.RetireAt.Equal(info.ActivateAt) {
			t.Errorf("ES384 key: retires at %v, want the rotation's activation %v", k.RetireAt, info.ActivateAt)
		}
	}
	e.clock.Set(info.ActivateAt.Add(17 * time.Minute))
	if _, err := r.ResolveKey(old.KID()); !errors.Is(err, jose.ErrKeyNotFound) {
		t.Errorf("ES384 key after its expiry: got %v, want ErrKeyNotFound", err)
	}
}

func TestAlgsRefused(t *testing.T) {
	e := newEnv(t)
	for _, algs := range [][]jose.Algorithm{
		{jose.ES256, jose.HS256},
		{jose.ES256, jose.ES256},
		{jose.RS256, "none"},
		{""},
	} {
		if _, err := keyring.Open(ctx, e.store, e.master, keyring.Config{Algs: algs}); err == nil {
			t.Errorf("Open with Algs %q: got nil error, want one", algs)
		}
	}
	if n := len(e.store.kids()); n != 0 {
		t.Errorf("refused Opens stored %d keys", n)
	}
	// Alg alone is the one-element list; Algs wins over it.
	r := e.open(func(c *keyring.Config) { c.Algs = nil; c.Alg = jose.EdDSA })
	if got := r.Config().Algs; !slices.Equal(got, []jose.Algorithm{jose.EdDSA}) {
		t.Errorf("Alg EdDSA: got Algs %v, want [EdDSA]", got)
	}
	r = e.open(func(c *keyring.Config) { c.Algs = []jose.Algorithm{jose.RS256, jose.ES256}; c.Alg = jose.EdDSA })
	if got := r.Config(); got.Alg != jose.RS256 || r.SigningKey().Algorithm() != jose.RS256 {
		t.Errorf("Algs [RS256 ES256]: got Alg %s, signing %v; want RS256 the default", got.Alg, r.SigningKey())
	}
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
