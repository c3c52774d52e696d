package passkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-auth/sesame"
)

// Config configures a [Service].
type Config struct {
	// Store keeps credentials, user handles and ceremony state. Required.
	Store Store
	// PublicURL is the origin users reach the server at
	// ("https://auth.example.com"): the only origin a ceremony accepts,
	// and, unless RPID is set, the relying-party ID (its host). Required.
	PublicURL string
	// RPID overrides the relying-party ID: a registrable suffix of the
	// public URL's host ("example.com" for "auth.example.com"), so that
	// passkeys stay valid when the server moves between subdomains.
	// Default: the public URL's host.
	RPID string
	// RPName is the name authenticators show. Default "Sesame".
	RPName string
	// ChallengeTTL bounds a ceremony between its begin and finish.
	// Default 5 minutes.
	ChallengeTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Service runs the WebAuthn ceremonies. It is safe for concurrent use.
type Service struct {
	cfg Config
	wa  *webauthn.WebAuthn
}

// Failure is the error of a ceremony that did not verify: an *sesame.Error
// with code EUnauthenticated and one message for every cause (a client
// learns nothing about which check failed), wrapping a *Failure whose
// Reason is for the audit log.
type Failure struct{ Reason string }

func (f *Failure) Error() string { return "passkey: " + f.Reason }

// ErrFailed is the client-facing message of every refused ceremony.
const failedMessage = "the passkey could not be verified"

func fail(reason string) error {
	return sesame.Wrap(sesame.EUnauthenticated, &Failure{Reason: reason}, failedMessage)
}

// FailureReason returns the audit reason of a refused ceremony, or "" when
// err is not one.
func FailureReason(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ""
}

// New returns a service for cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("passkey: Store is required")
	}
	origin, host, err := originOf(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.RPID == "" {
		cfg.RPID = host
	}
	cfg.RPID = strings.ToLower(cfg.RPID)
	if cfg.RPID != host && !strings.HasSuffix(host, "."+cfg.RPID) {
		return nil, fmt.Errorf("passkey: RP ID %q is not the public URL's host %q or a parent domain of it", cfg.RPID, host)
	}
	if cfg.RPName == "" {
		cfg.RPName = "Sesame"
	}
	if cfg.ChallengeTTL <= 0 {
		cfg.ChallengeTTL = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPName,
		RPOrigins:     []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{cfg: cfg, wa: wa}, nil
}

// originOf returns the origin (scheme://host[:port], default port left
// out) and host of a public URL.
func originOf(public string) (origin, host string, err error) {
	u, err := url.Parse(public)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("passkey: public URL %q is not an http(s) origin", public)
	}
	host = strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		return u.Scheme + "://" + bracket(host), host, nil
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), host, nil
}

// bracket puts an IPv6 literal in brackets, as in an origin.
func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// RPID returns the relying-party ID.
func (s *Service) RPID() string { return s.cfg.RPID }

// Origin returns the one origin ceremonies accept.
func (s *Service) Origin() string { return s.wa.Config.RPOrigins[0] }

// waUser is a user as the library sees it.
type waUser struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// libCredential returns the library's record of c, with the counter and
// flags this package keeps.
func libCredential(c *Credential) (webauthn.Credential, error) {
	var w webauthn.Credential
	if err := json.Unmarshal(c.Data, &w); err != nil {
		return w, fmt.Errorf("passkey: credential %s: %w", c.ID, err)
	}
	w.ID = c.CredentialID
	w.Authenticator.SignCount = c.SignCount
	w.Authenticator.CloneWarning = c.CloneWarning
	w.Flags.BackupEligible = c.BackupEligible
	w.Flags.BackupState = c.BackupState
	return w, nil
}

