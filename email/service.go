package email

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/mail"
)

// The defaults of [Service].
const (
	DefaultVerifyTTL        = 24 * time.Hour
	DefaultResetTTL         = 30 * time.Minute
	DefaultForgotPerAddress = 5  // forgot-password requests per login name per ForgotWindow
	DefaultForgotPerIP      = 20 // forgot-password requests per client per ForgotWindow
	DefaultForgotWindow     = time.Hour
)

// Service performs the email operations. Store, Accounts, Outbox and
// Templates are required; every other field has the default its comment
// gives. It is safe for concurrent use.
type Service struct {
	Store     Store
	Accounts  *account.Service
	Outbox    *mail.Outbox
	Templates *mail.Templates
	// PublicURL is the origin the links point at (https://auth.example).
	PublicURL string

	// RequireEmail makes an address part of every sign-up (key
	// require_email). Default false: optional.
	RequireEmail bool
	// RequireVerifiedLogin refuses the sign-in of a user whose address is
	// not verified (key require_verified = "login"); users without
	// an address are refused too. Default false.
	RequireVerifiedLogin bool
	// RequireVerifiedReset sends reset links only to verified addresses
	// (key require_verified = "reset" or "login"). Default false.
	RequireVerifiedReset bool
	// LoginByEmail lets the sign-in name be the user's address as well as
	// the username (key login_by_email). Default false.
	LoginByEmail bool

	// Throttle counts forgot-password requests per login and per client
	// and reset attempts per client. Default nil: no throttling
	// (`sesame serve` gives the login throttle).
	Throttle *guard.Limiter
	// ForgotPerAddress and ForgotPerIP bound forgot-password requests in
	// ForgotWindow. Defaults [DefaultForgotPerAddress],
	// [DefaultForgotPerIP], [DefaultForgotWindow].
	ForgotPerAddress, ForgotPerIP int
	ForgotWindow                  time.Duration
	// VerifyTTL and ResetTTL are the lifetimes of verification (and
	// change) links and of reset links. Defaults 24 h and 30 min.
	VerifyTTL, ResetTTL time.Duration

	Clock  sesame.Clock     // default the system clock
	Events sesame.EventSink // default none
	Logger *slog.Logger     // default slog.Default()
}

// ErrBadLink is the one answer to a link token that is unknown, used,
// expired, superseded or of another purpose.
var ErrBadLink = sesame.Errorf(sesame.EInvalid, "this link is invalid, used or expired: ask for a new one")

// ErrNotVerified refuses the sign-in of an unverified address under
// RequireVerifiedLogin.
var ErrNotVerified = sesame.Errorf(sesame.EForbidden, "verify your email address before signing in: follow the link we sent you")

// TokenBytes is the size of a link token: 256 bits.
const TokenBytes = 32

// newToken returns a link token and its hash.
func newToken() (string, []byte) {
	var b [TokenBytes]byte
	rand.Read(b[:])
	h := sha256.Sum256(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]), h[:]
}

// hashToken decodes a link token and returns its hash, or nil when it is
// malformed.
func hashToken(tok string) []byte {
	if len(tok) != base64.RawURLEncoding.EncodedLen(TokenBytes) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

// HashDevice hashes a device cookie for the store.
func HashDevice(cookie string) []byte {
	h := sha256.Sum256([]byte("sesame/device\x00" + cookie))
	return h[:]
}

// UserAgentLabel is the user agent as a device keeps it: valid UTF-8
// without control characters, at most MaxUserAgent bytes.
func UserAgentLabel(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(ua, ""))
	for len(ua) > MaxUserAgent {
		_, size := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-size]
	}
	return ua
}

// NewDeviceCookie returns a random device cookie value (256 bits).
func NewDeviceCookie() string {
	t, _ := newToken()
	return t
}

// AddressOf returns the user's address, or nil when they have none.
func (s *Service) AddressOf(ctx context.Context, userID string) (*Address, error) {
	a, err := s.Store.EmailOf(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeError(err)
	}
	return a, nil
}

