package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/internal/codec"
)

// throttleDoc is one link of a login-throttle counter's chain. FerretDB
// 1.x applies no update atomically (an update reads the document and
// writes it back), so a counter is not one document changed in place but
// a chain of documents, each inserted under the unique _id "<key>|<N>"
// (N the link's number, zero-padded) and computed from the link before
// it: of concurrent writers that read the same last link, exactly one
// inserts link N+1, and the others read again. Each link carries the
// counter's state after it (Count, Last, Expires); Start marks a restart.
// Times are unix nanoseconds, read back exactly.
type throttleDoc struct {
	ID   string `bson:"_id"`
	Key  string `bson:"k"`
	N    int64  `bson:"n"`
	C    int64  `bson:"c"`
	Last int64  `bson:"last"`
	Exp  int64  `bson:"exp"`
}

func (d *throttleDoc) state() guard.State {
	if d.C == 0 {
		return guard.State{}
	}
	return guard.State{Count: int(d.C), Last: codec.FromNanos(d.Last), Expires: codec.FromNanos(d.Exp)}
}

func linkID(key string, n int64) string { return fmt.Sprintf("%s|%020d", key, n) }

func hintKey(key string) string { return key + "|h" }

// head reads the last link of key's chain, nil when it has none, by _id
// only (the one filter FerretDB serves from an index): from the hint (a
// link that was written, kept in "<key>|h"; it may lag) forward to the
// first missing link.
func (s *Store) head(ctx context.Context, key string) (*throttleDoc, error) {
	var h struct {
		N int64 `bson:"n"`
	}
	err := s.throttle.FindOne(ctx, bson.D{{Key: "_id", Value: hintKey(key)}}).Decode(&h)
	if err != nil && !errors.Is(err, mdb.ErrNoDocuments) {
		return nil, err
	}
	link := func(n int64) (*throttleDoc, error) {
		var d throttleDoc
		err := s.throttle.FindOne(ctx, bson.D{{Key: "_id", Value: linkID(key, n)}}).Decode(&d)
		if errors.Is(err, mdb.ErrNoDocuments) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &d, nil
	}
	n := max(h.N, 1)
	cur, err := link(n)
	if err != nil {
		return nil, err
	}
	if cur == nil && n > 1 { // the cleaner removed the chain; a new one starts at 1
		if cur, err = link(1); err != nil {
			return nil, err
		}
	}
	for cur != nil {
		next, err := link(cur.N + 1)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return cur, nil
		}
		cur = next
	}
	return nil, nil
}

// appendLink inserts the link after the chain's head, computed by next
// from it, reading the head again whenever another writer was first.
func (s *Store) appendLink(ctx context.Context, key string, next func(prev *throttleDoc) throttleDoc) (throttleDoc, error) {
	for range 100 {
		prev, err := s.head(ctx, key)
		if err != nil {
			return throttleDoc{}, err
		}
		d := next(prev)
		d.Key = key
		d.N = 1
		if prev != nil {
			d.N = prev.N + 1
		}
		d.ID = linkID(key, d.N)
		_, err = s.throttle.InsertOne(ctx, d)
		if err == nil {
			// Best effort: a lagging hint only lengthens the walk.
			s.throttle.UpdateOne(ctx, bson.D{{Key: "_id", Value: hintKey(key)}},
				bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: d.N}}}}, options.UpdateOne().SetUpsert(true))
			return d, nil
		}
		if !mdb.IsDuplicateKeyError(err) {
			return throttleDoc{}, err
		}
	}
	return throttleDoc{}, errors.New("counter kept changing under concurrent writers")
}

// Fail implements [guard.Store]: one link per counter (see throttleDoc),
// so that every call adds exactly one and gets its own Count.
func (s *Store) Fail(ctx context.Context, now time.Time, counters ...guard.Counter) ([]guard.State, error) {
	out := make([]guard.State, len(counters))
	n := codec.Nanos(now)
	for i, c := range counters {
		exp := codec.Nanos(now.Add(c.Window))
		d, err := s.appendLink(ctx, c.Key, func(prev *throttleDoc) throttleDoc {
			if prev == nil || prev.C == 0 || n >= prev.Exp {
				return throttleDoc{C: 1, Last: n, Exp: exp}
			}
			return throttleDoc{C: prev.C + 1, Last: max(prev.Last, n), Exp: max(prev.Exp, exp)}
		})
		if err != nil {
			return nil, fmt.Errorf("mongo: record login failure: %w", err)
		}
		out[i] = d.state()
	}
	return out, nil
}

// Get implements [guard.Store]: the head of each key's chain. A counter
// whose Expires is at or before now reads as the zero State, whether or
// not the cleaner has removed it yet.
func (s *Store) Get(ctx context.Context, now time.Time, keys ...string) ([]guard.State, error) {
	out := make([]guard.State, len(keys))
	n := codec.Nanos(now)
	for i, k := range keys {
		d, err := s.head(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("mongo: read throttle counters: %w", err)
		}
		if d != nil && d.Exp > n {
			out[i] = d.state()
		}
	}
	return out, nil
}

// Reset implements [guard.Store]: it appends a zero link to each existing
// chain. (Deleting links would free their _ids, and a concurrent Fail that
// read an old head could then insert a link under one and return a Count
// already given; a chain is deleted only by the cleaner, once its head
// has expired.)
func (s *Store) Reset(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		prev, err := s.head(ctx, k)
		if err != nil {
			return fmt.Errorf("mongo: reset throttle counters: %w", err)
		}
		if prev == nil {
			continue
		}
		if _, err := s.appendLink(ctx, k, func(*throttleDoc) throttleDoc { return throttleDoc{} }); err != nil {
			return fmt.Errorf("mongo: reset throttle counters: %w", err)
		}
	}
	return nil
}

// DeleteStaleThrottles implements [guard.Cleaner]: it deletes the chains
// whose head's Expires is at or before now, and reports how many
// counters it deleted. A Fail racing with the deletion of an expired
// counter restarts it either way (Count 1); two such Fails may both get
// Count 1.
func (s *Store) DeleteStaleThrottles(ctx context.Context, now time.Time) (int, error) {
	cur, err := s.throttle.Find(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$lte", Value: codec.Nanos(now)}}}},
		options.Find().SetProjection(bson.D{{Key: "k", Value: 1}, {Key: "n", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("mongo: delete stale throttle counters: %w", err)
	}
	var docs []throttleDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("mongo: delete stale throttle counters: %w", err)
	}
	seen := make(map[string]bool)
	deleted := 0
	for _, d := range docs {
		if seen[d.Key] {
			continue
		}
		seen[d.Key] = true
		head, err := s.head(ctx, d.Key)
		if err != nil {
			return deleted, fmt.Errorf("mongo: delete stale throttle counters: %w", err)
		}
		if head == nil || head.Exp > codec.Nanos(now) {
			continue
		}
		removed := false
		for n := head.N; n >= 1; n-- {
			res, err := s.throttle.DeleteOne(ctx, bson.D{{Key: "_id", Value: linkID(d.Key, n)}})
			if err != nil {
				return deleted, fmt.Errorf("mongo: delete stale throttle counters: %w", err)
			}
			removed = removed || res.DeletedCount > 0
		}
		if _, err := s.throttle.DeleteOne(ctx, bson.D{{Key: "_id", Value: hintKey(d.Key)}}); err != nil {
			return deleted, fmt.Errorf("mongo: delete stale throttle counters: %w", err)
		}
		if removed && head.C > 0 {
			deleted++
		}
	}
	return deleted, nil
}
