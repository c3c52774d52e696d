package sqlite

// Export and import for `sesame migrate` (package migrate): every record
// read as it is stored (nothing filtered: the caller decides what is
// live), and upserts that write a record exactly as given, keyed by its
// ID, so that copying the same record twice changes nothing. No method
// here is used by a running server.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/token"
	"github.com/sesame-auth/sesame/webhook"
)

// eachRow runs query on a reader connection and calls scan for each row.
func (db *DB) eachRow(ctx context.Context, what, query string, scan func(*sql.Rows) error) error {
	rows, err := db.r.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("sqlite: export %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: export %s: %w", what, err)
	}
	return nil
}

// ExportSessions calls fn with every stored session, expired or not.
func (db *DB) ExportSessions(ctx context.Context, fn func(*sesame.Session) error) error {
	return db.eachRow(ctx, "sessions", `SELECT `+sessionColumns+` FROM sessions ORDER BY id`, func(rows *sql.Rows) error {
		s, err := scanSession(rows)
		if err != nil {
			return fmt.Errorf("sqlite: export sessions: %w", err)
		}
		return fn(s)
	})
}

// ExportRefresh calls fn with every stored refresh token.
func (db *DB) ExportRefresh(ctx context.Context, fn func(*token.Refresh) error) error {
	return db.eachRow(ctx, "refresh tokens", `SELECT `+refreshColumns+` FROM refresh_tokens ORDER BY hash`, func(rows *sql.Rows) error {
		var (
			r                         token.Refresh
			hash                      []byte
			created, expires, famExps int64
			used                      sql.NullInt64
			aud                       string
		)
		err := rows.Scan(&hash, &r.FamilyID, &r.SessionID, &r.UserID, &r.ClientID, &r.Scope, &r.AccessJTI,
			&created, &expires, &famExps, &used, &aud)
		if err == nil {
			r.Audience, err = decodeList(aud)
		}
		if err != nil || len(hash) != len(r.Hash) {
			return fmt.Errorf("sqlite: export refresh tokens: %v", err)
		}
		copy(r.Hash[:], hash)
		r.CreatedAt, r.ExpiresAt, r.FamilyExpiresAt = fromNanos(created), fromNanos(expires), fromNanos(famExps)
		if used.Valid {
			r.UsedAt = fromNanos(used.Int64)
		}
		return fn(&r)
	})
}

// ExportThrottle calls fn with every stored throttle counter.
func (db *DB) ExportThrottle(ctx context.Context, fn func(key string, st guard.State) error) error {
	return db.eachRow(ctx, "throttle counters", `SELECT key, count, last_at, expires_at FROM throttle ORDER BY key`, func(rows *sql.Rows) error {
		var (
			key           string
			n             int
			last, expires int64
		)
		if err := rows.Scan(&key, &n, &last, &expires); err != nil {
			return fmt.Errorf("sqlite: export throttle counters: %w", err)
		}
		return fn(key, guard.State{Count: n, Last: fromNanos(last), Expires: fromNanos(expires)})
	})
}

// ExportCodes calls fn with every stored authorization code.
func (db *DB) ExportCodes(ctx context.Context, fn func(*oauth.Code) error) error {
	return db.eachRow(ctx, "authorization codes", `SELECT `+codeColumns+` FROM oauth_codes ORDER BY hash`, func(rows *sql.Rows) error {
		c, err := scanCode(rows)
		if err != nil {
			return fmt.Errorf("sqlite: export authorization codes: %w", err)
		}
		return fn(c)
	})
}

// ExportConsents calls fn with every stored consent.
func (db *DB) ExportConsents(ctx context.Context, fn func(*oauth.Consent) error) error {
	return db.eachRow(ctx, "consents", `SELECT user_id, client_id, scopes, granted_at FROM oauth_consents ORDER BY user_id, client_id`, func(rows *sql.Rows) error {
		var (
			c       oauth.Consent
			scopes  string
			granted int64
		)
		err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &granted)
		if err == nil {
			c.Scopes, err = decodeList(scopes)
		}
		if err != nil {
			return fmt.Errorf("sqlite: export consents: %w", err)
		}
		c.GrantedAt = fromNanos(granted)
		return fn(&c)
	})
}

