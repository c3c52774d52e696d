package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
)

var _ oauth.Store = (*DB)(nil)

// The OAuth provider's tables (migration 0010). Every method is one
// statement or one batch (one implicit transaction), so several processes
// may share the database.

// textList is l for a text[] NOT NULL column: nil would be NULL.
func textList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// nilIfEmpty reads a text[] column back: the empty array is nil.
func nilIfEmpty(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// nilIfNoBytes reads a nullable bytea column back.
func nilIfNoBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

const clientColumns = `id, name, public, secret_hash, auth_method, jwks, redirect_uris, post_logout_redirect_uris,
	backchannel_logout_uri, grant_types, scopes, resources, first_party, id_token_alg, created_at`

func clientArgs(c *oauth.Client) []any {
	return []any{c.ID, c.Name, c.Public, nilIfNoBytes(c.SecretHash), c.AuthMethod, nilIfNoBytes(c.JWKS),
		textList(c.RedirectURIs), textList(c.PostLogoutRedirectURIs), c.BackchannelLogoutURI, textList(c.GrantTypes),
		textList(c.Scopes), textList(c.Resources), c.FirstParty, string(c.IDTokenAlg), nanos(c.CreatedAt)}
}

func scanClient(row pgx.Row) (*oauth.Client, error) {
	var (
		c       oauth.Client
		idAlg   string
		created int64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.Public, &c.SecretHash, &c.AuthMethod, &c.JWKS, &c.RedirectURIs,
		&c.PostLogoutRedirectURIs, &c.BackchannelLogoutURI, &c.GrantTypes, &c.Scopes, &c.Resources, &c.FirstParty,
		&idAlg, &created); err != nil {
		return nil, err
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = nilIfEmpty(c.RedirectURIs), nilIfEmpty(c.PostLogoutRedirectURIs)
	c.GrantTypes, c.Scopes, c.Resources = nilIfEmpty(c.GrantTypes), nilIfEmpty(c.Scopes), nilIfEmpty(c.Resources)
	c.IDTokenAlg = jose.Algorithm(idAlg)
	c.CreatedAt = fromNanos(created)
	return &c, nil
}

// CreateClient implements [oauth.Store]. FromConfig is not stored.
func (db *DB) CreateClient(ctx context.Context, c *oauth.Client) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, clientArgs(c)...)
	if pgCode(err) == codeUniqueViolation {
		return sesame.Wrap(sesame.EConflict, err, "client id exists")
	}
	if err != nil {
		return writeErr("create client", err)
	}
	return nil
}

// UpdateClient implements [oauth.Store].
func (db *DB) UpdateClient(ctx context.Context, c *oauth.Client) error {
	if !storableText(c.ID) {
		return sesame.ErrNotFound
	}
	tag, err := db.pool.Exec(ctx, `UPDATE oauth_clients SET name = $2, public = $3, secret_hash = $4,
		auth_method = $5, jwks = $6, redirect_uris = $7, post_logout_redirect_uris = $8,
		backchannel_logout_uri = $9, grant_types = $10, scopes = $11, resources = $12, first_party = $13,
		id_token_alg = $14, created_at = $15 WHERE id = $1`, clientArgs(c)...)
	if err != nil {
		return writeErr("update client", err)
	}
	if tag.RowsAffected() == 0 {
		return sesame.ErrNotFound
	}
	return nil
}

// Client implements [oauth.Store].
func (db *DB) Client(ctx context.Context, id string) (*oauth.Client, error) {
	if !storableText(id) {
		return nil, sesame.ErrNotFound
	}
	c, err := scanClient(db.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, id))
	if err != nil {
		return nil, readErr("read client", err)
	}
	return c, nil
}

