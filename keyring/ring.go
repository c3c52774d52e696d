package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
)

// Config configures a [Ring]. The zero value is ready to use: each field's
// comment states its default.
type Config struct {
	// Algs are the algorithms the ring signs with: it keeps one active key
	// for each, each with its own life (a newer key of an algorithm
	// retires the older keys of that algorithm only). Each must be an
	// asymmetric algorithm, whose public key can be published, listed
	// once. The first is the default, whose key [Ring.SigningKey]
	// returns. Default [ES256, RS256] (RS256 is the algorithm every
	// OpenID Connect client must accept; RSA keys are 2048 bits for
	// RS256 and PS256, 3072 for RS384/PS384, 4096 for RS512/PS512).
	Algs []jose.Algorithm

	// Alg is the one algorithm of a ring configured before Algs existed:
	// when Algs is empty and Alg is set, Algs is [Alg]. After Open,
	// Config().Alg is the default algorithm, Algs[0].
	Alg jose.Algorithm

	// ActivationDelay is how long a key made by [Ring.Rotate] is published
	// in the JWKS before it signs, so that verifiers that cache the JWKS
	// (and other nodes, which re-read the store every RefreshInterval)
	// know it before they meet a token it signed. It should exceed the
	// longest JWKS cache time of the verifiers. Default 1 h; negative: the
	// new key signs at once (verifiers holding a cached JWKS then reject
	// its tokens until they refetch). The first key of an empty store
	// always signs at once: nothing can have cached a JWKS yet.
	ActivationDelay time.Duration

	// MaxTokenLifetime is the longest lifetime of a token signed by the
	// ring's keys: the token service passes its access-token lifetime. A
	// retired key stays published for MaxTokenLifetime + Leeway after it
	// stops signing, so that every token it signed verifies until it
	// expires. Default 15 min.
	MaxTokenLifetime time.Duration

	// Leeway is added to MaxTokenLifetime before a retired key leaves the
	// JWKS. It covers the verifiers' clock leeway and skew, and the time a
	// node may go on signing with a key retired at once by another process
	// before it re-reads the store (at most RefreshInterval). Default
	// 2 min; negative: none.
	Leeway time.Duration

	// RefreshInterval is how often [Ring.Start] re-reads the store, so
	// that a rotation made by another process (the sesame keys rotate
	// command, another node) reaches this one. Default 30 s.
	RefreshInterval time.Duration

	// KeepRetired stops the ring from deleting expired keys from the store
	// (they still leave the JWKS). It is for tools, such as the command
	// line, that do not know the token lifetime the server signs with.
	// Default false: expired keys are deleted on Open and Reload.
	KeepRetired bool

	// Clock tells the time of every state decision. Default: the system
	// clock.
	Clock sesame.Clock

	// Logger receives key generation, publication and removal, and
	// refresh failures. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case len(c.Algs) > 0:
		c.Algs = slices.Clone(c.Algs)
	case c.Alg != "":
		c.Algs = []jose.Algorithm{c.Alg}
	default:
		c.Algs = []jose.Algorithm{jose.ES256, jose.RS256}
	}
	for i, alg := range c.Algs {
		if !alg.Valid() || alg.Symmetric() {
			return c, fmt.Errorf("keyring: algorithm %q: want an asymmetric JWS algorithm such as ES256, EdDSA or RS256", alg)
		}
		if slices.Contains(c.Algs[:i], alg) {
			return c, fmt.Errorf("keyring: algorithm %s is listed twice", alg)
		}
	}
	c.Alg = c.Algs[0]
	if c.ActivationDelay == 0 {
		c.ActivationDelay = time.Hour
	}
	if c.ActivationDelay < 0 {
		c.ActivationDelay = 0
	}
	if c.MaxTokenLifetime <= 0 {
		c.MaxTokenLifetime = 15 * time.Minute
	}
	if c.Leeway == 0 {
		c.Leeway = 2 * time.Minute
	}
	if c.Leeway < 0 {
		c.Leeway = 0
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = 30 * time.Second
	}
	c.Clock = sesame.ClockOrSystem(c.Clock)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Ring holds an issuer's signing keys, persisted in a [Store] with their