// ExportLogoutTargets calls fn with every back-channel logout target,
// pending or due.
func (db *DB) ExportLogoutTargets(ctx context.Context, fn func(*oauth.LogoutTarget) error) error {
	return db.eachRow(ctx, "logout targets", `SELECT `+targetColumns+` FROM oauth_logout_targets ORDER BY session_id, client_id`, func(rows *sql.Rows) error {
		t, err := scanTarget(rows)
		if err != nil {
			return fmt.Errorf("sqlite: export logout targets: %w", err)
		}
		return fn(t)
	})
}

// ExportCursors calls fn with every stored feed reader position.
func (db *DB) ExportCursors(ctx context.Context, fn func(name string, pos int64) error) error {
	return db.eachRow(ctx, "cursors", `SELECT name, pos FROM oauth_cursors ORDER BY name`, func(rows *sql.Rows) error {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return fmt.Errorf("sqlite: export cursors: %w", err)
		}
		return fn(name, pos)
	})
}

// ExportUsedKeys calls fn with every recorded client assertion key.
func (db *DB) ExportUsedKeys(ctx context.Context, fn func(key string, exp time.Time) error) error {
	return db.eachRow(ctx, "used keys", `SELECT key, expires_at FROM oauth_used_keys ORDER BY key`, func(rows *sql.Rows) error {
		var key []byte
		var exp int64
		if err := rows.Scan(&key, &exp); err != nil {
			return fmt.Errorf("sqlite: export used keys: %w", err)
		}
		return fn(string(key), fromNanos(exp))
	})
}

// Deployment returns the recorded deployment identity items (not the
// running servers' announcements, rows node/..., see app/nodes.go).
func (db *DB) Deployment(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := db.eachRow(ctx, "deployment", `SELECT key, value FROM deployment WHERE key NOT LIKE 'node/%'`, func(rows *sql.Rows) error {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("sqlite: export deployment: %w", err)
		}
		out[k] = v
		return nil
	})
	return out, err
}

// PutDeployment writes the deployment identity items.
func (db *DB) PutDeployment(ctx context.Context, items map[string]string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for k, v := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deployment (key, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("sqlite: record the deployment identity: %w", err)
			}
		}
		return nil
	})
}

// FeedPosition is the last Seq the change feed gave (0: none yet).
func (db *DB) FeedPosition(ctx context.Context) (int64, error) {
	var seq int64
	err := db.r.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_changes'), 0)`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("sqlite: read the feed position: %w", err)
	}
	return seq, nil
}

// AdvanceFeed numbers the feed's next change at least past+2, so that a
// reader whose position is past or lower finds itself in a gap (it has
// missed changes this feed does not hold) and starts afresh.
func (db *DB) AdvanceFeed(ctx context.Context, past int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_changes'), -1)`).Scan(&cur)
		if err != nil {
			return fmt.Errorf("sqlite: advance the feed: %w", err)
		}
		switch {
		case cur >= past+1:
			return nil
		case cur < 0:
			_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES ('session_changes', ?)`, past+1)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = 'session_changes'`, past+1)
		}
		if err != nil {
			return fmt.Errorf("sqlite: advance the feed: %w", err)
		}
		return nil
	})
}

// Activity is a cheap fingerprint of what a running server changes: the
// feed position and the size and latest times of the session, refresh
// token, user, throttle and logout target tables. Two equal fingerprints a
// few seconds apart mean nothing wrote in between (as far as cheaply seen).
func (db *DB) Activity(ctx context.Context) (string, error) {
	var out string
	err := db.r.QueryRowContext(ctx, `SELECT
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'session_changes'), 0) || '/' ||
		(SELECT count(*) || ':' || coalesce(max(last_seen), 0) || ':' || coalesce(sum(version), 0) FROM sessions) || '/' ||
		(SELECT count(*) || ':' || coalesce(max(created_at), 0) || ':' || count(used_at) FROM refresh_tokens) || '/' ||
		(SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM users) || '/' ||
		(SELECT count(*) || ':' || coalesce(max(last_at), 0) || ':' || coalesce(sum(count), 0) FROM throttle) || '/' ||
		(SELECT count(*) || ':' || count(due_at) FROM oauth_logout_targets) || '/' ||
		(SELECT count(*) || ':' || count(used_at) FROM oauth_codes) || '/' ||
		(SELECT count(*) FROM signing_keys) || '/' || (SELECT count(*) FROM oauth_clients)`).Scan(&out)
	if err != nil {
		return "", fmt.Errorf("sqlite: read activity: %w", err)
	}
	return out, nil
}

