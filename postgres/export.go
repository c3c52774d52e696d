package postgres

// Export and import for `sesame migrate` (package migrate): every record
// read as it is stored (nothing filtered: the caller decides what is
// live), and upserts that write a record exactly as given, keyed by its
// ID, so that copying the same record twice changes nothing. No method
// here is used by a running server.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/token"
	"github.com/sesame-auth/sesame/webhook"
)

// eachRow runs query and calls scan for each row.
func (db *DB) eachRow(ctx context.Context, what, query string, scan func(pgx.Rows) error) error {
	rows, err := db.pool.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("postgres: export %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: export %s: %w", what, err)
	}
	return nil
}

// ExportSessions calls fn with every stored session, expired or not.
func (db *DB) ExportSessions(ctx context.Context, fn func(*sesame.Session) error) error {
	return db.eachRow(ctx, "sessions", `SELECT `+sessionColumns+` FROM sessions ORDER BY id`, func(rows pgx.Rows) error {
		s, err := scanSession(rows)
		if err != nil {
			return fmt.Errorf("postgres: export sessions: %w", err)
		}
		return fn(s)
	})
}

// ExportRefresh calls fn with every stored refresh token.
func (db *DB) ExportRefresh(ctx context.Context, fn func(*token.Refresh) error) error {
	return db.eachRow(ctx, "refresh tokens", `SELECT `+refreshColumns+` FROM refresh_tokens ORDER BY hash`, func(rows pgx.Rows) error {
		var (
			r                            token.Refresh
			hash                         []byte
			created, expires, famExpires int64
			used                         *int64
		)
		if err := rows.Scan(&hash, &r.FamilyID, &r.SessionID, &r.UserID, &r.ClientID, &r.Scope, &r.AccessJTI,
			&created, &expires, &famExpires, &used, &r.Audience); err != nil {
			return fmt.Errorf("postgres: export refresh tokens: %w", err)
		}
		r.Audience = nilIfEmpty(r.Audience)
		copy(r.Hash[:], hash)
		r.CreatedAt, r.ExpiresAt, r.FamilyExpiresAt = fromNanos(created), fromNanos(expires), fromNanos(famExpires)
		r.UsedAt = fromNullNanos(used)
		return fn(&r)
	})
}

// ExportThrottle calls fn with every stored throttle counter.
func (db *DB) ExportThrottle(ctx context.Context, fn func(key string, st guard.State) error) error {
	return db.eachRow(ctx, "throttle counters", `SELECT key, count, last_at, expires_at FROM throttle ORDER BY key`, func(rows pgx.Rows) error {
		var (
			key           string
			n             int
			last, expires int64
		)
		if err := rows.Scan(&key, &n, &last, &expires); err != nil {
			return fmt.Errorf("postgres: export throttle counters: %w", err)
		}
		return fn(key, guard.State{Count: n, Last: fromNanos(last), Expires: fromNanos(expires)})
	})
}

// ExportCodes calls fn with every stored authorization code.
func (db *DB) ExportCodes(ctx context.Context, fn func(*oauth.Code) error) error {
	return db.eachRow(ctx, "authorization codes", `SELECT `+codeColumns+` FROM oauth_codes ORDER BY hash`, func(rows pgx.Rows) error {
		c, err := scanCode(rows)
		if err != nil {
			return fmt.Errorf("postgres: export authorization codes: %w", err)
		}
		return fn(c)
	})
}

// ExportConsents calls fn with every stored consent.
func (db *DB) ExportConsents(ctx context.Context, fn func(*oauth.Consent) error) error {
	return db.eachRow(ctx, "consents", `SELECT user_id, client_id, scopes, granted_at FROM oauth_consents ORDER BY user_id, client_id`, func(rows pgx.Rows) error {
		var c oauth.Consent
		var granted int64
		if err := rows.Scan(&c.UserID, &c.ClientID, &c.Scopes, &granted); err != nil {
			return fmt.Errorf("postgres: export consents: %w", err)
		}
		c.Scopes, c.GrantedAt = nilIfEmpty(c.Scopes), fromNanos(granted)
		return fn(&c)
	})
}