// LoginName returns the username to sign in with for login: with
// LoginByEmail, the username of the user whose address it is; else login
// itself. A username always wins: an address that equals another user's
// username cannot be set ([Service.SetAddress]). It does the same store
// calls whether or not the address is known.
func (s *Service) LoginName(ctx context.Context, login string) (string, error) {
	if !s.LoginByEmail || !LooksLikeEmail(login) {
		return login, nil
	}
	norm, err := Normalize(login)
	if err != nil {
		return login, nil
	}
	if _, err := s.Accounts.Users.UserByName(ctx, Key(norm)); err == nil {
		return login, nil // a username
	}
	id, err := s.Store.UserIDByEmail(ctx, Key(norm))
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return "", storeError(err)
	}
	u, uerr := s.Accounts.Users.UserByID(ctx, id) // "" when unknown: the same call
	if err != nil || uerr != nil {
		return login, nil
	}
	return u.Username, nil
}

// CheckLogin refuses, under RequireVerifiedLogin, a user without a
// verified address ([ErrNotVerified]).
func (s *Service) CheckLogin(ctx context.Context, u *sesame.User) error {
	if !s.RequireVerifiedLogin {
		return nil
	}
	a, err := s.AddressOf(ctx, u.ID)
	if err != nil {
		return err
	}
	if !a.Verified() {
		return ErrNotVerified
	}
	return nil
}

// CheckSignupAddress normalises a sign-up's address and checks that it is
// free, before the account is created: "" is nil unless RequireEmail.
func (s *Service) CheckSignupAddress(ctx context.Context, addr string) (string, error) {
	if addr == "" {
		if s.RequireEmail {
			return "", sesame.Errorf(sesame.EInvalid, "email address is required")
		}
		return "", nil
	}
	norm, err := Normalize(addr)
	if err != nil {
		return "", err
	}
	if err := s.free(ctx, norm, ""); err != nil {
		return "", err
	}
	return norm, nil
}

// free checks that no user other than userID holds the address or has it
// as username.
func (s *Service) free(ctx context.Context, norm, userID string) error {
	taken := sesame.Errorf(sesame.EConflict, "email address is taken")
	id, err := s.Store.UserIDByEmail(ctx, Key(norm))
	switch {
	case err == nil && id != userID:
		return taken
	case err != nil && !errors.Is(err, sesame.ErrNotFound):
		return storeError(err)
	}
	if u, err := s.Accounts.Users.UserByName(ctx, Key(norm)); err == nil && u.ID != userID {
		return taken
	}
	return nil
}

// AttachAddress gives a new user their (normalised, checked) sign-up
// address, unverified, and sends the verification link.
func (s *Service) AttachAddress(ctx context.Context, u *sesame.User, norm string) error {
	if norm == "" {
		return nil
	}
	if err := s.Store.SetEmail(ctx, &Address{UserID: u.ID, Email: norm}); err != nil {
		return storeError(err)
	}
	return s.sendLink(ctx, u, norm, PurposeVerify, mail.KindVerify, "/email/verify")
}

// SendVerification sends a new verification link to the user's address
// (voiding earlier ones). An address already verified, or none, is
// EInvalid.
func (s *Service) SendVerification(ctx context.Context, userID string) error {
	u, a, err := s.userAndAddress(ctx, userID)
	if err != nil {
		return err
	}
	if a == nil {
		return sesame.Errorf(sesame.EInvalid, "you have no email address")
	}
	if a.Verified() {
		return sesame.Errorf(sesame.EInvalid, "your email address is already verified")
	}
	return s.sendLink(ctx, u, a.Email, PurposeVerify, mail.KindVerify, "/email/verify")
}

// Verify confirms an address from a verification link's token.
func (s *Service) Verify(ctx context.Context, tok string) error {
	t, u, err := s.take(ctx, tok, PurposeVerify)
	if err != nil {
		return err
	}
	a, err := s.AddressOf(ctx, u.ID)
	if err != nil {
		return err
	}
	if a == nil || a.Email != t.Email {
		return ErrBadLink // the address changed since the link was sent
	}
	a.VerifiedAt = s.now()
	e := sesame.Event{Type: sesame.EventEmailVerified, UserID: u.ID, Username: u.Username, Reason: "link"}
	ctx = s.withEvent(ctx, e)
	if err := s.Store.SetEmail(ctx, a); err != nil {
		return storeError(err)
	}
	s.emit(ctx, e)
	return nil
}

