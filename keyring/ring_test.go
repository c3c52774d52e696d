package keyring_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/keyring"
)

// jwksKIDs returns the kids of a JWKS document, in order.
func jwksKIDs(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	kids := []string{}
	for _, k := range set.Keys {
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
	}
	return kids
}

// wantKIDs compares kids as sets.
func wantKIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got kids %q, want %q", what, got, want)
	}
}

func states(r *keyring.Ring) map[string]keyring.State {
	out := map[string]keyring.State{}
	for _, k := range r.Keys() {
		out[k.KID] = k.State
	}
	return out
}

func TestOpenFirstStartGeneratesOneKey(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	k := r.SigningKey()
	if k == nil {
		t.Fatal("SigningKey: got nil, want the generated key")
	}
	if k.Algorithm() != jose.ES256 || !k.CanSign() {
		t.Errorf("SigningKey: got %v, want a private ES256 key", k)
	}
	recs, err := e.store.ListKeys(ctx)
	must(t, "ListKeys", err)
	if len(recs) != 1 || recs[0].KID != k.KID() {
		t.Fatalf("store: got %d records, want exactly the signing key %s", len(recs), k.KID())
	}
	rec := recs[0]
	if !rec.CreatedAt.Equal(base) || !rec.ActivateAt.Equal(base) || !rec.RetiredAt.IsZero() {
		t.Errorf("record times: got created %v activate %v retired %v, want %v, %v and zero (the first key signs at once)",
			rec.CreatedAt, rec.ActivateAt, rec.RetiredAt, base, base)
	}
	if strings.Contains(string(rec.Sealed), `"d"`) || strings.Contains(string(rec.Sealed), k.KID()) {
		t.Error("sealed record holds plaintext JWK members")
	}
	log := e.log.String()
	if want := fmt.Sprintf("msg=\"generated signing key\" kid=%s alg=ES256", k.KID()); !strings.Contains(log, want) {
		t.Errorf("log: got %q, want a line with %q", log, want)
	}
	if got := states(r); got[k.KID()] != keyring.StateActive || len(got) != 1 {
		t.Errorf("Keys: got %v, want one active key", got)
	}
}

func TestOpenRestartLoadsSameKey(t *testing.T) {
	e := newEnv(t)
	first := e.open().SigningKey().KID()
	e.log = &logBuffer{}
	e.clock.Add(24 * time.Hour)
	r := e.open()
	if got := r.SigningKey().KID(); got != first {
		t.Fatalf("after restart: got signing kid %s, want %s", got, first)
	}
	if kids := e.store.kids(); len(kids) != 1 {
		t.Errorf("store after restart: got %d keys, want 1", len(kids))
	}
	if strings.Contains(e.log.String(), "generated") {
		t.Errorf("restart logged %q, want no key generated", e.log.String())
	}
}

func TestOpenWrongMasterKey(t *testing.T) {
	e := newEnv(t)
	e.open()
	before := e.store.kids()
	_, err := keyring.Open(ctx, e.store, newMaster(t), e.config())
	if !errors.Is(err, keyring.ErrUnseal) {
		t.Fatalf("Open with another master key: got %v, want ErrUnseal", err)
	}
	if !strings.Contains(err.Error(), "wrong master key") {
		t.Errorf("error %q does not say the master key may be wrong", err)
	}
	if after := e.store.kids(); !slices.Equal(after, before) {
		t.Errorf("store after a failed Open: got %q, want %q unchanged (no new key)", after, before)
	}
}