// ExportLogoutTargets calls fn with every back-channel logout target,
// pending or due.
func (db *DB) ExportLogoutTargets(ctx context.Context, fn func(*oauth.LogoutTarget) error) error {
	return db.eachRow(ctx, "logout targets", `SELECT `+targetColumns+` FROM oauth_logout_targets ORDER BY session_id, client_id`, func(rows pgx.Rows) error {
		t, err := scanTarget(rows)
		if err != nil {
			return fmt.Errorf("postgres: export logout targets: %w", err)
		}
		return fn(t)
	})
}

// ExportCursors calls fn with every stored feed reader position.
func (db *DB) ExportCursors(ctx context.Context, fn func(name string, pos int64) error) error {
	return db.eachRow(ctx, "cursors", `SELECT name, pos FROM oauth_cursors ORDER BY name`, func(rows pgx.Rows) error {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return fmt.Errorf("postgres: export cursors: %w", err)
		}
		return fn(name, pos)
	})
}

// ExportUsedKeys calls fn with every recorded client assertion key.
func (db *DB) ExportUsedKeys(ctx context.Context, fn func(key string, exp time.Time) error) error {
	return db.eachRow(ctx, "used keys", `SELECT key, expires_at FROM oauth_used_keys ORDER BY key`, func(rows pgx.Rows) error {
		var key []byte
		var exp int64
		if err := rows.Scan(&key, &exp); err != nil {
			return fmt.Errorf("postgres: export used keys: %w", err)
		}
		return fn(string(key), fromNanos(exp))
	})
}

// Deployment returns the recorded deployment identity items (not the
// running servers' announcements, rows node/..., see app/nodes.go).
func (db *DB) Deployment(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := db.eachRow(ctx, "deployment", `SELECT key, value FROM deployment WHERE key NOT LIKE 'node/%'`, func(rows pgx.Rows) error {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("postgres: export deployment: %w", err)
		}
		out[k] = v
		return nil
	})
	return out, err
}

// PutDeployment writes the deployment identity items.
func (db *DB) PutDeployment(ctx context.Context, items map[string]string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE deployment IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("postgres: record the deployment identity: %w", err)
		}
		for k, v := range items {
			if _, err := tx.Exec(ctx, `INSERT INTO deployment (key, value, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("postgres: record the deployment identity: %w", err)
			}
		}
		return nil
	})
}

// FeedPosition is the last Seq the change feed gave (0: none yet).
func (db *DB) FeedPosition(ctx context.Context) (int64, error) {
	var next int64
	if err := db.pool.QueryRow(ctx, `SELECT sesame_next_change_seq()`).Scan(&next); err != nil {
		return 0, fmt.Errorf("postgres: read the feed position: %w", err)
	}
	return next - 1, nil
}

// AdvanceFeed numbers the feed's next change at least past+2, so that a
// reader whose position is past or lower finds itself in a gap (it has
// missed changes this feed does not hold) and starts afresh.
func (db *DB) AdvanceFeed(ctx context.Context, past int64) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(sesame_feed_lock())`); err != nil {
			return fmt.Errorf("postgres: advance the feed: %w", err)
		}
		var last int64
		var called bool
		if err := tx.QueryRow(ctx, `SELECT last_value, is_called FROM session_changes_seq`).Scan(&last, &called); err != nil {
			return fmt.Errorf("postgres: advance the feed: %w", err)
		}
		if !called {
			last--
		}
		if last >= past+1 {
			return nil
		}
		if _, err := tx.Exec(ctx, `SELECT setval('session_changes_seq', $1, true)`, past+1); err != nil {
			return fmt.Errorf("postgres: advance the feed: %w", err)
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
	err := db.pool.QueryRow(ctx, `SELECT concat_ws('/',
		sesame_next_change_seq(),
		(SELECT concat_ws(':', count(*), max(last_seen), sum(version)) FROM sessions),
		(SELECT concat_ws(':', count(*), max(created_at), count(used_at)) FROM refresh_tokens),
		(SELECT concat_ws(':', count(*), max(updated_at)) FROM users),
		(SELECT concat_ws(':', count(*), max(last_at), sum(count)) FROM throttle),
		(SELECT concat_ws(':', count(*), count(due_at)) FROM oauth_logout_targets),
		(SELECT concat_ws(':', count(*), count(used_at)) FROM oauth_codes),
		(SELECT count(*) FROM signing_keys), (SELECT count(*) FROM oauth_clients))`).Scan(&out)
	if err != nil {
		return "", fmt.Errorf("postgres: read activity: %w", err)
	}
	return out, nil
}

// PutUser writes u as given (groups included), replacing the user with
// its ID. Another user with its username is an error.
func (db *DB) PutUser(ctx context.Context, u *sesame.User) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash,
		admin = excluded.admin, blocked = excluded.blocked, created_at = excluded.created_at, updated_at = excluded.updated_at,
		sessions_not_before = excluded.sessions_not_before, group_names = excluded.group_names`,
		u.ID, u.Username, u.PasswordHash, u.Admin, u.Blocked, nanos(u.CreatedAt), nanos(u.UpdatedAt),
		nanosOrNil(u.SessionsNotBefore), groupArray(u.Groups))
	if err != nil {
		return writeErr("put user", err)
	}
	return nil
}

// PutKey writes the sealed signing key record as given.
func (db *DB) PutKey(ctx context.Context, r *keyring.Record) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO signing_keys (kid, alg, sealed, created_at, activate_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, sealed = excluded.sealed,
		created_at = excluded.created_at, activate_at = excluded.activate_at, retired_at = excluded.retired_at`,
		r.KID, string(r.Alg), r.Sealed, nanos(r.CreatedAt), nanos(r.ActivateAt), nanosOrNil(r.RetiredAt))
	if err != nil {
		return writeErr("put signing key", err)
	}
	return nil
}

