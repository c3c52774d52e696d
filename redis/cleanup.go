package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame/session"
)

// Cleanup queues: sessions in {exp}:s scored by their deadline, refresh
// tokens in {exp}:r scored by their expiry (unix ms of the callers'
// clocks). A score may be stale (Touch does not move it), so the cleaner
// treats entries as candidates and checks each record before deleting it.

// cleanupPage is how many candidates one round trip examines; maxPages
// bounds one DeleteExpired call.
const (
	cleanupPage = 200
	maxPages    = 50
)

// DeleteExpired implements [session.Cleaner]. It removes at most limit
// sessions whose deadline is at or before now (each recorded in the feed
// as a revocation, before its deletion, together with its refresh
// tokens), refresh tokens whose expiry is at or before now, and change
// records older than keepChanges before now. A limit of 0 or less removes
// no sessions but still removes tokens and trims the feed.
//
// Redis also drops every key by its TTL (the slack after it stops
// mattering), so the cleaner is what records expiries in the feed and
// keeps memory tight, not what keeps Redis bounded.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error) {
	n, err := s.deleteExpiredSessions(ctx, now, limit)
	if err != nil {
		return n, fmt.Errorf("redis: delete expired sessions: %w", err)
	}
	if err := s.deleteExpiredRefresh(ctx, now); err != nil {
		return n, fmt.Errorf("redis: delete expired refresh tokens: %w", err)
	}
	trim := &scriptCall{script: trimChanges, keys: []string{s.feedChanges()}, args: []any{millis(now.Add(-keepChanges)), 100000}}
	if err := runPipelined(ctx, s.c, []*scriptCall{trim}); err != nil {
		return n, fmt.Errorf("redis: trim changes: %w", err)
	}
	return n, nil
}

type candidate struct {
	member, uid, sid string
	cmd              *goredis.SliceCmd
}

func (s *Store) deleteExpiredSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	removed, offset := 0, int64(0)
	max := fmt.Sprint(millis(now))
	for range maxPages {
		if removed >= limit {
			break
		}
		members, err := s.c.ZRangeByScore(ctx, s.sessionQueue(), &goredis.ZRangeBy{
			Min: "-inf", Max: max, Offset: offset, Count: cleanupPage}).Result()
		if err != nil {
			return removed, err
		}
		if len(members) == 0 {
			break
		}
		cands := make([]*candidate, 0, len(members))
		pipe := s.c.Pipeline()
		for _, m := range members {
			uid, sid, ok := unpair(m)
			c := &candidate{member: m, uid: uid, sid: sid}
			if ok {
				c.cmd = pipe.HMGet(ctx, s.recKey(uid, sid), recordFields...)
			}
			cands = append(cands, c)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != goredis.Nil {
			return removed, err
		}
		byUser := map[string][]victim{}
		orphaned := map[string]bool{} // users with a queued session whose record is gone
		var gone []any
		var calls []*scriptCall
		kept, planned := 0, removed
		for _, c := range cands {
			if c.cmd == nil {
				gone = append(gone, c.member)
				continue
			}
			f := c.cmd.Val()
			sess, err := decodeFields(c.uid, f)
			switch {
			case err != nil:
				gone = append(gone, c.member) // record expired by its TTL, or deleted, or unreadable
				orphaned[c.uid] = true
			case !sess.Expired(now):
				calls = append(calls, s.queueCall(s.sessionQueue(), millis(sess.Deadline()), c.member, s.indexTTL(sess)))
				if millis(sess.Deadline()) <= millis(now) {
					kept++
				}
			case planned < limit:
				v, _ := f[1].(string)
				ls, _ := f[2].(string)
				byUser[c.uid] = append(byUser[c.uid], victim{sid: c.sid, version: v, lastSeen: ls})
				planned++
			default:
				kept++
			}
		}
		// A queued session without its record may be one whose deletion
		// was interrupted: finish its user's pending unindexing before its
		// queue entry (the way back to it) goes.
		for uid := range orphaned {
			if _, ok := byUser[uid]; !ok {
				if _, err := s.deleteSessions(ctx, "expire", uid, nil); err != nil {
					return removed, err
				}
			}
		}
		if len(gone) > 0 {
			if err := s.c.ZRem(ctx, s.sessionQueue(), gone...).Err(); err != nil {
				return removed, err
			}
		}
		if err := runPipelined(ctx, s.c, calls); err != nil {
			return removed, err
		}
		for uid, vs := range byUser {
			ids, err := s.deleteSessions(ctx, "expire", uid, vs)
			removed += len(ids)
			if err != nil {
				return removed, err
			}
			kept += len(vs) - len(ids) // changed since read: still queued
		}
		offset += int64(kept)
		if len(members) < cleanupPage {
			break
		}
	}
	return removed, nil
}

func (s *Store) deleteExpiredRefresh(ctx context.Context, now time.Time) error {
	offset := int64(0)
	max := fmt.Sprint(millis(now))
	at := sortable(now)
	for range maxPages {
		members, err := s.c.ZRangeByScore(ctx, s.refreshQueue(), &goredis.ZRangeBy{
			Min: "-inf", Max: max, Offset: offset, Count: cleanupPage}).Result()
		if err != nil {
			return err
		}
		if len(members) == 0 {
			return nil
		}
		calls := make([]*scriptCall, 0, len(members))
		var users []string
		var bad []any
		for _, m := range members {
			uid, h, ok := unpair(m)
			if !ok {
				bad = append(bad, m)
				continue
			}
			users = append(users, uid)
			calls = append(calls, &scriptCall{script: expireRefresh, keys: []string{s.rtKey(uid, h), s.gcKey(uid)},
				args: []any{s.userPrefix(uid), h, at, s.slack}})
		}
		if err := runPipelined(ctx, s.c, calls); err != nil {
			return err
		}
		if err := s.step("expire:refresh"); err != nil {
			return err
		}
		// Each user's pending unindexing, which also removes the queue
		// entries (last, so that a crash leaves the way back to it).
		pending := map[string][]string{}
		for i, c := range calls {
			res, _ := c.cmd.Val().([]any)
			if code, _ := first(res).(int64); code == -1 || len(res) != 2 {
				offset++ // not expired yet, within the same millisecond
				continue
			}
			pending[users[i]] = append(pending[users[i]], stringsOf(res[1])...)
		}
		for uid, names := range pending {
			slices.Sort(names)
			if err := s.unindex(ctx, "expire:refresh", uid, slices.Compact(names)); err != nil {
				return err
			}
		}
		if len(bad) > 0 {
			if err := s.c.ZRem(ctx, s.refreshQueue(), bad...).Err(); err != nil {
				return err
			}
		}
		if len(members) < cleanupPage {
			return nil
		}
	}
	return nil
}

var _ session.Cleaner = (*Store)(nil)
