// Package migrate copies a Sesame deployment from one set of stores to
// another (`sesame migrate`): users with their groups, password hashes,
// blocked state and not-before times; the signing keys, still sealed by
// the master key; the OAuth provider's clients, consents, authorization
// codes not yet expired, back-channel logout outbox, feed cursors and used
// client assertion keys; live sessions, refresh tokens and throttle
// counters; the change feed's position; the webhook outbox; passkeys and
// WebAuthn user handles, email addresses, email tokens (still hashed),
// known devices and the mail outbox (still sealed); second factors (TOTP
// secrets still sealed), recovery codes (still hashed) and the per-user
// requirement of a second factor; and the deployment's
// identity, with where session state now lives. Passkey ceremony state is
// not copied (it lives for minutes).
//
// A copy is idempotent: each record is upserted by its ID, skipped when
// the target already holds it unchanged, and never written over a target
// record that is newer (by the record's own clock: a user's UpdatedAt, a
// session's Version and LastSeen, a refresh token's or code's use). So a
// second run copies nothing, and a run that died halfway is finished by
// running it again. Records the target holds and the source no longer
// does are deleted when they are session state (a session or a refresh
// family revoked in the source must not come back in the target) or
// account state (a passkey removed, an email token used, a mail sent) and
// reported otherwise. At the end a digest of every kind is computed the
// same way on both sides; any difference is an error.
//
// The source must be still: Run watches the source for a short while
// (Config.Observe) and refuses when anything changed, and the caller may
// hold a write lock on it (SQLite) for the whole copy. See docs/migrate.md.
package migrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/token"
	"github.com/sesame-auth/sesame/webhook"
)

// Durable is the durable role of a store (SQLite or PostgreSQL) as migrate
// reads and writes it.
type Durable interface {
	ListUsers(ctx context.Context) ([]*sesame.User, error)
	ListKeys(ctx context.Context) ([]*keyring.Record, error)
	ListClients(ctx context.Context) ([]*oauth.Client, error)
	ExportCodes(ctx context.Context, fn func(*oauth.Code) error) error
	ExportConsents(ctx context.Context, fn func(*oauth.Consent) error) error
	ExportLogoutTargets(ctx context.Context, fn func(*oauth.LogoutTarget) error) error
	ExportCursors(ctx context.Context, fn func(name string, pos int64) error) error
	ExportUsedKeys(ctx context.Context, fn func(key string, exp time.Time) error) error
	Deployment(ctx context.Context) (map[string]string, error)
	Activity(ctx context.Context) (string, error)
	ListWebhooks(ctx context.Context, dead bool, after string, limit int) ([]*webhook.Message, error)

	PutUser(ctx context.Context, u *sesame.User) error
	PutKey(ctx context.Context, r *keyring.Record) error
	PutClient(ctx context.Context, c *oauth.Client) error
	PutCode(ctx context.Context, c *oauth.Code) error
	PutConsent(ctx context.Context, c *oauth.Consent) error
	PutLogoutTarget(ctx context.Context, t *oauth.LogoutTarget) error
	PutCursor(ctx context.Context, name string, pos int64) error
	PutUsedKey(ctx context.Context, key string, exp time.Time) error
	PutDeployment(ctx context.Context, items map[string]string) error
	PutWebhook(ctx context.Context, m *webhook.Message) error

	Accounts // accounts.go
	Factors  // factors.go
}

// State is the session-state role of a store (the durable database, or
// Redis) as migrate reads and writes it.
type State interface {
	ExportSessions(ctx context.Context, fn func(*sesame.Session) error) error
	ExportRefresh(ctx context.Context, fn func(*token.Refresh) error) error
	ExportThrottle(ctx context.Context, fn func(key string, st guard.State) error) error
	FeedPosition(ctx context.Context) (int64, error)
	AdvanceFeed(ctx context.Context, past int64) error
	Activity(ctx context.Context) (string, error)

	PutSession(ctx context.Context, s *sesame.Session) error
	PutRefresh(ctx context.Context, r *token.Refresh) error
	PutThrottle(ctx context.Context, key string, st guard.State) error
	Delete(ctx context.Context, id string) (bool, error)
	DeleteFamily(ctx context.Context, familyID string) error
}

// Deployment is one side of a migration: its durable store and its
// session-state store (the same object when sessions live in the database).
type Deployment struct {
	Durable Durable
	State   State
}