// PutClient writes the client as given.
func (db *DB) PutClient(ctx context.Context, c *oauth.Client) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, public = excluded.public, secret_hash = excluded.secret_hash,
		auth_method = excluded.auth_method, jwks = excluded.jwks, redirect_uris = excluded.redirect_uris,
		post_logout_redirect_uris = excluded.post_logout_redirect_uris, backchannel_logout_uri = excluded.backchannel_logout_uri,
		grant_types = excluded.grant_types, scopes = excluded.scopes, resources = excluded.resources,
		first_party = excluded.first_party, id_token_alg = excluded.id_token_alg, created_at = excluded.created_at`,
		clientArgs(c)...)
	if err != nil {
		return writeErr("put client", err)
	}
	return nil
}

// PutCode writes the authorization code record as given.
func (db *DB) PutCode(ctx context.Context, c *oauth.Code) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (hash) DO UPDATE SET used_at = excluded.used_at`,
		c.Hash[:], c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, textList(c.Resources), c.Nonce,
		c.CodeChallenge, nanosOrNil(c.AuthTime), c.ACR, textList(c.AMR), nanos(c.CreatedAt), nanos(c.ExpiresAt),
		nanosOrNil(c.UsedAt))
	if err != nil {
		return writeErr("put authorization code", err)
	}
	return nil
}

// PutConsent writes the consent as given.
func (db *DB) PutConsent(ctx context.Context, c *oauth.Consent) error { return db.SaveConsent(ctx, c) }

// PutLogoutTarget writes the logout target as given.
func (db *DB) PutLogoutTarget(ctx context.Context, t *oauth.LogoutTarget) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_logout_targets (`+targetColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (session_id, client_id) DO UPDATE SET
		user_id = excluded.user_id, created_at = excluded.created_at, due_at = excluded.due_at,
		attempts = excluded.attempts, last_error = excluded.last_error`,
		t.SessionID, t.ClientID, t.UserID, nanos(t.CreatedAt), nanosOrNil(t.DueAt), t.Attempts, safeText(t.LastError))
	if err != nil {
		return writeErr("put logout target", err)
	}
	return nil
}

