package keyring

import (
	"context"
	"slices"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// Record is the stored form of one signing key. Only Sealed holds key
// material: the private JWK encrypted with the [MasterKey] and bound to
// KID and Alg, so that a blob copied into another row does not open.
type Record struct {
	KID    string         // the key's ID: its RFC 7638 thumbprint
	Alg    jose.Algorithm // the one algorithm the key signs with
	Sealed []byte         // the private JWK, sealed by [MasterKey]

	CreatedAt  time.Time // when the key was generated (and published)
	ActivateAt time.Time // when it may start signing
	RetiredAt  time.Time // when it stops signing; zero while no retirement is scheduled
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := *r
	c.Sealed = slices.Clone(r.Sealed)
	return &c
}

// Store keeps signing key records. Implementations must be safe for
// concurrent use (and by several processes on one database where the
// technology allows), copy records in and out, and pass
// storetest.RunKeys.
//
// Errors: a missing key is [sesame.ErrNotFound]; any other error means the
// store could not answer and nothing was changed.
type Store interface {
	// InsertKey stores a new record. A record with the same KID already
	// stored is an *sesame.Error with code sesame.EConflict, and the stored
	// record is left as it was.
	InsertKey(ctx context.Context, r *Record) error

	// ListKeys returns every stored record, retired or not, ordered by
	// CreatedAt and then KID. An empty store returns no records and no
	// error.
	ListKeys(ctx context.Context) ([]*Record, error)

	// RetireKey schedules the key to stop signing at the given time, which
	// must not be zero. Retirement is never postponed: when the key is
	// already retired at or before at, RetireKey changes nothing and
	// returns nil, so that calling it again is harmless. A missing kid is
	// sesame.ErrNotFound.
	RetireKey(ctx context.Context, kid string, at time.Time) error

	// DeleteKey removes the record. Deleting a missing kid is not an
	// error.
	DeleteKey(ctx context.Context, kid string) error
}
