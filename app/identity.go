package app

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/postgres"
	"github.com/sesame-auth/sesame/sqlite"
)

// Identity is what every node and command of one deployment must agree
// on. It is recorded in the durable store by the first `sesame serve` and
// holds no secret.
type Identity struct {
	// Issuer is the iss of access tokens; "" means each node names its own
	// URL (a loopback development server without public_url).
	Issuer string
	// Sessions says where session state lives: "database" (the durable
	// database) or a Redis kind and address without credentials, such as
	// "redis cache.internal:6379/0" or "redis-cluster 10.0.0.1:6379,...".
	Sessions string
	// MasterKey is a fingerprint of the master key (HKDF-derived: it
	// reveals nothing about the key).
	MasterKey string
}

// identityOf returns the identity cfg and master describe.
func identityOf(cfg *config.Config, master *keyring.MasterKey) Identity {
	return Identity{Issuer: issuerForRecord(cfg), Sessions: SessionsIdentity(cfg.Sessions), MasterKey: Fingerprint(master)}
}

// issuerForRecord is the issuer a node records: "" when it derived its
// public URL from its listening address.
func issuerForRecord(cfg *config.Config) string {
	if cfg.Issuer == "" && cfg.Source("public_url").Kind == config.FromListener {
		return ""
	}
	return cfg.EffectiveIssuer()
}

// Fingerprint identifies a master key without revealing it.
func Fingerprint(m *keyring.MasterKey) string {
	return hex.EncodeToString(m.Derive("deployment fingerprint", 8))
}

