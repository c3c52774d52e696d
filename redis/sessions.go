package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/session"
)

var zeroHash [32]byte

// indexTTL is how long the lookup indexes of s live: until its absolute
// end (the latest its deadline can be), measured from LastSeen, plus the
// slack. A record's own TTL never exceeds it.
func (s *Store) indexTTL(sess *sesame.Session) int64 {
	return s.ttl(sess.ExpiresAt.Sub(sess.LastSeen))
}

// recordTTL is how long the record of sess lives: until its deadline,
// measured from LastSeen, plus the slack.
func (s *Store) recordTTL(sess *sesame.Session) int64 {
	return s.ttl(sess.Deadline().Sub(sess.LastSeen))
}

func member(sess *sesame.Session) string { return sortable(sess.CreatedAt) + " " + sess.ID }

// Create implements [session.Store], in three steps (SEC-66). It claims
// the ID and token hash indexes with SET NX (so that a duplicate is
// refused) for claimTTL only, writes the record, then extends the claims
// to the indexes' lifetime. A crash after the claims leaves claims that
// expire within claimTTL; a crash after the record leaves a session that
// nobody holds (its creator never answered), which no lookup reaches once
// the claims expire and which ends at its deadline (see doc.go).
func (s *Store) Create(ctx context.Context, sess *sesame.Session) error {
	uid := sess.UserID
	pipe := s.c.Pipeline()
	sidCmd := pipe.SetNX(ctx, s.sidIndex(sess.ID), uid, claimTTL)
	tokCmd := pipe.SetNX(ctx, s.tokIndex(sess.TokenHash), pair(uid, sess.ID), claimTTL)
	var prevCmd *goredis.BoolCmd
	if sess.PrevTokenHash != zeroHash {
		prevCmd = pipe.SetNX(ctx, s.tokIndex(sess.PrevTokenHash), pair(uid, sess.ID), claimTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.undoClaims(sess, sidCmd, tokCmd, prevCmd)
		return fmt.Errorf("redis: create session: %w", err)
	}
	if !sidCmd.Val() || !tokCmd.Val() || (prevCmd != nil && !prevCmd.Val()) {
		s.undoClaims(sess, sidCmd, tokCmd, prevCmd)
		return sesame.Errorf(sesame.EConflict, "session id or token exists")
	}
	if err := s.step("create:claim"); err != nil {
		return err
	}
	rec := &scriptCall{script: createSession, keys: []string{s.recKey(uid, sess.ID), s.idxKey(uid)}, args: []any{
		encodeSession(sess), sess.Version, sortable(sess.LastSeen), millis(sess.LastSeen), member(sess),
		sess.IdleTimeout.Milliseconds(), millis(sess.ExpiresAt), s.recordTTL(sess)}}
	queue := s.queueCall(s.sessionQueue(), millis(sess.Deadline()), pair(uid, sess.ID), s.indexTTL(sess))
	if err := runPipelined(ctx, s.c, []*scriptCall{rec, queue}); err != nil {
		// The claims expire by themselves; releasing them could orphan a
		// record that was written before the error.
		return fmt.Errorf("redis: create session: %w", err)
	}
	if rec.cmd.Val() != int64(1) {
		s.undoClaims(sess, sidCmd, tokCmd, prevCmd)
		return sesame.Errorf(sesame.EConflict, "session id exists")
	}
	if err := s.step("create:record"); err != nil {
		return err
	}
	ttl := time.Duration(s.indexTTL(sess)) * time.Millisecond
	pipe = s.c.Pipeline()
	pipe.Set(ctx, s.sidIndex(sess.ID), uid, ttl)
	pipe.Set(ctx, s.tokIndex(sess.TokenHash), pair(uid, sess.ID), ttl)
	if prevCmd != nil {
		pipe.Set(ctx, s.tokIndex(sess.PrevTokenHash), pair(uid, sess.ID), ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: create session: index: %w", err)
	}
	return s.step("create:index")
}

// undoClaims releases the index keys a failed Create claimed.
func (s *Store) undoClaims(sess *sesame.Session, sid, tok, prev *goredis.BoolCmd) {
	ctx := context.WithoutCancel(context.Background())
	pipe := s.c.Pipeline()
	if sid.Err() == nil && sid.Val() {
		pipe.Del(ctx, s.sidIndex(sess.ID))
	}
	if tok.Err() == nil && tok.Val() {
		pipe.Del(ctx, s.tokIndex(sess.TokenHash))
	}
	if prev != nil && prev.Err() == nil && prev.Val() {
		pipe.Del(ctx, s.tokIndex(sess.PrevTokenHash))
	}
	_, _ = pipe.Exec(ctx)
}

func (s *Store) queueCall(queue string, score int64, member string, ttl int64) *scriptCall {
	return &scriptCall{script: queueAdd, keys: []string{queue}, args: []any{score, member, ttl}}
}

// ByToken implements [session.Store]: the token index names the user and
// session, then the record is read and must carry h itself, so a stale
// index (left by a crash or a lost race) never resolves.
func (s *Store) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	v, err := s.c.Get(ctx, s.tokIndex(h)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis: session by token: %w", err)
	}
	uid, sid, ok := unpair(v)
	if !ok {
		return nil, fmt.Errorf("redis: session by token: %w", errCorrupt)
	}
	sess, err := s.read(ctx, uid, sid)
	if err != nil {
		return nil, err
	}
	if sess.TokenHash != h && (sess.PrevTokenHash != h || h == zeroHash) {
		return nil, sesame.ErrNotFound
	}
	return sess, nil
}

// ByID implements [session.Store].
func (s *Store) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	uid, err := s.userOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.read(ctx, uid, id)
}