// loadUser returns the library's view of a user: handle and passkeys.
func (s *Service) loadUser(ctx context.Context, userID, name string) (*waUser, []*Credential, error) {
	h, err := s.handle(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	cs, err := s.cfg.Store.Passkeys(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	u := &waUser{handle: h, name: name}
	for _, c := range cs {
		w, err := libCredential(c)
		if err != nil {
			return nil, nil, err
		}
		u.creds = append(u.creds, w)
	}
	return u, cs, nil
}

// handle returns the user's random WebAuthn user handle (64 bytes, the
// most WebAuthn allows), made on first use.
func (s *Service) handle(ctx context.Context, userID string) ([]byte, error) {
	return s.cfg.Store.PasskeyHandle(ctx, userID, randomBytes(64))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

// newID returns a random public passkey ID.
func newID() string { return "pk_" + hex.EncodeToString(randomBytes(12)) }

// challengeKey returns the stored key of a ceremony cookie's value.
func challengeKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// begin stores the state of a ceremony and returns the cookie value that
// names it.
func (s *Service) begin(ctx context.Context, kind, userID, sessionID string, data *webauthn.SessionData) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("passkey: %w", err)
	}
	cookie := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	c := &Challenge{Key: challengeKey(cookie), Kind: kind, UserID: userID, SessionID: sessionID, Data: raw,
		ExpiresAt: s.cfg.Now().Add(s.cfg.ChallengeTTL)}
	if err := s.cfg.Store.PutPasskeyChallenge(ctx, c); err != nil {
		return "", err
	}
	return cookie, nil
}

// take removes and returns the ceremony named by cookie, checking it is of
// kind and was begun by the same user and session. The ceremony is spent
// whatever the outcome: a second answer to it is refused (SEC-61).
func (s *Service) take(ctx context.Context, cookie, kind, userID, sessionID string) (*webauthn.SessionData, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, fail("no ceremony")
	}
	c, err := s.cfg.Store.TakePasskeyChallenge(ctx, challengeKey(cookie), s.cfg.Now())
	if errors.Is(err, sesame.ErrNotFound) {
		return nil, fail("unknown, used or expired challenge")
	}
	if err != nil {
		return nil, err
	}
	if c.Kind != kind || c.UserID != userID || c.SessionID != sessionID {
		return nil, fail("challenge of another ceremony or session")
	}
	var d webauthn.SessionData
	if err := json.Unmarshal(c.Data, &d); err != nil {
		return nil, fmt.Errorf("passkey: challenge state: %w", err)
	}
	return &d, nil
}

// BeginRegistration starts the registration of a new passkey for u by the
// session sessionID. It returns the options for
// navigator.credentials.create (as JSON) and the ceremony cookie's value.
// The user's existing passkeys are excluded, so an authenticator is not
// registered twice.
func (s *Service) BeginRegistration(ctx context.Context, u *sesame.User, sessionID string) (json.RawMessage, string, error) {
	wu, _, err := s.loadUser(ctx, u.ID, u.Username)
	if err != nil {
		return nil, "", err
	}
	creation, data, err := s.wa.BeginRegistration(wu,
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin registration: %w", err)
	}
	cookie, err := s.begin(ctx, KindRegister, u.ID, sessionID, data)
	if err != nil {
		return nil, "", err
	}
	opts, err := json.Marshal(creation)
	return opts, cookie, err
}

// FinishRegistration verifies the browser's answer (the JSON of a
// PublicKeyCredential from navigator.credentials.create) to the ceremony
// cookie names, which u's session sessionID must have begun, and stores the
// new passkey under name.
func (s *Service) FinishRegistration(ctx context.Context, u *sesame.User, sessionID, cookie, name string, body []byte) (*Credential, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	data, err := s.take(ctx, cookie, KindRegister, u.ID, sessionID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, fail("malformed registration response")
	}
	wu, _, err := s.loadUser(ctx, u.ID, u.Username)
	if err != nil {
		return nil, err
	}
	wc, err := s.wa.CreateCredential(wu, *data, parsed)
	if err != nil {
		return nil, fail("registration not verified: " + libReason(err))
	}
	raw, err := json.Marshal(wc)
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	now := s.cfg.Now().UTC()
	c := &Credential{ID: newID(), UserID: u.ID, CredentialID: wc.ID, Name: name, CreatedAt: now,
		SignCount: wc.Authenticator.SignCount, BackupEligible: wc.Flags.BackupEligible, BackupState: wc.Flags.BackupState,
		Data: raw}
	for _, t := range wc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	if err := s.cfg.Store.AddPasskey(ctx, c); err != nil {
		if sesame.ErrorCode(err) == sesame.EConflict {
			return nil, sesame.Errorf(sesame.EConflict, "this passkey is already registered")
		}
		return nil, err
	}
	return c, nil
}

// CleanName checks a passkey name: trimmed, at most MaxNameBytes of valid
// UTF-8 without control characters; empty becomes "Passkey".
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if len(name) > MaxNameBytes || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", sesame.Errorf(sesame.EInvalid, "a passkey name is at most %d characters of text", MaxNameBytes)
	}
	return name, nil
}

// libReason returns a short reason from a library error for the audit log
// (the library's type and details say which check failed; they hold no
// secret).
func libReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		r := pe.Type
		if pe.Details != "" {
			r += ": " + pe.Details
		}
		return truncate(r, 200)
	}
	return truncate(err.Error(), 200)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// BeginPasswordless starts a passwordless sign-in: any discoverable
// credential of this relying party may answer, and user verification is
// required. It returns the options for navigator.credentials.get and the
// ceremony cookie's value.
func (s *Service) BeginPasswordless(ctx context.Context) (json.RawMessage, string, error) {
	assertion, data, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin login: %w", err)
	}
	cookie, err := s.begin(ctx, KindPasswordless, "", "", data)
	if err != nil {
		return nil, "", err
	}
	opts, err := json.Marshal(assertion)
	return opts, cookie, err
}

