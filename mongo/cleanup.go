package mongo

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sesame-auth/sesame/internal/cleanup"
	"github.com/sesame-auth/sesame/internal/codec"
	"github.com/sesame-auth/sesame/session"
)

// defaultRefreshBatch bounds the expired refresh tokens one DeleteExpired
// removes when its limit is 0 or less.
const defaultRefreshBatch = 1000

// DeleteExpired implements [session.Cleaner]. It removes refresh tokens
// past their expiry, at most limit sessions whose deadline is at or before
// now, and the change feed's entries older than keepChanges before now
// (entries are timed by the writer's clock; see trimChanges).
//
// Candidates are found through the dl field, which is never later than a
// session's real deadline (Touch does not move it); each candidate's
// record is checked: one still live gets its dl moved to its real
// deadline, one expired has its revocation recorded in the feed and is
// then deleted only if unchanged since it was read (same version and
// LastSeen), with its refresh tokens. The TTL index removes sessions only
// an Options.Slack after their absolute end, so idle-expired sessions are
// this cleaner's work; until then reads return them and the manager
// refuses them by its own clock.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (int, error) {
	sessions, _, err := s.deleteExpired(ctx, now, keepChanges, limit)
	if err != nil {
		return 0, fmt.Errorf("mongo: delete expired sessions: %w", err)
	}
	return sessions, nil
}

func (s *Store) deleteExpired(ctx context.Context, now time.Time, keepChanges time.Duration, limit int) (sessions, refresh int, err error) {
	n := codec.Nanos(now)
	refreshLimit := limit
	if limit <= 0 {
		refreshLimit = defaultRefreshBatch
	}
	// Expired refresh tokens, a batch through the exp index.
	cur, err := s.refresh.Find(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$lte", Value: n}}}},
		options.Find().SetLimit(int64(refreshLimit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, 0, err
	}
	var rdocs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &rdocs); err != nil {
		return 0, 0, err
	}
	if len(rdocs) > 0 {
		ids := make(bson.A, len(rdocs))
		for i, d := range rdocs {
			ids[i] = d.ID
		}
		res, err := s.refresh.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return 0, 0, err
		}
		refresh = int(res.DeletedCount)
	}
	if _, err := s.used.DeleteMany(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$lte", Value: n}}}}); err != nil {
		return 0, 0, err
	}
	// A bounded number of rounds: a candidate that changed under the
	// cleaner is read again, but one changing all the time waits for the
	// next call.
	for round := 0; sessions < limit && round < 10; round++ {
		cur, err := s.sessions.Find(ctx, bson.D{{Key: "dl", Value: bson.D{{Key: "$lte", Value: n}}}},
			options.Find().SetSort(bson.D{{Key: "dl", Value: 1}}).SetLimit(int64(limit-sessions)).
				SetProjection(bson.D{{Key: "uid", Value: 1}, {Key: "ls", Value: 1}, {Key: "idle", Value: 1}, {Key: "exp", Value: 1}, {Key: "v", Value: 1},
					{Key: "tok", Value: 1}, {Key: "prev", Value: 1}}))
		if err != nil {
			return sessions, refresh, err
		}
		var docs []sessionDoc
		if err := cur.All(ctx, &docs); err != nil {
			return sessions, refresh, err
		}
		if len(docs) == 0 {
			break
		}
		for _, d := range docs {
			ls, err := s.seenOf(ctx, d.ID)
			if err != nil {
				return sessions, refresh, err
			}
			d.LS = max(d.LS, ls)
			deadline := d.Exp
			if d.Idle < 0 || d.LS <= math.MaxInt64-d.Idle {
				deadline = min(d.LS+d.Idle, d.Exp)
			}
			unchanged := bson.D{{Key: "_id", Value: d.ID}, {Key: "v", Value: d.V}}
			if deadline > n {
				// Still live (touched since dl was written): move dl, as an
				// Update does, under a claim on the next version, so that
				// the write cannot undo a concurrent Update. A lost claim
				// leaves it for the next pass.
				_, err := s.versions.InsertOne(ctx, bson.D{{Key: "_id", Value: versionID(d.ID, d.V+1)}, {Key: "sid", Value: d.ID}})
				if mdb.IsDuplicateKeyError(err) {
					continue
				}
				if err != nil {
					return sessions, refresh, err
				}
				if _, err := s.sessions.UpdateOne(ctx, unchanged, bson.D{{Key: "$set", Value: bson.D{
					{Key: "dl", Value: deadline}, {Key: "ls", Value: d.LS}, {Key: "v", Value: d.V + 1}}}}); err != nil {
					return sessions, refresh, err
				}
				continue
			}
			if err := s.appendChange(ctx, session.ChangeRevoked, d.ID, d.UID); err != nil {
				return sessions, refresh, err
			}
			res, err := s.sessions.DeleteOne(ctx, unchanged)
			if err != nil {
				return sessions, refresh, err
			}
			if res.DeletedCount > 0 {
				sessions++
				if err := s.dropTokens(ctx, d.Tok, d.Prev); err != nil {
					return sessions, refresh, err
				}
				if err := s.deleteSessionRest(ctx, d.ID); err != nil {
					return sessions, refresh, err
				}
			}
		}
	}
	// The feed is trimmed last, so that a call whose now is far enough
	// ahead trims the revocations it has just recorded too.
	if err := s.trimChanges(ctx, now.Add(-keepChanges)); err != nil {
		return sessions, refresh, err
	}
	return sessions, refresh, nil
}

// RunCleanup removes expired sessions and refresh tokens and trims the
// change feed until ctx ends: every round deletes batches of at most batch
// sessions until a batch comes back short, then sleeps for every. Errors
// are logged and retried next round. every <= 0 means one minute, batch <
// 1 means 1, and a nil logger discards. Several nodes may run it at once.
// Run it in its own goroutine; it returns when ctx is done.
func (s *Store) RunCleanup(ctx context.Context, every time.Duration, batch int, keepChanges time.Duration, logger *slog.Logger) {
	batch = max(batch, 1)
	cleanup.Loop(ctx, "mongo", every, logger, func(ctx context.Context) (removed, batches int, err error) {
		for {
			sessions, refresh, err := s.deleteExpired(ctx, time.Now(), keepChanges, batch)
			removed += sessions
			batches++
			if err != nil {
				return removed, batches, fmt.Errorf("mongo: delete expired sessions: %w", err)
			}
			if sessions < batch && refresh < batch {
				return removed, batches, nil
			}
		}
	})
}