// RequestChange sends a confirmation link to a new address; the address
// changes when it is followed ([Service.ConfirmChange]). The caller must
// have re-authenticated the user.
func (s *Service) RequestChange(ctx context.Context, userID, addr string) error {
	norm, err := Normalize(addr)
	if err != nil {
		return err
	}
	u, cur, err := s.userAndAddress(ctx, userID)
	if err != nil {
		return err
	}
	if cur != nil && Key(cur.Email) == Key(norm) && cur.Email == norm {
		return sesame.Errorf(sesame.EInvalid, "that is already your address")
	}
	if err := s.free(ctx, norm, u.ID); err != nil {
		return err
	}
	return s.sendLink(ctx, u, norm, PurposeChange, mail.KindChange, "/email/confirm")
}

// ConfirmChange sets the address a change link was sent to as the user's
// (verified), and tells the old address.
func (s *Service) ConfirmChange(ctx context.Context, tok string) error {
	t, u, err := s.take(ctx, tok, PurposeChange)
	if err != nil {
		return err
	}
	old, err := s.AddressOf(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := s.free(ctx, t.Email, u.ID); err != nil {
		return err
	}
	now := s.now()
	e := sesame.Event{Type: sesame.EventEmailChanged, UserID: u.ID, Username: u.Username}
	ectx := s.withEvent(ctx, e)
	if err := s.Store.SetEmail(ectx, &Address{UserID: u.ID, Email: t.Email, VerifiedAt: now}); err != nil {
		return storeError(err)
	}
	_ = s.Store.DeleteEmailTokens(ctx, u.ID, PurposeVerify) // links to the old address are moot
	s.emit(ectx, e)
	if old != nil && old.Email != t.Email {
		s.notify(ctx, old.Email, mail.KindChanged, mail.Data{Username: u.Username, Email: t.Email, Time: stamp(now)})
	}
	return nil
}

// Forgot handles a forgotten-password request for login (a username or
// an address). Whether or not login names an account with an address it
// may use, it does the same store calls (the user lookups, one token
// write, one outbox insert: for no account, an expired token of no user
// and a message to no one, which the outbox drops unsent) and returns nil
// (SEC-62). Only the throttle answers otherwise: more than
// ForgotPerAddress requests for one login, or ForgotPerIP from one client,
// in ForgotWindow is a *account.WaitError (429), whatever the login.
func (s *Service) Forgot(ctx context.Context, login string, ip netip.Addr) error {
	if err := s.throttleForgot(ctx, login, ip); err != nil {
		return err
	}
	u, a, err := s.resolve(ctx, login)
	if err != nil {
		return err
	}
	usable := u != nil && !u.Blocked && a != nil && (a.Verified() || !s.RequireVerifiedReset)
	tok, hash := newToken()
	now := s.now()
	t := &Token{Hash: hash, Purpose: PurposeReset, CreatedAt: now, ExpiresAt: now}
	to := ""
	d := mail.Data{Username: "-", Link: s.link("/password/reset", tok)}
	if usable {
		t.UserID, t.Email, t.ExpiresAt = u.ID, a.Email, now.Add(s.ttl(PurposeReset))
		to, d.Username = a.Email, u.Username
	}
	if err := s.Store.PutEmailToken(ctx, t); err != nil {
		return storeError(err)
	}
	return s.queue(ctx, to, mail.KindReset, d)
}

// resolve finds the account and address a forgot-password login names,
// with the same store calls whatever it finds.
func (s *Service) resolve(ctx context.Context, login string) (*sesame.User, *Address, error) {
	name, err := sesame.NormalizeUsername(login)
	if err != nil {
		name = ""
	}
	byName, err := s.Accounts.Users.UserByName(ctx, name)
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return nil, nil, storeError(err)
	}
	key := ""
	if norm, nerr := Normalize(login); nerr == nil {
		key = Key(norm)
	}
	id, err := s.Store.UserIDByEmail(ctx, key)
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return nil, nil, storeError(err)
	}
	if byName != nil {
		id = byName.ID // a username wins, as at sign-in
	}
	u, err := s.Accounts.Users.UserByID(ctx, id)
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return nil, nil, storeError(err)
	}
	a, err := s.Store.EmailOf(ctx, id)
	if err != nil && !errors.Is(err, sesame.ErrNotFound) {
		return nil, nil, storeError(err)
	}
	if u == nil || err != nil {
		return nil, nil, nil
	}
	return u, a, nil
}