// SessionsIdentity describes where a sessions setting keeps session state,
// without credentials.
func SessionsIdentity(sessions string) string {
	if sessions == "" {
		return "database"
	}
	scheme, rest, _ := strings.Cut(sessions, "://")
	if at := strings.LastIndexByte(strings.SplitN(rest, "/", 2)[0], '@'); at >= 0 {
		rest = rest[at+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	hosts, _, _ = strings.Cut(hosts, "?")
	path, _, _ = strings.Cut(path, "?")
	if strings.HasPrefix(scheme, "mongodb") {
		list := strings.Split(hosts, ",")
		for i, h := range list {
			if u, err := url.Parse("mongodb://" + h); err == nil && u.Port() == "" && scheme == "mongodb" {
				list[i] = h + ":27017"
			}
		}
		slices.Sort(list)
		if path == "" {
			path = "sesame"
		}
		return scheme + " " + strings.Join(list, ",") + "/" + path
	}
	if strings.Contains(scheme, "cluster") {
		list := strings.Split(hosts, ",")
		slices.Sort(list)
		return "redis-cluster " + strings.Join(list, ",")
	}
	if path == "" {
		path = "0"
	}
	if u, err := url.Parse("redis://" + hosts); err == nil && u.Port() == "" {
		hosts += ":6379"
	}
	return "redis " + hosts + "/" + path
}

// describeSessions says in words where session state lives.
func describeSessions(id string) string {
	if id == "database" {
		return "the db database"
	}
	return id
}

// identityStore reads and writes the deployment table.
type identityStore interface {
	load(ctx context.Context) (map[string]string, error)
	// put writes the items; with onlyIfAbsent it writes nothing when any
	// item exists (two nodes starting together: the first one wins).
	put(ctx context.Context, items map[string]string, onlyIfAbsent bool) error
}

func identityStoreFor(d DurableStore) identityStore {
	switch db := d.(type) {
	case *sqlite.DB:
		return sqlIdentity{db.SQL()}
	case *postgres.DB:
		return pgIdentity{db}
	}
	return nil
}

type sqlIdentity struct{ db *sql.DB }

func (s sqlIdentity) load(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM deployment`+identityOnly)
	if err != nil {
		return nil, fmt.Errorf("read the deployment identity: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read the deployment identity: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

func (s sqlIdentity) put(ctx context.Context, items map[string]string, onlyIfAbsent bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record the deployment identity: %w", err)
	}
	defer tx.Rollback()
	if onlyIfAbsent {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deployment`+identityOnly).Scan(&n); err != nil {
			return fmt.Errorf("record the deployment identity: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
	for k, v := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployment (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("record the deployment identity: %w", err)
		}
	}
	return tx.Commit()
}

type pgIdentity struct{ db *postgres.DB }

func (s pgIdentity) load(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Pool().Query(ctx, `SELECT key, value FROM deployment`+identityOnly)
	if err != nil {
		return nil, fmt.Errorf("read the deployment identity: %w", err)
	}
	out := map[string]string{}
	var k, v string
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error { out[k] = v; return nil })
	if err != nil {
		return nil, fmt.Errorf("read the deployment identity: %w", err)
	}
	return out, nil
}

func (s pgIdentity) put(ctx context.Context, items map[string]string, onlyIfAbsent bool) error {
	return pgx.BeginFunc(ctx, s.db.Pool(), func(tx pgx.Tx) error {
		// One writer at a time: nodes starting together agree on the first.
		if _, err := tx.Exec(ctx, `LOCK TABLE deployment IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("record the deployment identity: %w", err)
		}
		if onlyIfAbsent {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM deployment`+identityOnly).Scan(&n); err != nil {
				return fmt.Errorf("record the deployment identity: %w", err)
			}
			if n > 0 {
				return nil
			}
		}
		for k, v := range items {
			if _, err := tx.Exec(ctx, `INSERT INTO deployment (key, value, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("record the deployment identity: %w", err)
			}
		}
		return nil
	})
}

const (
	itemIssuer    = "issuer"
	itemSessions  = "sessions"
	itemMasterKey = "master_key_fingerprint"
)

func (id Identity) items() map[string]string {
	return map[string]string{itemIssuer: id.Issuer, itemSessions: id.Sessions, itemMasterKey: id.MasterKey}
}

func identityFromItems(m map[string]string) (Identity, bool) {
	if len(m) == 0 {
		return Identity{}, false
	}
	return Identity{Issuer: m[itemIssuer], Sessions: m[itemSessions], MasterKey: m[itemMasterKey]}, true
}

// IdentityError says how a node's or command's configuration contradicts
// the deployment's recorded identity, and how to fix it.
type IdentityError struct {
	// Differences lists each contradiction with its fix, one per item.
	Differences []string
	// Missing names the setting a command lacks to reach the deployment's
	// session state ("sessions"): a usage error (exit 2).
	Missing string
}

func (e *IdentityError) Error() string {
	head := "this configuration contradicts the deployment's identity (recorded in the database at its first start)"
	if len(e.Differences) == 1 {
		return head + ": " + e.Differences[0]
	}
	return head + ":\n  " + strings.Join(e.Differences, "\n  ")
}

// checkIdentity compares the configuration with the record. A server may
// set an issuer the record leaves open (returns upgrade).
func checkIdentity(rec, mine Identity, cfg *config.Config, command bool) (upgrade bool, err error) {
	e := &IdentityError{}
	fix := "change it deliberately with `sesame config set-identity`"
	if rec.MasterKey != "" && rec.MasterKey != mine.MasterKey {
		e.Differences = append(e.Differences, fmt.Sprintf(
			"the master key (from %s) has fingerprint %s, the deployment's is %s: every node and command must use the deployment's master key (SESAME_MASTER_KEY or master_key_file); the signing keys only open with it",
			masterKeySource(cfg), mine.MasterKey, rec.MasterKey))
	}
	if rec.Sessions != "" && rec.Sessions != mine.Sessions {
		if mine.Sessions == "database" {
			e.Missing = "sessions"
			e.Differences = append(e.Differences, fmt.Sprintf(
				"the deployment keeps session state in %s, but this configuration has no sessions setting, so it cannot reach the sessions it would read or end: set sessions (--sessions, SESAME_SESSIONS or sessions: in the config file) to the deployment's, or use the deployment's config file (--config)",
				rec.Sessions))
		} else {
			e.Differences = append(e.Differences, fmt.Sprintf(
				"session state is configured in %s, but the deployment keeps it in %s: use the deployment's sessions setting, or %s",
				describeSessions(mine.Sessions), describeSessions(rec.Sessions), fix))
		}
	}
	if !command && rec.Issuer != mine.Issuer {
		switch {
		case rec.Issuer == "":
			upgrade = true // the first public_url of a development deployment
		case mine.Issuer == "":
			e.Differences = append(e.Differences, fmt.Sprintf(
				"this node has no public_url (nor issuer), so it would name itself in its tokens, but the deployment's issuer is %s: set public_url: %s (--public-url, SESAME_PUBLIC_URL), the same on every node",
				rec.Issuer, rec.Issuer))
		default:
			e.Differences = append(e.Differences, fmt.Sprintf(
				"this node's issuer is %s (%s), but the deployment's is %s: nodes with different issuers reject each other's tokens. Use the deployment's public_url on every node, or %s (tokens issued under %s then stop working)",
				mine.Issuer, issuerSource(cfg), rec.Issuer, fix, rec.Issuer))
		}
	}
	if len(e.Differences) > 0 {
		if e.Missing != "" && len(e.Differences) > 1 {
			e.Missing = ""
		}
		return false, e
	}
	return upgrade, nil
}

func issuerSource(cfg *config.Config) string {
	if cfg.Issuer != "" {
		return "issuer from " + cfg.Source("issuer").String()
	}
	return "public_url from " + cfg.Source("public_url").String()
}

func masterKeySource(cfg *config.Config) string {
	if cfg.MasterKey != "" {
		return "SESAME_MASTER_KEY"
	}
	return "the key file " + masterKeyFile(cfg)
}

// LoadIdentity returns the deployment's recorded identity; ok is false
// when none is recorded.
func (a *App) LoadIdentity(ctx context.Context) (Identity, bool, error) {
	s := identityStoreFor(a.durable)
	if s == nil {
		return Identity{}, false, errors.New("this store cannot record a deployment identity")
	}
	m, err := s.load(ctx)
	if err != nil {
		return Identity{}, false, err
	}
	id, ok := identityFromItems(m)
	return id, ok, nil
}

// Identity is the identity this App's configuration describes.
func (a *App) Identity() Identity { return identityOf(a.cfg, a.master) }

// RecordIdentity replaces the deployment's recorded identity by this App's
// configuration's: `sesame config set-identity`.
func (a *App) RecordIdentity(ctx context.Context) error {
	s := identityStoreFor(a.durable)
	if s == nil {
		return errors.New("this store cannot record a deployment identity")
	}
	return s.put(ctx, a.Identity().items(), false)
}

// enforceIdentity checks the configuration against the record, and
// records it when there is none (servers only).
func (a *App) enforceIdentity(ctx context.Context) error {
	s := identityStoreFor(a.durable)
	if s == nil || a.opts.skipIdentity {
		return nil
	}
	mine := a.Identity()
	m, err := s.load(ctx)
	if err != nil {
		return err
	}
	rec, ok := identityFromItems(m)
	if !ok {
		if a.opts.command || !a.opts.recordIdentity {
			return nil // a database made before identities were recorded
		}
		if err := s.put(ctx, mine.items(), true); err != nil {
			return err
		}
		if m, err = s.load(ctx); err != nil { // another node may have won
			return err
		}
		rec, _ = identityFromItems(m)
	}
	upgrade, err := checkIdentity(rec, mine, a.cfg, a.opts.command)
	if err != nil {
		return err
	}
	if upgrade && !a.opts.command {
		a.logger.Info("recording the deployment's issuer", "issuer", mine.Issuer)
		return s.put(ctx, map[string]string{itemIssuer: mine.Issuer}, false)
	}
	return nil
}

// CompareIdentity compares the configuration with a recorded identity as
// a server would, and returns the contradictions (nil when none).
func (a *App) CompareIdentity(rec Identity) error {
	_, err := checkIdentity(rec, a.Identity(), a.cfg, false)
	return err
}