func TestSealedRecordTampered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(a, b *keyring.Record)
	}{
		{"version byte", func(a, _ *keyring.Record) { a.Sealed[0] ^= 0xff }},
		{"nonce", func(a, _ *keyring.Record) { a.Sealed[1] ^= 1 }},
		{"ciphertext", func(a, _ *keyring.Record) { a.Sealed[20] ^= 1 }},
		{"tag", func(a, _ *keyring.Record) { a.Sealed[len(a.Sealed)-1] ^= 1 }},
		{"truncated", func(a, _ *keyring.Record) { a.Sealed = a.Sealed[:len(a.Sealed)-1] }},
		{"empty", func(a, _ *keyring.Record) { a.Sealed = nil }},
		{"moved to another kid", func(a, b *keyring.Record) { a.Sealed = append([]byte(nil), b.Sealed...) }},
		{"swapped between kids", func(a, b *keyring.Record) { a.Sealed, b.Sealed = b.Sealed, a.Sealed }},
		{"alg changed", func(a, _ *keyring.Record) { a.Alg = jose.ES384 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.open()
			_, err := r.Rotate(ctx)
			must(t, "Rotate", err)
			kids := e.store.kids()
			e.store.mu.Lock()
			tc.tamper(e.store.recs[kids[0]], e.store.recs[kids[1]])
			e.store.mu.Unlock()

			_, err = keyring.Open(ctx, e.store, e.master, e.config())
			if !errors.Is(err, keyring.ErrUnseal) {
				t.Fatalf("Open: got %v, want ErrUnseal", err)
			}
			// A running ring keeps what it had.
			signing := r.SigningKey()
			if err := r.Reload(ctx); !errors.Is(err, keyring.ErrUnseal) {
				t.Fatalf("Reload: got %v, want ErrUnseal", err)
			}
			if r.SigningKey() != signing {
				t.Error("a failed Reload changed the signing key")
			}
		})
	}
}

// TestRotationTimeline walks one rotation with the default configuration
// (activation delay 1 h, tokens 15 min, leeway 2 min) and checks every
// boundary to the nanosecond: a token signed before the rotation verifies
// until it expires, the JWKS shows both keys meanwhile, then only the new
// one.
func TestRotationTimeline(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	oldKID := r.SigningKey().KID()
	verifier := &jose.Verifier{Keys: r, Now: e.clock.Now}
	sign := func() (token string, exp time.Time) {
		t.Helper()
		now := e.clock.Now()
		exp = now.Add(15 * time.Minute).Truncate(time.Second)
		token, err := jose.SignJWT(r.SigningKey(), &jose.Claims{Subject: "u1", ExpiresAt: jose.NumericDate{Time: exp}}, jose.SignOptions{})
		must(t, "SignJWT", err)
		return token, exp
	}
	verify := func(token string) error {
		var c jose.Claims
		return verifier.Verify(token, &c)
	}
	at := func(t0 time.Time) { e.clock.Set(t0) }

	wantKIDs(t, "JWKS before rotation", jwksKIDs(t, r.JWKS()), oldKID)

	rotatedAt := base.Add(2 * time.Hour)
	at(rotatedAt)
	info, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	newKID := info.KID
	activate := rotatedAt.Add(time.Hour)
	if newKID == oldKID || info.State != keyring.StatePending || !info.ActivateAt.Equal(activate) || !info.CreatedAt.Equal(rotatedAt) {
		t.Fatalf("Rotate: got %+v, want a new pending key created at %v activating at %v", info, rotatedAt, activate)
	}
	recs, _ := e.store.ListKeys(ctx)
	if !recs[0].RetiredAt.Equal(activate) {
		t.Errorf("stored RetiredAt of the old key: got %v, want the new key's activation %v", recs[0].RetiredAt, activate)
	}

	// Pending: published, resolvable, not signing.
	wantKIDs(t, "JWKS after rotation", jwksKIDs(t, r.JWKS()), oldKID, newKID)
	if _, err := r.ResolveKey(newKID); err != nil {
		t.Errorf("ResolveKey(pending): %v", err)
	}

	at(activate.Add(-time.Nanosecond))
	if got := r.SigningKey().KID(); got != oldKID {
		t.Fatalf("1 ns before activation: signing kid %s, want the old %s", got, oldKID)
	}
	if got := states(r); got[oldKID] != keyring.StateActive || got[newKID] != keyring.StatePending {
		t.Errorf("1 ns before activation: states %v, want old active, new pending", got)
	}
	oldToken, oldExp := sign()

	at(activate)
	if got := r.SigningKey().KID(); got != newKID {
		t.Fatalf("at activation: signing kid %s, want the new %s", got, newKID)
	}
	if got := states(r); got[oldKID] != keyring.StateRetired || got[newKID] != keyring.StateActive {
		t.Errorf("at activation: states %v, want old retired, new active", got)
	}
	newToken, _ := sign()
	if err := verify(newToken); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	wantKIDs(t, "JWKS at activation", jwksKIDs(t, r.JWKS()), oldKID, newKID)

	at(oldExp.Add(-time.Nanosecond))
	if err := verify(oldToken); err != nil {
		t.Fatalf("old token 1 ns before its exp: %v, want valid", err)
	}
	at(oldExp)
	if err := verify(oldToken); !errors.Is(err, jose.ErrExpired) {
		t.Fatalf("old token at its exp: got %v, want ErrExpired", err)
	}

	gone := activate.Add(15*time.Minute + 2*time.Minute)
	at(gone.Add(-time.Nanosecond))
	wantKIDs(t, "JWKS 1 ns before the old key leaves", jwksKIDs(t, r.JWKS()), oldKID, newKID)
	if _, err := r.ResolveKey(oldKID); err != nil {
		t.Fatalf("ResolveKey(old) 1 ns before it leaves: %v", err)
	}
	at(gone)
	wantKIDs(t, "JWKS when the old key leaves", jwksKIDs(t, r.JWKS()), newKID)
	if _, err := r.ResolveKey(oldKID); !errors.Is(err, jose.ErrKeyNotFound) {
		t.Fatalf("ResolveKey(old) after it left: got %v, want ErrKeyNotFound", err)
	}
	if got := states(r); got[oldKID] != keyring.StateExpired {
		t.Errorf("old key state: got %s, want expired", got[oldKID])
	}
	if token, _ := sign(); verify(token) != nil {
		t.Errorf("a token of the new key after the old key left: %v", verify(token))
	}

	// The clock going back finds the document of that time again.
	at(gone.Add(-time.Nanosecond))
	wantKIDs(t, "JWKS back before the old key left", jwksKIDs(t, r.JWKS()), oldKID, newKID)
	at(gone)

	must(t, "Reload", r.Reload(ctx))
	wantKIDs(t, "store after Reload", e.store.kids(), newKID)
	if log := e.log.String(); !strings.Contains(log, "deleted expired signing key") || !strings.Contains(log, oldKID) {
		t.Errorf("log: got %q, want the deletion of %s", log, oldKID)
	}
}