// Reset sets a new password from a reset link's token: the password must
// pass the policy (a refused one leaves the link usable); every session
// and refresh token of the user ends (SessionsNotBefore), the reset is
// audited and the user told. Reset attempts are throttled per client.
func (s *Service) Reset(ctx context.Context, tok, pw string, ip netip.Addr, userAgent string) (*sesame.User, error) {
	if err := s.strikeLimit(ctx, "reset-ip:"+clientKey(ip), s.forgotPerIP()); err != nil {
		return nil, err
	}
	t, u, err := s.take(ctx, tok, PurposeReset)
	if err != nil {
		return nil, err
	}
	if err := s.Accounts.SetPassword(ctx, u.Username, pw, ""); err != nil {
		if sesame.ErrorCode(err) == sesame.EInvalid {
			_ = s.Store.PutEmailToken(ctx, t) // the link stays usable for a better password
		}
		return nil, err
	}
	_ = s.Store.DeleteEmailTokens(ctx, u.ID, PurposeReset)
	now := s.now()
	s.emit(ctx, sesame.Event{Type: sesame.EventPasswordReset, UserID: u.ID, Username: u.Username, IP: ipText(ip), UserAgent: userAgent})
	s.notify(ctx, t.Email, mail.KindResetDone, mail.Data{Username: u.Username, Time: stamp(now), IP: ipText(ip)})
	return u, nil
}

// SendReset sends a reset link to the user's address, at an
// administrator's request (audited). A user without an address is
// EInvalid.
func (s *Service) SendReset(ctx context.Context, username, admin string) error {
	u, err := s.Accounts.Lookup(ctx, username)
	if err != nil {
		return err
	}
	a, err := s.AddressOf(ctx, u.ID)
	if err != nil {
		return err
	}
	if a == nil {
		return sesame.Errorf(sesame.EInvalid, "the user has no email address")
	}
	if err := s.sendLink(ctx, u, a.Email, PurposeReset, mail.KindReset, "/password/reset"); err != nil {
		return err
	}
	s.emit(ctx, sesame.Event{Type: sesame.EventResetLinkSent, UserID: u.ID, Username: u.Username, Reason: "by " + admin})
	return nil
}

// MarkVerified marks the user's address verified, at an administrator's
// request (audited).
func (s *Service) MarkVerified(ctx context.Context, username, admin string) error {
	u, err := s.Accounts.Lookup(ctx, username)
	if err != nil {
		return err
	}
	a, err := s.AddressOf(ctx, u.ID)
	if err != nil {
		return err
	}
	if a == nil {
		return sesame.Errorf(sesame.EInvalid, "the user has no email address")
	}
	e := sesame.Event{Type: sesame.EventEmailVerified, UserID: u.ID, Username: u.Username, Reason: "admin " + admin}
	if !a.Verified() {
		a.VerifiedAt = s.now()
		ctx = s.withEvent(ctx, e)
		if err := s.Store.SetEmail(ctx, a); err != nil {
			return storeError(err)
		}
	}
	s.emit(ctx, e)
	return nil
}

// SetAddress sets a user's address directly, unverified, at an
// administrator's request ("" removes it).
func (s *Service) SetAddress(ctx context.Context, username, addr string) error {
	u, err := s.Accounts.Lookup(ctx, username)
	if err != nil {
		return err
	}
	norm := ""
	if addr != "" {
		if norm, err = Normalize(addr); err != nil {
			return err
		}
		if err := s.free(ctx, norm, u.ID); err != nil {
			return err
		}
	}
	if err := s.Store.SetEmail(ctx, &Address{UserID: u.ID, Email: norm}); err != nil {
		return storeError(err)
	}
	return nil
}

// Login is what a successful sign-in does here: reset links of the user
// die (SEC-62: a user who remembered their password has no use for one),
// and a sign-in from a device the user has not used before (device is
// the device cookie, "" when the client sent none) sends a notice to a
// user's address (SEC-48), except for the first device the account is
// ever used from. Failures are logged: the sign-in stands.
func (s *Service) Login(ctx context.Context, u *sesame.User, device, userAgent string, ip netip.Addr) {
	if err := s.Store.DeleteEmailTokens(ctx, u.ID, PurposeReset); err != nil {
		s.logger().Warn("email: cannot void reset links at sign-in", "err", err)
	}
	if device == "" {
		return
	}
	now := s.now()
	isNew, known, err := s.Store.SeeDevice(ctx, u.ID, HashDevice(device), now, UserAgentLabel(userAgent))
	if err != nil {
		s.logger().Warn("email: cannot record the sign-in device", "err", err)
		return
	}
	if !isNew || known == 0 {
		return
	}
	a, err := s.AddressOf(ctx, u.ID)
	if err != nil || a == nil {
		return
	}
	s.emit(ctx, sesame.Event{Type: sesame.EventNewDeviceLogin, UserID: u.ID, Username: u.Username, IP: ipText(ip), UserAgent: userAgent})
	s.notify(ctx, a.Email, mail.KindNewDevice, mail.Data{Username: u.Username, Time: stamp(now), Device: userAgent, IP: ipText(ip)})
}