// ListClients implements [oauth.Store]: ordered by ID (bytewise, the
// column's collation "C").
func (db *DB) ListClients(ctx context.Context) ([]*oauth.Client, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*oauth.Client, error) { return scanClient(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	return out, nil
}

// DeleteClient implements [oauth.Store]: the client, its consents and its
// logout targets, in one batch (one transaction).
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	if !storableText(id) {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM oauth_clients WHERE id = $1`, id)
	b.Queue(`DELETE FROM oauth_consents WHERE client_id = $1`, id)
	b.Queue(`DELETE FROM oauth_logout_targets WHERE client_id = $1`, id)
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: delete client: %w", err)
	}
	return nil
}

const codeColumns = `hash, client_id, user_id, session_id, redirect_uri, scope, resources, nonce, code_challenge,
	auth_time, acr, amr, created_at, expires_at, used_at`

func scanCode(row pgx.Row) (*oauth.Code, error) {
	var (
		c                oauth.Code
		hash             []byte
		authTime, used   *int64
		created, expires int64
	)
	if err := row.Scan(&hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.Scope, &c.Resources, &c.Nonce,
		&c.CodeChallenge, &authTime, &c.ACR, &c.AMR, &created, &expires, &used); err != nil {
		return nil, err
	}
	copy(c.Hash[:], hash)
	c.Resources, c.AMR = nilIfEmpty(c.Resources), nilIfEmpty(c.AMR)
	c.AuthTime, c.UsedAt = fromNullNanos(authTime), fromNullNanos(used)
	c.CreatedAt, c.ExpiresAt = fromNanos(created), fromNanos(expires)
	return &c, nil
}

// CreateCode implements [oauth.Store].
func (db *DB) CreateCode(ctx context.Context, c *oauth.Code) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.Hash[:], c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, textList(c.Resources), c.Nonce,
		c.CodeChallenge, nanosOrNil(c.AuthTime), c.ACR, textList(c.AMR), nanos(c.CreatedAt), nanos(c.ExpiresAt),
		nanosOrNil(c.UsedAt))
	if pgCode(err) == codeUniqueViolation {
		return sesame.Wrap(sesame.EConflict, err, "authorization code exists")
	}
	if err != nil {
		return writeErr("create authorization code", err)
	}
	return nil
}

// RedeemCode implements [oauth.Store]. The UPDATE ... WHERE used_at IS
// NULL is the compare-and-swap: concurrent redeemers wait for the row
// lock, re-check used_at and match nothing. When it matches nothing, a
// second read returns the code as the winner left it (used_at never goes
// back to NULL), or tells that there is none.
func (db *DB) RedeemCode(ctx context.Context, h [32]byte, at time.Time) (*oauth.Code, error) {
	c, err := scanCode(db.pool.QueryRow(ctx, `UPDATE oauth_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL
		RETURNING `+codeColumns, h[:], nanos(at)))
	if err == nil {
		return c, nil
	}
	if err = readErr("redeem authorization code", err); err != sesame.ErrNotFound {
		return nil, err
	}
	c, err = scanCode(db.pool.QueryRow(ctx, `SELECT `+codeColumns+` FROM oauth_codes WHERE hash = $1`, h[:]))
	if err != nil {
		return nil, readErr("redeem authorization code", err)
	}
	return c, sesame.ErrConflict
}

// SaveConsent implements [oauth.Store].
func (db *DB) SaveConsent(ctx context.Context, c *oauth.Consent) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, granted_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, textList(c.Scopes), nanos(c.GrantedAt)); err != nil {
		return writeErr("save consent", err)
	}
	return nil
}

// Consent implements [oauth.Store].
func (db *DB) Consent(ctx context.Context, userID, clientID string) (*oauth.Consent, error) {
	if !storableText(userID) || !storableText(clientID) {
		return nil, sesame.ErrNotFound
	}
	c := oauth.Consent{UserID: userID, ClientID: clientID}
	var granted int64
	err := db.pool.QueryRow(ctx, `SELECT scopes, granted_at FROM oauth_consents WHERE user_id = $1 AND client_id = $2`,
		userID, clientID).Scan(&c.Scopes, &granted)
	if err != nil {
		return nil, readErr("read consent", err)
	}
	c.Scopes, c.GrantedAt = nilIfEmpty(c.Scopes), fromNanos(granted)
	return &c, nil
}

// DeleteConsent implements [oauth.Store].
func (db *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if !storableText(userID) || !storableText(clientID) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID); err != nil {
		return fmt.Errorf("postgres: delete consent: %w", err)
	}
	return nil
}

const targetColumns = `session_id, client_id, user_id, created_at, due_at, attempts, last_error`

func scanTarget(row pgx.Row, extra ...any) (*oauth.LogoutTarget, error) {
	var (
		x       oauth.LogoutTarget
		created int64
		due     *int64
	)
	if err := row.Scan(append([]any{&x.SessionID, &x.ClientID, &x.UserID, &created, &due, &x.Attempts, &x.LastError}, extra...)...); err != nil {
		return nil, err
	}
	x.CreatedAt, x.DueAt = fromNanos(created), fromNullNanos(due)
	return &x, nil
}

// safeText makes s storable in a text column (an error text may hold
// anything): invalid UTF-8 and NUL become U+FFFD.
func safeText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// AddLogoutTarget implements [oauth.Store].
func (db *DB) AddLogoutTarget(ctx context.Context, x *oauth.LogoutTarget) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO oauth_logout_targets (`+targetColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (session_id, client_id) DO NOTHING`,
		x.SessionID, x.ClientID, x.UserID, nanos(x.CreatedAt), nanosOrNil(x.DueAt), x.Attempts, safeText(x.LastError)); err != nil {
		return writeErr("add logout target", err)
	}
	return nil
}

// SessionsEnded implements [oauth.Store] in one statement.
func (db *DB) SessionsEnded(ctx context.Context, sessionIDs []string, at time.Time) (int, error) {
	ids := slices.DeleteFunc(slices.Clone(sessionIDs), func(id string) bool { return !storableText(id) })
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := db.pool.Exec(ctx, `UPDATE oauth_logout_targets SET due_at = $2 WHERE session_id = ANY($1) AND due_at IS NULL`,
		ids, nanos(at))
	if err != nil {
		return 0, fmt.Errorf("postgres: end sessions' logout targets: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// claimLogouts takes the due rows no other claimer holds (SKIP LOCKED),
// earliest first, and moves them ahead, in one statement. A claimer that
// reaches a row another one has just moved re-checks due_at against now
// (READ COMMITTED re-evaluates the WHERE on the new row version) and
// leaves it.
const claimLogouts = `WITH due AS (
		SELECT session_id, client_id, due_at FROM oauth_logout_targets
		WHERE due_at IS NOT NULL AND due_at <= $1
		ORDER BY due_at, session_id, client_id LIMIT $3
		FOR UPDATE SKIP LOCKED)
	UPDATE oauth_logout_targets t SET due_at = $2, attempts = t.attempts + 1
	FROM due WHERE t.session_id = due.session_id AND t.client_id = due.client_id
	RETURNING t.session_id, t.client_id, t.user_id, t.created_at, t.due_at, t.attempts, t.last_error, due.due_at`

// ClaimLogouts implements [oauth.Store] in one statement (claimLogouts).
func (db *DB) ClaimLogouts(ctx context.Context, now, until time.Time, limit int) ([]*oauth.LogoutTarget, error) {
	if limit <= 0 {
		return nil, nil
	}
	type claimed struct {
		x   *oauth.LogoutTarget
		was int64
	}
	rows, err := db.pool.Query(ctx, claimLogouts, nanos(now), nanos(until), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim logout targets: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimed, error) {
		var c claimed
		var err error
		c.x, err = scanTarget(row, &c.was)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim logout targets: %w", err)
	}
	// RETURNING has no order: earliest due first, as claimed.
	slices.SortFunc(got, func(a, b claimed) int {
		if a.was != b.was {
			if a.was < b.was {
				return -1
			}
			return 1
		}
		return strings.Compare(a.x.SessionID+"\x00"+a.x.ClientID, b.x.SessionID+"\x00"+b.x.ClientID)
	})
	out := make([]*oauth.LogoutTarget, len(got))
	for i, c := range got {
		out[i] = c.x
	}
	return out, nil
}

// RetryLogout implements [oauth.Store]. lastError is stored with invalid
// UTF-8 and NUL replaced by U+FFFD.
func (db *DB) RetryLogout(ctx context.Context, sessionID, clientID string, due time.Time, lastError string) error {
	if !storableText(sessionID) || !storableText(clientID) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE oauth_logout_targets SET due_at = $3, last_error = $4
		WHERE session_id = $1 AND client_id = $2`, sessionID, clientID, nanosOrNil(due), safeText(lastError)); err != nil {
		return fmt.Errorf("postgres: retry logout target: %w", err)
	}
	return nil
}