// private parts sealed by a [MasterKey]. It picks the signing key, resolves
// verification keys by kid and serves the JWKS, all from an in-memory view
// evaluated at the clock's time on every call, so that a key starts and
// stops signing exactly at its boundaries without a reload.
//
// The ring signs with one active key per configured algorithm
// (Config.Algs). A key's life, within its algorithm: published at
// creation, pending until ActivateAt, active (the algorithm's signing key)
// until a newer key of the same algorithm activates, retired but still
// published for MaxTokenLifetime + Leeway, then expired: unpublished and
// deleted from the store. Keys of an algorithm no longer configured still
// verify and stay published, but sign nothing, until a rotation retires
// them.
//
// Ring implements [jose.KeyResolver], the token service's key source
// (SigningKey and ResolveKey) and the OAuth provider's (SigningKeyFor,
// Algorithms, ResolveKey, JWKS). It is safe for concurrent use; reads
// never wait for Reload or Rotate.
type Ring struct {
	store       Store
	master      *MasterKey
	cfg         Config
	retireAfter time.Duration

	mu   sync.Mutex // serializes Reload and Rotate
	view atomic.Pointer[view]
}

// Open loads the keys from store and returns the ring. For each
// configured algorithm without a key that signs or will sign (first
// start, or an algorithm added to the configuration) it generates one
// that signs at once and logs "generated signing key": nothing can have
// cached a JWKS holding a key of that algorithm. It fails when a stored
// key does not open with master (an error wrapping [ErrUnseal]): a wrong
// master key is an error, never a reason to make a new key.
func Open(ctx context.Context, store Store, master *MasterKey, cfg Config) (*Ring, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if store == nil || master == nil {
		return nil, errors.New("keyring: Open needs a store and a master key")
	}
	r := &Ring{store: store, master: master, cfg: cfg, retireAfter: cfg.MaxTokenLifetime + cfg.Leeway}
	r.view.Store(newView(nil, r.retireAfter))
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	if cfg.ActivationDelay > 0 && cfg.ActivationDelay < cfg.RefreshInterval {
		cfg.Logger.Warn("keyring: the activation delay is shorter than the refresh interval: another node may sign with a new key before this one knows it",
			"activation_delay", cfg.ActivationDelay, "refresh_interval", cfg.RefreshInterval)
	}
	return r, nil
}

// Config returns the ring's configuration with defaults filled in.
func (r *Ring) Config() Config { return r.cfg }

// Start re-reads the store every RefreshInterval until ctx ends, in a
// goroutine. A failed reload is logged and the keys loaded before are
// kept.
func (r *Ring) Start(ctx context.Context) {
	go func() {
		t := time.NewTicker(r.cfg.RefreshInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
					r.cfg.Logger.Error("keyring: reload failed; keeping the keys loaded before", "err", err)
				}
			}
		}
	}()
}

// SigningKey returns the active key of the default algorithm
// (Config.Algs[0]): the newest key of that algorithm whose ActivateAt has
// come and which has not retired. It returns nil only when the store's
// keys of that algorithm were all retired by another process since the
// last reload.
func (r *Ring) SigningKey() *jose.Key {
	return r.SigningKeyFor(r.cfg.Algs[0])
}

// SigningKeyFor returns the active key of alg, or nil when alg is not one
// of the configured algorithms (Config.Algs) or, like SigningKey, has no
// active key since the last reload.
func (r *Ring) SigningKeyFor(alg jose.Algorithm) *jose.Key {
	if !slices.Contains(r.cfg.Algs, alg) {
		return nil
	}
	if e := r.view.Load().signing(alg, r.cfg.Clock.Now()); e != nil {
		return e.private
	}
	return nil
}

// Algorithms returns the configured algorithms that have an active key
// now, in configuration order: the first is the default. It is what the
// ring can sign with (for a discovery document's
// id_token_signing_alg_values_supported).
func (r *Ring) Algorithms() []jose.Algorithm {
	v, now := r.view.Load(), r.cfg.Clock.Now()
	out := make([]jose.Algorithm, 0, len(r.cfg.Algs))
	for _, alg := range r.cfg.Algs {
		if v.signing(alg, now) != nil {
			out = append(out, alg)
		}
	}
	return out
}

// errUnknownKID is preallocated: failing tokens are an attacker's cheapest
// lever, and the kid is never echoed.
var errUnknownKID = fmt.Errorf("keyring: no published key has the token's kid: %w", jose.ErrKeyNotFound)

// ResolveKey implements [jose.KeyResolver]: it returns the public key of
// any published key (pending, active, or retired and not expired) with
// this kid. A token without kid resolves to nothing.
func (r *Ring) ResolveKey(kid string) (*jose.Key, error) {
	e := r.view.Load().byKID[kid]
	if e == nil || !published(e, r.cfg.Clock.Now()) {
		return nil, errUnknownKID
	}
	return e.public, nil
}