// sendLink makes a token for purpose, stores its hash (voiding the
// user's older ones) and queues the message with the link.
func (s *Service) sendLink(ctx context.Context, u *sesame.User, to, purpose, kind, path string) error {
	tok, hash := newToken()
	now := s.now()
	t := &Token{Hash: hash, UserID: u.ID, Purpose: purpose, Email: to, CreatedAt: now, ExpiresAt: now.Add(s.ttl(purpose))}
	if err := s.Store.PutEmailToken(ctx, t); err != nil {
		return storeError(err)
	}
	return s.queue(ctx, to, kind, mail.Data{Username: u.Username, Email: to, Link: s.link(path, tok)})
}

// take consumes a link token of purpose and returns it with its user.
func (s *Service) take(ctx context.Context, tok, purpose string) (*Token, *sesame.User, error) {
	hash := hashToken(tok)
	if hash == nil {
		return nil, nil, ErrBadLink
	}
	t, err := s.Store.TakeEmailToken(ctx, hash, purpose, s.now())
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil, ErrBadLink
	}
	if err != nil {
		return nil, nil, storeError(err)
	}
	u, err := s.Accounts.Users.UserByID(ctx, t.UserID)
	if errors.Is(err, sesame.ErrNotFound) || (err == nil && u.Blocked) {
		return nil, nil, ErrBadLink
	}
	if err != nil {
		return nil, nil, storeError(err)
	}
	return t, u, nil
}

func (s *Service) userAndAddress(ctx context.Context, userID string) (*sesame.User, *Address, error) {
	u, err := s.Accounts.Users.UserByID(ctx, userID)
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, nil, account.ErrNoCaller
	}
	if err != nil {
		return nil, nil, storeError(err)
	}
	a, err := s.AddressOf(ctx, userID)
	return u, a, err
}

// notify queues a notice; a failure is logged, never the address.
func (s *Service) notify(ctx context.Context, to, kind string, d mail.Data) {
	if err := s.queue(ctx, to, kind, d); err != nil {
		s.logger().Warn("email: cannot queue a notice", "kind", kind, "err", err)
	}
}

func (s *Service) queue(ctx context.Context, to, kind string, d mail.Data) error {
	d.Site = s.PublicURL
	d.AccountURL = s.PublicURL + "/account"
	m, err := s.Templates.Render(kind, to, d)
	if err != nil {
		return sesame.Wrap(sesame.EInternal, err, "cannot write the message")
	}
	return s.Outbox.Queue(ctx, m)
}

func (s *Service) link(path, tok string) string { return s.PublicURL + path + "?token=" + tok }

func (s *Service) ttl(purpose string) time.Duration {
	if purpose == PurposeReset {
		if s.ResetTTL > 0 {
			return s.ResetTTL
		}
		return DefaultResetTTL
	}
	if s.VerifyTTL > 0 {
		return s.VerifyTTL
	}
	return DefaultVerifyTTL
}

func (s *Service) now() time.Time { return sesame.ClockOrSystem(s.Clock).Now().UTC() }

// withEvent is ctx carrying e for the store write about to be made
// ([sesame.TxEvents]): a SQL store queues its webhooks in the write's
// transaction. Pass it to that one write, and to emit.
func (s *Service) withEvent(ctx context.Context, e sesame.Event) context.Context {
	if s.Events == nil {
		return ctx
	}
	e.Time = s.now()
	ctx, _ = sesame.WithTxEvents(ctx, e)
	return ctx
}

func (s *Service) emit(ctx context.Context, e sesame.Event) {
	if s.Events == nil {
		return
	}
	e.Time = s.now()
	s.Events.Emit(ctx, e)
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func storeError(err error) error {
	var se *sesame.Error
	if errors.As(err, &se) {
		return err
	}
	return sesame.Wrap(sesame.EUnavailable, err, "the email store is unavailable")
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func ipText(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.String()
}