// PutCursor writes the feed reader's position.
func (db *DB) PutCursor(ctx context.Context, name string, pos int64) error {
	return db.SetCursor(ctx, name, pos)
}

// PutUsedKey records the client assertion key until exp.
func (db *DB) PutUsedKey(ctx context.Context, key string, exp time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_used_keys (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`, []byte(key), nanos(exp))
	if err != nil {
		return writeErr("put used key", err)
	}
	return nil
}

// PutSession writes the session as given (its version included),
// replacing the one with its ID. Inserting records nothing in the change
// feed; replacing a session of another version records an update, which
// tells any reader to read it again.
func (db *DB) PutSession(ctx context.Context, s *sesame.Session) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, prev_token_hash = excluded.prev_token_hash,
		prev_valid_until = excluded.prev_valid_until, last_seen = excluded.last_seen, idle_timeout = excluded.idle_timeout,
		expires_at = excluded.expires_at, remember = excluded.remember, auth_time = excluded.auth_time,
		user_agent = excluded.user_agent, ip = excluded.ip, version = excluded.version, data = excluded.data, auth = excluded.auth`,
		s.ID, s.UserID, s.TokenHash[:], hashOrNil(&s.PrevTokenHash), nanos(s.PrevValidUntil), nanos(s.CreatedAt),
		nanos(s.LastSeen), int64(s.IdleTimeout), nanos(s.ExpiresAt), s.Remember, nanos(s.AuthTime),
		[]byte(s.Device.UserAgent), []byte(s.Device.IP), s.Version, encodeData(s.Data), encodeAuth(s))
	if err != nil {
		return writeErr("put session", err)
	}
	return nil
}

// PutRefresh writes the refresh token as given. Its session must exist.
func (db *DB) PutRefresh(ctx context.Context, r *token.Refresh) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (hash) DO UPDATE SET family_id = excluded.family_id, session_id = excluded.session_id,
		user_id = excluded.user_id, client_id = excluded.client_id, scope = excluded.scope, access_jti = excluded.access_jti,
		created_at = excluded.created_at, expires_at = excluded.expires_at, family_expires_at = excluded.family_expires_at,
		used_at = excluded.used_at, audience = excluded.audience`,
		r.Hash[:], r.FamilyID, r.SessionID, r.UserID, r.ClientID, r.Scope, r.AccessJTI,
		nanos(r.CreatedAt), nanos(r.ExpiresAt), nanos(r.FamilyExpiresAt), nanosOrNil(r.UsedAt), textList(r.Audience))
	if err != nil {
		return writeErr("put refresh token", err)
	}
	return nil
}

// PutThrottle writes the throttle counter as given.
func (db *DB) PutThrottle(ctx context.Context, key string, st guard.State) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO throttle (key, count, last_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at, expires_at = excluded.expires_at`,
		key, st.Count, nanos(st.Last), nanos(st.Expires))
	if err != nil {
		return writeErr("put throttle counter", err)
	}
	return nil
}

// PutWebhook writes a webhook outbox message as it is (pending or dead,
// with its attempts), replacing one with the same ID.
func (db *DB) PutWebhook(ctx context.Context, m *webhook.Message) error {
	if !storableText(m.ID) || !storableText(m.URL) || !storableText(m.Type) {
		return sesame.Errorf(sesame.EInvalid, "text is not valid UTF-8 or contains NUL")
	}
	payload := m.Payload
	if payload == nil {
		payload = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO webhook_outbox (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET url = excluded.url, type = excluded.type, payload = excluded.payload,
			created_at = excluded.created_at, due_at = excluded.due_at, attempts = excluded.attempts,
			last_error = excluded.last_error, dead_at = excluded.dead_at`,
		m.ID, m.URL, m.Type, payload, nanos(m.CreatedAt), nanos(m.DueAt), m.Attempts, safeText(m.LastError), nanosOrNil(m.DeadAt))
	if err != nil {
		return writeErr("put webhook", err)
	}
	return nil
}