// JWKS returns the JWK Set to publish at /.well-known/jwks.json: the
// public part of every published key, of every algorithm, with kid, alg
// and use. The document
// is cached until a key joins or leaves; the caller must not modify it.
func (r *Ring) JWKS() []byte {
	return r.view.Load().jwksAt(r.cfg.Clock.Now())
}

// Keys describes every key the ring holds, oldest first, in its state at
// the clock's time.
func (r *Ring) Keys() []KeyInfo {
	v := r.view.Load()
	now := r.cfg.Clock.Now()
	out := make([]KeyInfo, len(v.entries))
	for i, e := range v.entries {
		out[i] = e.info
		out[i].State = e.info.stateAt(now)
	}
	return out
}

// Rotate rotates every configured algorithm, like [Ring.RotateAll], and
// returns the new key of the default algorithm (Config.Algs[0]).
func (r *Ring) Rotate(ctx context.Context) (KeyInfo, error) {
	infos, err := r.RotateAll(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	return infos[0], nil
}

// RotateAll generates, for each configured algorithm, a key that is
// published at once and signs from now + ActivationDelay; at that instant
// every older key of that algorithm retires (its RetiredAt is stored as
// the new key's ActivateAt), and so does every key of an algorithm no
// longer configured. Rotating again before the new keys activate is
// allowed: the newest key of each algorithm wins, and a pending key it
// supersedes never signs. RotateAll returns the new keys as listed by
// Keys, in configuration order. When it fails part way, the keys already
// made stay: they are ordinary pending keys, and a new rotation
// supersedes them.
func (r *Ring) RotateAll(ctx context.Context) ([]KeyInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	current, err := r.load(ctx) // the keys other processes added count too
	if err != nil {
		return nil, err
	}
	now := r.cfg.Clock.Now()
	activateAt := now.Add(r.cfg.ActivationDelay)
	kids := make([]string, 0, len(r.cfg.Algs))
	for _, alg := range r.cfg.Algs {
		rec, err := r.generate(ctx, alg, now, activateAt)
		if err != nil {
			return nil, err
		}
		kids = append(kids, rec.KID)
		r.cfg.Logger.Info("rotated signing key: the new key is published now and signs from its activation",
			"kid", rec.KID, "alg", rec.Alg, "activate_at", rec.ActivateAt)
	}
	for _, e := range current.entries {
		if e.info.RetireAt.IsZero() || e.info.RetireAt.After(activateAt) {
			if err := r.store.RetireKey(ctx, e.info.KID, activateAt); err != nil && !errors.Is(err, sesame.ErrNotFound) {
				// A configured algorithm's new key supersedes its old ones
				// anyway (see Keys); the stored RetiredAt only records it.
				r.cfg.Logger.Warn("keyring: could not record the retirement of a key", "kid", e.info.KID, "err", err)
			}
		}
	}
	if err := r.reloadLocked(ctx); err != nil {
		return nil, err
	}
	v, now := r.view.Load(), r.cfg.Clock.Now()
	infos := make([]KeyInfo, 0, len(kids))
	for _, kid := range kids {
		e := v.byKID[kid]
		if e == nil {
			return nil, fmt.Errorf("keyring: rotate: key %s vanished from the store", kid)
		}
		info := e.info
		info.State = info.stateAt(now)
		infos = append(infos, info)
	}
	return infos, nil
}

// generate makes a key, seals it and inserts its record.
func (r *Ring) generate(ctx context.Context, alg jose.Algorithm, now, activateAt time.Time) (*Record, error) {
	key, err := jose.GenerateKey(alg, "")
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	jwk, err := key.MarshalPrivateJWK()
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer clear(jwk)
	rec := &Record{KID: key.KID(), Alg: key.Algorithm(), CreatedAt: now, ActivateAt: activateAt}
	rec.Sealed = r.master.seal(rec.KID, rec.Alg, jwk)
	if err := r.store.InsertKey(ctx, rec); err != nil {
		return nil, fmt.Errorf("keyring: store new key: %w", err)
	}
	return rec, nil
}

// Reload re-reads the store now: keys added or retired by another process
// appear, expired keys are deleted (unless KeepRetired), and for each
// configured algorithm without a key that signs or will sign, one is
// generated that signs at once. On error the
// keys loaded before are kept.
func (r *Ring) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(ctx)
}

