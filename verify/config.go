package verify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// Defaults of [Config] and [RevocationConfig].
const (
	DefaultType             = "at+jwt"
	DefaultRefreshInterval  = 15 * time.Minute
	DefaultRefetchCooldown  = 30 * time.Second
	DefaultMaxJWKSBytes     = 1 << 20
	DefaultCacheSize        = 10000
	DefaultPollInterval     = time.Second
	DefaultMaxTokenLifetime = time.Hour
	// DefaultRevocationsPath is appended to the issuer when
	// [RevocationConfig.URL] is empty.
	DefaultRevocationsPath = "/api/v1/revocations"
	// DefaultStreamRetry is how long a verifier polls after falling back
	// from the revocation stream before it tries the stream again.
	DefaultStreamRetry = 30 * time.Second
	// MinHeartbeat is the shortest heartbeat a verifier asks of the
	// revocation stream (the issuer's own lower bound).
	MinHeartbeat = 250 * time.Millisecond
	// MaxDefaultHeartbeat caps the default heartbeat (the issuer's default
	// upper bound).
	MaxDefaultHeartbeat = 15 * time.Second
)

// Transport is how a [Verifier] started with [Verifier.Start] follows the
// revocation feed.
type Transport int

const (
	// TransportStream follows the feed's Server-Sent Events stream
	// ([RevocationConfig.StreamURL]) and learns of a revocation within
	// milliseconds, falling back to polling when the stream is absent,
	// refused or keeps breaking. The default.
	TransportStream Transport = iota
	// TransportPoll reads the feed every [RevocationConfig.PollInterval]
	// only (the behaviour before the stream existed).
	TransportPoll
)

// String returns "stream" or "poll".
func (t Transport) String() string {
	switch t {
	case TransportStream:
		return "stream"
	case TransportPoll:
		return "poll"
	}
	return "Transport(" + strconv.Itoa(int(t)) + ")"
}

// Config configures a [Verifier]. JWKSURL, Issuer and Audience are
// required; every other zero value means the secure default stated on the
// field.
type Config struct {
	// JWKSURL is the pinned URL of the issuer's key set, e.g.
	// "https://auth.example/.well-known/jwks.json". Keys come from this URL
	// only, never from a token's header (SEC-18). It must be https; plain
	// http is refused at construction unless the host is loopback
	// ("localhost", 127.0.0.0/8, ::1). Required.
	JWKSURL string

	// Issuer must equal the iss claim exactly (SEC-21), e.g.
	// "https://auth.example". Required.
	Issuer string

	// Audience is the allow-list of aud values: a token is accepted when one
	// of its audiences is in it (SEC-21). Required, and no entry may be
	// empty.
	Audience []string

	// Type is the required typ header, compared case-insensitively with an
	// optional "application/" prefix (SEC-20). Default "at+jwt": an ID
	// token ("JWT") or any other kind of token is refused.
	Type string

	// AcceptClientTokens accepts a client's own access tokens, which an
	// OAuth 2 client gets with the client_credentials grant (RFC 6749
	// §4.4): they have no sid (no user, no session) and sub equals
	// client_id. [Claims.SessionID] is then empty and Subject names the
	// client, not a user: a handler that needs a user must check
	// SessionID. Such a token cannot be revoked before its exp. Default
	// false: a token without sid is refused, whatever its sub; a token
	// without sid whose sub is not its client_id is refused even when
	// true.
	AcceptClientTokens bool

	// Leeway allows for clock skew between the issuer and this service on
	// exp, nbf and iat. Default 0: a token is refused from the second of its
	// exp on. Negative values are refused.
	Leeway time.Duration

	// HTTPClient fetches the key set and the revocation feed. Default: a
	// client with a 5 s overall timeout that follows at most 3 redirects,
	// and only to the same scheme and host. A client you supply is used as
	// is, except that when its CheckRedirect is nil the same redirect policy
	// applies; every request is bounded to 5 s regardless.
	HTTPClient *http.Client

	// RefreshInterval is how often the key set is fetched again, in the
	// background after [Verifier.Start], or else lazily by the first
	// request after it has elapsed (that request does not wait). Default 15
	// minutes.
	RefreshInterval time.Duration

	// RefetchCooldown is the least time between two fetches triggered by a
	// token whose kid is not in the key set: within it, such tokens are
	// refused without a fetch (they may be forgeries with random kids).
	// Default 30 seconds.
	RefetchCooldown time.Duration

	// MaxJWKSBytes bounds the key-set response; a larger one is ignored and
	// the last good set kept. Default 1 MiB.
	MaxJWKSBytes int64

	// CacheSize bounds the cache of verified tokens: a token seen before is
	// not verified again until its exp (plus Leeway), so that a repeated
	// ES256 token costs about what an HS256 one does. Revocation is still
	// checked on every request. Default 10000 entries; negative disables the
	// cache.
	CacheSize int

	// Revocations, when set, makes the verifier follow the issuer's
	// revocation feed and refuse tokens of revoked sessions. Default nil:
	// tokens stay valid until their exp even when their session ends.
	Revocations *RevocationConfig

	// DenyHandler writes the response when [Verifier.Middleware] refuses a
	// request; [Rejection] returns the error inside it. Default: 401 with
	// "WWW-Authenticate: Bearer" (plus error="invalid_token" when a token
	// was presented, RFC 6750 §3), or 503 when the verifier cannot decide;
	// both with a JSON body {"error":{"code","message"}} and
	// "Cache-Control: no-store". It never echoes the token.
	DenyHandler http.Handler

	// Clock tells the time for every expiry, cooldown and staleness
	// decision. Default the system clock.
	Clock sesame.Clock

	// Logger receives key-set and feed failures (warn), rejections (debug)
	// and priming (info). Messages never contain a token. Default
	// slog.Default().
	Logger *slog.Logger
}

