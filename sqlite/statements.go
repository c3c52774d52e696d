package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// sessionColumns is the column list every session read selects, in the
// order scanSession expects.
const sessionColumns = `id, user_id, token_hash, prev_token_hash, prev_valid_until, created_at,
	last_seen, idle_timeout, expires_at, remember, auth_time, user_agent, ip, version, data, auth`

const userColumns = `id, username, password_hash, admin, blocked, created_at, updated_at, sessions_not_before, group_names`

// statements are prepared once, at Open: database/sql keeps each prepared
// on every connection of its pool, so no call parses SQL.
type statements struct {
	// Readers.
	sessionByToken *sql.Stmt
	sessionByID    *sql.Stmt
	sessionExists  *sql.Stmt
	sessionsOfUser *sql.Stmt
	changesAfter   *sql.Stmt
	oldestChange   *sql.Stmt
	userByID       *sql.Stmt
	userByName     *sql.Stmt
	users          *sql.Stmt

	// Writers.
	createSession *sql.Stmt
	updateSession *sql.Stmt
	touchSession  *sql.Stmt
	deleteSession *sql.Stmt
	deleteOfUser  *sql.Stmt
	deleteExpired *sql.Stmt
	trimChanges   *sql.Stmt
	createUser    *sql.Stmt
	updateUser    *sql.Stmt
	all           []*sql.Stmt
}

func (st *statements) prepare(ctx context.Context, w, r *sql.DB) error {
	for _, p := range []struct {
		db   *sql.DB
		dst  **sql.Stmt
		text string
	}{
		// The OR of two indexed equalities is answered from both indexes
		// (a multi-index OR); the zero hash never reaches here.
		{r, &st.sessionByToken, `SELECT ` + sessionColumns + ` FROM sessions WHERE token_hash = ?1 OR prev_token_hash = ?1 LIMIT 1`},
		{r, &st.sessionByID, `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`},
		{r, &st.sessionExists, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`},
		{r, &st.sessionsOfUser, `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? ORDER BY created_at, id`},
		{r, &st.changesAfter, `SELECT seq, kind, session_id, user_id, time FROM session_changes WHERE seq > ? ORDER BY seq LIMIT ?`},
		{r, &st.oldestChange, `SELECT coalesce((SELECT min(seq) FROM session_changes), (SELECT seq + 1 FROM sqlite_sequence WHERE name = 'session_changes'), 1)`},
		{r, &st.userByID, `SELECT ` + userColumns + ` FROM users WHERE id = ?`},
		{r, &st.userByName, `SELECT ` + userColumns + ` FROM users WHERE username = ?`},
		{r, &st.users, `SELECT ` + userColumns + ` FROM users ORDER BY username`},

		{w, &st.createSession, `INSERT INTO sessions (` + sessionColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		// Compare-and-swap on version; last_seen never moves back. The
		// sessions_updated trigger records the change.
		{w, &st.updateSession, `UPDATE sessions SET
			token_hash = ?3, prev_token_hash = ?4, prev_valid_until = ?5,
			last_seen = max(last_seen, ?6), idle_timeout = ?7, expires_at = ?8,
			remember = ?9, auth_time = ?10, user_agent = ?11, ip = ?12, data = ?13, auth = ?14,
			version = version + 1
			WHERE id = ?1 AND version = ?2`},
		{w, &st.touchSession, `UPDATE sessions SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2`},
		{w, &st.deleteSession, `DELETE FROM sessions WHERE id = ?`},
		{w, &st.deleteOfUser, `DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2 RETURNING id`},
		{w, &st.deleteExpired, `DELETE FROM sessions WHERE rowid IN
			(SELECT rowid FROM sessions WHERE deadline <= ?1 ORDER BY deadline LIMIT ?2)`},
		{w, &st.trimChanges, `DELETE FROM session_changes WHERE time < ?`},
		{w, &st.createUser, `INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{w, &st.updateUser, `UPDATE users SET password_hash = ?2, admin = ?3, blocked = ?4, updated_at = ?5, sessions_not_before = ?6 WHERE id = ?1`},
	} {
		s, err := p.db.PrepareContext(ctx, p.text)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.text, err)
		}
		*p.dst = s
		st.all = append(st.all, s)
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, s := range st.all {
		errs = append(errs, s.Close())
	}
	st.all = nil
	return errors.Join(errs...)
}
