package redis

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/token"
)

// Refresh tokens live in their user's slot, next to the session they are
// bound to: the record {u:<user>}:rt:<hash>, the family's set of hashes
// {u:<user>}:fam:<family>, the session's set of families
// {u:<user>}:sf:<session>. So deleting a session deletes its tokens in the
// same script, and a token whose session is gone (deleted or expired by
// its TTL) reads as not found. Lookups by hash and by family go through
// rt:<hash> and fam:<family>, which name the user.

// CreateRefresh implements [token.Store]. A token for a session that does
// not exist is refused, as by the SQL stores' foreign key. Like Create, it
// claims the token's and the family's indexes for claimTTL (SET NX: a
// duplicate hash is refused), writes the record, then extends the claims.
func (s *Store) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	h := hex.EncodeToString(r.Hash[:])
	uid := r.UserID
	pipe := s.c.Pipeline()
	claim := pipe.SetNX(ctx, s.rtIndex(h), uid, claimTTL)
	famClaim := pipe.SetNX(ctx, s.famIndex(r.FamilyID), uid, claimTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		s.releaseClaims(claim, famClaim, h, r.FamilyID)
		return fmt.Errorf("redis: create refresh token: %w", err)
	}
	if !claim.Val() {
		s.releaseClaims(claim, famClaim, h, r.FamilyID)
		return sesame.Errorf(sesame.EConflict, "refresh token exists")
	}
	if err := s.step("issue:claim"); err != nil {
		return err
	}
	famTTL := s.ttl(r.FamilyExpiresAt.Sub(r.CreatedAt))
	rec := &scriptCall{script: createRefresh,
		keys: []string{s.rtKey(uid, h), s.famKey(uid, r.FamilyID), s.sfKey(uid, r.SessionID), s.recKey(uid, r.SessionID)},
		args: []any{encodeRefresh(r), r.FamilyID, r.SessionID, sortable(r.ExpiresAt), s.ttl(r.ExpiresAt.Sub(r.CreatedAt)), famTTL, h}}
	queue := s.queueCall(s.refreshQueue(), millis(r.ExpiresAt), pair(uid, h), famTTL)
	if err := runPipelined(ctx, s.c, []*scriptCall{rec, queue}); err != nil {
		return fmt.Errorf("redis: create refresh token: %w", err) // the claims expire by themselves
	}
	switch rec.cmd.Val() {
	case int64(1):
	case int64(-1):
		s.releaseClaims(claim, famClaim, h, r.FamilyID)
		return sesame.Errorf(sesame.EConflict, "refresh token's session does not exist")
	default:
		s.releaseClaims(claim, famClaim, h, r.FamilyID)
		return sesame.Errorf(sesame.EConflict, "refresh token exists")
	}
	if err := s.step("issue:record"); err != nil {
		return err
	}
	pipe = s.c.Pipeline()
	pipe.Set(ctx, s.rtIndex(h), uid, time.Duration(s.ttl(r.ExpiresAt.Sub(r.CreatedAt)))*time.Millisecond)
	if famClaim.Val() {
		pipe.Set(ctx, s.famIndex(r.FamilyID), uid, time.Duration(famTTL)*time.Millisecond)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: create refresh token: index: %w", err)
	}
	return s.step("issue:index")
}

// releaseClaims releases the index keys a failed CreateRefresh claimed.
func (s *Store) releaseClaims(tok, fam *goredis.BoolCmd, h, family string) {
	var keys []string
	if tok.Err() == nil && tok.Val() {
		keys = append(keys, s.rtIndex(h))
	}
	if fam.Err() == nil && fam.Val() {
		keys = append(keys, s.famIndex(family))
	}
	s.release(keys)
}

