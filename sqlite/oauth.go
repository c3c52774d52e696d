package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

var _ oauth.Store = (*DB)(nil)

// The OAuth provider's tables (migration 0009) are read and written a few
// times per authorization, far less than sessions: their statements are
// not prepared at Open. Every write goes through the one writer connection
// in a BEGIN IMMEDIATE transaction, which also serializes the writes of
// several processes on one file.

// encodeList stores a list of strings as a JSON array. A string that is not
// valid UTF-8 would not survive JSON: it is the caller's mistake, an
// *sesame.Error with code [sesame.EInvalid], as in the postgres adapter.
func encodeList(l []string) (string, error) {
	for _, s := range l {
		if !utf8.ValidString(s) {
			return "", sesame.Errorf(sesame.EInvalid, "text is not valid UTF-8")
		}
	}
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// decodeList reads what encodeList stored; the empty list is nil.
func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, errCorruptList
	}
	return l, nil
}

var errCorruptList = errors.New("corrupt list column")

// lists encodes several lists, stopping at the first error.
func lists(ls ...[]string) ([]any, error) {
	out := make([]any, len(ls))
	for i, l := range ls {
		s, err := encodeList(l)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// unlists decodes several list columns into their destinations.
func unlists(pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		l, err := decodeList(pairs[i].(string))
		if err != nil {
			return err
		}
		*pairs[i+1].(*[]string) = l
	}
	return nil
}

// bytesOrNil stores an empty byte string as NULL.
func bytesOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// fromNullNanos decodes a nullable time column: NULL is the zero time.
func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

const clientColumns = `id, name, public, secret_hash, auth_method, jwks, redirect_uris, post_logout_redirect_uris,
	backchannel_logout_uri, grant_types, scopes, resources, first_party, id_token_alg, created_at`

// clientArgs are c's values in clientColumns order.
func clientArgs(c *oauth.Client) ([]any, error) {
	l, err := lists(c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes, c.Scopes, c.Resources)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.Name, boolInt(c.Public), bytesOrNil(c.SecretHash), c.AuthMethod, bytesOrNil(c.JWKS),
		l[0], l[1], c.BackchannelLogoutURI, l[2], l[3], l[4], boolInt(c.FirstParty), string(c.IDTokenAlg),
		nanos(c.CreatedAt)}, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanClient(row scanner) (*oauth.Client, error) {
	var (
		c                                                       oauth.Client
		public, firstParty, created                             int64
		redirects, postLogout, grants, scopes, resources, idAlg string
	)
	if err := row.Scan(&c.ID, &c.Name, &public, &c.SecretHash, &c.AuthMethod, &c.JWKS, &redirects, &postLogout,
		&c.BackchannelLogoutURI, &grants, &scopes, &resources, &firstParty, &idAlg, &created); err != nil {
		return nil, err
	}
	if err := unlists(redirects, &c.RedirectURIs, postLogout, &c.PostLogoutRedirectURIs, grants, &c.GrantTypes,
		scopes, &c.Scopes, resources, &c.Resources); err != nil {
		return nil, err
	}
	c.Public, c.FirstParty = public != 0, firstParty != 0
	c.IDTokenAlg = jose.Algorithm(idAlg)
	c.CreatedAt = fromNanos(created)
	return &c, nil
}

// CreateClient implements [oauth.Store]. FromConfig is not stored.
func (db *DB) CreateClient(ctx context.Context, c *oauth.Client) error {
	args, err := clientArgs(c)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO oauth_clients (`+clientColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Wrap(sesame.EConflict, err, "client id exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", err)
	}
	return nil
}

// UpdateClient implements [oauth.Store].
func (db *DB) UpdateClient(ctx context.Context, c *oauth.Client) error {
	args, err := clientArgs(c)
	if err != nil {
		return err
	}
	res, err := db.w.ExecContext(ctx, `UPDATE oauth_clients SET name = ?2, public = ?3, secret_hash = ?4,
		auth_method = ?5, jwks = ?6, redirect_uris = ?7, post_logout_redirect_uris = ?8,
		backchannel_logout_uri = ?9, grant_types = ?10, scopes = ?11, resources = ?12, first_party = ?13,
		id_token_alg = ?14, created_at = ?15 WHERE id = ?1`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: update client: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update client: %w", err)
	}
	if n == 0 {
		return sesame.ErrNotFound
	}
	return nil
}

// Client implements [oauth.Store].
func (db *DB) Client(ctx context.Context, id string) (*oauth.Client, error) {
	c, err := scanClient(db.r.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read client: %w", err)
	}
	return c, nil
}

// ListClients implements [oauth.Store]: ordered by ID (bytewise).
func (db *DB) ListClients(ctx context.Context) ([]*oauth.Client, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	defer rows.Close()
	var out []*oauth.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list clients: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	return out, nil
}

// DeleteClient implements [oauth.Store]: the client, its consents and its
// logout targets, in one transaction.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM oauth_clients WHERE id = ?`,
			`DELETE FROM oauth_consents WHERE client_id = ?`,
			`DELETE FROM oauth_logout_targets WHERE client_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete client: %w", err)
	}
	return nil
}

// inTx runs f in a write transaction (BEGIN IMMEDIATE) and commits it.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

const codeColumns = `hash, client_id, user_id, session_id, redirect_uri, scope, resources, nonce, code_challenge,
	auth_time, acr, amr, created_at, expires_at, used_at`

func scanCode(row scanner) (*oauth.Code, error) {
	var (
		c                oauth.Code
		hash             []byte
		resources, amr   string
		authTime, used   sql.NullInt64
		created, expires int64
	)
	if err := row.Scan(&hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.Scope, &resources, &c.Nonce,
		&c.CodeChallenge, &authTime, &c.ACR, &amr, &created, &expires, &used); err != nil {
		return nil, err
	}
	if err := unlists(resources, &c.Resources, amr, &c.AMR); err != nil {
		return nil, err
	}
	copy(c.Hash[:], hash)
	c.AuthTime, c.UsedAt = fromNullNanos(authTime), fromNullNanos(used)
	c.CreatedAt, c.ExpiresAt = fromNanos(created), fromNanos(expires)
	return &c, nil
}

// CreateCode implements [oauth.Store].
func (db *DB) CreateCode(ctx context.Context, c *oauth.Code) error {
	l, err := lists(c.Resources, c.AMR)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO oauth_codes (`+codeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash[:], c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, l[0], c.Nonce, c.CodeChallenge,
		nanosOrNil(c.AuthTime), c.ACR, l[1], nanos(c.CreatedAt), nanos(c.ExpiresAt), nanosOrNil(c.UsedAt))
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Wrap(sesame.EConflict, err, "authorization code exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create authorization code: %w", err)
	}
	return nil
}