func TestActivationDelayNegativeSignsAtOnce(t *testing.T) {
	e := newEnv(t)
	r := e.open(func(c *keyring.Config) { c.ActivationDelay = -1 })
	old := r.SigningKey().KID()
	info, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	if got := r.SigningKey().KID(); got != info.KID || info.State != keyring.StateActive || got == old {
		t.Fatalf("got signing kid %s and new key %+v, want the new key active at once", got, info)
	}
	if s := states(r)[old]; s != keyring.StateRetired {
		t.Errorf("old key: got %s, want retired", s)
	}
}

// A second rotation before the first key activates supersedes it: the
// pending key never signs, and the current key signs until the newest
// activates.
func TestRotateTwiceBeforeActivation(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	k1 := r.SigningKey().KID()
	k2, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	e.clock.Add(10 * time.Minute)
	k3, err := r.Rotate(ctx)
	must(t, "Rotate", err)

	e.clock.Set(k2.ActivateAt)
	if got := r.SigningKey().KID(); got != k2.KID {
		t.Fatalf("at k2's activation: got %s, want k2 (k3 is not active yet)", got)
	}
	e.clock.Set(k3.ActivateAt.Add(-time.Nanosecond))
	if got := r.SigningKey().KID(); got != k2.KID {
		t.Fatalf("1 ns before k3's activation: got %s, want k2", got)
	}
	e.clock.Set(k3.ActivateAt)
	if got := r.SigningKey().KID(); got != k3.KID {
		t.Fatalf("at k3's activation: got %s, want k3", got)
	}
	if got := states(r); got[k1] != keyring.StateRetired || got[k2.KID] != keyring.StateRetired {
		t.Errorf("states: got %v, want k1 and k2 retired", got)
	}
}

func TestRotatePendingSupersededByImmediate(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	k2, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	e.clock.Add(time.Minute)
	now, err := keyring.Open(ctx, e.store, e.master, keyring.Config{Alg: jose.ES256, Clock: e.clock, Logger: e.log.logger(), ActivationDelay: -1})
	must(t, "Open", err)
	k3, err := now.Rotate(ctx)
	must(t, "Rotate", err)
	must(t, "Reload", r.Reload(ctx))
	for _, at := range []time.Time{e.clock.Now(), k2.ActivateAt, k2.ActivateAt.Add(time.Hour)} {
		e.clock.Set(at)
		if got := r.SigningKey().KID(); got != k3.KID {
			t.Fatalf("at %v: got signing kid %s, want k3 (k2 was superseded before it activated)", at, got)
		}
	}
}