// LockWrites takes the database's write lock (BEGIN IMMEDIATE) and holds
// it until release is called: every other process's write waits for it
// (and fails after the busy timeout), while reads go on. It fails at once
// when another process holds the lock. Reads through db are unaffected;
// writes through db wait for release.
func (db *DB) LockWrites(ctx context.Context) (release func(), err error) {
	conn, err := sql.Open("sqlite", fileURI(db.path())+"?_busy_timeout=0&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock: %w", err)
	}
	conn.SetMaxOpenConns(1)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sqlite: another process is writing to the database (its write lock is taken): %w", err)
	}
	return func() { tx.Rollback(); conn.Close() }, nil
}

// path is the database file's path, as SQLite reports it.
func (db *DB) path() string {
	var seq int
	var name, file string
	if err := db.r.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		return ""
	}
	return file
}

// PutUser writes u as given (groups included), replacing the user with
// its ID. Another user with its username is an error.
func (db *DB) PutUser(ctx context.Context, u *sesame.User) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash,
		admin = excluded.admin, blocked = excluded.blocked, created_at = excluded.created_at, updated_at = excluded.updated_at,
		sessions_not_before = excluded.sessions_not_before, group_names = excluded.group_names`,
		u.ID, u.Username, u.PasswordHash, boolInt(u.Admin), boolInt(u.Blocked), nanos(u.CreatedAt), nanos(u.UpdatedAt),
		nanosOrNull(u.SessionsNotBefore), joinGroups(u.Groups))
	if err != nil {
		return fmt.Errorf("sqlite: put user %s: %w", u.ID, err)
	}
	return nil
}

// PutKey writes the sealed signing key record as given.
func (db *DB) PutKey(ctx context.Context, r *keyring.Record) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, sealed, created_at, activate_at, retired_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, sealed = excluded.sealed,
		created_at = excluded.created_at, activate_at = excluded.activate_at, retired_at = excluded.retired_at`,
		r.KID, string(r.Alg), r.Sealed, nanos(r.CreatedAt), nanos(r.ActivateAt), nanosOrNil(r.RetiredAt))
	if err != nil {
		return fmt.Errorf("sqlite: put signing key: %w", err)
	}
	return nil
}

// PutClient writes the client as given.
func (db *DB) PutClient(ctx context.Context, c *oauth.Client) error {
	args, err := clientArgs(c)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT OR REPLACE INTO oauth_clients (`+clientColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: put client: %w", err)
	}
	return nil
}

// PutCode writes the authorization code record as given.
func (db *DB) PutCode(ctx context.Context, c *oauth.Code) error {
	l, err := lists(c.Resources, c.AMR)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT OR REPLACE INTO oauth_codes (`+codeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash[:], c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, l[0], c.Nonce, c.CodeChallenge,
		nanosOrNil(c.AuthTime), c.ACR, l[1], nanos(c.CreatedAt), nanos(c.ExpiresAt), nanosOrNil(c.UsedAt))
	if err != nil {
		return fmt.Errorf("sqlite: put authorization code: %w", err)
	}
	return nil
}

// PutConsent writes the consent as given.
func (db *DB) PutConsent(ctx context.Context, c *oauth.Consent) error { return db.SaveConsent(ctx, c) }