// userOf returns the user of the session with id, from the ID index.
func (s *Store) userOf(ctx context.Context, id string) (string, error) {
	uid, err := s.c.Get(ctx, s.sidIndex(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", sesame.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redis: session index: %w", err)
	}
	return uid, nil
}

var recordFields = []string{"b", "v", "ls", "m"}

func (s *Store) read(ctx context.Context, uid, sid string) (*sesame.Session, error) {
	f, err := s.c.HMGet(ctx, s.recKey(uid, sid), recordFields...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: read session: %w", err)
	}
	return decodeFields(uid, f)
}

func decodeFields(uid string, f []any) (*sesame.Session, error) {
	if len(f) != 4 || f[0] == nil {
		return nil, sesame.ErrNotFound
	}
	b, _ := f[0].(string)
	v, _ := f[1].(string)
	ls, _ := f[2].(string)
	m, _ := f[3].(string)
	sess, err := decodeSession(b, uid, v, ls, m)
	if err != nil {
		return nil, fmt.Errorf("redis: read session: %w", err)
	}
	return sess, nil
}

// Update implements [session.Store]. The compare-and-swap on Version is
// one Lua script on the record, which also keeps the later LastSeen and
// records, in the same step, the replaced token hashes as pending
// unindexing. The new token hashes are claimed before it for claimTTL
// (and released if it fails) and extended after it; the change is
// appended to the feed after it, so that a reader who sees the change
// reads the new record; the replaced hashes are unindexed last.
func (s *Store) Update(ctx context.Context, sess *sesame.Session) error {
	uid, err := s.userOf(ctx, sess.ID)
	if err != nil {
		return err
	}
	claimed, err := s.claimTokens(ctx, uid, sess)
	if err != nil {
		return err
	}
	if err := s.step("update:claim"); err != nil {
		return err
	}
	next := sess.Clone()
	next.UserID = uid
	call := &scriptCall{script: updateSession, keys: []string{s.recKey(uid, sess.ID), s.idxKey(uid), s.gcKey(uid)}, args: []any{
		strconv.FormatInt(sess.Version, 10), strconv.FormatInt(sess.Version+1, 10), encodeSession(next),
		sortable(sess.LastSeen), millis(sess.LastSeen), sess.IdleTimeout.Milliseconds(), millis(sess.ExpiresAt), s.slack}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return fmt.Errorf("redis: update session: %w", err)
	}
	res, _ := call.cmd.Val().([]any)
	code, _ := first(res).(int64)
	switch code {
	case 0:
		s.release(claimed)
		return sesame.ErrNotFound
	case -1:
		s.release(claimed)
		return sesame.ErrConflict
	}
	if len(res) != 4 {
		return fmt.Errorf("redis: update session: %w", errCorrupt)
	}
	stored, _ := res[2].(string)
	if next.LastSeen, err = fromSortable(stored); err != nil {
		return fmt.Errorf("redis: update session: %w", err)
	}
	pending := stringsOf(res[3])
	sess.Version++
	if err := s.step("update:record"); err != nil {
		return err
	}
	if err := s.afterUpdate(ctx, uid, next, pending); err != nil {
		return fmt.Errorf("redis: update session (after the record was written): %w", err)
	}
	return nil
}

