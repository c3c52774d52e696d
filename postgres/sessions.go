package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

var (
	_ session.Store   = (*DB)(nil)
	_ session.Cleaner = (*DB)(nil)
)

// sessionColumns is the column list every session read selects, in the
// order scanSession expects.
const sessionColumns = `id, user_id, token_hash, prev_token_hash, prev_valid_until, created_at,
	last_seen, idle_timeout, expires_at, remember, auth_time, user_agent, ip, version, data, auth`

const (
	createSession = `INSERT INTO sessions (` + sessionColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

	// Each branch is one probe of a unique or partial index; the token hash
	// is tried first, and LIMIT stops before the second when it matches.
	sessionByToken = `SELECT ` + sessionColumns + ` FROM sessions WHERE token_hash = $1
		UNION ALL
		SELECT ` + sessionColumns + ` FROM sessions WHERE prev_token_hash = $1
		LIMIT 1`

	sessionByID = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = $1`

	sessionsOfUser = `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = $1 ORDER BY created_at, id`

	// A compare-and-swap on (id, version); last_seen never moves back. When
	// the CAS matches nothing, the second column tells a lost race from a
	// missing record in the same round trip (as of the statement's
	// snapshot). The sessions_updated trigger records the change.
	updateSession = `WITH updated AS (
			UPDATE sessions SET
				token_hash = $3, prev_token_hash = $4, prev_valid_until = $5,
				last_seen = greatest(last_seen, $6), idle_timeout = $7, expires_at = $8,
				remember = $9, auth_time = $10, user_agent = $11, ip = $12, data = $13, auth = $14,
				version = version + 1
			WHERE id = $1 AND version = $2
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM updated), EXISTS (SELECT 1 FROM sessions WHERE id = $1)`

	touchSession  = `UPDATE sessions SET last_seen = $2 WHERE id = $1 AND last_seen < $2`
	deleteSession = `DELETE FROM sessions WHERE id = $1`
	deleteOfUser  = `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`

	changesAfter = `SELECT seq, kind, session_id, user_id, time FROM session_changes WHERE seq > $1 ORDER BY seq LIMIT $2`
	oldestChange = `SELECT coalesce((SELECT min(seq) FROM session_changes), sesame_next_change_seq())`
)

// Create implements [session.Store]. A duplicate ID or token hash is an
// *sesame.Error with code [sesame.EConflict].
func (db *DB) Create(ctx context.Context, s *sesame.Session) error {
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		_, err := q.Exec(ctx, createSession,
			s.ID, s.UserID, s.TokenHash[:], hashOrNil(&s.PrevTokenHash), nanos(s.PrevValidUntil), nanos(s.CreatedAt),
			nanos(s.LastSeen), int64(s.IdleTimeout), nanos(s.ExpiresAt), s.Remember, nanos(s.AuthTime),
			[]byte(s.Device.UserAgent), []byte(s.Device.IP), s.Version, encodeData(s.Data), encodeAuth(s))
		return nil, err
	})
	if pgCode(err) == codeUniqueViolation {
		return sesame.Wrap(sesame.EConflict, err, "session id or token exists")
	}
	if err != nil {
		return writeErr("create session", err)
	}
	return nil
}

// ByToken implements [session.Store]: one query probing the token_hash
// and prev_token_hash indexes. The zero hash matches nothing.
func (db *DB) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	if h == ([32]byte{}) {
		return nil, sesame.ErrNotFound
	}
	s, err := scanSession(db.pool.QueryRow(ctx, sessionByToken, h[:]))
	if err != nil {
		return nil, readErr("session by token", err)
	}
	return s, nil
}

// ByID implements [session.Store].
func (db *DB) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	if !storableText(id) {
		return nil, sesame.ErrNotFound
	}
	s, err := scanSession(db.pool.QueryRow(ctx, sessionByID, id))
	if err != nil {
		return nil, readErr("session by id", err)
	}
	return s, nil
}

// Update implements [session.Store]: one compare-and-swap statement on
// (id, version). Of concurrent Updates of one version, exactly one
// succeeds: the others re-check the row after the winner commits and find
// another version ([sesame.ErrConflict]).
func (db *DB) Update(ctx context.Context, s *sesame.Session) error {
	if !storableText(s.ID) {
		return sesame.ErrNotFound
	}
	var updated, exists bool
	err := db.pool.QueryRow(ctx, updateSession,
		s.ID, s.Version, s.TokenHash[:], hashOrNil(&s.PrevTokenHash), nanos(s.PrevValidUntil),
		nanos(s.LastSeen), int64(s.IdleTimeout), nanos(s.ExpiresAt), s.Remember, nanos(s.AuthTime),
		[]byte(s.Device.UserAgent), []byte(s.Device.IP), encodeData(s.Data), encodeAuth(s)).Scan(&updated, &exists)
	switch {
	case err != nil:
		return writeErr("update session", err)
	case updated:
		s.Version++
		return nil
	case exists:
		return sesame.ErrConflict
	}
	return sesame.ErrNotFound
}

// Touch implements [session.Store]. The deadline column follows LastSeen
// by itself (it is generated); the change feed is not written.
func (db *DB) Touch(ctx context.Context, id string, t time.Time) error {
	if !storableText(id) {
		return nil
	}
	if _, err := db.pool.Exec(ctx, touchSession, id, nanos(t)); err != nil {
		return fmt.Errorf("postgres: touch session: %w", err)
	}
	return nil
}

// Delete implements [session.Store]. The revocation is recorded by the
// sessions_revoked trigger in the same transaction, and the session's
// refresh tokens go with it (ON DELETE CASCADE).
func (db *DB) Delete(ctx context.Context, id string) (bool, error) {
	if !storableText(id) {
		return false, nil
	}
	var n int64
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		tag, err := q.Exec(ctx, deleteSession, id)
		if err != nil {
			return nil, err
		}
		if n = tag.RowsAffected(); n == 0 && q != querier(db.pool) {
			return nil, errNothing // no session ended: no event, nothing committed
		}
		return nil, nil
	})
	if errors.Is(err, errNothing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: delete session: %w", err)
	}
	return n > 0, nil
}

// ListByUser implements [session.Store], through the (user_id,
// created_at, id) index. Sessions created at the same instant are ordered
// by ID.
func (db *DB) ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error) {
	if userID == "" || !storableText(userID) { // "": anonymous sessions are nobody's
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, sessionsOfUser, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*sesame.Session, error) { return scanSession(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	return out, nil
}

// DeleteByUser implements [session.Store]: one statement, so the
// deletions and their revocation records are one transaction and on error
// nothing was removed. The IDs are returned sorted.
func (db *DB) DeleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	if userID == "" || !storableText(userID) { // "": anonymous sessions are nobody's
		return nil, nil
	}
	if !storableText(except) {
		except = "" // no stored session has that ID
	}
	var ids []string
	err := db.evented(ctx, func(q querier) ([]sesame.Event, error) {
		rows, err := q.Query(ctx, deleteOfUser, userID, except)
		if err != nil {
			return nil, err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, err
		}
		var more []sesame.Event
		if te := sesame.TxEventsFrom(ctx); te != nil && te.Revoked != nil && q != querier(db.pool) {
			for _, id := range ids {
				more = append(more, te.Revoked(id))
			}
		}
		return more, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: delete sessions of user: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// Changes implements [session.Store]. Feed writers are serialised until
// they commit (see the package documentation), so the changes visible to a
// reader always run without a hole up to the newest it sees: a cursor
// never passes a change that commits later. The feed is read before its
// oldest Seq, so that a trim between the two reads can only make oldest
// larger: a reader is then told it may have missed changes, never the
// reverse. Both reads go in one round trip.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	changes, oldest, err := db.changes(ctx, after, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: read change feed: %w", err)
	}
	return changes, oldest, nil
}

func (db *DB) changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	b := &pgx.Batch{}
	if limit > 0 {
		b.Queue(changesAfter, after, limit)
	}
	b.Queue(oldestChange)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	var out []session.Change
	if limit > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, 0, err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (session.Change, error) {
			var c session.Change
			var kind int16
			var t int64
			err := row.Scan(&c.Seq, &kind, &c.SessionID, &c.UserID, &t)
			c.Kind, c.Time = session.ChangeKind(kind), fromNanos(t)
			return c, err
		})
		if err != nil {
			return nil, 0, err
		}
	}
	var oldest int64
	if err := br.QueryRow().Scan(&oldest); err != nil {
		return nil, 0, err
	}
	return out, oldest, br.Close()
}

// sessionRow is the scan target of one row of sessionColumns: one
// allocation for every destination.
type sessionRow struct {
	s                                                   sesame.Session
	token, prev, ua, ip, data, auth                     []byte
	prevValid, created, lastSeen, idle, expires, authAt int64
	dest                                                [16]any
}

// scanSession reads one row of sessionColumns.
func scanSession(row pgx.Row) (*sesame.Session, error) {
	r := new(sessionRow)
	r.dest = [...]any{&r.s.ID, &r.s.UserID, &r.token, &r.prev, &r.prevValid, &r.created,
		&r.lastSeen, &r.idle, &r.expires, &r.s.Remember, &r.authAt, &r.ua, &r.ip, &r.s.Version, &r.data, &r.auth}
	if err := row.Scan(r.dest[:]...); err != nil {
		return nil, err
	}
	s := new(sesame.Session) // not &r.s: a cached session must not keep the row buffers alive
	*s = r.s
	if len(r.token) != len(s.TokenHash) || (r.prev != nil && len(r.prev) != len(s.PrevTokenHash)) {
		return nil, fmt.Errorf("session %s: stored token hash has the wrong length", s.ID)
	}
	copy(s.TokenHash[:], r.token)
	copy(s.PrevTokenHash[:], r.prev)
	s.Device = sesame.Device{UserAgent: string(r.ua), IP: string(r.ip)}
	s.PrevValidUntil, s.CreatedAt, s.LastSeen = fromNanos(r.prevValid), fromNanos(r.created), fromNanos(r.lastSeen)
	s.IdleTimeout, s.ExpiresAt, s.AuthTime = time.Duration(r.idle), fromNanos(r.expires), fromNanos(r.authAt)
	var err error
	if s.Data, err = decodeData(r.data); err != nil {
		return nil, fmt.Errorf("session %s: %w", s.ID, err)
	}
	if err := decodeAuth(s, r.auth); err != nil {
		return nil, fmt.Errorf("session %s: %w", s.ID, err)
	}
	return s, nil
}