// PutLogoutTarget writes the logout target as given.
func (db *DB) PutLogoutTarget(ctx context.Context, t *oauth.LogoutTarget) error {
	_, err := db.w.ExecContext(ctx, `INSERT OR REPLACE INTO oauth_logout_targets (`+targetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.SessionID, t.ClientID, t.UserID, nanos(t.CreatedAt), nanosOrNil(t.DueAt), t.Attempts, t.LastError)
	if err != nil {
		return fmt.Errorf("sqlite: put logout target: %w", err)
	}
	return nil
}

// PutCursor writes the feed reader's position.
func (db *DB) PutCursor(ctx context.Context, name string, pos int64) error {
	return db.SetCursor(ctx, name, pos)
}

// PutUsedKey records the client assertion key until exp.
func (db *DB) PutUsedKey(ctx context.Context, key string, exp time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT OR REPLACE INTO oauth_used_keys (key, expires_at) VALUES (?, ?)`, []byte(key), nanos(exp))
	if err != nil {
		return fmt.Errorf("sqlite: put used key: %w", err)
	}
	return nil
}

// PutSession writes the session as given (its version included),
// replacing the one with its ID. Inserting records nothing in the change
// feed; replacing a session of another version records an update, which
// tells any reader to read it again.
func (db *DB) PutSession(ctx context.Context, s *sesame.Session) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, prev_token_hash = excluded.prev_token_hash,
		prev_valid_until = excluded.prev_valid_until, last_seen = excluded.last_seen, idle_timeout = excluded.idle_timeout,
		expires_at = excluded.expires_at, remember = excluded.remember, auth_time = excluded.auth_time,
		user_agent = excluded.user_agent, ip = excluded.ip, version = excluded.version, data = excluded.data, auth = excluded.auth`,
		s.ID, s.UserID, s.TokenHash[:], hashOrNil(&s.PrevTokenHash), nanos(s.PrevValidUntil), nanos(s.CreatedAt),
		nanos(s.LastSeen), int64(s.IdleTimeout), nanos(s.ExpiresAt), boolInt(s.Remember), nanos(s.AuthTime),
		s.Device.UserAgent, s.Device.IP, s.Version, encodeData(s.Data), encodeAuth(s))
	if err != nil {
		return fmt.Errorf("sqlite: put session: %w", err)
	}
	return nil
}

// PutRefresh writes the refresh token as given. Its session must exist.
func (db *DB) PutRefresh(ctx context.Context, r *token.Refresh) error {
	aud, err := encodeList(r.Audience)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT OR REPLACE INTO refresh_tokens (`+refreshColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Hash[:], r.FamilyID, r.SessionID, r.UserID, r.ClientID, r.Scope, r.AccessJTI,
		nanos(r.CreatedAt), nanos(r.ExpiresAt), nanos(r.FamilyExpiresAt), nanosOrNil(r.UsedAt), aud)
	if err != nil {
		return fmt.Errorf("sqlite: put refresh token: %w", err)
	}
	return nil
}

// PutThrottle writes the throttle counter as given.
func (db *DB) PutThrottle(ctx context.Context, key string, st guard.State) error {
	_, err := db.w.ExecContext(ctx, `INSERT OR REPLACE INTO throttle (key, count, last_at, expires_at) VALUES (?, ?, ?, ?)`,
		key, st.Count, nanos(st.Last), nanos(st.Expires))
	if err != nil {
		return fmt.Errorf("sqlite: put throttle counter: %w", err)
	}
	return nil
}

// PutWebhook writes a webhook outbox message as it is (pending or dead,
// with its attempts), replacing one with the same ID.
func (db *DB) PutWebhook(ctx context.Context, m *webhook.Message) error {
	payload := m.Payload
	if payload == nil {
		payload = []byte{}
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO webhook_outbox (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET url = excluded.url, type = excluded.type, payload = excluded.payload,
			created_at = excluded.created_at, due_at = excluded.due_at, attempts = excluded.attempts,
			last_error = excluded.last_error, dead_at = excluded.dead_at`,
		m.ID, m.URL, m.Type, payload, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, m.LastError, nanosOrNil(m.DeadAt))
	if err != nil {
		return fmt.Errorf("sqlite: put webhook: %w", err)
	}
	return nil
}