// DeleteLogout implements [oauth.Store].
func (db *DB) DeleteLogout(ctx context.Context, sessionID, clientID string) error {
	if !storableText(sessionID) || !storableText(clientID) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM oauth_logout_targets WHERE session_id = $1 AND client_id = $2`,
		sessionID, clientID); err != nil {
		return fmt.Errorf("postgres: delete logout target: %w", err)
	}
	return nil
}

// LogoutTargets implements [oauth.Store], in primary-key order (collation
// "C": bytewise).
func (db *DB) LogoutTargets(ctx context.Context, after string, limit int) ([]*oauth.LogoutTarget, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+targetColumns+` FROM oauth_logout_targets
		WHERE session_id > $1 AND due_at IS NULL ORDER BY session_id, client_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, writeErr("list logout targets", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*oauth.LogoutTarget, error) { return scanTarget(row) })
	if err != nil {
		return nil, writeErr("list logout targets", err)
	}
	return out, nil
}

// Cursor implements [oauth.Store].
func (db *DB) Cursor(ctx context.Context, name string) (int64, error) {
	if !storableText(name) {
		return 0, nil
	}
	var pos int64
	err := db.pool.QueryRow(ctx, `SELECT pos FROM oauth_cursors WHERE name = $1`, name).Scan(&pos)
	if err != nil {
		if err = readErr("read cursor", err); err != sesame.ErrNotFound {
			return 0, err
		}
	}
	return pos, nil
}

