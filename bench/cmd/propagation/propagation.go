package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sesame-auth/sesame/bench/cmd/internal/benchkit"
)

const maxRevocations = 10000

// Config is one invocation of the propagation tool.
type Config struct {
	Nodes       []string      // base URLs; loopback only; at least 2
	Revocations int           // rounds; each revokes one credential of each kind
	Credentials []string      // "bearer", "cookie"
	RevokeOn    string        // "first" or "random"
	Jitter      time.Duration // random pause before each revocation, up to this
	Deadline    time.Duration // a node still accepting a revoked credential this long after the revocation is a failure
	Insecure    bool
	// Downstream lists downstream verify services to measure, by mode:
	// "stream" and/or "poll". Each follows the last node's revocation feed
	// and is polled with the bearer credential like a node.
	Downstream []string
	// DownstreamPoll is the poll interval of the "poll" downstream;
	// default 1 s (verify's default).
	DownstreamPoll time.Duration
	Log            io.Writer
	// Rand picks the revoking node; nil: a random source.
	Rand *rand.Rand
}

func (c *Config) validate() error {
	if len(c.Nodes) < 2 {
		return errors.New("--nodes: at least two base URLs")
	}
	for i, n := range c.Nodes {
		u, err := benchkit.CheckLoopback(n)
		if err != nil {
			return err
		}
		c.Nodes[i] = u
	}
	if c.Revocations < 1 || c.Revocations > maxRevocations {
		return fmt.Errorf("--revocations %d: want 1 to %d", c.Revocations, maxRevocations)
	}
	if len(c.Credentials) == 0 {
		return errors.New("--credentials: at least one of bearer, cookie")
	}
	for _, k := range c.Credentials {
		if k != "bearer" && k != "cookie" {
			return fmt.Errorf("--credentials: unknown %q (want bearer or cookie)", k)
		}
	}
	if c.RevokeOn != "first" && c.RevokeOn != "random" {
		return fmt.Errorf("--revoke-on %q: want first or random", c.RevokeOn)
	}
	if c.Jitter < 0 || c.Jitter > 10*time.Second {
		return fmt.Errorf("--jitter %v: want 0 to 10s", c.Jitter)
	}
	if c.Deadline <= 0 || c.Deadline > time.Minute {
		return fmt.Errorf("--deadline %v: want more than 0 and at most 1m", c.Deadline)
	}
	seen := map[string]bool{}
	for _, m := range c.Downstream {
		if m != "stream" && m != "poll" || seen[m] {
			return fmt.Errorf("--downstream: %q (want stream and/or poll, once each)", m)
		}
		seen[m] = true
	}
	if len(c.Downstream) > 0 && !slices.Contains(c.Credentials, "bearer") {
		return errors.New("--downstream measures access tokens: --credentials must include bearer")
	}
	if c.DownstreamPoll == 0 {
		c.DownstreamPoll = time.Second
	}
	if c.DownstreamPoll < 10*time.Millisecond || c.DownstreamPoll > time.Minute {
		return fmt.Errorf("--downstream-poll-interval %v: want 10ms to 1m", c.DownstreamPoll)
	}
	return nil
}

func (c *Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", a...)
	}
}

