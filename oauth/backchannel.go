package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/retry"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/session"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0).
//
// When the token endpoint first gives a client tokens for a session, it
// records a logout target (session, client) in the durable store
// ([Provider.trackSession]). [Provider.Start] runs two loops:
//
//   - a follower of the session revocation feed
//     ([session.Manager.Revocations]), from the position stored under the
//     name "backchannel": for each page it makes the targets of the revoked
//     sessions due ([Store.SessionsEnded]) and only then stores the new
//     position, so that a crash between the two marks the page again
//     (harmless: marking is idempotent) and loses nothing. It wakes on
//     [session.Manager.FeedAdvanced] and polls besides. When the feed no
//     longer holds its position ([session.ErrFeedGone]: the session store
//     was reset, or Sesame was down longer than the feed's retention) it
//     walks every pending target, makes due those whose session is no
//     longer live, and reads the feed again from its start. A session
//     store that does not answer is "unknown, retry later", never "ended".
//   - a deliverer: it claims due targets ([Store.ClaimLogouts], a lease of
//     30 s so that two nodes never deliver one target at once and a node
//     that dies gives its claims back), and POSTs a signed logout token to
//     each client's back-channel URI, several at once so that a slow client
//     does not hold back the others. 200 or 204 is delivered; anything else
//     is tried again with exponential backoff and jitter (1 s doubling to
//     10 min), and given up, with an audit event and a warning, once the
//     schedule has run for about 24 hours.
//
// Delivery is at least once: a node that dies after the client answered
// and before the target was deleted delivers it again. Every node of a
// cluster may run Start: claims make deliveries exclusive, marking is
// idempotent, and the stored position may move back when two nodes write
// it (which only marks a few sessions again).

// Names of the logout token (Back-Channel Logout §2.4).
const (
	// LogoutTokenType is the typ header of a logout token (Back-Channel
	// Logout §2.4, §4.1), so that it cannot be taken for an ID token or
	// an access token.
	LogoutTokenType = "logout+jwt"
	// BackchannelLogoutEvent is the member of a logout token's events
	// claim.
	BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// LogoutTokenTTL is a logout token's lifetime.
	LogoutTokenTTL = 2 * time.Minute
	// backchannelCursor names the follower's stored feed position.
	backchannelCursor = "backchannel"
)

// backchannelTuning are the dispatcher's intervals and limits; tests use
// shorter ones.
type backchannelTuning struct {
	Poll           time.Duration // feed read and due-target claim at least this often
	Lease          time.Duration // a claim's lease
	MinBackoff     time.Duration // first retry delay
	MaxBackoff     time.Duration // retry delay cap
	GiveUp         time.Duration // retry schedule span after which a target is dropped
	Workers        int           // concurrent deliveries
	FeedPage       int           // changes per feed read
	TargetPage     int           // targets per read of the reconciliation walk
	RequestTimeout time.Duration // one delivery's HTTP exchange
	CursorEvery    time.Duration // store the position at least this often while it moves without revocations
}

var defaultBackchannelTuning = backchannelTuning{
	Poll:           2 * time.Second,
	Lease:          30 * time.Second,
	MinBackoff:     time.Second,
	MaxBackoff:     10 * time.Minute,
	GiveUp:         24 * time.Hour,
	Workers:        8,
	FeedPage:       500,
	TargetPage:     500,
	RequestTimeout: 10 * time.Second,
	CursorEvery:    time.Minute,
}

// trackSession records that the client is getting tokens for the session,
// so that it is sent a logout token when the session ends. The token
// endpoint calls it before it issues the tokens: a session that ends after
// this call is seen by the dispatcher with the target in place. A client
// without a back-channel logout URI needs nothing.
func (p *Provider) trackSession(ctx context.Context, client *Client, sid, userID string) error {
	if client.BackchannelLogoutURI == "" {
		return nil
	}
	if sid == "" {
		return errors.New("oauth: a logout target needs a session")
	}
	return p.cfg.Store.AddLogoutTarget(ctx, &LogoutTarget{
		SessionID: sid,
		ClientID:  client.ID,
		UserID:    userID,
		CreatedAt: p.cfg.Clock.Now().UTC(),
	})
}

// Start runs the back-channel logout dispatcher until ctx ends, and
// returns once its deliveries in flight have stopped. Run it in its own
// goroutine; every node of a cluster may run it. See the package's
// back-channel logout notes in backchannel.go: notices come from a durable
// outbox, so a restart loses none.
func (p *Provider) Start(ctx context.Context) {
	p.runBackchannel(ctx, defaultBackchannelTuning)
}

func (p *Provider) runBackchannel(ctx context.Context, tu backchannelTuning) {
	d := &dispatcher{p: p, tu: tu, kick: make(chan struct{}, 1), done: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.follow(ctx) }()
	go func() { defer wg.Done(); d.deliverLoop(ctx) }()
	wg.Wait()
}

