package mongo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/codec"
	"github.com/sesame-auth/sesame/session"
)

// sessionDoc is a session as the sessions collection holds it. Times are
// unix nanoseconds (BSON dates keep milliseconds only); TTL is the date
// the TTL index removes the document at (the absolute end plus the
// slack); DL is a deadline that is never later than the real one (Touch
// does not move it), which the cleaner uses to find candidates and then
// checks against the record.
type sessionDoc struct {
	ID   string `bson:"_id"`
	UID  string `bson:"uid"`
	Tok  []byte `bson:"tok"`
	Prev []byte `bson:"prev,omitempty"`
	PVU  int64  `bson:"pvu"`
	CA   int64  `bson:"ca"`
	LS   int64  `bson:"ls"`
	Idle int64  `bson:"idle"`
	Exp  int64  `bson:"exp"`
	Rem  bool   `bson:"rem"`
	Auth int64  `bson:"auth"`
	UA   []byte `bson:"ua"`
	IP   []byte `bson:"ip"`
	V    int64  `bson:"v"`
	Data []byte `bson:"data,omitempty"`
	AF   []byte `bson:"af,omitempty"` // codec.EncodeSessionAuth: AMR, ACR, FactorTime, Pending
	DL   int64  `bson:"dl"`
	TTL  any    `bson:"ttl"`
}

func (s *Store) encodeSession(x *sesame.Session) *sessionDoc {
	return &sessionDoc{
		ID: x.ID, UID: x.UserID, Tok: slices.Clone(x.TokenHash[:]), Prev: slices.Clone(codec.HashOrNil(&x.PrevTokenHash)),
		PVU: codec.Nanos(x.PrevValidUntil), CA: codec.Nanos(x.CreatedAt), LS: codec.Nanos(x.LastSeen),
		Idle: int64(x.IdleTimeout), Exp: codec.Nanos(x.ExpiresAt), Rem: x.Remember, Auth: codec.Nanos(x.AuthTime),
		UA: []byte(x.Device.UserAgent), IP: []byte(x.Device.IP), V: x.Version, Data: codec.EncodeData(x.Data), AF: codec.EncodeSessionAuth(x),
		DL: codec.Nanos(x.Deadline()), TTL: s.ttlDate(x.ExpiresAt),
	}
}

func (d *sessionDoc) decode() (*sesame.Session, error) {
	x := &sesame.Session{
		ID: d.ID, UserID: d.UID, Remember: d.Rem, Version: d.V,
		PrevValidUntil: codec.FromNanos(d.PVU), CreatedAt: codec.FromNanos(d.CA), LastSeen: codec.FromNanos(d.LS),
		IdleTimeout: time.Duration(d.Idle), ExpiresAt: codec.FromNanos(d.Exp), AuthTime: codec.FromNanos(d.Auth),
		Device: sesame.Device{UserAgent: string(d.UA), IP: string(d.IP)},
	}
	if len(d.Tok) != 32 || (d.Prev != nil && len(d.Prev) != 32) {
		return nil, fmt.Errorf("session %s: stored token hash has the wrong length", d.ID)
	}
	copy(x.TokenHash[:], d.Tok)
	copy(x.PrevTokenHash[:], d.Prev)
	var err error
	if x.Data, err = codec.DecodeData(d.Data); err != nil {
		return nil, fmt.Errorf("session %s: %w", d.ID, err)
	}
	if err := codec.DecodeSessionAuth(x, d.AF); err != nil {
		return nil, fmt.Errorf("session %s: %w", d.ID, err)
	}
	return x, nil
}

// readOne decodes the one document r found, with the LastSeen that Touch
// recorded, or returns ErrNotFound.
func (s *Store) readOne(ctx context.Context, r *mdb.SingleResult, what string) (*sesame.Session, error) {
	var d sessionDoc
	if err := r.Decode(&d); err != nil {
		if errors.Is(err, mdb.ErrNoDocuments) {
			return nil, sesame.ErrNotFound
		}
		return nil, fmt.Errorf("mongo: %s: %w", what, err)
	}
	ls, err := s.seenOf(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("mongo: %s: %w", what, err)
	}
	d.LS = max(d.LS, ls)
	return d.decode()
}

// seenOf is the LastSeen Touch recorded for the session, 0 when none.
func (s *Store) seenOf(ctx context.Context, id string) (int64, error) {
	var t struct {
		LS int64 `bson:"ls"`
	}
	err := s.seen.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&t)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return 0, nil
	}
	return t.LS, err
}