// Row is the revoke-to-rejection latency of one credential kind, on all
// nodes or on one.
type Row struct {
	Credential string  `json:"credential"`
	Node       string  `json:"node"` // "all" or a base URL
	Samples    uint64  `json:"samples"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Maxms      float64 `json:"max_ms"`
	// Failures counts nodes that still accepted the credential at the
	// deadline.
	Failures int `json:"failures"`

	hist benchkit.Histogram
}

// Report is everything one invocation measured.
type Report struct {
	Nodes       []string `json:"nodes"`
	Revocations int      `json:"revocations"`
	RevokeOn    string   `json:"revoke_on"`
	Deadline    string   `json:"deadline"`
	Jitter      string   `json:"jitter"`
	// Downstream lists the downstream verify services' modes; they follow
	// DownstreamOf, the "poll" one every DownstreamPoll.
	Downstream     []string `json:"downstream,omitempty"`
	DownstreamOf   string   `json:"downstream_of,omitempty"`
	DownstreamPoll string   `json:"downstream_poll_interval,omitempty"`
	Rows           []*Row   `json:"rows"`
	// RevokeMs is the revoking request's own round trip (p50, p99): the
	// latencies above start when it has answered.
	RevokeP50ms float64 `json:"revoke_request_p50_ms"`
	RevokeP99ms float64 `json:"revoke_request_p99_ms"`
	// OriginAccepted counts revoked credentials that the revoking node
	// itself still accepted right after answering (must be 0).
	OriginAccepted int `json:"origin_accepted_after_revoke"`
	// PollErrors counts answers other than 200 and 401 while polling.
	PollErrors int `json:"poll_errors"`
	// Failures is the sum of every kind's failures plus OriginAccepted.
	Failures int `json:"failures"`
}

// Run performs the invocation.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rng := cfg.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	apis := make([]*benchkit.API, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		// Two connections per node: the control calls and one poller.
		apis[i] = &benchkit.API{Base: n, Client: benchkit.NewClient(4, cfg.Insecure)}
		defer apis[i].Client.CloseIdleConnections()
	}
	user, pw := "prop-"+benchkit.RandomSuffix(8), benchkit.NewPassword()
	if err := apis[0].Signup(ctx, user, pw); err != nil {
		return nil, err
	}
	rows := map[string]map[string]*Row{} // kind → node ("all" too)
	for _, k := range cfg.Credentials {
		rows[k] = map[string]*Row{"all": {Credential: k, Node: "all"}}
		for _, n := range cfg.Nodes {
			rows[k][n] = &Row{Credential: k, Node: n}
		}
	}
	rep := &Report{Nodes: cfg.Nodes, Revocations: cfg.Revocations, RevokeOn: cfg.RevokeOn, Deadline: cfg.Deadline.String(), Jitter: cfg.Jitter.String()}
	var downs []*downstream
	if len(cfg.Downstream) > 0 {
		followed := cfg.Nodes[len(cfg.Nodes)-1]
		rep.Downstream, rep.DownstreamOf, rep.DownstreamPoll = cfg.Downstream, followed, cfg.DownstreamPoll.String()
		probe, err := apis[0].LoginBearer(ctx, user, pw)
		if err != nil {
			return nil, err
		}
		iss, aud, err := tokenIssuer(probe.Bearer)
		if err != nil {
			return nil, err
		}
		if _, err := apis[0].Do(ctx, "POST", "/api/v1/logout", nil, probe); err != nil {
			return nil, err
		}
		for _, mode := range cfg.Downstream {
			d, err := startDownstream(ctx, &cfg, mode, followed, iss, aud)
			if err != nil {
				return nil, err
			}
			defer d.close()
			downs = append(downs, d)
			rows["bearer"][d.name] = &Row{Credential: "bearer", Node: d.name}
		}
	}
	var revokeHist benchkit.Histogram
	for round := range cfg.Revocations {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if round%50 == 0 {
			cfg.logf("round %d/%d", round+1, cfg.Revocations)
		}
		// The revoker: a bearer session of the same user, whose token
		// revokes cookie sessions by ID (a Bearer request carries no
		// cookie and no Origin, so it needs no CSRF token); and the bearer
		// credential under test, revoked by logging it out.
		bearer, err := apis[0].LoginBearer(ctx, user, pw)
		if err != nil {
			return nil, err
		}
		var cookie benchkit.Credential
		if slices.Contains(cfg.Credentials, "cookie") {
			if cookie, _, err = apis[0].LoginCookie(ctx, user, pw); err != nil {
				return nil, err
			}
		}
		// The bearer token revokes on any node, so every node must accept
		// it, whether or not bearer is under test.
		for i, a := range apis {
			if err := waitStatus(ctx, a, bearer, http.StatusOK, cfg.Deadline); err != nil {
				return nil, fmt.Errorf("round %d: a Bearer token from %s on %s: %w (do the nodes share one --issuer and one database?)", round+1, cfg.Nodes[0], cfg.Nodes[i], err)
			}
		}
		revoker := 0
		if cfg.RevokeOn == "random" {
			revoker = rng.IntN(len(cfg.Nodes))
		}
		// Cookie first (the bearer token is its revoker), then bearer.
		for _, kind := range []string{"cookie", "bearer"} {
			if !slices.Contains(cfg.Credentials, kind) {
				continue
			}
			cred := bearer
			if kind == "cookie" {
				cred = cookie
			}
			for i, a := range apis {
				if err := waitStatus(ctx, a, cred, http.StatusOK, cfg.Deadline); err != nil {
					return nil, fmt.Errorf("round %d: the %s credential from %s on %s: %w", round+1, kind, cfg.Nodes[0], cfg.Nodes[i], err)
				}
			}
			if kind == "bearer" {
				for _, d := range downs {
					if err := waitStatus(ctx, d.api, cred, http.StatusOK, cfg.Deadline); err != nil {
						return nil, fmt.Errorf("round %d: the bearer credential on the %s: %w", round+1, d.name, err)
					}
				}
			}
			if cfg.Jitter > 0 {
				// Out of step with any node's sync timer: a round starts
				// right after the previous one was detected, so without a
				// pause every revocation would land at the same phase of a
				// polling node's interval.
				time.Sleep(time.Duration(rng.Int64N(int64(cfg.Jitter))))
			}
			t := time.Now()
			var r *benchkit.Response
			if kind == "cookie" {
				r, err = apis[revoker].Do(ctx, "DELETE", "/api/v1/sessions/"+cookie.SessionID, nil, bearer)
			} else {
				r, err = apis[revoker].Do(ctx, "POST", "/api/v1/logout", nil, bearer)
			}
			if err != nil {
				return nil, err
			}
			if r.Status != http.StatusNoContent {
				return nil, fmt.Errorf("round %d: revoking the %s credential on %s answered %d: %s", round+1, kind, cfg.Nodes[revoker], r.Status, r.Body)
			}
			revoked := time.Now()
			revokeHist.Record(revoked.Sub(t))
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i, a := range apis {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i == revoker {
						// The revoking node must reject at once.
						if r, err := a.Do(ctx, "GET", "/api/v1/me", nil, cred); err == nil && r.Status == http.StatusOK {
							mu.Lock()
							rep.OriginAccepted++
							mu.Unlock()
						}
						return
					}
					lat, errs, ok := pollUntilRejected(ctx, a, cred, revoked, cfg.Deadline)
					mu.Lock()
					defer mu.Unlock()
					rep.PollErrors += errs
					if !ok {
						rows[kind]["all"].Failures++
						rows[kind][cfg.Nodes[i]].Failures++
						return
					}
					rows[kind]["all"].hist.Record(lat)
					rows[kind][cfg.Nodes[i]].hist.Record(lat)
				}()
			}
			if kind == "bearer" {
				for _, d := range downs {
					wg.Go(func() {
						lat, errs, ok := pollUntilRejected(ctx, d.api, cred, revoked, cfg.Deadline)
						mu.Lock()
						defer mu.Unlock()
						rep.PollErrors += errs
						row := rows[kind][d.name]
						if !ok {
							row.Failures++
							rep.Failures++
							return
						}
						row.hist.Record(lat)
					})
				}
			}
			wg.Wait()
		}
		if !slices.Contains(cfg.Credentials, "bearer") {
			// The revoker was not under test: end its session too.
			if _, err := apis[0].Do(ctx, "POST", "/api/v1/logout", nil, bearer); err != nil {
				return nil, err
			}
		}
	}
	rep.RevokeP50ms, rep.RevokeP99ms = ms(revokeHist.Quantile(0.5)), ms(revokeHist.Quantile(0.99))
	rep.Failures += rep.OriginAccepted // plus the downstreams' failures, counted above
	for _, k := range cfg.Credentials {
		names := append([]string{"all"}, cfg.Nodes...)
		if k == "bearer" {
			for _, d := range downs {
				names = append(names, d.name)
			}
		}
		for _, n := range names {
			row := rows[k][n]
			if n != "all" && row.hist.Count() == 0 && row.Failures == 0 {
				continue // only ever the revoking node
			}
			row.Samples = row.hist.Count()
			row.P50ms, row.P99ms, row.Maxms = ms(row.hist.Quantile(0.5)), ms(row.hist.Quantile(0.99)), ms(row.hist.Max())
			rep.Rows = append(rep.Rows, row)
			if n == "all" {
				rep.Failures += row.Failures
			}
		}
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitStatus polls GET /api/v1/me until it answers want.
func waitStatus(ctx context.Context, a *benchkit.API, cred benchkit.Credential, want int, deadline time.Duration) error {
	end := time.Now().Add(deadline)
	for {
		r, err := a.Do(ctx, "GET", "/api/v1/me", nil, cred)
		if err != nil {
			return err
		}
		if r.Status == want {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("GET /api/v1/me answered %d, want %d: %s", r.Status, want, r.Body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pollUntilRejected sends GET /api/v1/me back to back until it answers
// 401, and returns the time from revoked to that answer's arrival. ok is
// false when the node still accepted the credential at the deadline. errs
// counts answers other than 200 and 401 (and transport errors).
func pollUntilRejected(ctx context.Context, a *benchkit.API, cred benchkit.Credential, revoked time.Time, deadline time.Duration) (lat time.Duration, errs int, ok bool) {
	for {
		r, err := a.Do(ctx, "GET", "/api/v1/me", nil, cred)
		now := time.Now()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, errs, false
			}
			errs++
		case r.Status == http.StatusUnauthorized:
			return now.Sub(revoked), errs, true
		case r.Status != http.StatusOK:
			errs++
		}
		if now.Sub(revoked) > deadline {
			return 0, errs, false
		}
	}
}