// dispatcher is one run of Start.
type dispatcher struct {
	p    *Provider
	tu   backchannelTuning
	kick chan struct{} // targets were made due
	done chan struct{} // a delivery finished

	mu      sync.Mutex
	nextDue time.Time // the earliest retry this node scheduled, zero for none
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// follow reads the revocation feed until ctx ends.
func (d *dispatcher) follow(ctx context.Context) {
	st := followState{}
	failing := false
	for {
		wake := d.p.cfg.Sessions.FeedAdvanced() // before the read: a change after it closes wake
		err := d.catchUp(ctx, &st)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && !failing:
			d.p.cfg.Logger.Warn("oauth: back-channel logout: cannot follow the session revocation feed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			d.p.cfg.Logger.Info("oauth: back-channel logout: following the session revocation feed again")
			failing = false
		}
		t := time.NewTimer(d.tu.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// followState is the follower's position.
type followState struct {
	loaded    bool
	pos       int64     // read up to here
	stored    int64     // the position last stored
	storedAt  time.Time // when
	reconcile bool      // the feed lost the position: walk the targets before reading it from 0
}

// catchUp reads the feed from st.pos until it has read everything.
func (d *dispatcher) catchUp(ctx context.Context, st *followState) error {
	cfg := &d.p.cfg
	if !st.loaded {
		pos, err := cfg.Store.Cursor(ctx, backchannelCursor)
		if err != nil {
			return fmt.Errorf("read the stored feed position: %w", err)
		}
		st.pos, st.stored, st.storedAt, st.loaded = pos, pos, time.Now(), true
	}
	for {
		if st.reconcile {
			if err := d.reconcile(ctx); err != nil {
				return fmt.Errorf("reconcile logout targets after the feed lost our position: %w", err)
			}
			if err := cfg.Store.SetCursor(ctx, backchannelCursor, 0); err != nil {
				return fmt.Errorf("store the feed position: %w", err)
			}
			st.reconcile, st.pos, st.stored, st.storedAt = false, 0, 0, time.Now()
		}
		page, err := cfg.Sessions.Revocations(ctx, st.pos, d.tu.FeedPage)
		if errors.Is(err, session.ErrFeedGone) {
			cfg.Logger.Warn("oauth: back-channel logout: the session revocation feed no longer holds our position (store reset, or down longer than its retention); checking every pending logout target's session", "position", st.pos)
			st.reconcile = true
			continue
		}
		if err != nil {
			return err
		}
		if len(page.Revocations) > 0 {
			ids := make([]string, len(page.Revocations))
			for i, r := range page.Revocations {
				ids[i] = r.SessionID
			}
			n, err := cfg.Store.SessionsEnded(ctx, ids, cfg.Clock.Now().UTC())
			if err != nil {
				return fmt.Errorf("mark logout targets due: %w", err)
			}
			if n > 0 {
				signal(d.kick)
			}
		}
		st.pos = page.Next
		// Store the position after the page's targets are marked. A page
		// without revocations need not be stored at once (reading it again
		// marks nothing) but is within CursorEvery, so that a restart does
		// not start from a position the feed's retention has passed.
		if st.pos != st.stored && (len(page.Revocations) > 0 || time.Since(st.storedAt) >= d.tu.CursorEvery) {
			if err := cfg.Store.SetCursor(ctx, backchannelCursor, st.pos); err != nil {
				return fmt.Errorf("store the feed position: %w", err)
			}
			st.stored, st.storedAt = st.pos, time.Now()
		}
		if !page.More {
			return nil
		}
	}
}

// reconcile walks every pending (not yet due) logout target and makes due
// those whose session is no longer live. A session whose state is unknown
// (the session store does not answer) stops the walk with an error: it is
// tried again later, and nothing is marked on a guess.
func (d *dispatcher) reconcile(ctx context.Context) error {
	cfg := &d.p.cfg
	after := ""
	marked := 0
	for {
		ts, err := cfg.Store.LogoutTargets(ctx, after, d.tu.TargetPage)
		if err != nil {
			return err
		}
		var dead []string
		for i, t := range ts {
			if i > 0 && ts[i-1].SessionID == t.SessionID {
				continue
			}
			ended, err := d.sessionEnded(ctx, t.SessionID)
			if err != nil {
				if len(dead) > 0 { // what is known is marked
					if n, err := cfg.Store.SessionsEnded(ctx, dead, cfg.Clock.Now().UTC()); err == nil && n > 0 {
						signal(d.kick)
					}
				}
				return err
			}
			if ended {
				dead = append(dead, t.SessionID)
			}
		}
		if len(dead) > 0 {
			n, err := cfg.Store.SessionsEnded(ctx, dead, cfg.Clock.Now().UTC())
			if err != nil {
				return err
			}
			if n > 0 {
				marked += n
				signal(d.kick)
			}
		}
		if len(ts) < d.tu.TargetPage {
			cfg.Logger.Info("oauth: back-channel logout: pending logout targets checked", "made_due", marked)
			return nil
		}
		after = ts[len(ts)-1].SessionID
	}
}

// sessionEnded asks the session store whether the session has ended. It
// uses Lookup, which records no use of the session (its idle deadline is
// not pushed back by the walk). Not found, revoked or expired is ended; a
// store that does not answer is an error.
func (d *dispatcher) sessionEnded(ctx context.Context, sid string) (bool, error) {
	_, err := d.p.cfg.Sessions.Lookup(ctx, sid)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, sesame.ErrNotFound), sesame.ErrorCode(err) == sesame.EUnauthenticated, sesame.ErrorCode(err) == sesame.ENotFound:
		return true, nil
	default:
		return false, fmt.Errorf("is session live: %w", err)
	}
}

// deliverLoop claims due targets and delivers them, Workers at a time,
// until ctx ends; it returns once the deliveries in flight are done.
func (d *dispatcher) deliverLoop(ctx context.Context) {
	cfg := &d.p.cfg
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := make(chan struct{}, d.tu.Workers) // one element per delivery in flight
	failing := false
	for {
		free := d.tu.Workers - len(busy) // only this loop adds to busy
		claimed := 0
		if free > 0 {
			now := cfg.Clock.Now().UTC()
			ts, err := cfg.Store.ClaimLogouts(ctx, now, now.Add(d.tu.Lease), free)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err != nil && !failing:
				cfg.Logger.Warn("oauth: back-channel logout: cannot claim due logout notices; retrying", "err", err)
				failing = true
			case err == nil && failing:
				cfg.Logger.Info("oauth: back-channel logout: claiming logout notices again")
				failing = false
			}
			for _, t := range ts {
				busy <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.deliver(ctx, t)
					<-busy
					signal(d.done)
				}()
			}
			claimed = len(ts)
			if claimed == free {
				continue // there may be more due: claim until full
			}
		}
		var done chan struct{}
		if free == 0 {
			done = d.done // all workers busy: claim again when one is free
		}
		wait := d.tu.Poll
		d.mu.Lock()
		if !d.nextDue.IsZero() {
			wait = min(wait, max(d.nextDue.Sub(cfg.Clock.Now()), 0))
			d.nextDue = time.Time{}
		}
		d.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.kick:
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver sends one logout notice and records the outcome.
func (d *dispatcher) deliver(ctx context.Context, t *LogoutTarget) {
	cfg := &d.p.cfg
	log := cfg.Logger.With("client_id", t.ClientID, "user_id", t.UserID)
	c, err := cfg.Registry.Client(ctx, t.ClientID)
	switch {
	case errors.Is(err, sesame.ErrNotFound) || (err == nil && c.BackchannelLogoutURI == ""):
		// The client was removed, or no longer wants notices.
		if err := cfg.Store.DeleteLogout(ctx, t.SessionID, t.ClientID); err != nil && ctx.Err() == nil {
			log.Warn("oauth: back-channel logout: cannot drop a notice to a removed client", "err", err)
		}
		return
	case err != nil:
		if ctx.Err() == nil {
			// The claim lapses at the end of its lease and the notice is
			// claimed again.
			log.Warn("oauth: back-channel logout: cannot read the client", "err", err)
		}
		return
	}
	tok, err := d.p.logoutToken(c, t.UserID, t.SessionID)
	if err == nil {
		err = d.post(ctx, c.BackchannelLogoutURI, tok)
	}
	if ctx.Err() != nil {
		// Shutting down mid-delivery: give the claim back so that the next
		// run (or another node) need not wait for its lease. Best effort:
		// failing that, the claim lapses at the end of its lease.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = cfg.Store.RetryLogout(bg, t.SessionID, t.ClientID, cfg.Clock.Now().UTC(), "interrupted by a shutdown")
		cancel()
		return
	}
	if err == nil {
		if err := cfg.Store.DeleteLogout(ctx, t.SessionID, t.ClientID); err != nil {
			log.Warn("oauth: back-channel logout: delivered, but cannot remove it from the outbox: it will be sent again", "err", err)
		}
		log.Debug("oauth: back-channel logout delivered", "attempts", t.Attempts)
		return
	}
	d.failed(ctx, t, err.Error(), log)
}

// failed schedules the next attempt, or gives the notice up once the
// schedule has run for GiveUp.
func (d *dispatcher) failed(ctx context.Context, t *LogoutTarget, reason string, log *slog.Logger) {
	cfg := &d.p.cfg
	if d.tu.scheduleSpan(t.Attempts) >= d.tu.GiveUp {
		if err := cfg.Store.DeleteLogout(ctx, t.SessionID, t.ClientID); err != nil {
			log.Warn("oauth: back-channel logout: cannot drop a notice given up; it will be tried again", "err", err)
			return
		}
		log.Warn("oauth: back-channel logout: notice given up: the client's back-channel logout URI did not accept it", "attempts", t.Attempts, "last_error", reason)
		if cfg.Events != nil {
			cfg.Events.Emit(ctx, sesame.Event{
				Type:      sesame.EventBackchannelLogoutFailed,
				Time:      cfg.Clock.Now().UTC(),
				UserID:    t.UserID,
				SessionID: t.SessionID,
				Reason:    "client " + t.ClientID + ": " + reason,
			})
		}
		return
	}
	due := cfg.Clock.Now().Add(d.tu.backoff(t.Attempts)).UTC()
	if err := cfg.Store.RetryLogout(ctx, t.SessionID, t.ClientID, due, reason); err != nil {
		log.Warn("oauth: back-channel logout: cannot schedule the next attempt; the claim lapses at its lease", "err", err)
		return
	}
	log.Debug("oauth: back-channel logout failed; will retry", "attempts", t.Attempts, "err", reason, "retry_at", due)
	d.mu.Lock()
	if d.nextDue.IsZero() || due.Before(d.nextDue) {
		d.nextDue = due
	}
	d.mu.Unlock()
}

// schedule is the tuning's retry schedule (package retry, shared with
// the other outbox).
func (tu *backchannelTuning) schedule() retry.Schedule {
	return retry.Schedule{Min: tu.MinBackoff, Max: tu.MaxBackoff, GiveUp: tu.GiveUp}
}

// nominalBackoff is the delay after the attempts-th failed attempt,
// without jitter: MinBackoff doubling up to MaxBackoff.
func (tu *backchannelTuning) nominalBackoff(attempts int) time.Duration {
	return tu.schedule().Nominal(attempts)
}

// backoff is nominalBackoff with jitter from crypto/rand, in [3/4, 1] of it.
func (tu *backchannelTuning) backoff(attempts int) time.Duration {
	return tu.schedule().Backoff(attempts)
}

// scheduleSpan is about how long the retry schedule has run after the
// attempts-th attempt, plus the delay before the next.
func (tu *backchannelTuning) scheduleSpan(attempts int) time.Duration {
	return tu.schedule().Span(attempts)
}

// post sends the logout token to uri (Back-Channel Logout §2.5) and
// returns nil when the client answered 200 or 204 (§2.8). The error never
// carries the token, and not the URI either (it could hold a secret).
func (d *dispatcher) post(ctx context.Context, uri, tok string) error {
	ctx, cancel := context.WithTimeout(ctx, d.tu.RequestTimeout)
	defer cancel()
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return errors.New("the back-channel logout URI is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := d.p.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("request failed: %v", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		return nil
	}
	return errors.New("answered HTTP " + strconv.Itoa(resp.StatusCode))
}

// logoutClaims are a logout token's claims (Back-Channel Logout §2.4). It
// has no nonce: §2.4 forbids one, so that a logout token cannot pass for
// an ID token.
type logoutClaims struct {
	jose.Claims
	SessionID string                         `json:"sid"`
	Events    map[string]map[string]struct{} `json:"events"`
}

// logoutToken returns the signed logout token telling client that the
// session sid of userID ended: iss, sub, aud (the client), iat, exp,
// jti, sid and events, typ "logout+jwt", signed with the key of the
// client's ID-token algorithm (the deployment's first algorithm when it
// has no key of that one).
func (p *Provider) logoutToken(c *Client, userID, sid string) (string, error) {
	key := p.cfg.Keys.SigningKeyFor(c.IDTokenAlg)
	if key == nil {
		for _, alg := range p.cfg.Keys.Algorithms() {
			if key = p.cfg.Keys.SigningKeyFor(alg); key != nil {
				break
			}
		}
	}
	if key == nil {
		return "", errors.New("no signing key")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := p.cfg.Clock.Now()
	claims := &logoutClaims{
		Claims: jose.Claims{
			Issuer:    p.cfg.Issuer,
			Subject:   userID,
			Audience:  jose.Audience{c.ID},
			IssuedAt:  jose.NewNumericDate(now),
			ExpiresAt: jose.NewNumericDate(now.Add(LogoutTokenTTL)),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		SessionID: sid,
		Events:    map[string]map[string]struct{}{BackchannelLogoutEvent: {}},
	}
	return jose.SignJWT(key, claims, jose.SignOptions{Type: LogoutTokenType})
}