// stringsOf returns the strings in a script's array reply.
func stringsOf(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func first(v []any) any {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

// claimTokens claims, for claimTTL, the indexes of the token hashes of
// sess that are not indexed yet and returns the index keys it created. A
// hash indexed for another session is an error.
func (s *Store) claimTokens(ctx context.Context, uid string, sess *sesame.Session) ([]string, error) {
	want := pair(uid, sess.ID)
	hashes := [][32]byte{sess.TokenHash}
	if sess.PrevTokenHash != zeroHash && sess.PrevTokenHash != sess.TokenHash {
		hashes = append(hashes, sess.PrevTokenHash)
	}
	pipe := s.c.Pipeline()
	cmds := make([]*goredis.StatusCmd, len(hashes))
	for i, h := range hashes {
		// SET NX GET: the previous value when the key exists.
		cmds[i] = pipe.SetArgs(ctx, s.tokIndex(h), want, goredis.SetArgs{Mode: "NX", Get: true, TTL: claimTTL})
	}
	_, _ = pipe.Exec(ctx)
	var claimed []string
	var failure error
	for i, c := range cmds {
		prev, err := c.Result()
		switch {
		case errors.Is(err, goredis.Nil):
			claimed = append(claimed, s.tokIndex(hashes[i]))
		case err != nil:
			failure = fmt.Errorf("redis: update session: index token: %w", err)
		case prev != want:
			failure = sesame.Errorf(sesame.EConflict, "session token exists")
		}
	}
	if failure != nil {
		s.release(claimed)
		return nil, failure
	}
	return claimed, nil
}

func (s *Store) release(keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx := context.Background()
	pipe := s.c.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, k)
	}
	_, _ = pipe.Exec(ctx)
}

// afterUpdate records the change and re-times the cleanup entry, then
// gives the indexes the lifetime of next (re-creating a claim that
// expired), then finishes the user's pending unindexing: the token hashes
// the update dropped, and whatever an interrupted earlier write left.
func (s *Store) afterUpdate(ctx context.Context, uid string, next *sesame.Session, pending []string) error {
	err := runPipelined(ctx, s.c, []*scriptCall{
		s.appendCall(change{kind: session.ChangeUpdated, sid: next.ID, uid: uid}),
		s.queueCall(s.sessionQueue(), millis(next.Deadline()), pair(uid, next.ID), s.indexTTL(next)),
	})
	if err != nil {
		return err
	}
	if err := s.step("update:feed"); err != nil {
		return err
	}
	ttl := time.Duration(s.indexTTL(next)) * time.Millisecond
	pipe := s.c.Pipeline()
	pipe.PExpire(ctx, s.sidIndex(next.ID), ttl)
	pipe.Set(ctx, s.tokIndex(next.TokenHash), pair(uid, next.ID), ttl)
	if next.PrevTokenHash != zeroHash {
		pipe.Set(ctx, s.tokIndex(next.PrevTokenHash), pair(uid, next.ID), ttl)
	}
	if _, err = pipe.Exec(ctx); err != nil {
		return err
	}
	if err := s.step("update:index"); err != nil {
		return err
	}
	return s.unindex(ctx, "update", uid, pending)
}