func TestReloadSeesOtherRingsRotation(t *testing.T) {
	e := newEnv(t)
	server := e.open()
	cli := e.open(func(c *keyring.Config) { c.KeepRetired = true })
	info, err := cli.Rotate(ctx)
	must(t, "Rotate", err)
	if _, err := server.ResolveKey(info.KID); err == nil {
		t.Fatal("server resolved the new key before reloading")
	}
	must(t, "Reload", server.Reload(ctx))
	wantKIDs(t, "server JWKS after Reload", jwksKIDs(t, server.JWKS()), server.SigningKey().KID(), info.KID)
	if _, err := server.ResolveKey(info.KID); err != nil {
		t.Fatalf("ResolveKey(new) after Reload: %v", err)
	}
	if want := "level=INFO msg=\"signing key loaded\" kid=" + info.KID; !strings.Contains(e.log.String(), want) {
		t.Errorf("log: got %q, want %q", e.log.String(), want)
	}
	e.clock.Set(info.ActivateAt)
	if got := server.SigningKey().KID(); got != info.KID {
		t.Fatalf("server at activation: got %s, want %s", got, info.KID)
	}
}

func TestKeepRetired(t *testing.T) {
	e := newEnv(t)
	r := e.open(func(c *keyring.Config) { c.KeepRetired = true })
	old := r.SigningKey().KID()
	info, err := r.Rotate(ctx)
	must(t, "Rotate", err)
	e.clock.Set(info.ActivateAt.Add(time.Hour))
	must(t, "Reload", r.Reload(ctx))
	if kids := e.store.kids(); len(kids) != 2 {
		t.Fatalf("store: got %q, want both keys kept", kids)
	}
	wantKIDs(t, "JWKS", jwksKIDs(t, r.JWKS()), info.KID)
	if s := states(r)[old]; s != keyring.StateExpired {
		t.Errorf("old key: got %s, want expired", s)
	}
}

func TestReloadGeneratesWhenEveryKeyRetired(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	old := r.SigningKey().KID()
	must(t, "RetireKey", e.store.RetireKey(ctx, old, base.Add(time.Minute)))
	e.clock.Add(time.Minute)
	must(t, "Reload", r.Reload(ctx))
	k := r.SigningKey()
	if k == nil || k.KID() == old {
		t.Fatalf("after every key retired: got signing key %v, want a new one", k)
	}
	if log := e.log.String(); !strings.Contains(log, "level=WARN msg=\"generated signing key: no stored key signs or will sign\"") {
		t.Errorf("log: got %q, want a warning", log)
	}
}

func TestReloadKeepsKeysWhenStoreFails(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	k := r.SigningKey()
	e.store.listErr = errors.New("disk on fire")
	if err := r.Reload(ctx); err == nil || !strings.HasPrefix(err.Error(), "keyring: ") {
		t.Fatalf("Reload: got %v, want a keyring error", err)
	}
	if r.SigningKey() != k {
		t.Fatal("a failed Reload changed the signing key")
	}
}

func TestJWKSHasNoPrivateParts(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS256, jose.PS256} {
		t.Run(string(alg), func(t *testing.T) {
			e := newEnv(t)
			r := e.open(func(c *keyring.Config) { c.Algs = []jose.Algorithm{alg} })
			_, err := r.Rotate(ctx)
			must(t, "Rotate", err)
			doc := r.JWKS()
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			must(t, "unmarshal JWKS", json.Unmarshal(doc, &set))
			if len(set.Keys) != 2 {
				t.Fatalf("JWKS: got %d keys, want 2", len(set.Keys))
			}
			for _, k := range set.Keys {
				for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
					if _, ok := k[private]; ok {
						t.Errorf("JWKS key %v has the private member %q", k["kid"], private)
					}
				}
				if k["alg"] != string(alg) || k["kid"] == "" || k["use"] != "sig" {
					t.Errorf("JWKS key: got alg %v kid %v use %v, want alg %s, a kid and use sig", k["alg"], k["kid"], k["use"], alg)
				}
			}
			set2, err := jose.ParseJWKS(doc)
			must(t, "ParseJWKS", err)
			for _, k := range set2.Keys() {
				if k.CanSign() {
					t.Errorf("JWKS key %s can sign", k.KID())
				}
			}
			if res, err := r.ResolveKey(r.SigningKey().KID()); err != nil || res.CanSign() {
				t.Errorf("ResolveKey: got %v (%v), want the public key", res, err)
			}
		})
	}
}