// versionID is the _id of the claim on a session's version v.
func versionID(id string, v int64) string { return fmt.Sprintf("%s|%020d", id, v) }

// Create implements [session.Store]. The token's entry in session_tokens
// (keyed by the hash's hex, the only kind of lookup FerretDB serves from
// an index) is inserted first: its unique _id refuses a duplicate token
// hash. Then the record, whose unique _id refuses a duplicate ID (the
// token entry is then removed again). A crash between the two leaves an
// entry that names no record: ByToken reads it as not found. Both
// duplicates are *sesame.Error with code [sesame.EConflict].
func (s *Store) Create(ctx context.Context, x *sesame.Session) error {
	_, err := s.tokens.InsertOne(ctx, tokenDoc{Hash: hex.EncodeToString(x.TokenHash[:]), SID: x.ID})
	if mdb.IsDuplicateKeyError(err) {
		return sesame.Wrap(sesame.EConflict, err, "session token exists")
	}
	if err != nil {
		return fmt.Errorf("mongo: create session: %w", err)
	}
	if err := s.step("create:token"); err != nil {
		return err
	}
	_, err = s.sessions.InsertOne(ctx, s.encodeSession(x))
	if mdb.IsDuplicateKeyError(err) {
		s.tokens.DeleteOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(x.TokenHash[:])}})
		return sesame.Wrap(sesame.EConflict, err, "session id or token exists")
	}
	if err != nil {
		return fmt.Errorf("mongo: create session: %w", err)
	}
	return nil
}

// tokenDoc maps a session token hash (current or previous) to its session.
type tokenDoc struct {
	Hash string `bson:"_id"`
	SID  string `bson:"sid"`
}

// dropTokens deletes the token entries of hashes (zero hashes skipped).
func (s *Store) dropTokens(ctx context.Context, hashes ...[]byte) error {
	for _, h := range hashes {
		if len(h) != 32 || [32]byte(h) == ([32]byte{}) {
			continue
		}
		if _, err := s.tokens.DeleteOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(h)}}); err != nil {
			return err
		}
	}
	return nil
}

// ByToken implements [session.Store]: the token's entry names the
// session, whose record must carry the hash (as its token, or as its
// previous one): an entry left behind by a crash or a renewal never makes
// a session reachable by a token it no longer has. The zero hash matches
// nothing.
func (s *Store) ByToken(ctx context.Context, h [32]byte) (*sesame.Session, error) {
	if h == ([32]byte{}) {
		return nil, sesame.ErrNotFound
	}
	var t tokenDoc
	err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(h[:])}}).Decode(&t)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mongo: session by token: %w", err)
	}
	x, err := s.ByID(ctx, t.SID)
	if err != nil {
		return nil, err
	}
	if x.TokenHash != h && x.PrevTokenHash != h {
		return nil, sesame.ErrNotFound
	}
	return x, nil
}

// ByID implements [session.Store].
func (s *Store) ByID(ctx context.Context, id string) (*sesame.Session, error) {
	return s.readOne(ctx, s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}), "session by id")
}

