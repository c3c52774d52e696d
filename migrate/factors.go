package migrate

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/sesame-auth/sesame/factor"
)

// Factors is what a durable store holds of users' second factors: TOTP
// factors (their secrets still sealed by the master key, so the target
// needs the same key), recovery code hashes with their use, and the
// per-user requirement.
type Factors interface {
	ExportFactors(ctx context.Context, fn func(*factor.Factor) error) error
	ExportRecoveryCodes(ctx context.Context, fn func(userID string, hash []byte, createdAt, usedAt time.Time) error) error
	ExportFactorRequirements(ctx context.Context, fn func(userID string) error) error

	PutFactor(ctx context.Context, f *factor.Factor) error
	RemoveFactor(ctx context.Context, id string) error
	PutRecoveryCode(ctx context.Context, userID string, hash []byte, createdAt, usedAt time.Time) error
	RemoveRecoveryCode(ctx context.Context, userID string, hash []byte) error
	SetFactorRequired(ctx context.Context, userID string, required bool) error
}

type recoveryCode struct {
	UserID    string
	Hash      []byte
	CreatedAt time.Time
	UsedAt    time.Time
}

type factorRequirement struct{ UserID string }

func init() { kinds = append(kinds, factorKinds...) }

// factorKinds mirror deletions: a factor removed, a recovery set
// regenerated or a requirement lifted in the source after a first run
// must not come back in the target. A factor whose time step or
// confirmation, or a code whose use, is ahead in the target is not
// overwritten (a code spent there stays spent).
var factorKinds = []kind{
	{name: "second factors",
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportFactors(ctx, func(f *factor.Factor) error { return fn(f.ID, f) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.PutFactor(ctx, r.(*factor.Factor))
		},
		newer: func(t, s any) bool {
			tf, sf := t.(*factor.Factor), s.(*factor.Factor)
			return tf.LastStep > sf.LastStep || tf.Confirmed() && !sf.Confirmed()
		},
		live: always,
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.RemoveFactor(ctx, r.(*factor.Factor).ID)
		}},
	{name: "recovery codes",
		// Still hashed: the target holds no more than the source did.
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportRecoveryCodes(ctx, func(user string, hash []byte, created, used time.Time) error {
				return fn(user+"\x00"+hex.EncodeToString(hash), &recoveryCode{UserID: user, Hash: hash, CreatedAt: created, UsedAt: used})
			})
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			c := r.(*recoveryCode)
			return d.Durable.PutRecoveryCode(ctx, c.UserID, c.Hash, c.CreatedAt, c.UsedAt)
		},
		newer: func(t, s any) bool { return !t.(*recoveryCode).UsedAt.IsZero() && s.(*recoveryCode).UsedAt.IsZero() },
		live:  always,
		del: func(ctx context.Context, d Deployment, r any) error {
			c := r.(*recoveryCode)
			return d.Durable.RemoveRecoveryCode(ctx, c.UserID, c.Hash)
		}},
	{name: "factor requirements",
		// Only users for whom a second factor is required: a switch set
		// back to off is the same as never set.
		export: func(ctx context.Context, d Deployment, fn func(string, any) error) error {
			return d.Durable.ExportFactorRequirements(ctx, func(user string) error { return fn(user, &factorRequirement{UserID: user}) })
		},
		put: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.SetFactorRequired(ctx, r.(*factorRequirement).UserID, true)
		},
		newer: func(t, s any) bool { return false },
		live:  always,
		del: func(ctx context.Context, d Deployment, r any) error {
			return d.Durable.SetFactorRequired(ctx, r.(*factorRequirement).UserID, false)
		}},
}
