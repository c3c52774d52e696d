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
	"github.com/sesame-auth/sesame/token"
)

// refreshDoc is a refresh token as the refresh_tokens collection holds
// it, keyed by its hash. It is never updated: a redemption is a usedDoc.
type refreshDoc struct {
	Hash  string   `bson:"_id"`
	Fam   string   `bson:"fam"`
	SID   string   `bson:"sid"`
	UID   string   `bson:"uid"`
	CID   string   `bson:"cid"`
	Scope string   `bson:"scope"`
	Aud   []string `bson:"aud,omitempty"`
	JTI   string   `bson:"jti"`
	CA    int64    `bson:"ca"`
	Exp   int64    `bson:"exp"`
	FExp  int64    `bson:"fexp"`
	TTL   any      `bson:"ttl"`
}

// usedDoc records the redemption of the token whose hash is its _id, in
// the refresh_used collection: inserting it is the compare-and-swap of
// RedeemRefresh (the unique _id lets exactly one redeemer in). Next is the
// successor's document, so that a redemption that died before inserting
// the successor can be finished. Fam, SID and Exp are the token's, for
// DeleteFamily, session deletion and the cleaner.
type usedDoc struct {
	Hash string      `bson:"_id"`
	Fam  string      `bson:"fam"`
	SID  string      `bson:"sid"`
	Exp  int64       `bson:"exp"`
	At   int64       `bson:"at"`
	Next *refreshDoc `bson:"next"`
	TTL  any         `bson:"ttl"`
}

func (s *Store) encodeRefresh(r *token.Refresh, family string) *refreshDoc {
	d := &refreshDoc{
		Hash: hex.EncodeToString(r.Hash[:]), Fam: family, SID: r.SessionID, UID: r.UserID, CID: r.ClientID,
		Scope: r.Scope, Aud: slices.Clone(r.Audience), JTI: r.AccessJTI,
		CA: codec.Nanos(r.CreatedAt), Exp: codec.Nanos(r.ExpiresAt), FExp: codec.Nanos(r.FamilyExpiresAt),
		TTL: s.ttlDate(r.ExpiresAt),
	}
	return d
}

func (d *refreshDoc) decode() (*token.Refresh, error) {
	h, err := hex.DecodeString(d.Hash)
	if err != nil || len(h) != 32 {
		return nil, errors.New("stored refresh token hash is not 32 bytes of hex")
	}
	r := &token.Refresh{
		FamilyID: d.Fam, SessionID: d.SID, UserID: d.UID, ClientID: d.CID, Scope: d.Scope,
		AccessJTI: d.JTI, CreatedAt: codec.FromNanos(d.CA), ExpiresAt: codec.FromNanos(d.Exp),
		FamilyExpiresAt: codec.FromNanos(d.FExp),
	}
	if len(d.Aud) > 0 {
		r.Audience = d.Aud
	}
	copy(r.Hash[:], h)
	return r, nil
}

// sessionExists reports whether the session with id exists.
func (s *Store) sessionExists(ctx context.Context, id string) (bool, error) {
	err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mdb.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, err
}

// CreateRefresh implements [token.Store]. A token for a session that does
// not exist is refused, as by the SQL stores' foreign key; a duplicate
// hash is refused by the unique _id. Both are *sesame.Error with code
// [sesame.EConflict]. (A session deleted between the check and the
// insert leaves a token that reads as not found: RefreshByHash checks the
// session too.)
func (s *Store) CreateRefresh(ctx context.Context, r *token.Refresh) error {
	ok, err := s.sessionExists(ctx, r.SessionID)
	if err != nil {
		return fmt.Errorf("mongo: create refresh token: %w", err)
	}
	if !ok {
		return sesame.Errorf(sesame.EConflict, "refresh token's session does not exist")
	}
	_, err = s.refresh.InsertOne(ctx, s.encodeRefresh(r, r.FamilyID))
	if mdb.IsDuplicateKeyError(err) {
		return sesame.Wrap(sesame.EConflict, err, "refresh token exists")
	}
	if err != nil {
		return fmt.Errorf("mongo: create refresh token: %w", err)
	}
	return nil
}

