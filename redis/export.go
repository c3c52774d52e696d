package redis

// Export and import for `sesame migrate` (package migrate): every record
// read as it is stored (nothing filtered: the caller decides what is
// live), and upserts that write a record with its indexes exactly as
// given, keyed by its ID, so that copying the same record twice changes
// nothing. Every write here is idempotent and needs no claim: a copy that
// dies halfway is finished by running it again. No method here is used by
// a running server.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/token"
)

// globEscape escapes the glob characters of a key prefix for SCAN MATCH.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// scanKeys calls fn with every key matching pattern, on every master of a
// Cluster. A key may be seen twice (SCAN's guarantee); callers key their
// work by it.
func (s *Store) scanKeys(ctx context.Context, pattern string, fn func(key string) error) error {
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return fmt.Errorf("redis: scan: %w", err)
			}
			for _, k := range keys {
				if err := fn(k); err != nil {
					return err
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		// One master at a time: fn is not safe for concurrent use.
		var addrs []*goredis.Client
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			addrs = append(addrs, c)
			return nil
		}); err != nil {
			return fmt.Errorf("redis: scan: %w", err)
		}
		for _, c := range addrs {
			if err := scan(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	return scan(ctx, s.c)
}

// ExportSessions calls fn with every session record reachable by its ID.
func (s *Store) ExportSessions(ctx context.Context, fn func(*sesame.Session) error) error {
	seen := map[string]bool{}
	return s.scanKeys(ctx, globEscape(s.opt.Prefix)+"{u:*}:s:*", func(key string) error {
		_, sid, ok := strings.Cut(strings.TrimPrefix(key, s.opt.Prefix), "}:s:")
		if !ok || seen[sid] {
			return nil
		}
		seen[sid] = true
		sess, err := s.ByID(ctx, sid)
		if errors.Is(err, sesame.ErrNotFound) {
			return nil // a record no lookup reaches (see doc.go)
		}
		if err != nil {
			return err
		}
		return fn(sess)
	})
}

// ExportRefresh calls fn with every refresh token reachable by its hash
// whose session exists.
func (s *Store) ExportRefresh(ctx context.Context, fn func(*token.Refresh) error) error {
	seen := map[string]bool{}
	return s.scanKeys(ctx, globEscape(s.opt.Prefix)+"{u:*}:rt:*", func(key string) error {
		_, hx, ok := strings.Cut(strings.TrimPrefix(key, s.opt.Prefix), "}:rt:")
		if !ok || seen[hx] {
			return nil
		}
		seen[hx] = true
		var h [32]byte
		if b, err := hex.DecodeString(hx); err != nil || len(b) != len(h) {
			return nil
		} else {
			copy(h[:], b)
		}
		uid, err := s.c.Get(ctx, s.rtIndex(hx)).Result()
		if errors.Is(err, goredis.Nil) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("redis: export refresh tokens: %w", err)
		}
		call := &scriptCall{script: getRefresh, keys: []string{s.rtKey(uid, hx)}, args: []any{s.userPrefix(uid)}}
		if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
			return fmt.Errorf("redis: export refresh tokens: %w", err)
		}
		f, _ := call.cmd.Val().([]any)
		if len(f) != 6 {
			return nil // its session is gone
		}
		blob, _ := f[0].(string)
		fam, _ := f[1].(string)
		sid, _ := f[2].(string)
		used, _ := f[3].(string)
		r, err := decodeRefresh(h, uid, blob, fam, sid, used)
		if err != nil {
			return fmt.Errorf("redis: export refresh tokens: %w", err)
		}
		return fn(r)
	})
}

// ExportThrottle calls fn with every stored throttle counter.
func (s *Store) ExportThrottle(ctx context.Context, fn func(key string, st guard.State) error) error {
	prefix := s.opt.Prefix + "g:"
	seen := map[string]bool{}
	return s.scanKeys(ctx, globEscape(prefix)+"*", func(key string) error {
		if seen[key] {
			return nil
		}
		seen[key] = true
		v, err := s.c.HMGet(ctx, key, "c", "l", "e").Result()
		if err != nil {
			return fmt.Errorf("redis: export throttle counters: %w", err)
		}
		c, _ := v[0].(string)
		l, _ := v[1].(string)
		e, _ := v[2].(string)
		if c == "" {
			return nil
		}
		st, err := state(c, l, e)
		if err != nil {
			return fmt.Errorf("redis: export throttle counters: %w", err)
		}
		return fn(strings.TrimPrefix(key, prefix), st)
	})
}

// FeedPosition is the last Seq the change feed gave (0: no feed yet).
func (s *Store) FeedPosition(ctx context.Context) (int64, error) {
	n, err := s.c.Get(ctx, s.feedSeq()).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis: read the feed position: %w", err)
	}
	return n, nil
}

// advanceFeed: KEYS feed counter; ARGV past+1.
var advanceFeed = goredis.NewScript(seedFeedLua + `
seedFeed(KEYS[1])
if tonumber(redis.call('GET', KEYS[1])) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
`)

// AdvanceFeed numbers the feed's next change at least past+2, so that a
// reader whose position is past or lower finds itself in a gap (it has
// missed changes this feed does not hold) and starts afresh. A new feed
// is seeded as usual (from the server's time), then moved past past.
func (s *Store) AdvanceFeed(ctx context.Context, past int64) error {
	call := &scriptCall{script: advanceFeed, keys: []string{s.feedSeq()}, args: []any{past + 1}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return fmt.Errorf("redis: advance the feed: %w", err)
	}
	return nil
}