// SetCursor implements [oauth.Store].
func (db *DB) SetCursor(ctx context.Context, name string, pos int64) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO oauth_cursors (name, pos) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET pos = excluded.pos`, name, pos); err != nil {
		return writeErr("set cursor", err)
	}
	return nil
}

// UseOnce implements [oauth.Store]: the primary key decides between
// concurrent uses. The key is stored as bytea, so any bytes are a key. A
// recorded key stays a replay until DeleteExpiredOAuth removes it: the
// store reads no clock.
func (db *DB) UseOnce(ctx context.Context, key string, exp time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO oauth_used_keys (key, expires_at) VALUES ($1, $2)`, []byte(key), nanos(exp))
	if pgCode(err) == codeUniqueViolation {
		return sesame.Wrap(sesame.EConflict, err, "assertion already used")
	}
	if err != nil {
		return fmt.Errorf("postgres: record used key: %w", err)
	}
	return nil
}

// DeleteExpiredOAuth implements [oauth.Store]: codes and used keys whose
// expiry is at or before now, through their expires indexes, in one batch.
// [DB.DeleteExpired] (and so [DB.RunCleanup]) removes them too, in
// bounded batches.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM oauth_codes WHERE expires_at <= $1`, nanos(now))
	b.Queue(`DELETE FROM oauth_used_keys WHERE expires_at <= $1`, nanos(now))
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: delete expired oauth records: %w", err)
	}
	return nil
}
