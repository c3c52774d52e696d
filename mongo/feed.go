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

// The feed's documents in the meta collection: feedID holds floor, the
// last Seq trimmed (every Seq at or below it is gone or going), written
// only by a cleaner holding trimLockID; hintID holds last, a Seq that was
// written (where writers start looking for the end; it may lag).
const (
	feedID     = "feed"
	hintID     = "feed-hint"
	trimLockID = "feed-trim"
)

// changeDoc is one entry of the change feed, keyed by its Seq written as
// 20 decimal digits (FerretDB serves only a string _id from an index). K
// is the session.ChangeKind.
type changeDoc struct {
	ID  string `bson:"_id"`
	K   int32  `bson:"k"`
	SID string `bson:"sid,omitempty"`
	UID string `bson:"uid,omitempty"`
	T   int64  `bson:"t"`
}

func seqID(seq int64) string { return fmt.Sprintf("%020d", seq) }

// maxAppendAttempts bounds how often a writer starts over.
const maxAppendAttempts = 100

// entry reads the entry with Seq seq, nil when there is none.
func (s *Store) entry(ctx context.Context, seq int64) (*changeDoc, error) {
	var d changeDoc
	err := s.changes.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(seq)}}).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// appendChange adds one change to the feed with single-document
// operations only (FerretDB 1.x runs no update atomically, and has no
// transactions). The writer reads where the feed ended lately (the hint)
// and the floor, then walks forward by _id to the first missing Seq and
// inserts its entry there; when another writer took that Seq first, the
// unique _id refuses the insert and the writer walks on. So an entry is
// only ever written right after one that exists (or right after the
// floor): the feed has no gaps, a reader that has seen Seq n has seen
// every Seq below it, and no entry can appear later below a reader's
// cursor. If the floor passed the Seq meanwhile (a trim raced the walk),
// the entry is below what readers read and the writer starts over: the
// stray entry is a duplicate that only a reader told it missed changes
// could have seen.
func (s *Store) appendChange(ctx context.Context, kind session.ChangeKind, sid, uid string) error {
	for range maxAppendAttempts {
		hint, err := s.feedHint(ctx)
		if err != nil {
			return err
		}
		floor, err := s.feedFloor(ctx)
		if err != nil {
			return err
		}
		seq := max(hint, floor) + 1
		for range maxAppendAttempts {
			d, err := s.entry(ctx, seq)
			if err != nil {
				return err
			}
			if d != nil {
				seq++
				continue
			}
			if err := s.step("feed:seq"); err != nil {
				return err
			}
			_, err = s.changes.InsertOne(ctx, changeDoc{ID: seqID(seq), K: int32(kind), SID: sid, UID: uid, T: codec.Nanos(time.Now())})
			if mdb.IsDuplicateKeyError(err) {
				seq++
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		floor, err = s.feedFloor(ctx)
		if err != nil {
			return err
		}
		if seq > floor {
			// Best effort: a lagging or lost hint only lengthens the walk.
			s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: hintID}},
				bson.D{{Key: "$max", Value: bson.D{{Key: "last", Value: seq}}}}, options.UpdateOne().SetUpsert(true))
			return nil
		}
	}
	return errors.New("too many concurrent writers")
}

