package factor

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-auth/sesame"
)

// MaxFactors bounds a user's TOTP factors (confirmed ones and enrolments
// still open).
const MaxFactors = 10

// MaxNameBytes bounds a factor's name.
const MaxNameBytes = 64

// EnrolmentTTL is how long an enrolment may wait for its first code.
const EnrolmentTTL = 15 * time.Minute

// secretBytes is the size of a TOTP secret: 160 bits, the HMAC-SHA-1
// output size RFC 4226 §4 recommends.
const secretBytes = 20

// sealPurpose is the purpose a TOTP secret is sealed under (with the
// factor's ID).
const sealPurpose = "totp"

// defaultName is a factor's name when the user gives none.
const defaultName = "Authenticator"

// ErrWrongCode is the one answer to a code that does not verify: wrong,
// already used (replayed), malformed, or for a user without factors, so
// that a caller cannot tell these apart.
var ErrWrongCode = &sesame.Error{Code: sesame.EUnauthenticated, Message: "the code is wrong or was already used"}

// ErrTooManyFactors refuses an enrolment beyond [MaxFactors].
var ErrTooManyFactors = &sesame.Error{Code: sesame.EInvalid,
	Message: "too many authenticators: remove one before adding another"}

// Sealer seals secrets for storage; *keyring.MasterKey satisfies it.
// Unseal opens only what Seal wrote for the same purpose and id.
type Sealer interface {
	Seal(purpose, id string, plaintext []byte) []byte
	Unseal(purpose, id string, sealed []byte) ([]byte, error)
}

// Config configures a [Service].
type Config struct {
	// Store keeps factors, recovery code hashes and the requirement.
	// Required.
	Store Store
	// Sealer seals TOTP secrets (the master key). Required.
	Sealer Sealer
	// Issuer names the service in authenticator apps (the otpauth
	// issuer), e.g. "Sesame" or the public host. It may not contain a
	// colon. Default "Sesame".
	Issuer string
	// Clock tells the time. Default: the system clock.
	Clock sesame.Clock
	// RecoveryKey keys the hashes of recovery codes (HMAC-SHA256 of the
	// user's ID and the code): with it, a copy of the database alone is
	// not enough to search the codes offline. Changing it voids every
	// recovery code. Default none: SHA-256 (package app derives one from
	// the master key).
	RecoveryKey []byte
	// Skew is how many time steps on each side of the current one a code
	// may be from (clock drift, a code typed as it changed). Default 1
	// (RFC 6238 §5.2's one step back, and one ahead); at most 10.
	Skew int
}

// Service enrols and checks TOTP factors and recovery codes. It emits no
// audit events and does no throttling: its caller (package account) does
// both. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a service for cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("factor: Store is required")
	}
	if cfg.Sealer == nil {
		return nil, errors.New("factor: Sealer is required")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Sesame"
	}
	if strings.Contains(cfg.Issuer, ":") {
		return nil, errors.New("factor: Issuer may not contain a colon")
	}
	if cfg.Skew == 0 {
		cfg.Skew = 1
	}
	if cfg.Skew < 0 || cfg.Skew > 10 {
		return nil, errors.New("factor: Skew must be 0 (default 1) to 10")
	}
	cfg.Clock = sesame.ClockOrSystem(cfg.Clock)
	return &Service{cfg: cfg}, nil
}

// unavailable wraps a store failure: the caller answers 503.
func unavailable(err error) error {
	return sesame.Wrap(sesame.EUnavailable, err, "second factors are unavailable")
}

// notFound is the answer for a factor that is not the user's.
var notFound = &sesame.Error{Code: sesame.ENotFound, Message: "no such authenticator", Err: sesame.ErrNotFound}

func (s *Service) now() time.Time { return s.cfg.Clock.Now() }

// Enrollment is a TOTP enrolment waiting for its first code.
type Enrollment struct {
	ID     string // the factor's ID, for ConfirmTOTP
	Secret string // the secret in base32 without padding, to type in by hand
	URI    string // the otpauth:// URI, for a QR code ([QRCodeSVG])
}