// Config is what Run copies, and how.
type Config struct {
	From, To Deployment
	// Sessions is the target's sessions identity (app.SessionsIdentity of
	// the target's sessions setting), recorded in the target's identity.
	Sessions string
	// Observe is how long the source is watched for writes before the copy
	// (default 2 s; negative: not at all, for tests of the copy itself).
	Observe time.Duration
	// Progress receives progress lines (nil: none), every ProgressEvery
	// records (default 1000) or second, whichever comes first.
	Progress      io.Writer
	ProgressEvery int
	// Now is the clock deciding what is live (default time.Now).
	Now func() time.Time

	// failAfter, when positive, makes the copy fail after that many
	// writes (tests of an interrupted copy; see export_test.go).
	failAfter int
}

// ErrSourceActive is returned when the source changed while it was
// watched: a server is still writing to it.
var ErrSourceActive = errors.New("the source is being written to (a server is still running on it): stop every server of the deployment, then run migrate again")

// MismatchError is a verification that failed: the target's records of
// some kinds differ from the source's after the copy.
type MismatchError struct{ Kinds []string }

func (e *MismatchError) Error() string {
	return "verification failed: the target differs from the source in " + strings.Join(e.Kinds, ", ") +
		" (was the target written during the copy, or does it hold a newer deployment's records?)"
}

// KindReport is what happened to one kind of record.
type KindReport struct {
	Kind      string
	Source    int // live records in the source
	Copied    int // inserted into the target
	Updated   int // replaced in the target (the source's was newer)
	Unchanged int // already in the target, equal
	Newer     int // left as they were: the target's was newer
	Deleted   int // removed from the target (revoked in the source)
	Extra     int // in the target only, left there
	Digest    string
}

// Report is the outcome of a Run.
type Report struct {
	Kinds        []KindReport
	FeedPosition int64 // the source's last change feed Seq
	Writes       int   // records written or deleted in the target
}

// record is one record of some kind with its key and canonical form.
type record struct {
	key   string
	rec   any
	canon []byte
}

// kind describes one kind of record.
type kind struct {
	name   string
	export func(ctx context.Context, d Deployment, fn func(key string, rec any) error) error
	put    func(ctx context.Context, d Deployment, rec any) error
	// newer reports whether target record t is newer than source record s.
	newer func(t, s any) bool
	// live reports whether the record is to be copied (not expired at now;
	// sessions is the side's live session IDs).
	live func(rec any, now time.Time, sessions map[string]bool) bool
	// del removes a target record the source no longer holds; nil: such
	// records are left and reported.
	del func(ctx context.Context, d Deployment, rec any) error
}

func always(any, time.Time, map[string]bool) bool { return true }

