package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/sesame-auth/sesame/bench/cmd/internal/benchkit"
)

// Bounds of the flags, so that a typo cannot start an hour-long run.
const (
	maxDuration    = 5 * time.Minute
	maxConcurrency = 1024
	maxUsers       = 1000
	maxRounds      = 20
)

// Config is one invocation of the load tool.
type Config struct {
	URL         string        // base URL; loopback only
	Modes       []string      // cookie, bearer, floor, flood
	Duration    time.Duration // of each measured phase
	Requests    int64         // cap on the requests of each phase; 0: none
	Concurrency int           // closed-loop workers driving GET requests
	Users       int           // accounts signed up and logged in first
	Rounds      int           // repetitions of the floor/auth phase sequence
	Warmup      time.Duration // unrecorded load before the first phase
	Insecure    bool          // skip TLS verification (https on loopback)
	Flood       FloodConfig
	Log         io.Writer // progress lines; nil: none
}

func (c *Config) validate() error {
	u, err := benchkit.CheckLoopback(c.URL)
	if err != nil {
		return err
	}
	c.URL = u
	if len(c.Modes) == 0 {
		return errors.New("--mode: at least one of cookie, bearer, floor, flood")
	}
	for _, m := range c.Modes {
		switch m {
		case "cookie", "bearer", "floor", "flood":
		default:
			return fmt.Errorf("--mode: unknown mode %q (want cookie, bearer, floor or flood)", m)
		}
	}
	if c.Duration <= 0 || c.Duration > maxDuration {
		return fmt.Errorf("--duration %v: want more than 0 and at most %v", c.Duration, maxDuration)
	}
	if c.Requests < 0 {
		return errors.New("--requests: must not be negative")
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		return fmt.Errorf("--concurrency %d: want 1 to %d", c.Concurrency, maxConcurrency)
	}
	if c.Users < 1 || c.Users > maxUsers {
		return fmt.Errorf("--users %d: want 1 to %d", c.Users, maxUsers)
	}
	if c.Rounds < 1 || c.Rounds > maxRounds {
		return fmt.Errorf("--rounds %d: want 1 to %d", c.Rounds, maxRounds)
	}
	if c.Warmup < 0 || c.Warmup > time.Minute {
		return fmt.Errorf("--warmup %v: want 0 to 1m", c.Warmup)
	}
	if slices.Contains(c.Modes, "flood") {
		return c.Flood.validate()
	}
	return nil
}

func (c *Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", a...)
	}
}

// Phase is the result of driving one endpoint with one credential kind.
type Phase struct {
	Mode     string            `json:"mode"`
	Path     string            `json:"path"`
	Requests uint64            `json:"requests"`
	Errors   uint64            `json:"errors"`
	Statuses map[string]uint64 `json:"statuses,omitempty"` // non-200 answers and transport errors
	Seconds  float64           `json:"seconds"`
	RPS      float64           `json:"rps"`
	P50ms    float64           `json:"p50_ms"`
	P99ms    float64           `json:"p99_ms"`
	Maxms    float64           `json:"max_ms"`
	// Ratios to the floor measured in the same invocation (0 when no floor).
	RPSRatio float64 `json:"rps_ratio_to_floor,omitempty"`
	P50Ratio float64 `json:"p50_ratio_to_floor,omitempty"`
	P99Ratio float64 `json:"p99_ratio_to_floor,omitempty"`

	hist benchkit.Histogram
}