// cleanName returns the name a factor is stored under: trimmed, valid
// UTF-8 without control characters, at most MaxNameBytes, default
// "Authenticator".
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return defaultName, nil
	}
	if len(name) > MaxNameBytes {
		return "", sesame.Errorf(sesame.EInvalid, "the name is longer than %d bytes", MaxNameBytes)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", sesame.Errorf(sesame.EInvalid, "the name contains control characters or is not UTF-8")
	}
	return name, nil
}

// open reports whether f counts against MaxFactors at now: confirmed, or
// an enrolment that may still be confirmed.
func open(f *Factor, now time.Time) bool {
	return f.Confirmed() || now.Sub(f.CreatedAt) <= EnrolmentTTL
}

// BeginTOTP starts enrolling a TOTP authenticator for userID: a new,
// unconfirmed factor with a fresh 20-byte secret, sealed with the Sealer
// (purpose "totp", the factor's ID) before it is stored. account labels it
// in the app (the user's name or address); name is the user's name for it
// (trimmed; control characters refused; at most MaxNameBytes; default
// "Authenticator"). The factor counts only once [Service.ConfirmTOTP]
// confirms it, within [EnrolmentTTL].
func (s *Service) BeginTOTP(ctx context.Context, userID, account, name string) (*Enrollment, error) {
	name, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	now := s.now()
	fs, err := s.cfg.Store.Factors(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	n := 0
	for _, f := range fs {
		if f.Kind == KindTOTP && open(f, now) {
			n++
		}
	}
	if n >= MaxFactors {
		return nil, ErrTooManyFactors
	}
	secret := make([]byte, secretBytes)
	rand.Read(secret) // never fails (crypto/rand)
	id := newFactorID()
	f := &Factor{ID: id, UserID: userID, Kind: KindTOTP, Name: name,
		Secret: s.cfg.Sealer.Seal(sealPurpose, id, secret), CreatedAt: now}
	if err := s.cfg.Store.AddFactor(ctx, f); err != nil {
		return nil, unavailable(err)
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	return &Enrollment{ID: id, Secret: b32, URI: otpauthURI(s.cfg.Issuer, account, b32)}, nil
}

// newFactorID returns a random public factor ID.
func newFactorID() string {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand)
	return "tf_" + hex.EncodeToString(b)
}

// otpauthURI is the Key URI Format of Google Authenticator, which every
// app reads: otpauth://totp/Issuer:account?secret=...&issuer=...&...
func otpauthURI(issuer, account, secret string) string {
	label := labelEscape(issuer) + ":" + labelEscape(account)
	return "otpauth://totp/" + label + "?secret=" + secret + "&issuer=" + url.QueryEscape(issuer) +
		"&algorithm=" + string(SHA1) + "&digits=" + strconv.Itoa(Digits) +
		"&period=" + strconv.Itoa(int(Period/time.Second))
}

// labelEscape escapes one part of the label; a colon separates the issuer
// from the account, so one inside a part is escaped too.
func labelEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// ownFactor returns userID's factor id, or the not-found error.
func (s *Service) ownFactor(ctx context.Context, userID, id string) (*Factor, error) {
	f, err := s.cfg.Store.Factor(ctx, userID, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return nil, notFound
	case err != nil:
		return nil, unavailable(err)
	}
	return f, nil
}

// unseal opens f's secret; a failure (another master key, a damaged
// record) is an internal error that names no secret.
func (s *Service) unseal(f *Factor) ([]byte, error) {
	secret, err := s.cfg.Sealer.Unseal(sealPurpose, f.ID, f.Secret)
	if err != nil {
		return nil, sesame.Wrap(sesame.EInternal, err, "an authenticator's secret cannot be opened")
	}
	return secret, nil
}

// ConfirmTOTP completes userID's enrolment id with the first code the app
// shows. That code's time step is recorded, so it cannot then be replayed
// to sign in. It returns a fresh set of recovery codes, to show once, when
// the user had no set (a first factor, or after [Service.Reset]);
// otherwise nil (an existing set, even spent, is regenerated only by
// [Service.Regenerate]). A wrong code is [ErrWrongCode]; a factor already confirmed, or an
// enrolment older than [EnrolmentTTL], is an EInvalid error; another
// user's factor is ENotFound.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, id, code string) ([]string, error) {
	f, err := s.ownFactor(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if f.Kind != KindTOTP {
		return nil, notFound
	}
	if f.Confirmed() {
		return nil, sesame.Errorf(sesame.EInvalid, "this authenticator is already confirmed")
	}
	now := s.now()
	if now.Sub(f.CreatedAt) > EnrolmentTTL {
		return nil, sesame.Errorf(sesame.EInvalid, "enrolment expired: start again")
	}
	c, ok := parseTOTPCode(code)
	if !ok {
		return nil, ErrWrongCode
	}
	secret, err := s.unseal(f)
	if err != nil {
		return nil, err
	}
	step, ok := matchStep(secret, c, Step(now), s.cfg.Skew)
	if !ok || step <= f.LastStep {
		return nil, ErrWrongCode
	}
	switch used, err := s.cfg.Store.UseFactorStep(ctx, userID, id, step, now, true); {
	case errors.Is(err, sesame.ErrNotFound):
		return nil, notFound
	case err != nil:
		return nil, unavailable(err)
	case !used:
		return nil, ErrWrongCode
	}
	st, err := s.cfg.Store.RecoveryCodes(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	if st.Total > 0 {
		return nil, nil
	}
	return s.Regenerate(ctx, userID)
}

// Check verifies a second factor at sign-in or step-up. A 6-digit code is
// tried against each of userID's confirmed TOTP factors: it must be the
// code of a step within the skew and later than the last step that factor
// accepted, recorded atomically so that one code succeeds once however
// many requests carry it (SEC-61). When the code is that of two steps of
// the window (one step in a million has the next step's code), the later
// step is recorded: one code string is never accepted twice, at the cost
// of refusing that next step's code. Anything else that reads as a recovery
// code is spent, once. It returns the method ([sesame.AMROTP] with the
// factor, or [sesame.AMRRecoveryCode] with nil) or [ErrWrongCode]; a store
// failure is EUnavailable. The factor returned has no Secret.
func (s *Service) Check(ctx context.Context, userID, code string) (string, *Factor, error) {
	if c, ok := parseTOTPCode(code); ok {
		f, err := s.checkTOTP(ctx, userID, c)
		if err != nil {
			return "", nil, err
		}
		return sesame.AMROTP, f, nil
	}
	n, ok := normalizeRecoveryCode(code)
	if !ok {
		return "", nil, ErrWrongCode
	}
	used, err := s.cfg.Store.UseRecoveryCode(ctx, userID, hashRecoveryCode(s.cfg.RecoveryKey, userID, n), s.now())
	switch {
	case err != nil:
		return "", nil, unavailable(err)
	case !used:
		return "", nil, ErrWrongCode
	}
	return sesame.AMRRecoveryCode, nil, nil
}

// IsRecoveryCode reports whether [Service.Check] takes code as a recovery
// code (its only write is then the code's use), rather than a TOTP code or
// nothing.
func IsRecoveryCode(code string) bool {
	if _, ok := parseTOTPCode(code); ok {
		return false
	}
	_, ok := normalizeRecoveryCode(code)
	return ok
}

// checkTOTP is Check for a well-formed TOTP code.
func (s *Service) checkTOTP(ctx context.Context, userID, code string) (*Factor, error) {
	fs, err := s.cfg.Store.Factors(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	now := s.now()
	var sealErr error
	for _, f := range fs {
		if f.Kind != KindTOTP || !f.Confirmed() {
			continue
		}
		secret, err := s.unseal(f)
		if err != nil {
			sealErr = err // try the others; report it only if none matches
			continue
		}
		step, ok := matchStep(secret, code, Step(now), s.cfg.Skew)
		if !ok || step <= f.LastStep {
			continue
		}
		used, err := s.cfg.Store.UseFactorStep(ctx, userID, f.ID, step, now, false)
		switch {
		case errors.Is(err, sesame.ErrNotFound), err == nil && !used:
			continue // removed meanwhile, or another request spent the code
		case err != nil:
			return nil, unavailable(err)
		}
		f.LastStep, f.LastUsedAt, f.Secret = step, now, nil
		return f, nil
	}
	if sealErr != nil {
		return nil, sealErr
	}
	return nil, ErrWrongCode
}

// Factor returns userID's factor id, confirmed or not, without its
// secret: for the caller to describe an enrolment before confirming it.
// Another user's factor, or none, is an ENotFound error.
func (s *Service) Factor(ctx context.Context, userID, id string) (*Factor, error) {
	f, err := s.ownFactor(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	f.Secret = nil
	return f, nil
}

// List returns userID's confirmed factors, oldest first, without their
// secrets.
func (s *Service) List(ctx context.Context, userID string) ([]*Factor, error) {
	fs, err := s.cfg.Store.Factors(ctx, userID)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*Factor, 0, len(fs))
	for _, f := range fs {
		if f.Confirmed() {
			f.Secret = nil
			out = append(out, f)
		}
	}
	return out, nil
}

// Remove deletes userID's factor id (confirmed or not). Another user's
// factor, or none, is an ENotFound error. Whether the user may remove
// their last factor is the caller's policy.
func (s *Service) Remove(ctx context.Context, userID, id string) error {
	err := s.cfg.Store.DeleteFactor(ctx, userID, id)
	switch {
	case errors.Is(err, sesame.ErrNotFound):
		return notFound
	case err != nil:
		return unavailable(err)
	}
	return nil
}

// HasTOTP reports whether userID has a confirmed TOTP factor.
func (s *Service) HasTOTP(ctx context.Context, userID string) (bool, error) {
	fs, err := s.cfg.Store.Factors(ctx, userID)
	if err != nil {
		return false, unavailable(err)
	}
	for _, f := range fs {
		if f.Kind == KindTOTP && f.Confirmed() {
			return true, nil
		}
	}
	return false, nil
}

// Regenerate gives userID a new set of [RecoveryCodeCount] recovery codes,
// voiding the old set, and returns them, to show once: only their SHA-256
// hashes are stored. Each is "xxxxx-xxxxx", 50 random bits.
func (s *Service) Regenerate(ctx context.Context, userID string) ([]string, error) {
	codes, hashes := newRecoverySet(s.cfg.RecoveryKey, userID)
	if err := s.cfg.Store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now()); err != nil {
		return nil, unavailable(err)
	}
	return codes, nil
}

// Recovery describes userID's recovery codes without them.
func (s *Service) Recovery(ctx context.Context, userID string) (RecoveryState, error) {
	st, err := s.cfg.Store.RecoveryCodes(ctx, userID)
	if err != nil {
		return RecoveryState{}, unavailable(err)
	}
	return st, nil
}

// Reset removes every factor and recovery code of userID (an admin's
// reset) and returns how many factors there were. The requirement, if
// set, stays: the user will be asked to enrol again.
func (s *Service) Reset(ctx context.Context, userID string) (int, error) {
	n, err := s.cfg.Store.DeleteUserFactors(ctx, userID)
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// Required reports whether an administrator requires userID to use a
// second factor (the per-user switch; the deployment's policy is the
// caller's).
func (s *Service) Required(ctx context.Context, userID string) (bool, error) {
	on, err := s.cfg.Store.FactorRequired(ctx, userID)
	if err != nil {
		return false, unavailable(err)
	}
	return on, nil
}

// SetRequired sets the per-user switch of [Service.Required].
func (s *Service) SetRequired(ctx context.Context, userID string, on bool) error {
	if err := s.cfg.Store.SetFactorRequired(ctx, userID, on); err != nil {
		return unavailable(err)
	}
	return nil
}