// RefreshByHash implements [token.Store]. A token whose session is gone
// reads as not found, so no refresh token outlives its session even when
// a crash left it behind. Reading a used token whose successor is missing
// inserts the successor its redemption records: a redeemer died between
// its two steps, and the client's retry that reads the token here then
// finds the successor (SEC-66).
func (s *Store) RefreshByHash(ctx context.Context, h [32]byte) (*token.Refresh, error) {
	var d refreshDoc
	err := s.refresh.FindOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(h[:])}}).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, sesame.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mongo: refresh token by hash: %w", err)
	}
	ok, err := s.sessionExists(ctx, d.SID)
	if err != nil {
		return nil, fmt.Errorf("mongo: refresh token by hash: %w", err)
	}
	if !ok {
		return nil, sesame.ErrNotFound
	}
	r, err := d.decode()
	if err != nil {
		return nil, fmt.Errorf("mongo: refresh token by hash: %w", err)
	}
	var u usedDoc
	err = s.used.FindOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(h[:])}}).Decode(&u)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("mongo: refresh token by hash: %w", err)
	}
	r.UsedAt = codec.FromNanos(u.At)
	if u.Next != nil {
		if _, err := s.refresh.InsertOne(ctx, u.Next); err != nil && !mdb.IsDuplicateKeyError(err) {
			return nil, fmt.Errorf("mongo: refresh token by hash: insert the successor: %w", err)
		}
	}
	return r, nil
}

// RedeemRefresh implements [token.Store] in two steps. The
// compare-and-swap is the insert of the token's usedDoc, whose unique _id
// lets exactly one of any number of concurrent redemptions in (FerretDB
// 1.x applies no update atomically; an insert under a unique key is what
// it does atomically). The usedDoc records the successor. Then the
// successor is inserted, in the family of the token redeemed. A crash
// between the two leaves a used token that names a successor not yet
// inserted; the client's retry reads the used token (RefreshByHash), which
// inserts that successor, so the retry within the grace gets this
// successor and no other (SEC-66). next.FamilyID is ignored.
func (s *Store) RedeemRefresh(ctx context.Context, h [32]byte, at time.Time, next *token.Refresh) error {
	var old refreshDoc
	err := s.refresh.FindOne(ctx, bson.D{{Key: "_id", Value: hex.EncodeToString(h[:])}}).Decode(&old)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return sesame.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("mongo: redeem refresh token: %w", err)
	}
	succ := s.encodeRefresh(next, old.Fam)
	_, err = s.used.InsertOne(ctx, usedDoc{Hash: hex.EncodeToString(h[:]), Fam: old.Fam, SID: old.SID, Exp: old.Exp,
		At: codec.Nanos(at), Next: succ, TTL: old.TTL})
	if mdb.IsDuplicateKeyError(err) {
		return sesame.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("mongo: redeem refresh token: %w", err)
	}
	if err := s.step("redeem:swap"); err != nil {
		return err
	}
	// A duplicate is this very successor, inserted meanwhile by a
	// RefreshByHash of the redeemed token.
	if _, err := s.refresh.InsertOne(ctx, succ); err != nil && !mdb.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: redeem refresh token: insert the successor: %w", err)
	}
	return nil
}

// DeleteFamily implements [token.Store]: the redemptions first (they
// carry successors), then the tokens, so that a crash in between leaves
// no redemption from which RefreshByHash could insert a successor again.
func (s *Store) DeleteFamily(ctx context.Context, familyID string) error {
	if _, err := s.used.DeleteMany(ctx, bson.D{{Key: "fam", Value: familyID}}); err != nil {
		return fmt.Errorf("mongo: delete refresh family: %w", err)
	}
	if err := s.step("family:used"); err != nil {
		return err
	}
	if _, err := s.refresh.DeleteMany(ctx, bson.D{{Key: "fam", Value: familyID}}); err != nil {
		return fmt.Errorf("mongo: delete refresh family: %w", err)
	}
	return nil
}

// deleteSessionTokens deletes the refresh tokens (redemptions first) of
// the sessions matched by sid (an ID or an $in).
func (s *Store) deleteSessionTokens(ctx context.Context, sid any) error {
	if _, err := s.used.DeleteMany(ctx, bson.D{{Key: "sid", Value: sid}}); err != nil {
		return err
	}
	_, err := s.refresh.DeleteMany(ctx, bson.D{{Key: "sid", Value: sid}})
	return err
}