// RefreshByHash implements [token.Store]. Reading a used token whose
// successor record exists also writes the successor's index if it is
// missing (SET NX): a redeemer that died between its two steps left the
// successor without one, and the retry that reads the token here then
// finds the successor (SEC-66).
func (s *Store) RefreshByHash(ctx context.Context, h [32]byte) (*token.Refresh, error) {
	hx := hex.EncodeToString(h[:])
	uid, err := s.c.Get(ctx, s.rtIndex(hx)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis: refresh token by hash: %w", err)
	}
	call := &scriptCall{script: getRefresh, keys: []string{s.rtKey(uid, hx)}, args: []any{s.userPrefix(uid)}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return nil, fmt.Errorf("redis: refresh token by hash: %w", err)
	}
	f, _ := call.cmd.Val().([]any)
	if len(f) != 6 {
		return nil, sesame.ErrNotFound
	}
	blob, _ := f[0].(string)
	fam, _ := f[1].(string)
	sid, _ := f[2].(string)
	used, _ := f[3].(string)
	r, err := decodeRefresh(h, uid, blob, fam, sid, used)
	if err != nil {
		return nil, fmt.Errorf("redis: refresh token by hash: %w", err)
	}
	if next, _ := f[4].(string); next != "" {
		if ttl, _ := f[5].(int64); ttl > 0 {
			if err := s.c.SetNX(ctx, s.rtIndex(next), uid, time.Duration(ttl)*time.Millisecond).Err(); err != nil {
				return nil, fmt.Errorf("redis: refresh token by hash: index the successor: %w", err)
			}
		}
	}
	return r, nil
}

// RedeemRefresh implements [token.Store]. The compare-and-swap is one Lua
// script on the user's slot: it marks the unused token used (remembering
// its successor's hash) and inserts the successor in the same family (and
// session), or changes nothing. The successor's index is written after it
// with a plain SET, which is idempotent: a crash before it leaves a
// successor without an index, which RefreshByHash restores when the
// client's retry reads the used token, so the retry within the grace gets
// this successor and no other (SEC-66). Nothing is claimed before the
// script, so a crash leaves nothing that refuses a retry.
func (s *Store) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	hx, nx := hex.EncodeToString(h[:]), hex.EncodeToString(next.Hash[:])
	uid, err := s.c.Get(ctx, s.rtIndex(hx)).Result()
	if errors.Is(err, goredis.Nil) {
		return sesame.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: redeem refresh token: %w", err)
	}
	ttl := s.ttl(next.ExpiresAt.Sub(at))
	call := &scriptCall{script: redeemRefresh, keys: []string{s.rtKey(uid, hx), s.rtKey(uid, nx)},
		args: []any{s.userPrefix(uid), sortable(at), encodeRefresh(next), sortable(next.ExpiresAt), ttl, nx}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return fmt.Errorf("redis: redeem refresh token: %w", err)
	}
	switch call.cmd.Val() {
	case int64(1):
	case int64(0):
		return sesame.ErrNotFound
	case int64(-1):
		return sesame.ErrConflict
	default:
		return sesame.Errorf(sesame.EConflict, "successor refresh token exists")
	}
	if err := s.step("redeem:record"); err != nil {
		return err
	}
	if err := s.c.Set(ctx, s.rtIndex(nx), uid, time.Duration(ttl)*time.Millisecond).Err(); err != nil {
		return fmt.Errorf("redis: redeem refresh token: index the successor: %w", err)
	}
	if err := s.step("redeem:index"); err != nil {
		return err
	}
	queue := s.queueCall(s.refreshQueue(), millis(next.ExpiresAt), pair(uid, nx), ttl)
	if err := runPipelined(ctx, s.c, []*scriptCall{queue}); err != nil {
		// The redemption happened; the token still expires by its TTL.
		return nil
	}
	return s.step("redeem:queue")
}

// DeleteFamily implements [token.Store]: the family's records go in one
// script on the user's slot, which also lists their indexes as pending
// unindexing, then the indexes (see unindex; the family's index last, so
// that a retry finds the work).
func (s *Store) DeleteFamily(ctx context.Context, familyID string) error {
	uid, err := s.c.Get(ctx, s.famIndex(familyID)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redis: delete refresh family: %w", err)
	}
	call := &scriptCall{script: deleteFamily, keys: []string{s.famKey(uid, familyID), s.gcKey(uid)},
		args: []any{s.userPrefix(uid), familyID, s.slack}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return fmt.Errorf("redis: delete refresh family: %w", err)
	}
	if err := s.step("family:record"); err != nil {
		return err
	}
	if err := s.unindex(ctx, "family", uid, stringsOf(call.cmd.Val())); err != nil {
		return fmt.Errorf("redis: delete refresh family: unindex: %w", err)
	}
	return nil
}