func TestResolveKeyUnknown(t *testing.T) {
	e := newEnv(t)
	r := e.open()
	for _, kid := range []string{"", "nope", r.SigningKey().KID() + "x", "../" + r.SigningKey().KID()} {
		if _, err := r.ResolveKey(kid); !errors.Is(err, jose.ErrKeyNotFound) || strings.Contains(err.Error(), kid+"\"") && kid != "" {
			t.Errorf("ResolveKey(%q): got %v, want ErrKeyNotFound without the kid", kid, err)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	e := newEnv(t)
	for _, alg := range []jose.Algorithm{jose.HS256, "none", "ES257"} {
		if _, err := keyring.Open(ctx, e.store, e.master, keyring.Config{Alg: alg}); err == nil {
			t.Errorf("Open with Alg %q: got nil error, want one", alg)
		}
	}
	if _, err := keyring.Open(ctx, e.store, nil, keyring.Config{}); err == nil {
		t.Error("Open without a master key: got nil error")
	}
	if _, err := keyring.Open(ctx, nil, e.master, keyring.Config{}); err == nil {
		t.Error("Open without a store: got nil error")
	}
	if n := len(e.store.kids()); n != 0 {
		t.Errorf("refused Opens stored %d keys", n)
	}
}

func TestConfigDefaults(t *testing.T) {
	e := newEnv(t)
	r, err := keyring.Open(ctx, e.store, e.master, keyring.Config{Clock: e.clock, Logger: e.log.logger()})
	must(t, "Open", err)
	cfg := r.Config()
	if !slices.Equal(cfg.Algs, []jose.Algorithm{jose.ES256, jose.RS256}) || cfg.Alg != jose.ES256 || cfg.ActivationDelay != time.Hour || cfg.MaxTokenLifetime != 15*time.Minute ||
		cfg.Leeway != 2*time.Minute || cfg.RefreshInterval != 30*time.Second || cfg.KeepRetired {
		t.Errorf("defaults: got %+v", cfg)
	}
}

// TestConcurrentUse runs readers against Reload and Rotate; run with -race.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	r := e.open(func(c *keyring.Config) { c.ActivationDelay = time.Minute; c.MaxTokenLifetime = time.Minute })
	other := e.open()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := r.SigningKey()
				if k == nil {
					errs <- errors.New("SigningKey: nil")
					return
				}
				if _, err := jose.SignJWT(k, &jose.Claims{Subject: "u"}, jose.SignOptions{}); err != nil {
					errs <- err
					return
				}
				r.ResolveKey(k.KID())
				var set struct{ Keys []any }
				if err := json.Unmarshal(r.JWKS(), &set); err != nil || len(set.Keys) == 0 {
					errs <- fmt.Errorf("JWKS: %d keys, %v", len(set.Keys), err)
					return
				}
				r.Keys()
			}
		})
	}
	for i := range 30 {
		e.clock.Add(20 * time.Second)
		if i%3 == 0 {
			if _, err := r.Rotate(ctx); err != nil {
				t.Error(err)
			}
		}
		if i%5 == 0 {
			if _, err := other.Rotate(ctx); err != nil {
				t.Error(err)
			}
		}
		if err := r.Reload(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStart(t *testing.T) {
	e := newEnv(t)
	server := e.open(func(c *keyring.Config) { c.RefreshInterval = time.Millisecond })
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	server.Start(cctx)
	info, err := e.open().Rotate(ctx)
	must(t, "Rotate", err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := server.ResolveKey(info.KID); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh loop did not load the new key within 10 s")
		}
		time.Sleep(time.Millisecond) // polling, not a timing assertion
	}
}