// FinishPasswordless verifies the browser's answer (the JSON of a
// PublicKeyCredential from navigator.credentials.get) to the passwordless
// ceremony cookie names, and returns the passkey that signed it, whose
// UserID is the user now signed in. The authenticator must have verified
// the user (SEC-61): presence alone is not a sign-in.
func (s *Service) FinishPasswordless(ctx context.Context, cookie string, body []byte) (*Credential, error) {
	data, err := s.take(ctx, cookie, KindPasswordless, "", "")
	if err != nil {
		return nil, err
	}
	if data.UserVerification != protocol.VerificationRequired {
		return nil, fail("passwordless ceremony without user verification")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, fail("malformed assertion")
	}
	var owner []*Credential
	var userID string
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		id, err := s.cfg.Store.PasskeyUserByHandle(ctx, userHandle)
		if err != nil {
			return nil, err
		}
		wu, cs, err := s.loadUser(ctx, id, "")
		if err != nil {
			return nil, err
		}
		owner, userID = cs, id
		return wu, nil
	}
	_, wc, err := s.wa.ValidatePasskeyLogin(handler, *data, parsed)
	if err != nil {
		if userID == "" && !isLibError(err) {
			// The lookup itself failed: a store error, or no such user handle.
			if errors.Is(err, sesame.ErrNotFound) {
				return nil, fail("unknown user handle")
			}
		}
		return nil, fail("assertion not verified: " + libReason(err))
	}
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, fail("user not verified") // the library checked it too; never sign in without it
	}
	return s.used(ctx, userID, owner, wc)
}

func isLibError(err error) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Err == nil
}

// BeginSecondFactor starts the ceremony in which the user of the pending
// session sessionID proves a second factor with one of their passkeys. A
// user without passkeys is an *sesame.Error with code EInvalid.
func (s *Service) BeginSecondFactor(ctx context.Context, userID, sessionID string) (json.RawMessage, string, error) {
	wu, _, err := s.loadUser(ctx, userID, "")
	if err != nil {
		return nil, "", err
	}
	if len(wu.creds) == 0 {
		return nil, "", sesame.Errorf(sesame.EInvalid, "no passkey is registered for this account")
	}
	assertion, data, err := s.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin login: %w", err)
	}
	cookie, err := s.begin(ctx, KindSecondFactor, userID, sessionID, data)
	if err != nil {
		return nil, "", err
	}
	opts, err := json.Marshal(assertion)
	return opts, cookie, err
}

// FinishSecondFactor verifies the browser's answer to the second-factor
// ceremony cookie names, which the pending session sessionID of userID
// must have begun, and returns the passkey that signed it.
func (s *Service) FinishSecondFactor(ctx context.Context, userID, sessionID, cookie string, body []byte) (*Credential, error) {
	data, err := s.take(ctx, cookie, KindSecondFactor, userID, sessionID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, fail("malformed assertion")
	}
	wu, cs, err := s.loadUser(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	wc, err := s.wa.ValidateLogin(wu, *data, parsed)
	if err != nil {
		return nil, fail("assertion not verified: " + libReason(err))
	}
	return s.used(ctx, userID, cs, wc)
}

// used records a verified sign-in with wc, one of the user's passkeys cs.
// A counter that did not grow marks the passkey as possibly cloned and
// refuses this and every later sign-in with it.
func (s *Service) used(ctx context.Context, userID string, cs []*Credential, wc *webauthn.Credential) (*Credential, error) {
	var c *Credential
	for _, x := range cs {
		if bytes.Equal(x.CredentialID, wc.ID) {
			c = x
		}
	}
	if c == nil || c.UserID != userID {
		return nil, fail("credential of another user")
	}
	if c.CloneWarning {
		return nil, fail("credential marked as possibly cloned")
	}
	u := Use{At: s.cfg.Now().UTC(), SignCount: wc.Authenticator.SignCount, CloneWarning: wc.Authenticator.CloneWarning,
		BackupState: wc.Flags.BackupState}
	if err := s.cfg.Store.UsePasskey(ctx, userID, c.ID, u); err != nil {
		return nil, err
	}
	if u.CloneWarning {
		return nil, fail("signature counter did not grow: credential possibly cloned")
	}
	c.LastUsedAt, c.SignCount, c.BackupState = u.At, max(c.SignCount, u.SignCount), u.BackupState
	return c, nil
}

// List returns the user's passkeys, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]*Credential, error) {
	return s.cfg.Store.Passkeys(ctx, userID)
}

// Rename renames the user's passkey id.
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	name, err := CleanName(name)
	if err != nil {
		return err
	}
	return s.cfg.Store.RenamePasskey(ctx, userID, id, name)
}

// Remove removes the user's passkey id.
func (s *Service) Remove(ctx context.Context, userID, id string) error {
	return s.cfg.Store.DeletePasskey(ctx, userID, id)
}