// Activity is a cheap fingerprint of what a running server changes: the
// feed position and the number of keys under the prefix. It does not see
// a Touch (a session's last-seen time moving).
func (s *Store) Activity(ctx context.Context) (string, error) {
	seq, err := s.FeedPosition(ctx)
	if err != nil {
		return "", err
	}
	n := 0
	if err := s.scanKeys(ctx, globEscape(s.opt.Prefix)+"*", func(string) error { n++; return nil }); err != nil {
		return "", err
	}
	return strconv.FormatInt(seq, 10) + "/" + strconv.Itoa(n), nil
}

// putSession: KEYS record, user index; ARGV as createSession's. Writes the
// record whether or not it exists.
var putSession = goredis.NewScript(extendLua + `
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'v', ARGV[2], 'ls', ARGV[3], 'lm', ARGV[4], 'm', ARGV[5], 'i', ARGV[6], 'e', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('ZADD', KEYS[2], 0, ARGV[5])
extend(KEYS[2], tonumber(ARGV[8]))
return 1
`)

// PutSession writes the session as given (its version included) with its
// indexes and cleanup entry, replacing the one with its ID. Nothing is
// recorded in the change feed.
func (s *Store) PutSession(ctx context.Context, sess *sesame.Session) error {
	uid := sess.UserID
	rec := &scriptCall{script: putSession, keys: []string{s.recKey(uid, sess.ID), s.idxKey(uid)}, args: []any{
		encodeSession(sess), sess.Version, sortable(sess.LastSeen), millis(sess.LastSeen), member(sess),
		sess.IdleTimeout.Milliseconds(), millis(sess.ExpiresAt), s.recordTTL(sess)}}
	queue := s.queueCall(s.sessionQueue(), millis(sess.Deadline()), pair(uid, sess.ID), s.indexTTL(sess))
	if err := runPipelined(ctx, s.c, []*scriptCall{rec, queue}); err != nil {
		return fmt.Errorf("redis: put session: %w", err)
	}
	ttl := time.Duration(s.indexTTL(sess)) * time.Millisecond
	pipe := s.c.Pipeline()
	pipe.Set(ctx, s.sidIndex(sess.ID), uid, ttl)
	pipe.Set(ctx, s.tokIndex(sess.TokenHash), pair(uid, sess.ID), ttl)
	if sess.PrevTokenHash != zeroHash {
		pipe.Set(ctx, s.tokIndex(sess.PrevTokenHash), pair(uid, sess.ID), ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: put session: index: %w", err)
	}
	return nil
}

// putRefresh: KEYS token record, family set, session's family set, session
// record; ARGV blob, family, session ID, expiresAt (sortable), ttl (ms),
// family ttl (ms), token hash (hex), usedAt (sortable, or ""). -1 when the
// session does not exist.
var putRefresh = goredis.NewScript(extendLua + `
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'f', ARGV[2], 's', ARGV[3], 'e', ARGV[4], 'ua', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[7])
extend(KEYS[2], tonumber(ARGV[6]))
redis.call('SADD', KEYS[3], ARGV[2])
extend(KEYS[3], tonumber(ARGV[6]))
return 1
`)

// PutRefresh writes the refresh token as given, with its indexes and
// cleanup entry. Its session must exist.
func (s *Store) PutRefresh(ctx context.Context, r *token.Refresh) error {
	h := hex.EncodeToString(r.Hash[:])
	uid := r.UserID
	used := ""
	if !r.UsedAt.IsZero() {
		used = sortable(r.UsedAt)
	}
	famTTL := s.ttl(r.FamilyExpiresAt.Sub(r.CreatedAt))
	tokTTL := s.ttl(r.ExpiresAt.Sub(r.CreatedAt))
	rec := &scriptCall{script: putRefresh,
		keys: []string{s.rtKey(uid, h), s.famKey(uid, r.FamilyID), s.sfKey(uid, r.SessionID), s.recKey(uid, r.SessionID)},
		args: []any{encodeRefresh(r), r.FamilyID, r.SessionID, sortable(r.ExpiresAt), tokTTL, famTTL, h, used}}
	queue := s.queueCall(s.refreshQueue(), millis(r.ExpiresAt), pair(uid, h), famTTL)
	if err := runPipelined(ctx, s.c, []*scriptCall{rec, queue}); err != nil {
		return fmt.Errorf("redis: put refresh token: %w", err)
	}
	if rec.cmd.Val() == int64(-1) {
		return sesame.Errorf(sesame.EConflict, "refresh token's session does not exist")
	}
	pipe := s.c.Pipeline()
	pipe.Set(ctx, s.rtIndex(h), uid, time.Duration(tokTTL)*time.Millisecond)
	pipe.Set(ctx, s.famIndex(r.FamilyID), uid, time.Duration(famTTL)*time.Millisecond)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: put refresh token: index: %w", err)
	}
	return nil
}

// PutThrottle writes the throttle counter as given; it expires the slack
// after st.Expires, measured from this process's clock.
func (s *Store) PutThrottle(ctx context.Context, key string, st guard.State) error {
	ttl := max(time.Until(st.Expires).Milliseconds()+s.slack, 1)
	pipe := s.c.Pipeline()
	pipe.HSet(ctx, s.guardKey(key), "c", st.Count, "l", sortable(st.Last), "e", sortable(st.Expires))
	pipe.PExpire(ctx, s.guardKey(key), time.Duration(ttl)*time.Millisecond)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: put throttle counter: %w", err)
	}
	return nil
}