// RevocationConfig configures how a [Verifier] follows the issuer's
// revocation feed; see the package documentation for the protocol.
type RevocationConfig struct {
	// URL is the feed, without the since parameter. It must be https, or
	// http to a loopback host. Default: [Config.Issuer] followed by
	// "/api/v1/revocations".
	URL string

	// Transport is how the feed is followed after [Verifier.Start]:
	// [TransportStream] (the default: pushed, falling back to polling) or
	// [TransportPoll]. Without Start the feed is polled lazily by requests
	// whatever the Transport.
	Transport Transport

	// StreamURL is the feed's Server-Sent Events stream. It must be https,
	// or http to a loopback host. Default: URL followed by "/stream"
	// (Sesame's GET /api/v1/revocations/stream). Its event ids must be
	// positions of the feed at URL: the stream and the polls share one
	// position.
	StreamURL string

	// Heartbeat is the heartbeat interval asked of the stream
	// (?heartbeat_ms=): each heartbeat counts as hearing from the issuer,
	// and a stream silent for 2 × Heartbeat + 500 ms is dropped and
	// reconnected. Default MaxStaleness / 3, at least [MinHeartbeat] and at
	// most [MaxDefaultHeartbeat]; one set here must be shorter than
	// MaxStaleness. With a MaxStaleness under 3 × MinHeartbeat (750 ms)
	// and no Heartbeat set, the stream cannot be heard often enough and
	// the verifier polls (Transport becomes TransportPoll).
	Heartbeat time.Duration

	// StreamRetry is how long the verifier polls after falling back from
	// the stream (absent: 404 or 405; refused: 503 or another refusal; or
	// broken 3 times in a row without delivering its catch-up) before it
	// tries the stream again. Default 30 seconds.
	StreamRetry time.Duration

	// PollInterval is how often the feed is read when polling: in the
	// background after [Verifier.Start] (with TransportPoll, or while
	// fallen back from the stream), or else lazily by the first request
	// after it has elapsed (that request does not wait). A revoked
	// session's tokens are refused within about one interval. Default 1
	// second.
	PollInterval time.Duration

	// MaxStaleness is how long the verifier keeps deciding after it last
	// heard from the issuer: a read of the feed that caught up, or on the
	// stream, its catch-up, any later position event or heartbeat. Once
	// neither has been heard for longer, every token is refused with 503
	// (fail closed, SEC-65): a token of a session revoked meanwhile would
	// otherwise pass. Default 3 × PollInterval.
	MaxStaleness time.Duration

	// MaxTokenLifetime is the longest lifetime of an access token from this
	// issuer. A revoked session is remembered this long (plus Leeway) after
	// its revocation, by which time all its tokens have expired. Default 1
	// hour; it must be at least the issuer's access-token lifetime.
	MaxTokenLifetime time.Duration

	// TrustTokensIssuedBeforePrime accepts tokens issued before the feed was
	// first primed at start. It never applies after the feed answered 410
	// Gone (the position was lost: trimmed history, or an issuer whose
	// session store lost its data): tokens issued before that re-prime are
	// always refused (SEC-64). Priming
	// returns only the feed's newest position, not the sessions revoked
	// before it, so by default such tokens are refused as if revoked (the
	// client refreshes once and gets a token that is checked). Default
	// false: set it only if a restart briefly letting a recently revoked
	// session's token through is acceptable.
	TrustTokensIssuedBeforePrime bool
}

