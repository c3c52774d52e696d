package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/session"
)

// The change feed is one sorted set in its own slot, {feed}, scored by
// Seq, whose members are "<seq> <kind> <unix ns> <pair(sid, uid)>", next
// to the counter that hands out Seqs. Appending is one script on that
// slot, so a Seq is visible exactly when its entry is: readers never see a
// gap that fills later.

type change struct {
	kind     session.ChangeKind
	sid, uid string
}

// appendCall appends changes, timed by this process's wall clock.
func (s *Store) appendCall(cs ...change) *scriptCall {
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	args := make([]any, 2, len(cs)+2)
	args[0], args[1] = s.opt.MaxChanges, s.opt.ChangesTTL.Milliseconds()
	for _, c := range cs {
		args = append(args, strconv.Itoa(int(c.kind))+" "+now+" "+pair(c.sid, c.uid))
	}
	return &scriptCall{script: appendChanges, keys: []string{s.feedSeq(), s.feedChanges()}, args: args}
}

// Changes implements [session.Store]. One script reads the entries after
// after and oldest together. The Seq counter is the only key without a TTL:
// it must outlive the entries so that Seqs are never reused.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	call := &scriptCall{script: readChanges, keys: []string{s.feedSeq(), s.feedChanges()}, args: []any{after, max(limit, 0)}}
	if err := runPipelined(ctx, s.c, []*scriptCall{call}); err != nil {
		return nil, 0, fmt.Errorf("redis: read changes: %w", err)
	}
	res, _ := call.cmd.Val().([]any)
	if len(res) != 2 {
		return nil, 0, fmt.Errorf("redis: read changes: %w", errCorrupt)
	}
	oldest, _ := res[0].(int64)
	entries, _ := res[1].([]any)
	out := make([]session.Change, 0, len(entries))
	for _, e := range entries {
		m, _ := e.(string)
		c, ok := parseChange(m)
		if !ok {
			return nil, 0, fmt.Errorf("redis: read changes: %w", errCorrupt)
		}
		out = append(out, c)
	}
	return out, oldest, nil
}

func parseChange(m string) (session.Change, bool) {
	seq, rest, ok1 := strings.Cut(m, " ")
	kind, rest, ok2 := strings.Cut(rest, " ")
	at, rest, ok3 := strings.Cut(rest, " ")
	sid, uid, ok4 := unpair(rest)
	n, err1 := strconv.ParseInt(seq, 10, 64)
	k, err2 := strconv.Atoi(kind)
	t, err3 := strconv.ParseInt(at, 10, 64)
	if !ok1 || !ok2 || !ok3 || !ok4 || err1 != nil || err2 != nil || err3 != nil {
		return session.Change{}, false
	}
	return session.Change{Seq: n, Kind: session.ChangeKind(k), SessionID: sid, UserID: uid, Time: time.Unix(0, t).UTC()}, true
}