// Update implements [session.Store]. FerretDB 1.x applies no update
// atomically (it reads the document and writes it back), so the
// compare-and-swap on Version is the insert of a claim on version
// Version+1 in the session_versions collection, whose unique _id lets
// exactly one of any number of concurrent Updates of one version in. The
// winner alone then writes the record (keeping the later LastSeen), and
// appends the change to the feed. A crash between the claim and the write
// leaves the session at its version with the next one claimed: every
// later Update of it is a conflict, so it can no longer be renewed or
// changed until it ends (the user signs in again); nothing is accepted
// that should not be. A crash between the write and the feed append
// leaves the update unannounced: processes that cached the earlier
// version keep it until they next read the session (as on Redis).
func (s *Store) Update(ctx context.Context, x *sesame.Session) error {
	_, err := s.versions.InsertOne(ctx, bson.D{{Key: "_id", Value: versionID(x.ID, x.Version+1)}, {Key: "sid", Value: x.ID}})
	if mdb.IsDuplicateKeyError(err) {
		ok, err := s.sessionExists(ctx, x.ID)
		switch {
		case err != nil:
			return fmt.Errorf("mongo: update session: %w", err)
		case ok:
			return sesame.ErrConflict
		}
		return sesame.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("mongo: update session: %w", err)
	}
	if err := s.step("update:claim"); err != nil {
		return err
	}
	_, err = s.tokens.InsertOne(ctx, tokenDoc{Hash: hex.EncodeToString(x.TokenHash[:]), SID: x.ID})
	if mdb.IsDuplicateKeyError(err) {
		var t tokenDoc
		if err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(x.TokenHash[:])}}).Decode(&t); err != nil || t.SID != x.ID {
			return sesame.Errorf(sesame.EConflict, "session token exists")
		}
	} else if err != nil {
		return fmt.Errorf("mongo: update session: %w", err)
	}
	set := bson.D{
		{Key: "tok", Value: x.TokenHash[:]}, {Key: "pvu", Value: codec.Nanos(x.PrevValidUntil)},
		{Key: "idle", Value: int64(x.IdleTimeout)}, {Key: "exp", Value: codec.Nanos(x.ExpiresAt)},
		{Key: "rem", Value: x.Remember}, {Key: "auth", Value: codec.Nanos(x.AuthTime)},
		{Key: "ua", Value: []byte(x.Device.UserAgent)}, {Key: "ip", Value: []byte(x.Device.IP)},
		{Key: "dl", Value: codec.Nanos(x.Deadline())}, {Key: "ttl", Value: s.ttlDate(x.ExpiresAt)},
		{Key: "v", Value: x.Version + 1},
	}
	var unset bson.D
	if p := codec.HashOrNil(&x.PrevTokenHash); p != nil {
		set = append(set, bson.E{Key: "prev", Value: p})
	} else {
		unset = append(unset, bson.E{Key: "prev", Value: ""})
	}
	if d := codec.EncodeData(x.Data); d != nil {
		set = append(set, bson.E{Key: "data", Value: d})
	} else {
		unset = append(unset, bson.E{Key: "data", Value: ""})
	}
	if a := codec.EncodeSessionAuth(x); a != nil {
		set = append(set, bson.E{Key: "af", Value: a})
	} else {
		unset = append(unset, bson.E{Key: "af", Value: ""})
	}
	upd := bson.D{
		{Key: "$set", Value: set},
		{Key: "$max", Value: bson.D{{Key: "ls", Value: codec.Nanos(x.LastSeen)}}},
	}
	if len(unset) > 0 {
		upd = append(upd, bson.E{Key: "$unset", Value: unset})
	}
	// The filter is the _id alone (the claim already decided the race):
	// FerretDB serves only that from an index.
	var got sessionDoc
	err = s.sessions.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: x.ID}}, upd).Decode(&got)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
		// Deleted meanwhile, or a version never written (the claim is on a
		// version the record does not have).
		ok, err := s.sessionExists(ctx, x.ID)
		switch {
		case err != nil:
			return fmt.Errorf("mongo: update session: %w", err)
		case ok:
			return sesame.ErrConflict
		}
		return sesame.ErrNotFound
	case mdb.IsDuplicateKeyError(err):
		return sesame.Wrap(sesame.EConflict, err, "session token exists")
	case err != nil:
		return fmt.Errorf("mongo: update session: %w", err)
	}
	x.Version++
	if err := s.step("update:record"); err != nil {
		return err
	}
	// Entries of hashes the record no longer carries.
	var stale [][]byte
	for _, h := range [][]byte{got.Tok, got.Prev} {
		if len(h) == 32 && [32]byte(h) != x.TokenHash && [32]byte(h) != x.PrevTokenHash {
			stale = append(stale, h)
		}
	}
	if err := s.dropTokens(ctx, stale...); err != nil {
		return fmt.Errorf("mongo: update session: %w", err)
	}
	if err := s.appendChange(ctx, session.ChangeUpdated, x.ID, got.UID); err != nil {
		return fmt.Errorf("mongo: update session: record the change: %w", err)
	}
	return nil
}

// Touch implements [session.Store]. LastSeen goes to the session_seen
// collection, not to the record: FerretDB 1.x writes a whole document
// back on every update, so a Touch racing an Update of the record could
// undo it. Reads take the later of the two. The write is a $max by _id
// (the one filter FerretDB serves from an index); since FerretDB applies
// it as a read and a write-back, two concurrent Touches of one session
// may keep the earlier of their times, never one earlier than was stored
// before both.
func (s *Store) Touch(ctx context.Context, id string, t time.Time) error {
	_, err := s.seen.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$max", Value: bson.D{{Key: "ls", Value: codec.Nanos(t)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mdb.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: touch session: %w", err)
	}
	return nil
}