// settings is a Config with defaults applied and URLs checked.
type settings struct {
	Config
	jwksURL *url.URL
	rev     *revSettings
}

type revSettings struct {
	RevocationConfig
	url       *url.URL
	streamURL *url.URL
}

func (cfg Config) resolve() (*settings, error) {
	s := &settings{Config: cfg}
	var err error
	if s.jwksURL, err = checkURL("JWKSURL", cfg.JWKSURL); err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Issuer is required")
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("verify: Audience is required")
	}
	for _, a := range cfg.Audience {
		if a == "" {
			return nil, errors.New("verify: Audience has an empty entry")
		}
	}
	s.Audience = append([]string(nil), cfg.Audience...)
	if cfg.Leeway < 0 || cfg.RefreshInterval < 0 || cfg.RefetchCooldown < 0 || cfg.MaxJWKSBytes < 0 {
		return nil, errors.New("verify: durations and sizes may not be negative")
	}
	if s.Type == "" {
		s.Type = DefaultType
	}
	if s.RefreshInterval == 0 {
		s.RefreshInterval = DefaultRefreshInterval
	}
	if s.RefetchCooldown == 0 {
		s.RefetchCooldown = DefaultRefetchCooldown
	}
	if s.MaxJWKSBytes == 0 {
		s.MaxJWKSBytes = DefaultMaxJWKSBytes
	}
	if s.CacheSize == 0 {
		s.CacheSize = DefaultCacheSize
	}
	if s.HTTPClient == nil {
		s.HTTPClient = defaultHTTPClient()
	} else {
		s.HTTPClient = withRedirectPolicy(s.HTTPClient)
	}
	s.Clock = sesame.ClockOrSystem(cfg.Clock)
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if cfg.Revocations != nil {
		if s.rev, err = cfg.Revocations.resolve(cfg.Issuer); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (rc RevocationConfig) resolve(issuer string) (*revSettings, error) {
	r := &revSettings{RevocationConfig: rc}
	if r.URL == "" {
		r.URL = strings.TrimSuffix(issuer, "/") + DefaultRevocationsPath
	}
	var err error
	if r.url, err = checkURL("Revocations.URL", r.URL); err != nil {
		return nil, err
	}
	if _, ok := r.url.Query()["since"]; ok {
		return nil, errors.New("verify: Revocations.URL must not carry the since parameter")
	}
	if r.StreamURL == "" {
		su := *r.url
		su.Path = strings.TrimSuffix(su.Path, "/") + "/stream"
		su.RawPath = ""
		r.StreamURL = su.String()
	}
	if r.streamURL, err = checkURL("Revocations.StreamURL", r.StreamURL); err != nil {
		return nil, err
	}
	if r.Transport != TransportStream && r.Transport != TransportPoll {
		return nil, fmt.Errorf("verify: unknown Revocations.Transport %d", r.Transport)
	}
	if rc.PollInterval < 0 || rc.MaxStaleness < 0 || rc.MaxTokenLifetime < 0 || rc.Heartbeat < 0 || rc.StreamRetry < 0 {
		return nil, errors.New("verify: revocation durations may not be negative")
	}
	if r.PollInterval == 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.MaxStaleness == 0 {
		r.MaxStaleness = 3 * r.PollInterval
	}
	if r.MaxStaleness < r.PollInterval {
		return nil, fmt.Errorf("verify: Revocations.MaxStaleness (%v) is shorter than PollInterval (%v)", r.MaxStaleness, r.PollInterval)
	}
	if r.MaxTokenLifetime == 0 {
		r.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if r.Heartbeat == 0 {
		r.Heartbeat = min(max(r.MaxStaleness/3, MinHeartbeat), MaxDefaultHeartbeat)
		if r.MaxStaleness < 3*MinHeartbeat {
			// Heartbeats cannot come often enough to keep the view fresh.
			r.Transport = TransportPoll
		}
	} else if r.Heartbeat >= r.MaxStaleness {
		return nil, fmt.Errorf("verify: Revocations.Heartbeat (%v) must be shorter than MaxStaleness (%v)", r.Heartbeat, r.MaxStaleness)
	}
	if r.StreamRetry == 0 {
		r.StreamRetry = DefaultStreamRetry
	}
	return r, nil
}
