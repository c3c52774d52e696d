// Package keyring keeps an issuer's JWS signing keys: persisted in a
// [Store] (the database), private keys encrypted at rest with a
// [MasterKey] (AES-256-GCM, each blob bound to its kid and alg), generated
// on first start, rotated with publish-before-use and retired only after
// every token they signed has expired. The ring keeps one active key per
// configured algorithm (Config.Algs, default ES256 then RS256): the first
// is the default, which signs access tokens; an OpenID Provider signs ID
// tokens with the algorithm each client chose ([Ring.SigningKeyFor]).
//
// A server wires it like this:
//
//	master, err := keyring.LoadOrCreateMasterKey(ctx, os.Getenv("SESAME_MASTER_KEY"), "sesame.key", db, logger)
//	ring, err := keyring.Open(ctx, db, master, keyring.Config{MaxTokenLifetime: 15 * time.Minute, Logger: logger})
//	ring.Start(ctx) // re-reads the store every 30 s: rotations made by the CLI arrive
//
//	token, _ := jose.SignJWT(ring.SigningKey(), claims, opts) // the default algorithm's active key
//	idToken, _ := jose.SignJWT(ring.SigningKeyFor(jose.RS256), idClaims, opts)
//	v := &jose.Verifier{Keys: ring, ...}                        // any published key
//	w.Write(ring.JWKS())                                        // GET /.well-known/jwks.json
//
// # Rotation
//
// [Ring.RotateAll] (and [Ring.Rotate]) adds, for each algorithm, a key that
// is published in the JWKS at once but signs
// only after Config.ActivationDelay (default 1 h), so that verifiers that
// cache the JWKS learn it first. At its activation the previous key of its
// algorithm retires: it signs no more, but stays published for MaxTokenLifetime +
// Leeway so that the tokens it signed verify until they expire; then it
// leaves the JWKS and the store.
//
//	          Rotate at R              A = R + ActivationDelay     A + MaxTokenLifetime + Leeway
//	              |                          |                             |
//	old key: ===active (signs)===============|---retired (verifies)--------|  gone
//	new key:      |---pending (verifies)-----|===active (signs)================...
//	JWKS:    {old}|{old, new}                                              |{new}
//
// Every boundary belongs to the later state, and states are evaluated with
// the injected clock on each call, so a key starts and stops signing
// exactly at its instants without a reload.
//
// The stored RetiredAt of the previous key is set to the new key's
// ActivateAt at rotation; independently of it, a key always retires when a
// newer key of its algorithm activates, so a lost write or a rotation by
// another process cannot leave two keys of one algorithm signing.
//
// # Algorithms
//
// Each algorithm's keys have their own life: a new key of one algorithm
// retires nothing of another. [Open] generates a key that signs at once for
// each configured algorithm that has none (a new store, or an algorithm
// added to the configuration, such as RS256 in a store that held ES256
// keys only: no verifier can have cached a key of that algorithm from this
// issuer yet). Keys of an algorithm removed from the configuration sign
// nothing, still verify and stay published, and retire at the next
// rotation.
//
// # Master key
//
// [LoadMasterKey] reads SESAME_MASTER_KEY (base64 of 32 bytes) or else a
// key file (mode 0600); [LoadOrCreateMasterKey] creates the file when
// neither exists and the store holds no key. A master key that does not
// open the stored keys is an error wrapping [ErrUnseal] at [Open]: the
// ring never replaces keys it cannot read.
package keyring