// Touch implements [session.Store]: a Lua script that moves LastSeen (and
// the record's TTL) forward only. It does not move the session's cleanup
// entry: the cleaner re-reads a candidate before deleting it.
func (s *Store) Touch(ctx context.Context, id string, t time.Time) error {
	uid, err := s.userOf(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	call := &scriptCall{script: touchSession, keys: []string{s.recKey(uid, id), s.idxKey(uid)},
		args: []any{sortable(t), millis(t), s.slack}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return fmt.Errorf("redis: touch session: %w", err)
	}
	return nil
}

// Delete implements [session.Store]. The revocation is appended to the
// change feed first, then the record (with its refresh tokens) is deleted
// and its index names recorded as pending unindexing, in one script, then
// the indexes go: a crash in between leaves a revocation notice for a
// session that still exists (readers re-read the store) or indexes that
// point to no record (not found) and are still listed as pending, which a
// retry (or any later deletion for the user, or the cleaner) removes;
// never a deleted session without its notice.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	uid, err := s.userOf(ctx, id)
	if errors.Is(err, sesame.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ids, err := s.deleteSessions(ctx, "delete", uid, []victim{{sid: id}})
	if err != nil {
		return false, fmt.Errorf("redis: delete session: %w", err)
	}
	if len(ids) == 0 {
		// The index outlived its record: drop it.
		s.c.Del(ctx, s.sidIndex(id))
	}
	return len(ids) == 1, nil
}

// victim is a session to delete; with version and lastSeen set, only if
// its record still has them (the cleaner's check that it is still
// expired).
type victim struct {
	sid, version, lastSeen string
}

// deleteSessions records the revocations, deletes the records of one
// user's sessions in one script that also lists their indexes as pending
// unindexing, then removes every pending index of the user (those of an
// earlier deletion that was interrupted too), and returns the IDs it
// deleted. With no victims it only finishes pending work. op names the
// steps for the crash hook.
func (s *Store) deleteSessions(ctx context.Context, op, uid string, vs []victim) ([]string, error) {
	if len(vs) > 0 {
		changes := make([]change, len(vs))
		for i, v := range vs {
			changes[i] = change{kind: session.ChangeRevoked, sid: v.sid, uid: uid}
		}
		if err := runPipelined(ctx, s.c, []*scriptCall{s.appendCall(changes...)}); err != nil {
			return nil, fmt.Errorf("record revocation: %w", err)
		}
		if err := s.step(op + ":feed"); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 2, len(vs)+2)
	keys[0], keys[1] = s.idxKey(uid), s.gcKey(uid)
	args := make([]any, 2, 3*len(vs)+2)
	args[0], args[1] = s.userPrefix(uid), s.slack
	for _, v := range vs {
		keys = append(keys, s.recKey(uid, v.sid))
		args = append(args, v.sid, v.version, v.lastSeen)
	}
	del := &scriptCall{script: deleteSessions, keys: keys, args: args}
	if err := runPipelined(ctx, s.c, []*scriptCall{del}); err != nil {
		return nil, err
	}
	res, _ := del.cmd.Val().([]any)
	if len(res) != 2 {
		return nil, errCorrupt
	}
	ids := stringsOf(res[0])
	if err := s.step(op + ":record"); err != nil {
		return ids, err
	}
	if err := s.unindex(ctx, op, uid, stringsOf(res[1])); err != nil {
		return ids, fmt.Errorf("unindex: %w", err)
	}
	return ids, nil
}

// unindex deletes the indexes named in a user's pending-unindex set (as
// "sid:<id>", "tok:<hash>", "rt:<hash>", "fam:<family>") and their cleanup
// queue entries, then removes the names from the set. The indexes through
// which a retry finds the work again (sid: for Delete, fam: for
// DeleteFamily, the queue entries for the cleaner) go in the second round
// trip, with the names: a crash after the first leaves them, and the
// retry finishes. Deleting is idempotent, so finishing twice is harmless.
func (s *Store) unindex(ctx context.Context, op, uid string, pending []string) error {
	if len(pending) == 0 {
		return nil
	}
	first, last := s.c.Pipeline(), s.c.Pipeline()
	var sessions, tokens, names []any
	for _, m := range pending {
		kind, rest, _ := strings.Cut(m, ":")
		names = append(names, m)
		switch kind {
		case "tok", "rt":
			first.Del(ctx, s.opt.Prefix+m)
			if kind == "rt" {
				tokens = append(tokens, pair(uid, rest))
			}
		case "sid", "fam":
			last.Del(ctx, s.opt.Prefix+m)
			if kind == "sid" {
				sessions = append(sessions, pair(uid, rest))
			}
		}
	}
	if first.Len() > 0 {
		if _, err := first.Exec(ctx); err != nil {
			return err
		}
	}
	if err := s.step(op + ":unindex"); err != nil {
		return err
	}
	if len(sessions) > 0 {
		last.ZRem(ctx, s.sessionQueue(), sessions...)
	}
	if len(tokens) > 0 {
		last.ZRem(ctx, s.refreshQueue(), tokens...)
	}
	last.SRem(ctx, s.gcKey(uid), names...)
	if _, err := last.Exec(ctx); err != nil {
		return err
	}
	return s.step(op + ":done")
}

// ListByUser implements [session.Store]: one script reads the user's
// index (ordered by CreatedAt, then ID) and every record.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error) {
	if userID == "" {
		return nil, nil // anonymous sessions are nobody's
	}
	call := &scriptCall{script: listSessions, keys: []string{s.idxKey(userID)}, args: []any{s.userPrefix(userID)}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return nil, fmt.Errorf("redis: list sessions: %w", err)
	}
	rows, _ := call.cmd.Val().([]any)
	out := make([]*sesame.Session, 0, len(rows))
	for _, row := range rows {
		r, _ := row.([]any)
		if len(r) != 4 {
			return nil, fmt.Errorf("redis: list sessions: %w", errCorrupt)
		}
		sess, err := decodeFields(userID, []any{r[1], r[2], r[3], r[0]})
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, nil
}

// DeleteByUser implements [session.Store]: it reads the user's index,
// records every revocation, then deletes the records, their refresh
// tokens and their index entries in one script on the user's slot, then
// their indexes (see deleteSessions). A session created after the index
// was read survives. It runs the script even when the user has no session
// left, to finish the unindexing of an interrupted earlier deletion.
func (s *Store) DeleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	if userID == "" {
		return nil, nil // anonymous sessions are nobody's
	}
	members, err := s.c.ZRange(ctx, s.idxKey(userID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: delete user sessions: %w", err)
	}
	vs := make([]victim, 0, len(members))
	for _, m := range members {
		if len(m) > 21 && m[21:] != except {
			vs = append(vs, victim{sid: m[21:]})
		}
	}
	ids, err := s.deleteSessions(ctx, "revoke-user", userID, vs)
	if err != nil {
		return ids, fmt.Errorf("redis: delete user sessions: %w", err)
	}
	return ids, nil
}
