package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

var (
	_ session.Store    = (*DB)(nil)
	_ session.Cleaner  = (*DB)(nil)
	_ sesame.UserStore = (*DB)(nil)
)

// Create implements [session.Store]. A duplicate ID or token hash is an
// *sesame.Error with code [sesame.EConflict].
func (db *DB) Create(ctx context.Context, s *sesame.Session) error {
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		_, err := stmt(ctx, tx, db.st.createSession).ExecContext(ctx,
			s.ID, s.UserID, s.TokenHash[:], hashOrNil(&s.PrevTokenHash), nanos(s.PrevValidUntil), nanos(s.CreatedAt),
			nanos(s.LastSeen), int64(s.IdleTimeout), nanos(s.ExpiresAt), boolInt(s.Remember), nanos(s.AuthTime),
			s.Device.UserAgent, s.Device.IP, s.Version, encodeData(s.Data), encodeAuth(s))
		return nil, err
	})
	switch constraint(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sesame.Wrap(sesame.EConflict, err, "session id exists")
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sesame.Wrap(sesame.EConflict, err, "session token exists")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// ByToken implements [session.Store]. It is one indexed query. The zero
// hash matches nothing.
func (db *DB) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	if h == ([32]byte{}) {
		return nil, sesame.ErrNotFound
	}
	s, err := oneSession(ctx, db.st.sessionByToken, h[:])
	if err != nil {
		return nil, readErr("session by token", err)
	}
	return s, nil
}

// ByID implements [session.Store].
func (db *DB) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	s, err := oneSession(ctx, db.st.sessionByID, id)
	if err != nil {
		return nil, readErr("session by id", err)
	}
	return s, nil
}

// Update implements [session.Store]: one compare-and-swap statement on
// (id, version). When it changes nothing, a second read tells a lost race
// ([sesame.ErrConflict]) from a missing record ([sesame.ErrNotFound]); both
// answers are true at the moment of that read.
func (db *DB) Update(ctx context.Context, s *sesame.Session) error {
	res, err := db.st.updateSession.ExecContext(ctx,
		s.ID, s.Version, s.TokenHash[:], hashOrNil(&s.PrevTokenHash), nanos(s.PrevValidUntil),
		nanos(s.LastSeen), int64(s.IdleTimeout), nanos(s.ExpiresAt), boolInt(s.Remember), nanos(s.AuthTime),
		s.Device.UserAgent, s.Device.IP, encodeData(s.Data), encodeAuth(s))
	if err != nil {
		return fmt.Errorf("sqlite: update session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update session: %w", err)
	}
	if n == 1 {
		s.Version++
		return nil
	}
	var exists bool
	if err := db.st.sessionExists.QueryRowContext(ctx, s.ID).Scan(&exists); err != nil {
		return fmt.Errorf("sqlite: update session: %w", err)
	}
	if exists {
		return sesame.ErrConflict
	}
	return sesame.ErrNotFound
}

// Touch implements [session.Store]. The deadline column follows LastSeen
// by itself (it is generated).
func (db *DB) Touch(ctx context.Context, id string, t time.Time) error {
	if _, err := db.st.touchSession.ExecContext(ctx, id, nanos(t)); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// Delete implements [session.Store]. The revocation is recorded by the
// sessions_revoked trigger in the same transaction.
func (db *DB) Delete(ctx context.Context, id string) (bool, error) {
	var n int64
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		res, err := stmt(ctx, tx, db.st.deleteSession).ExecContext(ctx, id)
		if err != nil {
			return nil, err
		}
		if n, err = res.RowsAffected(); err == nil && n == 0 && tx != nil {
			err = errNothing // no session ended: no event, nothing committed
		}
		return nil, err
	})
	if errors.Is(err, errNothing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: delete session: %w", err)
	}
	return n > 0, nil
}