// RedeemCode implements [oauth.Store]: the UPDATE ... WHERE used_at IS
// NULL is the compare-and-swap; when it matches nothing, a read of the
// code on the same connection tells a used code from a missing one.
func (db *DB) RedeemCode(ctx context.Context, h [32]byte, at time.Time) (*oauth.Code, error) {
	var (
		code *oauth.Code
		used bool
	)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		code, err = scanCode(tx.QueryRowContext(ctx, `UPDATE oauth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL
			RETURNING `+codeColumns, nanos(at), h[:]))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		code, err = scanCode(tx.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM oauth_codes WHERE hash = ?`, h[:]))
		used = err == nil
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, sesame.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("sqlite: redeem authorization code: %w", err)
	case used:
		return code, sesame.ErrConflict
	}
	return code, nil
}

// SaveConsent implements [oauth.Store].
func (db *DB) SaveConsent(ctx context.Context, c *oauth.Consent) error {
	scopes, err := encodeList(c.Scopes)
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, granted_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, scopes, nanos(c.GrantedAt)); err != nil {
		return fmt.Errorf("sqlite: save consent: %w", err)
	}
	return nil
}

// Consent implements [oauth.Store].
func (db *DB) Consent(ctx context.Context, userID, clientID string) (*oauth.Consent, error) {
	c := oauth.Consent{UserID: userID, ClientID: clientID}
	var scopes string
	var granted int64
	err := db.r.QueryRowContext(ctx, `SELECT scopes, granted_at FROM oauth_consents WHERE user_id = ? AND client_id = ?`,
		userID, clientID).Scan(&scopes, &granted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sesame.ErrNotFound
	}
	if err == nil {
		c.Scopes, err = decodeList(scopes)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read consent: %w", err)
	}
	c.GrantedAt = fromNanos(granted)
	return &c, nil
}

// DeleteConsent implements [oauth.Store].
func (db *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?`, userID, clientID); err != nil {
		return fmt.Errorf("sqlite: delete consent: %w", err)
	}
	return nil
}

const targetColumns = `session_id, client_id, user_id, created_at, due_at, attempts, last_error`

func scanTarget(row scanner) (*oauth.LogoutTarget, error) {
	var (
		x       oauth.LogoutTarget
		created int64
		due     sql.NullInt64
	)
	if err := row.Scan(&x.SessionID, &x.ClientID, &x.UserID, &created, &due, &x.Attempts, &x.LastError); err != nil {
		return nil, err
	}
	x.CreatedAt, x.DueAt = fromNanos(created), fromNullNanos(due)
	return &x, nil
}

