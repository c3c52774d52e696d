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
// not exist is refused, as by the SQL stores' foreign key.
func (s *Store) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	h := hex.EncodeToString(r.Hash[:])
	uid := r.UserID
	idxTTL := time.Duration(s.ttl(r.ExpiresAt.Sub(r.CreatedAt))) * time.Millisecond
	famTTL := s.ttl(r.FamilyExpiresAt.Sub(r.CreatedAt))
	pipe := s.c.Pipeline()
	claim := pipe.SetNX(ctx, s.rtIndex(h), uid, idxTTL)
	pipe.Set(ctx, s.famIndex(r.FamilyID), uid, time.Duration(famTTL)*time.Millisecond)
	if _, err := pipe.Exec(ctx); err != nil {
		if claim.Err() == nil && claim.Val() {
			s.release([]string{s.rtIndex(h)})
		}
		return fmt.Errorf("redis: create refresh token: %w", err)
	}
	if !claim.Val() {
		return sesame.Errorf(sesame.EConflict, "refresh token exists")
	}
	rec := &scriptCall{script: createRefresh,
		keys: []string{s.rtKey(uid, h), s.famKey(uid, r.FamilyID), s.sfKey(uid, r.SessionID), s.recKey(uid, r.SessionID)},
		args: []any{encodeRefresh(r), r.FamilyID, r.SessionID, sortable(r.ExpiresAt), s.ttl(r.ExpiresAt.Sub(r.CreatedAt)), famTTL, h}}
	queue := s.queueCall(s.refreshQueue(), millis(r.ExpiresAt), pair(uid, h), famTTL)
	if err := runPipelined(ctx, s.c, []*scriptCall{rec, queue}); err != nil {
		s.release([]string{s.rtIndex(h)})
		return fmt.Errorf("redis: create refresh token: %w", err)
	}
	switch rec.cmd.Val() {
	case int64(1):
		return nil
	case int64(-1):
		s.release([]string{s.rtIndex(h)})
		return sesame.Errorf(sesame.EConflict, "refresh token's session does not exist")
	default:
		return sesame.Errorf(sesame.EConflict, "refresh token exists")
	}
}

// RefreshByHash implements [token.Store].
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
	if len(f) != 4 {
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
	return r, nil
}

// RedeemRefresh implements [token.Store]. The compare-and-swap is one Lua
// script on the user's slot: it marks the unused token used and inserts
// the successor in the same family (and session) or changes nothing.
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
	claimed, err := s.c.SetNX(ctx, s.rtIndex(nx), uid, time.Duration(ttl)*time.Millisecond).Result()
	if err != nil {
		return fmt.Errorf("redis: redeem refresh token: %w", err)
	}
	if !claimed {
		return sesame.Errorf(sesame.EConflict, "successor refresh token exists")
	}
	call := &scriptCall{script: redeemRefresh, keys: []string{s.rtKey(uid, hx), s.rtKey(uid, nx)},
		args: []any{s.userPrefix(uid), sortable(at), encodeRefresh(next), sortable(next.ExpiresAt), ttl, nx}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		s.release([]string{s.rtIndex(nx)})
		return fmt.Errorf("redis: redeem refresh token: %w", err)
	}
	switch call.cmd.Val() {
	case int64(1):
	case int64(0):
		s.release([]string{s.rtIndex(nx)})
		return sesame.ErrNotFound
	case int64(-1):
		s.release([]string{s.rtIndex(nx)})
		return sesame.ErrConflict
	default:
		s.release([]string{s.rtIndex(nx)})
		return sesame.Errorf(sesame.EConflict, "successor refresh token exists")
	}
	queue := s.queueCall(s.refreshQueue(), millis(next.ExpiresAt), pair(uid, nx), ttl)
	if err := runPipelined(ctx, s.c, []*scriptCall{queue}); err != nil {
		// The redemption happened; the token still expires by its TTL.
		return nil
	}
	return nil
}

// DeleteFamily implements [token.Store]: the family's records go in one
// script on the user's slot, then their indexes.
func (s *Store) DeleteFamily(ctx context.Context, familyID string) error {
	uid, err := s.c.Get(ctx, s.famIndex(familyID)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redis: delete refresh family: %w", err)
	}
	call := &scriptCall{script: deleteFamily, keys: []string{s.famKey(uid, familyID)}, args: []any{s.userPrefix(uid), familyID}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return fmt.Errorf("redis: delete refresh family: %w", err)
	}
	hs, _ := call.cmd.Val().([]any)
	pipe := s.c.Pipeline()
	members := make([]any, 0, len(hs))
	for _, h := range hs {
		h, _ := h.(string)
		pipe.Del(ctx, s.rtIndex(h))
		members = append(members, pair(uid, h))
	}
	if len(members) > 0 {
		pipe.ZRem(ctx, s.refreshQueue(), members...)
	}
	pipe.Del(ctx, s.famIndex(familyID))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: delete refresh family: unindex: %w", err)
	}
	return nil
}