func (r *Ring) reloadLocked(ctx context.Context) error {
	v, err := r.load(ctx)
	if err != nil {
		return err
	}
	now := r.cfg.Clock.Now()
	if !r.cfg.KeepRetired {
		if v, err = r.prune(ctx, v, now); err != nil {
			return err
		}
	}
	generated := false
	for _, alg := range r.cfg.Algs {
		signer, known := r.hasSigner(v, alg, now)
		if signer {
			continue
		}
		rec, err := r.generate(ctx, alg, now, now)
		if err != nil {
			return err
		}
		generated = true
		attrs := []any{"kid", rec.KID, "alg", rec.Alg}
		if !known {
			r.cfg.Logger.Info("generated signing key", attrs...)
		} else {
			r.cfg.Logger.Warn("generated signing key: no stored key signs or will sign", attrs...)
		}
	}
	if generated {
		if v, err = r.load(ctx); err != nil {
			return err
		}
	}
	r.logChanges(r.view.Load(), v)
	r.view.Store(v)
	return nil
}

// hasSigner reports whether a key of alg signs at now or will sign, and
// whether v holds any key of alg at all.
func (r *Ring) hasSigner(v *view, alg jose.Algorithm, now time.Time) (signer, known bool) {
	for _, e := range v.entries {
		if e.info.Alg != alg {
			continue
		}
		known = true
		if e.info.willSign(now) {
			return true, true
		}
	}
	return false, known
}

// load reads every record and opens it, reusing the keys of the current
// view whose sealed blob is unchanged. Any record that does not open fails
// the whole load.
func (r *Ring) load(ctx context.Context) (*view, error) {
	recs, err := r.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: list keys: %w", err)
	}
	old := r.view.Load()
	entries := make([]*entry, 0, len(recs))
	for _, rec := range recs {
		e := &entry{
			info:   KeyInfo{KID: rec.KID, Alg: rec.Alg, CreatedAt: rec.CreatedAt, ActivateAt: rec.ActivateAt, RetireAt: rec.RetiredAt},
			sealed: rec.Sealed,
		}
		if prev := old.byKID[rec.KID]; prev != nil && prev.info.Alg == rec.Alg && string(prev.sealed) == string(rec.Sealed) {
			e.private, e.public = prev.private, prev.public
		} else if e.private, err = r.open(rec); err != nil {
			return nil, err
		} else {
			e.public = e.private.Public()
		}
		entries = append(entries, e)
	}
	return newView(entries, r.retireAfter), nil
}

// open unseals a record and checks that the key inside is the record's.
func (r *Ring) open(rec *Record) (*jose.Key, error) {
	jwk, err := r.master.unseal(rec.KID, rec.Alg, rec.Sealed)
	if err != nil {
		return nil, err
	}
	defer clear(jwk)
	key, err := jose.ParseJWKAs(jwk, rec.Alg)
	if err != nil {
		return nil, fmt.Errorf("keyring: key %q: %w", rec.KID, err)
	}
	if key.KID() != rec.KID || key.Algorithm() != rec.Alg || !key.CanSign() || key.IsSymmetric() {
		return nil, fmt.Errorf("keyring: key %q: the sealed key is not the record's private %s key", rec.KID, rec.Alg)
	}
	return key, nil
}

// prune deletes the expired keys from the store and returns v without
// them.
func (r *Ring) prune(ctx context.Context, v *view, now time.Time) (*view, error) {
	kept := make([]*entry, 0, len(v.entries))
	for _, e := range v.entries {
		if e.info.stateAt(now) != StateExpired {
			kept = append(kept, e)
			continue
		}
		if err := r.store.DeleteKey(ctx, e.info.KID); err != nil {
			return nil, fmt.Errorf("keyring: delete expired key %s: %w", e.info.KID, err)
		}
		r.cfg.Logger.Info("deleted expired signing key: every token it signed has expired", "kid", e.info.KID)
	}
	if len(kept) == len(v.entries) {
		return v, nil
	}
	// Dropping expired keys changes no other key's times: a key's
	// retirement depends only on the newer keys that activate, and a key
	// retires no later than such a key activates, so it expires first.
	return indexView(kept), nil
}

// logChanges logs the keys that joined or left the view: at debug level
// on the first load, at info level afterwards (a rotation by another
// process arriving).
func (r *Ring) logChanges(old, cur *view) {
	level := slog.LevelInfo
	if len(old.entries) == 0 {
		level = slog.LevelDebug
	}
	for _, e := range cur.entries {
		if old.byKID[e.info.KID] == nil {
			r.cfg.Logger.Log(context.Background(), level, "signing key loaded", "kid", e.info.KID, "alg", e.info.Alg,
				"activate_at", e.info.ActivateAt, "retire_at", e.info.RetireAt)
		}
	}
	for _, e := range old.entries {
		if cur.byKID[e.info.KID] == nil {
			r.cfg.Logger.Log(context.Background(), level, "signing key unloaded", "kid", e.info.KID)
		}
	}
}