// Report is everything one invocation measured.
type Report struct {
	URL         string       `json:"url"`
	Concurrency int          `json:"concurrency"`
	Duration    string       `json:"duration_per_phase"`
	Rounds      int          `json:"rounds"`
	Users       int          `json:"users"`
	Phases      []*Phase     `json:"phases,omitempty"`
	Flood       *FloodReport `json:"flood,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Run performs the whole invocation: accounts, logins, phases.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	client := benchkit.NewClient(cfg.Concurrency, cfg.Insecure)
	defer client.CloseIdleConnections()
	api := &benchkit.API{Base: cfg.URL, Client: benchkit.NewClient(4, cfg.Insecure)}
	rep := &Report{URL: cfg.URL, Concurrency: cfg.Concurrency, Duration: cfg.Duration.String(), Rounds: cfg.Rounds, Users: cfg.Users}

	// Which credentials the run needs.
	need := map[string]bool{}
	var authModes []string
	for _, m := range cfg.Modes {
		switch m {
		case "cookie", "bearer":
			if !slices.Contains(authModes, m) {
				authModes = append(authModes, m)
			}
			need[m] = true
		case "flood":
			for _, a := range cfg.Flood.Auth {
				need[a] = true
			}
		}
	}
	creds := map[string][]benchkit.Credential{}
	if len(need) > 0 {
		var err error
		if creds, err = setupUsers(ctx, api, cfg, need); err != nil {
			return nil, err
		}
	}
	if cfg.Warmup > 0 {
		cfg.logf("warm-up: %v of GET /livez", cfg.Warmup)
		drive(ctx, client, cfg.URL, "/livez", nil, cfg.Concurrency, cfg.Warmup, 0)
	}

	runFloor := slices.Contains(cfg.Modes, "floor") || len(authModes) > 0
	if runFloor {
		byMode := map[string]*Phase{}
		order := append([]string{"floor"}, authModes...)
		for round := range cfg.Rounds {
			for _, m := range order {
				path, cr := "/api/v1/me", creds[m]
				if m == "floor" {
					path, cr = "/livez", nil
				}
				cfg.logf("round %d/%d: %s (GET %s) for %v, concurrency %d", round+1, cfg.Rounds, m, path, cfg.Duration, cfg.Concurrency)
				p := drive(ctx, client, cfg.URL, path, cr, cfg.Concurrency, cfg.Duration, cfg.Requests)
				p.Mode = m
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if prev := byMode[m]; prev != nil {
					prev.merge(p)
				} else {
					byMode[m] = p
				}
			}
		}
		floor := byMode["floor"]
		for _, m := range order {
			p := byMode[m]
			p.finish()
			if m != "floor" && floor.RPS > 0 && floor.P50ms > 0 && floor.P99ms > 0 {
				p.RPSRatio, p.P50Ratio, p.P99Ratio = p.RPS/floor.RPS, p.P50ms/floor.P50ms, p.P99ms/floor.P99ms
			}
			rep.Phases = append(rep.Phases, p)
		}
	}
	if slices.Contains(cfg.Modes, "flood") {
		fr, err := runFlood(ctx, cfg, api, client, creds)
		if err != nil {
			return nil, err
		}
		rep.Flood = fr
	}
	return rep, nil
}

// setupUsers signs up cfg.Users accounts and logs each in once per
// credential kind in need.
func setupUsers(ctx context.Context, api *benchkit.API, cfg Config, need map[string]bool) (map[string][]benchkit.Credential, error) {
	creds := map[string][]benchkit.Credential{}
	prefix := "load-" + benchkit.RandomSuffix(8) + "-"
	cfg.logf("signing up and logging in %d users (%s*)", cfg.Users, prefix)
	for i := range cfg.Users {
		name, pw := fmt.Sprintf("%s%d", prefix, i), benchkit.NewPassword()
		if err := api.Signup(ctx, name, pw); err != nil {
			return nil, err
		}
		if need["cookie"] {
			c, _, err := api.LoginCookie(ctx, name, pw)
			if err != nil {
				return nil, err
			}
			creds["cookie"] = append(creds["cookie"], c)
		}
		if need["bearer"] {
			c, err := api.LoginBearer(ctx, name, pw)
			if err != nil {
				return nil, err
			}
			creds["bearer"] = append(creds["bearer"], c)
		}
	}
	// Every credential must work before it is measured.
	for kind, list := range creds {
		for _, c := range list {
			r, err := api.Do(ctx, "GET", "/api/v1/me", nil, c)
			if err != nil {
				return nil, err
			}
			if r.Status != http.StatusOK {
				return nil, fmt.Errorf("%s credential: GET /api/v1/me answered %d: %s", kind, r.Status, r.Body)
			}
		}
	}
	return creds, nil
}

// drive runs the closed loop of [benchkit.Drive] on base+path.
func drive(ctx context.Context, client *http.Client, base, path string, creds []benchkit.Credential, concurrency int, d time.Duration, limit int64) *Phase {
	r := benchkit.Drive(ctx, client, benchkit.Loop{URL: base + path, UserAgent: "sesame-bench/1", Creds: creds,
		Concurrency: concurrency, Duration: d, Limit: limit})
	return &Phase{Path: path, Statuses: r.Statuses, Seconds: r.Seconds, Errors: r.Errors, hist: r.Hist, Requests: r.Hist.Count()}
}

// merge adds o's requests to p (a later round of the same mode).
func (p *Phase) merge(o *Phase) {
	p.hist.Merge(&o.hist)
	p.Requests += o.Requests
	p.Errors += o.Errors
	p.Seconds += o.Seconds
	for k, v := range o.Statuses {
		p.Statuses[k] += v
	}
}

// finish computes the rates and quantiles from the histogram.
func (p *Phase) finish() {
	if p.Seconds > 0 {
		p.RPS = float64(p.Requests) / p.Seconds
	}
	p.P50ms, p.P99ms, p.Maxms = ms(p.hist.Quantile(0.50)), ms(p.hist.Quantile(0.99)), ms(p.hist.Max())
	if len(p.Statuses) == 0 {
		p.Statuses = nil
	}
}