var kinds = []kind{
	{name: "users",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			us, err := d.Durable.ListUsers(ctx)
			if err != nil {
				return err
			}
			for _, u := range us {
				if err := fn(u.ID, u); err != nil {
					return err
				}
			}
			return nil
		},
		put: func(ctx context.Context, d Deployment, r any) error { return d.Durable.PutUser(ctx, r.(*sesame.User)) },
		newer: func(t, s any) bool {
			return t.(*sesame.User).UpdatedAt.After(s.(*sesame.User).UpdatedAt)
		},
		live: always},
	{name: "signing keys",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			ks, err := d.Durable.ListKeys(ctx)
			if err != nil {
				return err
			}
			for _, k := range ks {
				if err := fn(k.KID, k); err != nil {
					return err
				}
			}
			return nil
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutKey(ctx, r.(*keyring.Record))
		},
		newer: func(t, s any) bool { // retirement only moves earlier
			tr, sr := t.(*keyring.Record).RetiredAt, s.(*keyring.Record).RetiredAt
			return !tr.IsZero() && (sr.IsZero() || tr.Before(sr))
		},
		live: always},
	{name: "oauth clients",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			cs, err := d.Durable.ListClients(ctx)
			if err != nil {
				return err
			}
			for _, c := range cs {
				if err := fn(c.ID, c); err != nil {
					return err
				}
			}
			return nil
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutClient(ctx, r.(*oauth.Client))
		},
		newer: func(t, s any) bool { return false },
		live:  always},
	{name: "oauth consents",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportConsents(ctx, func(c *oauth.Consent) error { return fn(c.UserID+"\x00"+c.ClientID, c) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutConsent(ctx, r.(*oauth.Consent))
		},
		newer: func(t, s any) bool {
			return t.(*oauth.Consent).GrantedAt.After(s.(*oauth.Consent).GrantedAt)
		},
		live: always},
	{name: "oauth codes",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportCodes(ctx, func(c *oauth.Code) error { return fn(hex.EncodeToString(c.Hash[:]), c) })
		},
		put: func(ctx context.Context, d Deployment, r any) error { return d.Durable.PutCode(ctx, r.(*oauth.Code)) },
		newer: func(t, s any) bool {
			return !t.(*oauth.Code).UsedAt.IsZero() && s.(*oauth.Code).UsedAt.IsZero()
		},
		live: func(r any, now time.Time, _ map[string]bool) bool { return r.(*oauth.Code).ExpiresAt.After(now) }},
	{name: "oauth used keys",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportUsedKeys(ctx, func(k string, exp time.Time) error {
				return fn(hex.EncodeToString([]byte(k)), &usedKey{Key: []byte(k), Expires: exp})
			})
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			k := r.(*usedKey)
			return d.Durable.PutUsedKey(ctx, string(k.Key), k.Expires)
		},
		newer: func(t, s any) bool { return t.(*usedKey).Expires.After(s.(*usedKey).Expires) },
		live:  func(r any, now time.Time, _ map[string]bool) bool { return r.(*usedKey).Expires.After(now) }},
	{name: "feed cursors",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportCursors(ctx, func(name string, pos int64) error { return fn(name, &cursor{Name: name, Pos: pos}) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			c := r.(*cursor)
			return d.Durable.PutCursor(ctx, c.Name, c.Pos)
		},
		newer: func(t, s any) bool { return false },
		live:  always},
	{name: "sessions",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.State.ExportSessions(ctx, func(s *sesame.Session) error { return fn(s.ID, s) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.State.PutSession(ctx, r.(*sesame.Session))
		},
		newer: func(t, s any) bool {
			ts, ss := t.(*sesame.Session), s.(*sesame.Session)
			return ts.Version > ss.Version || ts.Version == ss.Version && ts.LastSeen.After(ss.LastSeen)
		},
		live: func(r any, now time.Time, _ map[string]bool) bool { return !r.(*sesame.Session).Expired(now) },
		del: func(ctx context.Context, d Deployment, r any) error {
			_, err := d.State.Delete(ctx, r.(*sesame.Session).ID)
			return err
		}},
	{name: "refresh tokens",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.State.ExportRefresh(ctx, func(r *token.Refresh) error { return fn(hex.EncodeToString(r.Hash[:]), r) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.State.PutRefresh(ctx, r.(*token.Refresh))
		},
		newer: func(t, s any) bool {
			return !t.(*token.Refresh).UsedAt.IsZero() && s.(*token.Refresh).UsedAt.IsZero()
		},
		live: func(r any, now time.Time, sessions map[string]bool) bool {
			t := r.(*token.Refresh)
			return t.ExpiresAt.After(now) && t.FamilyExpiresAt.After(now) && sessions[t.SessionID]
		},
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.State.DeleteFamily(ctx, r.(*token.Refresh).FamilyID)
		}},
	{name: "oauth logout targets",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportLogoutTargets(ctx, func(t *oauth.LogoutTarget) error { return fn(t.SessionID+"\x00"+t.ClientID, t) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutLogoutTarget(ctx, r.(*oauth.LogoutTarget))
		},
		newer: func(t, s any) bool {
			tt, st := t.(*oauth.LogoutTarget), s.(*oauth.LogoutTarget)
			return tt.Attempts > st.Attempts || !tt.DueAt.IsZero() && st.DueAt.IsZero()
		},
		live: always},
	{name: "webhook outbox",
		// Pending and dead-lettered messages, with their attempts: the
		// target's dispatcher delivers what the source had not (a message
		// the source delivered after a first run is no longer there, and
		// one the target delivered is not copied again unless the source
		// still holds it: at-least-once, as the outbox promises).
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			for _, dead := range []bool{false, true} {
				after := ""
				for {
					ms, err := d.Durable.ListWebhooks(ctx, dead, after, 500)
					if err != nil {
						return err
					}
					for _, m := range ms {
						if err := fn(m.ID, m); err != nil {
							return err
						}
					}
					if len(ms) < 500 {
						break
					}
					after = ms[len(ms)-1].ID
				}
			}
			return nil
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutWebhook(ctx, r.(*webhook.Message))
		},
		newer: func(t, s any) bool {
			tm, sm := t.(*webhook.Message), s.(*webhook.Message)
			return tm.Attempts > sm.Attempts || !tm.DeadAt.IsZero() && sm.DeadAt.IsZero()
		},
		live: always},
	{name: "throttle counters",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.State.ExportThrottle(ctx, func(k string, st guard.State) error { return fn(k, &counter{Key: k, State: st}) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			c := r.(*counter)
			return d.State.PutThrottle(ctx, c.Key, c.State)
		},
		newer: func(t, s any) bool { return t.(*counter).State.Last.After(s.(*counter).State.Last) },
		live:  func(r any, now time.Time, _ map[string]bool) bool { return r.(*counter).State.Expires.After(now) }},
}

type usedKey struct {
	Key     []byte
	Expires time.Time
}

type cursor struct {
	Name string
	Pos  int64
}

type counter struct {
	Key   string
	State guard.State
}

// canonical is the record's encoding for comparison and digests: JSON
// with sorted keys, where an empty list, map or byte string is the same as
// none (stores differ in how they return them). Times are UTC to the
// nanosecond, as every store returns them.
func canonical(rec any) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(dropEmpty(v))
}

func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = dropEmpty(e)
			if e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
		return x
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i := range x {
			x[i] = dropEmpty(x[i])
		}
		return x
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// Identity items (as package app records them).
const (
	itemIssuer    = "issuer"
	itemSessions  = "sessions"
	itemMasterKey = "master_key_fingerprint"
)

// Run copies the deployment cfg.From into cfg.To and verifies the copy.
// It returns an error unless every kind verified equal; the report says
// what it did either way.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 1000
	}
	if cfg.Observe == 0 {
		cfg.Observe = 2 * time.Second
	}
	r := &runner{cfg: cfg, rep: &Report{}}
	if cfg.Observe > 0 {
		if err := r.checkStill(ctx); err != nil {
			return r.rep, err
		}
	}
	srcID, err := cfg.From.Durable.Deployment(ctx)
	if err != nil {
		return r.rep, err
	}
	if len(srcID) == 0 || srcID[itemMasterKey] == "" {
		return r.rep, errors.New("the source has no recorded deployment identity (no server has started on it): start `sesame serve` on it once, or record it with `sesame config set-identity`")
	}
	want := map[string]string{itemIssuer: srcID[itemIssuer], itemMasterKey: srcID[itemMasterKey], itemSessions: cfg.Sessions}
	dstID, err := cfg.To.Durable.Deployment(ctx)
	if err != nil {
		return r.rep, err
	}
	if len(dstID) > 0 && (dstID[itemMasterKey] != want[itemMasterKey] || dstID[itemIssuer] != want[itemIssuer]) {
		return r.rep, errors.New("the target already holds another deployment (its recorded issuer or master key differs from the source's): use an empty target")
	}
	now := cfg.Now()
	pos, err := cfg.From.State.FeedPosition(ctx)
	if err != nil {
		return r.rep, err
	}
	r.rep.FeedPosition = pos
	srcLive := map[string]bool{}
	for _, k := range kinds {
		if err := r.copyKind(ctx, k, now, srcLive); err != nil {
			return r.rep, fmt.Errorf("copy %s: %w", k.name, err)
		}
	}
	// The target's feed continues past the source's: a reader that
	// followed the source (a verifier, the back-channel cursor) finds its
	// position in a gap and starts afresh.
	if err := cfg.To.State.AdvanceFeed(ctx, pos); err != nil {
		return r.rep, err
	}
	if err := r.verify(ctx, now); err != nil {
		return r.rep, err
	}
	if !sameItems(dstID, want) {
		if err := cfg.To.Durable.PutDeployment(ctx, want); err != nil {
			return r.rep, err
		}
		r.rep.Writes++
	}
	return r.rep, nil
}

