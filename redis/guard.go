package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/sesame-auth/sesame/guard"
)

// Throttle counters are hashes g:<key> {c, l, e}: count, and Last and
// Expires as sortable strings, so that the script compares them to the
// nanosecond. Each key is its own slot; Fail pipelines one script per
// counter. Redis drops a counter the slack after its Expires (measured
// from the caller's now), so the Store needs no guard.Cleaner.

// Fail implements [guard.Store].
func (s *Store) Fail(ctx context.Context, now time.Time, counters ...guard.Counter) ([]guard.State, error) {
	if len(counters) == 0 {
		return []guard.State{}, nil
	}
	at := sortable(now)
	calls := make([]*scriptCall, len(counters))
	for i, c := range counters {
		calls[i] = &scriptCall{script: guardFail, keys: []string{s.guardKey(c.Key)},
			args: []any{at, sortable(now.Add(c.Window)), s.slack}}
	}
	if err := runPipelined(ctx, s.c, calls); err != nil {
		return nil, fmt.Errorf("redis: record failure: %w", err)
	}
	out := make([]guard.State, len(counters))
	for i, c := range calls {
		res, _ := c.cmd.Val().([]any)
		if len(res) != 3 {
			return nil, fmt.Errorf("redis: record failure: %w", errCorrupt)
		}
		n, _ := res[0].(int64)
		l, _ := res[1].(string)
		e, _ := res[2].(string)
		st, err := state(strconv.FormatInt(n, 10), l, e)
		if err != nil {
			return nil, fmt.Errorf("redis: record failure: %w", err)
		}
		out[i] = st
	}
	return out, nil
}

func state(c, l, e string) (guard.State, error) {
	n, err := strconv.Atoi(c)
	if err != nil {
		return guard.State{}, errCorrupt
	}
	last, err := fromSortable(l)
	if err != nil {
		return guard.State{}, err
	}
	exp, err := fromSortable(e)
	if err != nil {
		return guard.State{}, err
	}
	return guard.State{Count: n, Last: last, Expires: exp}, nil
}

// Get implements [guard.Store]: one pipelined HMGET per key, compared with
// now here, not by Redis's clock.
func (s *Store) Get(ctx context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	out := make([]guard.State, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pipe := s.c.Pipeline()
	for _, k := range keys {
		pipe.HMGet(ctx, s.guardKey(k), "c", "l", "e")
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis: read counters: %w", err)
	}
	for i, cmd := range cmds {
		f, ok := cmd.(interface{ Val() []any })
		if !ok {
			return nil, fmt.Errorf("redis: read counters: %w", errCorrupt)
		}
		v := f.Val()
		c, _ := v[0].(string)
		l, _ := v[1].(string)
		e, _ := v[2].(string)
		if c == "" {
			continue
		}
		st, err := state(c, l, e)
		if err != nil {
			return nil, fmt.Errorf("redis: read counters: %w", err)
		}
		if now.Before(st.Expires) {
			out[i] = st
		}
	}
	return out, nil
}

// Reset implements [guard.Store].
func (s *Store) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := s.c.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, s.guardKey(k))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: reset counters: %w", err)
	}
	return nil
}