// Delete implements [session.Store]: it reads the session's user, records
// the revocation in the feed, deletes the record, then its refresh
// tokens. A crash after the feed append leaves a revocation notice for a
// session that still exists (harmless: readers evict it and read it
// again); a crash before the refresh tokens go leaves tokens whose
// session is gone, which read as not found (RefreshByHash checks the
// session) until the cleaner or the TTL index removes them.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	var got sessionDoc
	err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got)
	if errors.Is(err, mdb.ErrNoDocuments) {
		// A retry after a crash that deleted the record but not its tokens
		// finishes the work.
		if err := s.deleteSessionRest(ctx, id); err != nil {
			return false, fmt.Errorf("mongo: delete session: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mongo: delete session: %w", err)
	}
	if err := s.appendChange(ctx, session.ChangeRevoked, id, got.UID); err != nil {
		return false, fmt.Errorf("mongo: delete session: record the revocation: %w", err)
	}
	if err := s.step("delete:feed"); err != nil {
		return false, err
	}
	res, err := s.sessions.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return false, fmt.Errorf("mongo: delete session: %w", err)
	}
	if err := s.step("delete:record"); err != nil {
		return false, err
	}
	if err := s.dropTokens(ctx, got.Tok, got.Prev); err != nil {
		return false, fmt.Errorf("mongo: delete session: %w", err)
	}
	if err := s.deleteSessionRest(ctx, id); err != nil {
		return false, fmt.Errorf("mongo: delete session's refresh tokens: %w", err)
	}
	return res.DeletedCount > 0, nil
}

// ListByUser implements [session.Store], through the (uid, ca, _id)
// index. Sessions created at the same instant are ordered by ID.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]*sesame.Session, error) {
	if userID == "" { // anonymous sessions are nobody's
		return nil, nil
	}
	cur, err := s.sessions.Find(ctx, bson.D{{Key: "uid", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "ca", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongo: list sessions: %w", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("mongo: list sessions: %w", err)
	}
	out := make([]*sesame.Session, 0, len(docs))
	for i := range docs {
		ls, err := s.seenOf(ctx, docs[i].ID)
		if err != nil {
			return nil, fmt.Errorf("mongo: list sessions: %w", err)
		}
		docs[i].LS = max(docs[i].LS, ls)
		x, err := docs[i].decode()
		if err != nil {
			return nil, fmt.Errorf("mongo: list sessions: %w", err)
		}
		out = append(out, x)
	}
	return out, nil
}

// DeleteByUser implements [session.Store]: it lists the user's sessions,
// records each revocation, deletes the records, then their refresh tokens,
// in that order for the reasons given at Delete. A crash part-way leaves
// sessions still listed, which a retry deletes. The IDs are returned
// sorted.
func (s *Store) DeleteByUser(ctx context.Context, userID, except string) ([]string, error) {
	if userID == "" { // anonymous sessions are nobody's
		return nil, nil
	}
	cur, err := s.sessions.Find(ctx, bson.D{{Key: "uid", Value: userID}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: except}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "tok", Value: 1}, {Key: "prev", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongo: delete sessions of user: %w", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("mongo: delete sessions of user: %w", err)
	}
	ids := make([]string, 0, len(docs))
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.appendChange(ctx, session.ChangeRevoked, id, userID); err != nil {
			return nil, fmt.Errorf("mongo: delete sessions of user: record the revocation: %w", err)
		}
	}
	in := bson.D{{Key: "$in", Value: ids}}
	if _, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "_id", Value: in}}); err != nil {
		return nil, fmt.Errorf("mongo: delete sessions of user: %w", err)
	}
	for _, d := range docs {
		if err := s.dropTokens(ctx, d.Tok, d.Prev); err != nil {
			return nil, fmt.Errorf("mongo: delete sessions of user: %w", err)
		}
	}
	if err := s.deleteSessionRest(ctx, in); err != nil {
		return nil, fmt.Errorf("mongo: delete sessions of user: refresh tokens: %w", err)
	}
	return ids, nil
}

// deleteSessionRest deletes what belongs to the deleted sessions matched
// by sid (an ID or an $in): refresh tokens, then LastSeen and version
// claims.
func (s *Store) deleteSessionRest(ctx context.Context, sid any) error {
	if err := s.deleteSessionTokens(ctx, sid); err != nil {
		return err
	}
	if _, err := s.seen.DeleteMany(ctx, bson.D{{Key: "_id", Value: sid}}); err != nil {
		return err
	}
	_, err := s.versions.DeleteMany(ctx, bson.D{{Key: "sid", Value: sid}})
	return err
}