// feedHint reads the Seq where writers start looking for the feed's end.
func (s *Store) feedHint(ctx context.Context) (int64, error) {
	var m struct {
		Last int64 `bson:"last"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: hintID}}).Decode(&m)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return 0, nil
	}
	return m.Last, err
}

// feedFloor reads the floor. A missing feed document (a dropped or
// restored database) is created again at the current time in
// microseconds, past every Seq given before, so a reader knows it missed
// changes (SEC-64).
func (s *Store) feedFloor(ctx context.Context) (int64, error) {
	for range 2 {
		var m struct {
			Floor int64 `bson:"floor"`
		}
		err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: feedID}}).Decode(&m)
		if !errors.Is(err, mdb.ErrNoDocuments) {
			return m.Floor, err
		}
		start := time.Now().UnixMicro()
		_, err = s.meta.InsertOne(ctx, bson.D{{Key: "_id", Value: feedID}, {Key: "floor", Value: start}})
		if err != nil && !mdb.IsDuplicateKeyError(err) {
			return 0, err
		}
	}
	return 0, errors.New("the change feed's document keeps disappearing")
}

// lastSeq walks from the hint to the feed's newest entry.
func (s *Store) lastSeq(ctx context.Context) (int64, error) {
	hint, err := s.feedHint(ctx)
	if err != nil {
		return 0, err
	}
	floor, err := s.feedFloor(ctx)
	if err != nil {
		return 0, err
	}
	seq := max(hint, floor)
	for {
		d, err := s.entry(ctx, seq+1)
		if err != nil || d == nil {
			return seq, err
		}
		seq++
	}
}

// Changes implements [session.Store]. The feed has no gaps (see
// appendChange), so the entries after `after` are read one by one by _id
// until the first missing one. oldest is floor+1, where floor is the last
// Seq trimmed: every Seq above it that was ever given is still there. The
// floor is read after the entries, so that a trim between the two reads
// can only make oldest larger (the reader is then told it may have missed
// changes, never the reverse).
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]session.Change, int64, error) {
	var out []session.Change
	if limit > 0 {
		floor, err := s.feedFloor(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("mongo: read change feed: %w", err)
		}
		for seq := max(after, floor) + 1; len(out) < limit; seq++ {
			d, err := s.entry(ctx, seq)
			if err != nil {
				return nil, 0, fmt.Errorf("mongo: read change feed: %w", err)
			}
			if d == nil {
				break
			}
			out = append(out, session.Change{Seq: seq, Kind: session.ChangeKind(d.K), SessionID: d.SID, UserID: d.UID, Time: codec.FromNanos(d.T)})
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

// trimLockTTL is how long a cleaner's hold on the trim may last before
// another cleaner breaks it (the holder died).
const trimLockTTL = 5 * time.Minute

// trimChanges removes the entries older than cutoff from the start of the
// feed: the run after the floor whose entries are all older (the first
// newer entry ends it; entries are timed by their writers' clocks). One
// cleaner trims at a time, holding trimLockID (an insert: FerretDB's
// updates are not atomic, so two cleaners raising the floor together
// could put it back). The floor is raised first, then the entries
// deleted: a reader between the two sees the higher floor.
func (s *Store) trimChanges(ctx context.Context, cutoff time.Time) error {
	now := time.Now()
	_, err := s.meta.InsertOne(ctx, bson.D{{Key: "_id", Value: trimLockID}, {Key: "at", Value: codec.Nanos(now)}})
	if mdb.IsDuplicateKeyError(err) {
		var l struct {
			At int64 `bson:"at"`
		}
		if err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: trimLockID}}).Decode(&l); err == nil && now.Sub(codec.FromNanos(l.At)) > trimLockTTL {
			s.meta.DeleteOne(ctx, bson.D{{Key: "_id", Value: trimLockID}}) // the holder died; trim next time
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer s.meta.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: trimLockID}})
	floor, err := s.feedFloor(ctx)
	if err != nil {
		return err
	}
	c, to := floor, codec.Nanos(cutoff)
	for range maxTrim {
		d, err := s.entry(ctx, c+1)
		if err != nil {
			return err
		}
		if d == nil || d.T >= to {
			break
		}
		c++
	}
	if c == floor {
		return nil
	}
	if _, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: feedID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "floor", Value: c}}}}); err != nil {
		return err
	}
	for seq := floor + 1; seq <= c; seq++ {
		if _, err := s.changes.DeleteOne(ctx, bson.D{{Key: "_id", Value: seqID(seq)}}); err != nil {
			return err
		}
	}
	return nil
}