func sameItems(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

type runner struct {
	cfg      Config
	rep      *Report
	lastNote time.Time
}

// activity is the source's fingerprint.
func (r *runner) activity(ctx context.Context) (string, error) {
	a, err := r.cfg.From.Durable.Activity(ctx)
	if err != nil {
		return "", err
	}
	if any(r.cfg.From.State) != any(r.cfg.From.Durable) {
		b, err := r.cfg.From.State.Activity(ctx)
		if err != nil {
			return "", err
		}
		a += "|" + b
	}
	return a, nil
}

// checkStill watches the source for cfg.Observe and refuses when its
// fingerprint moved.
func (r *runner) checkStill(ctx context.Context) error {
	before, err := r.activity(ctx)
	if err != nil {
		return err
	}
	r.note("migrate: watching the source for %s for writes", r.cfg.Observe)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.cfg.Observe):
	}
	after, err := r.activity(ctx)
	if err != nil {
		return err
	}
	if before != after {
		return ErrSourceActive
	}
	return nil
}

func (r *runner) note(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// write counts one write and applies the test hook.
func (r *runner) write() error {
	if r.cfg.failAfter > 0 && r.rep.Writes >= r.cfg.failAfter {
		return errInjected
	}
	r.rep.Writes++
	return nil
}

var errInjected = errors.New("migrate: injected failure (test hook)")

// load exports a kind of one side into records by key, keeping the live
// ones.
func load(ctx context.Context, k kind, d Deployment, now time.Time, sessions map[string]bool) (map[string]record, error) {
	out := map[string]record{}
	err := k.export(ctx, d, func(key string, rec any) error {
		if !k.live(rec, now, sessions) {
			return nil
		}
		c, err := canonical(rec)
		if err != nil {
			return err
		}
		out[key] = record{key: key, rec: rec, canon: c}
		return nil
	})
	return out, err
}

func (r *runner) copyKind(ctx context.Context, k kind, now time.Time, srcLive map[string]bool) error {
	dstLive := map[string]bool{}
	if k.name == "refresh tokens" {
		dstLive = srcLive // every live source session is in the target by now
	}
	target, err := load(ctx, k, r.cfg.To, now, dstLive)
	if err != nil {
		return err
	}
	kr := KindReport{Kind: k.name}
	seen := map[string]bool{}
	last := time.Now()
	n := 0
	err = k.export(ctx, r.cfg.From, func(key string, rec any) error {
		if !k.live(rec, now, srcLive) || seen[key] {
			return nil
		}
		seen[key] = true
		if k.name == "sessions" {
			srcLive[key] = true
		}
		kr.Source++
		n++
		if n%r.cfg.ProgressEvery == 0 || time.Since(last) >= time.Second {
			last = time.Now()
			r.note("migrate: %s: %d read, %d written", k.name, n, kr.Copied+kr.Updated)
		}
		c, err := canonical(rec)
		if err != nil {
			return err
		}
		t, ok := target[key]
		switch {
		case ok && bytes.Equal(t.canon, c):
			kr.Unchanged++
			return nil
		case ok && k.newer(t.rec, rec):
			kr.Newer++
			return nil
		}
		if err := r.write(); err != nil {
			return err
		}
		if err := k.put(ctx, r.cfg.To, rec); err != nil {
			return err
		}
		if ok {
			kr.Updated++
		} else {
			kr.Copied++
		}
		return nil
	})
	if err != nil {
		r.rep.Kinds = append(r.rep.Kinds, kr)
		return err
	}
	keys := make([]string, 0)
	for key := range target {
		if !seen[key] {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		if k.del == nil {
			kr.Extra++
			continue
		}
		if err := r.write(); err != nil {
			return err
		}
		if err := k.del(ctx, r.cfg.To, target[key].rec); err != nil {
			return err
		}
		kr.Deleted++
	}
	r.note("migrate: %s: %d in the source, %d copied, %d updated, %d already there, %d newer in the target, %d deleted",
		k.name, kr.Source, kr.Copied, kr.Updated, kr.Unchanged, kr.Newer, kr.Deleted)
	r.rep.Kinds = append(r.rep.Kinds, kr)
	return nil
}

// digest is a kind's checksum: SHA-256 over its records' keys and
// canonical forms, sorted by key, and how many there are.
func digest(recs map[string]record) (string, int) {
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(recs[k].canon))
		h.Write(recs[k].canon)
	}
	return hex.EncodeToString(h.Sum(nil)), len(keys)
}

// verify compares every kind's count and digest on both sides.
func (r *runner) verify(ctx context.Context, now time.Time) error {
	r.note("migrate: verifying")
	live := [2]map[string]bool{{}, {}}
	var bad []string
	for i, k := range kinds {
		var sums [2]string
		var counts [2]int
		for side, d := range []Deployment{r.cfg.From, r.cfg.To} {
			recs, err := load(ctx, k, d, now, live[side])
			if err != nil {
				return fmt.Errorf("verify %s: %w", k.name, err)
			}
			if k.name == "sessions" {
				for key := range recs {
					live[side][key] = true
				}
			}
			sums[side], counts[side] = digest(recs)
		}
		if i < len(r.rep.Kinds) {
			r.rep.Kinds[i].Digest = sums[0]
		}
		if sums[0] != sums[1] {
			bad = append(bad, fmt.Sprintf("%s (source %d, target %d)", k.name, counts[0], counts[1]))
		}
	}
	if len(bad) > 0 {
		return &MismatchError{Kinds: bad}
	}
	return nil
}
