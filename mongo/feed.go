package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sesame-auth/sesame/internal/codec"
	"github.com/sesame-auth/sesame/session"
)

// feedID is the _id of the feed's document in the meta collection: floor
// is the last Seq trimmed (every Seq at or below it is gone or going).
const feedID = "feed"

// changeDoc is one entry of the change feed. K is the session.ChangeKind.
type changeDoc struct {
	Seq int64  `bson:"_id"`
	K   int32  `bson:"k"`
	SID string `bson:"sid,omitempty"`
	UID string `bson:"uid,omitempty"`
	T   int64  `bson:"t"`
}

// maxAppendAttempts bounds how often a writer tries the next Seq after
// other writers took the one it chose.
const maxAppendAttempts = 100

// appendChange adds one change to the feed with single-document
// operations only (FerretDB 1.x runs no update atomically, and has no
// transactions): it reads the last entry, then the floor, and inserts its
// entry under the Seq after the larger; the unique _id refuses the insert
// when a concurrent writer took that Seq, and the writer tries again. An
// entry is therefore only ever written right after one that exists (or
// right after the floor), so the feed has no gaps: a reader that has seen
// Seq n has seen every Seq below it, and no entry can appear later below
// a reader's cursor. The floor is read after the last entry, and the
// cleaner raises the floor before it deletes entries, so a writer never
// takes a Seq at or below the floor (which would be reused).
func (s *Store) appendChange(ctx context.Context, kind session.ChangeKind, sid, uid string) error {
	for range maxAppendAttempts {
		last, err := s.lastSeq(ctx)
		if err != nil {
			return err
		}
		floor, err := s.feedFloor(ctx)
		if err != nil {
			return err
		}
		seq := max(last, floor) + 1
		if err := s.step("feed:seq"); err != nil {
			return err
		}
		_, err = s.changes.InsertOne(ctx, changeDoc{Seq: seq, K: int32(kind), SID: sid, UID: uid, T: codec.Nanos(time.Now())})
		if err == nil {
			return nil
		}
		if !mdb.IsDuplicateKeyError(err) {
			return err
		}
	}
	return errors.New("too many concurrent writers")
}

// lastSeq is the Seq of the feed's newest entry, 0 when it has none.
func (s *Store) lastSeq(ctx context.Context) (int64, error) {
	var d changeDoc
	err := s.changes.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return 0, nil
	}
	return d.Seq, err
}

// feedFloor reads the floor. A missing feed document (a dropped or
// restored database) reads as the current time in microseconds, past
// every Seq given before, so a reader knows it missed changes (SEC-64).
func (s *Store) feedFloor(ctx context.Context) (int64, error) {
	var m struct {
		Floor int64 `bson:"floor"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: feedID}}).Decode(&m)
	if errors.Is(err, mdb.ErrNoDocuments) {
		start := time.Now().UnixMicro()
		_, err := s.meta.InsertOne(ctx, bson.D{{Key: "_id", Value: feedID}, {Key: "floor", Value: start}})
		if err != nil && !mdb.IsDuplicateKeyError(err) {
			return 0, err
		}
		return s.feedFloorOnce(ctx)
	}
	return m.Floor, err
}

func (s *Store) feedFloorOnce(ctx context.Context) (int64, error) {
	var m struct {
		Floor int64 `bson:"floor"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: feedID}}).Decode(&m)
	return m.Floor, err
}

// Changes implements [session.Store]. The feed has no gaps (see
// appendChange), so the entries after `after` are returned as they are.
// oldest is floor+1, where floor is the last Seq trimmed: every Seq above
// it that was ever given is still there. The floor is read after the
// entries, so that a trim between the two reads can only make oldest
// larger (the reader is then told it may have missed changes, never the
// reverse).
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	var out []session.Change
	if limit > 0 {
		cur, err := s.changes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
			options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
		if err != nil {
			return nil, 0, fmt.Errorf("mongo: read change feed: %w", err)
		}
		var docs []changeDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, 0, fmt.Errorf("mongo: read change feed: %w", err)
		}
		for _, d := range docs {
			out = append(out, session.Change{Seq: d.Seq, Kind: session.ChangeKind(d.K), SessionID: d.SID, UserID: d.UID, Time: codec.FromNanos(d.T)})
		}
	}
	floor, err := s.feedFloor(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("mongo: read change feed: %w", err)
	}
	return out, floor + 1, nil
}

// maxTrim bounds the entries one cleaner pass trims from the feed.
const maxTrim = 10000

// trimChanges removes the entries older than cutoff from the start of the
// feed: the run after the floor whose entries are all older (the first
// newer entry ends it; entries are timed by their writers' clocks, which
// may disagree a little). The floor is raised first, then the entries
// deleted: a reader between the two sees the higher floor.
func (s *Store) trimChanges(ctx context.Context, cutoff time.Time) error {
	floor, err := s.feedFloor(ctx)
	if err != nil {
		return err
	}
	cur, err := s.changes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: floor}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(maxTrim).
			SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "t", Value: 1}}))
	if err != nil {
		return err
	}
	var docs []changeDoc
	if err := cur.All(ctx, &docs); err != nil {
		return err
	}
	c, to := floor, codec.Nanos(cutoff)
	for _, d := range docs {
		if d.T >= to {
			break
		}
		c = d.Seq
	}
	if c > floor {
		if _, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: feedID}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "floor", Value: c}}}}); err != nil {
			return err
		}
	}
	// Entries at or below the floor, also those a crashed earlier pass
	// left behind.
	_, err = s.changes.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$lte", Value: max(c, floor)}}}})
	return err
}