func scanTargets(rows *sql.Rows) ([]*oauth.LogoutTarget, error) {
	defer rows.Close()
	var out []*oauth.LogoutTarget
	for rows.Next() {
		x, err := scanTarget(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// AddLogoutTarget implements [oauth.Store].
func (db *DB) AddLogoutTarget(ctx context.Context, x *oauth.LogoutTarget) error {
	if _, err := db.w.ExecContext(ctx, `INSERT INTO oauth_logout_targets (`+targetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, client_id) DO NOTHING`,
		x.SessionID, x.ClientID, x.UserID, nanos(x.CreatedAt), nanosOrNil(x.DueAt), x.Attempts, x.LastError); err != nil {
		return fmt.Errorf("sqlite: add logout target: %w", err)
	}
	return nil
}

// SessionsEnded implements [oauth.Store], in one transaction.
func (db *DB) SessionsEnded(ctx context.Context, sessionIDs []string, at time.Time) (int, error) {
	if len(sessionIDs) == 0 {
		return 0, nil
	}
	var total int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE oauth_logout_targets SET due_at = ? WHERE session_id = ? AND due_at IS NULL`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range sessionIDs {
			res, err := stmt.ExecContext(ctx, nanos(at), id)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: end sessions' logout targets: %w", err)
	}
	return int(total), nil
}

// ClaimLogouts implements [oauth.Store]: one write transaction, which
// SQLite runs alone (BEGIN IMMEDIATE takes the file's write lock), reads
// the due targets through the due index and moves each one's due_at.
func (db *DB) ClaimLogouts(ctx context.Context, now, until time.Time, limit int) ([]*oauth.LogoutTarget, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*oauth.LogoutTarget
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+targetColumns+` FROM oauth_logout_targets
			WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, session_id, client_id LIMIT ?`, nanos(now), limit)
		if err != nil {
			return err
		}
		if out, err = scanTargets(rows); err != nil {
			return err
		}
		for _, x := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE oauth_logout_targets SET due_at = ?, attempts = attempts + 1
				WHERE session_id = ? AND client_id = ?`, nanos(until), x.SessionID, x.ClientID); err != nil {
				return err
			}
			x.DueAt = fromNanos(nanos(until))
			x.Attempts++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim logout targets: %w", err)
	}
	return out, nil
}

// RetryLogout implements [oauth.Store].
func (db *DB) RetryLogout(ctx context.Context, sessionID, clientID string, due time.Time, lastError string) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE oauth_logout_targets SET due_at = ?, last_error = ?
		WHERE session_id = ? AND client_id = ?`, nanosOrNil(due), lastError, sessionID, clientID); err != nil {
		return fmt.Errorf("sqlite: retry logout target: %w", err)
	}
	return nil
}

// DeleteLogout implements [oauth.Store].
func (db *DB) DeleteLogout(ctx context.Context, sessionID, clientID string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM oauth_logout_targets WHERE session_id = ? AND client_id = ?`,
		sessionID, clientID); err != nil {
		return fmt.Errorf("sqlite: delete logout target: %w", err)
	}
	return nil
}

// LogoutTargets implements [oauth.Store], in primary-key order.
func (db *DB) LogoutTargets(ctx context.Context, after string, limit int) ([]*oauth.LogoutTarget, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+targetColumns+` FROM oauth_logout_targets
		WHERE session_id > ? AND due_at IS NULL ORDER BY session_id, client_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list logout targets: %w", err)
	}
	out, err := scanTargets(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list logout targets: %w", err)
	}
	return out, nil
}

// Cursor implements [oauth.Store].
func (db *DB) Cursor(ctx context.Context, name string) (int64, error) {
	var pos int64
	err := db.r.QueryRowContext(ctx, `SELECT pos FROM oauth_cursors WHERE name = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: read cursor: %w", err)
	}
	return pos, nil
}

// SetCursor implements [oauth.Store].
func (db *DB) SetCursor(ctx context.Context, name string, pos int64) error {
	if _, err := db.w.ExecContext(ctx, `INSERT INTO oauth_cursors (name, pos) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET pos = excluded.pos`, name, pos); err != nil {
		return fmt.Errorf("sqlite: set cursor: %w", err)
	}
	return nil
}

// UseOnce implements [oauth.Store]. The key is stored as a BLOB, so any
// bytes are a key. A recorded key stays a replay until DeleteExpiredOAuth
// removes it: the store reads no clock.
func (db *DB) UseOnce(ctx context.Context, key string, exp time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO oauth_used_keys (key, expires_at) VALUES (?, ?)`, []byte(key), nanos(exp))
	if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sesame.Wrap(sesame.EConflict, err, "assertion already used")
	}
	if err != nil {
		return fmt.Errorf("sqlite: record used key: %w", err)
	}
	return nil
}

// DeleteExpiredOAuth implements [oauth.Store]: codes and used keys whose
// expiry is at or before now, through their expires indexes.
// [DB.DeleteExpired] (and so [DB.RunCleanup]) does it too.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, now time.Time) error {
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return deleteExpiredOAuth(ctx, tx, now) }); err != nil {
		return fmt.Errorf("sqlite: delete expired oauth records: %w", err)
	}
	return nil
}

func deleteExpiredOAuth(ctx context.Context, x execer, now time.Time) error {
	for _, q := range []string{
		`DELETE FROM oauth_codes WHERE expires_at <= ?`,
		`DELETE FROM oauth_used_keys WHERE expires_at <= ?`,
	} {
		if _, err := x.ExecContext(ctx, q, nanos(now)); err != nil {
			return err
		}
	}
	return nil
}