// ListByUser implements [session.Store]. Sessions created at the same
// instant are ordered by ID.
func (db *DB) ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error) {
	if userID == "" {
		return nil, nil // anonymous sessions are nobody's
	}
	rows, err := db.st.sessionsOfUser.QueryContext(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*sesame.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	return out, nil
}

// DeleteByUser implements [session.Store]. The deletions and their
// revocation records are one transaction: on error nothing was removed.
// The IDs are returned sorted.
func (db *DB) DeleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	if userID == "" {
		return nil, nil // anonymous sessions are nobody's
	}
	var ids []string
	err := db.evented(ctx, func(tx *sql.Tx) ([]sesame.Event, error) {
		var err error
		if tx == nil {
			ids, err = db.deleteByUser(ctx, userID, except)
			return nil, err
		}
		if ids, err = deleteByUserIn(ctx, tx, db.st.deleteOfUser, userID, except); err != nil {
			return nil, err
		}
		var more []sesame.Event
		if te := sesame.TxEventsFrom(ctx); te.Revoked != nil {
			for _, id := range ids {
				more = append(more, te.Revoked(id))
			}
		}
		return more, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete sessions of user: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

func (db *DB) deleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ids, err := deleteByUserIn(ctx, tx, db.st.deleteOfUser, userID, except)
	if err != nil {
		return nil, err
	}
	return ids, tx.Commit()
}

// errNothing ends an evented write that changed nothing, so that its
// events are not queued.
var errNothing = errors.New("sqlite: nothing to change")

// deleteByUserIn deletes the user's sessions but except in tx and returns
// their IDs.
func deleteByUserIn(ctx context.Context, tx *sql.Tx, st *sql.Stmt, userID, except string) ([]string, error) {
	rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, userID, except)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return ids, nil
}

// Changes implements [session.Store]. The feed is read before its oldest
// Seq, so that a trim between the two reads can only make oldest larger:
// a reader is then told it may have missed changes, never the reverse.
// When every change has been trimmed, oldest is the next seq the
// AUTOINCREMENT sequence will hand out, as the contract says.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	changes, err := db.changes(ctx, after, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: read change feed: %w", err)
	}
	var oldest int64
	if err := db.st.oldestChange.QueryRowContext(ctx).Scan(&oldest); err != nil {
		return nil, 0, fmt.Errorf("sqlite: read change feed: %w", err)
	}
	return changes, oldest, nil
}

func (db *DB) changes(ctx context.Context, after int64, limit int) ([]session.Change, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.st.changesAfter.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []session.Change
	for rows.Next() {
		var c session.Change
		var t int64
		if err := rows.Scan(&c.Seq, &c.Kind, &c.SessionID, &c.UserID, &t); err != nil {
			return nil, err
		}
		c.Time = fromNanos(t)
		out = append(out, c)
	}
	return out, rows.Err()
}

// sessionRow is the scan target of one row of sessionColumns: one
// allocation for every destination, and the BLOBs read in place (RawBytes)
// and copied once, as the session needs them.
type sessionRow struct {
	s                                                   sesame.Session
	token, prev, data, auth                             sql.RawBytes
	prevValid, created, lastSeen, idle, expires, authAt int64
	dest                                                [16]any
}

// scanSession reads the current row of rows.
func scanSession(rows *sql.Rows) (*sesame.Session, error) {
	r := new(sessionRow)
	r.dest = [...]any{&r.s.ID, &r.s.UserID, &r.token, &r.prev, &r.prevValid, &r.created,
		&r.lastSeen, &r.idle, &r.expires, &r.s.Remember, &r.authAt, &r.s.Device.UserAgent, &r.s.Device.IP, &r.s.Version, &r.data, &r.auth}
	if err := rows.Scan(r.dest[:]...); err != nil {
		return nil, err
	}
	s := new(sesame.Session)
	*s = r.s
	if len(r.token) != len(s.TokenHash) || (r.prev != nil && len(r.prev) != len(s.PrevTokenHash)) {
		return nil, fmt.Errorf("session %s: stored token hash has the wrong length", s.ID)
	}
	copy(s.TokenHash[:], r.token)
	copy(s.PrevTokenHash[:], r.prev)
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

// oneSession runs a query for at most one session.
func oneSession(ctx context.Context, st *sql.Stmt, arg any) (*sesame.Session, error) {
	rows, err := st.QueryContext(ctx, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	s, err := scanSession(rows)
	if err != nil {
		return nil, err
	}
	return s, rows.Close()
}

// readErr maps sql.ErrNoRows to [sesame.ErrNotFound] and wraps any other
// error.
func readErr(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return sesame.ErrNotFound
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// constraint returns the extended result code of a constraint violation,
// or 0.
func constraint(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return e.Code()
	}
	return 0
}
