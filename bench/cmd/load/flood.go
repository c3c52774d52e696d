package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sesame-auth/sesame/bench/cmd/internal/benchkit"
	"github.com/sesame-auth/sesame/password"
)

// FloodConfig is the login flood of --mode flood (issue 6).
type FloodConfig struct {
	Rate      float64  // attempts per second; 0: Factor × the measured capacity
	Factor    float64  // multiple of the measured capacity when Rate is 0
	IPs       []int    // variants: distinct client IPs per flood (0: a fresh one per attempt)
	Auth      []string // credential kinds of the GET /api/v1/me load beside it
	Inflight  int      // most flood requests in flight; beyond it an attempt is dropped and counted
	HashSlots int      // the server's hashing concurrency (its default: GOMAXPROCS/2, at least 1)
	Calibrate int      // sequential hashes and logins timed before the flood
	// Params are the argon2id parameters timed in the tool; zero fields
	// take Sesame's defaults (what `sesame serve` uses).
	Params password.Params
}

func (f *FloodConfig) validate() error {
	if f.Rate < 0 || f.Rate > 20000 {
		return fmt.Errorf("--flood-rate %v: want 0 (auto) to 20000", f.Rate)
	}
	if f.Factor <= 0 || f.Factor > 100 {
		return fmt.Errorf("--flood-factor %v: want more than 0 and at most 100", f.Factor)
	}
	if len(f.IPs) == 0 {
		return errors.New("--flood-ips: at least one variant")
	}
	for _, n := range f.IPs {
		if n < 0 || n > 1<<24 {
			return fmt.Errorf("--flood-ips %d: want 0 (fresh per attempt) to %d", n, 1<<24)
		}
	}
	if len(f.Auth) == 0 {
		return errors.New("--flood-auth: at least one of cookie, bearer")
	}
	for _, a := range f.Auth {
		if a != "cookie" && a != "bearer" {
			return fmt.Errorf("--flood-auth: unknown credential %q (want cookie or bearer)", a)
		}
	}
	if f.Inflight < 1 || f.Inflight > 4096 {
		return fmt.Errorf("--flood-inflight %d: want 1 to 4096", f.Inflight)
	}
	if f.HashSlots < 0 {
		return errors.New("--hash-slots: must not be negative")
	}
	if f.Calibrate < 1 || f.Calibrate > 100 {
		return fmt.Errorf("--calibrate %d: want 1 to 100", f.Calibrate)
	}
	return nil
}

// Calibration is what the tool measured before flooding.
type Calibration struct {
	HashParams  string  `json:"hash_params"`
	HashMs      float64 `json:"hash_ms"`                   // median argon2id time in the tool, same parameters
	FailMs      float64 `json:"failed_login_ms"`           // median sequential failed login, client-measured
	OKMs        float64 `json:"ok_login_ms"`               // median sequential successful login (session transport)
	FailOutside float64 `json:"failed_login_outside_hash"` // (FailMs - HashMs) / FailMs
	OKOutside   float64 `json:"ok_login_outside_hash"`     // (OKMs - HashMs) / OKMs
	// The same from the fastest sample of each (least disturbed by the
	// other work on a shared machine).
	HashMinMs      float64 `json:"hash_min_ms"`
	FailMinMs      float64 `json:"failed_login_min_ms"`
	OKMinMs        float64 `json:"ok_login_min_ms"`
	FailOutsideMin float64 `json:"failed_login_outside_hash_min"`
	OKOutsideMin   float64 `json:"ok_login_outside_hash_min"`
	// RTTMs is the median sequential GET /livez round trip: the HTTP
	// and loopback cost any request pays (/livez touches no store).
	// FailOutsideServer is (FailMs - HashMs - RTTMs) / FailMs.
	RTTMs             float64 `json:"livez_rtt_ms"`
	FailOutsideServer float64 `json:"failed_login_outside_hash_minus_rtt"`
	HashSlots         int     `json:"hash_slots"`
	Capacity          float64 `json:"capacity_logins_per_s"` // HashSlots / FailMs
}

// FloodRow is the GET /api/v1/me load with one credential kind, alone or
// beside one flood variant.
type FloodRow struct {
	Auth  string `json:"auth"`
	Flood string `json:"flood"` // "none", "fresh IP per attempt", "1 IP", "N IPs"
	Me    *Phase `json:"me"`
	// P99Ratio is this row's /me p99 ÷ the same credential's p99 without
	// flood (measured just before).
	P99Ratio float64     `json:"me_p99_ratio_to_no_flood,omitempty"`
	Login    *FloodStats `json:"login,omitempty"`
}

// FloodStats counts the flood's login attempts by outcome.
type FloodStats struct {
	OfferedRate   float64  `json:"offered_per_s"`
	Sent          uint64   `json:"sent"`
	Dropped       uint64   `json:"dropped_client_side"` // in-flight bound reached: not sent
	Served        uint64   `json:"served_401"`          // the password was checked
	Busy          uint64   `json:"busy_503"`            // refused by the hashing gate
	Throttled     uint64   `json:"throttled_429"`       // refused by the per-IP/account throttle
	Other         uint64   `json:"other"`               // anything else, transport errors included
	Seconds       float64  `json:"seconds"`
	ServedPerSec  float64  `json:"served_per_s"`
	ServedP50ms   float64  `json:"served_p50_ms"`
	ServedP99ms   float64  `json:"served_p99_ms"`
	RefusedP99ms  float64  `json:"refused_p99_ms"`     // 503 and 429 answers
	HashBusyShare float64  `json:"hash_share_of_slot"` // ServedPerSec × hash time ÷ slots
	OtherSamples  []string `json:"other_samples,omitempty"`

	served, refused benchkit.Histogram
}

// FloodReport is the result of --mode flood.
type FloodReport struct {
	Victim      string       `json:"victim"`
	Samples     int          `json:"calibration_samples"`
	Rate        float64      `json:"flood_rate_per_s"`
	Calibration *Calibration `json:"calibration"`
	Rows        []*FloodRow  `json:"rows"`
}

func ipsLabel(n int) string {
	switch n {
	case 0:
		return "fresh IP per attempt"
	case 1:
		return "1 IP"
	}
	return fmt.Sprintf("%d IPs", n)
}

func runFlood(ctx context.Context, cfg Config, api *benchkit.API, client *http.Client, creds map[string][]benchkit.Credential) (*FloodReport, error) {
	fc := cfg.Flood
	victim, victimPW := "flood-victim-"+benchkit.RandomSuffix(8), benchkit.NewPassword()
	if err := api.Signup(ctx, victim, victimPW); err != nil {
		return nil, err
	}
	// The flood sends wrong passwords from addresses named in
	// X-Forwarded-For. Unless the server trusts this client as a proxy,
	// every failure would count against 127.0.0.1 and lock this tool (and
	// anything else on loopback) out of logging in for up to an hour.
	probeIP := "198.51.100." + fmt.Sprint(1+int(randUint32()%250))
	if _, seen, err := api.LoginCookie(ctx, victim, victimPW, "X-Forwarded-For", probeIP); err != nil {
		return nil, err
	} else if seen != probeIP {
		return nil, fmt.Errorf("the server saw this client as %q, not as the X-Forwarded-For address %s: start it with --trusted-proxies 127.0.0.1 for --mode flood", seen, probeIP)
	}
	cal, err := calibrate(ctx, cfg, api, victim, victimPW)
	if err != nil {
		return nil, err
	}
	rate := fc.Rate
	if rate == 0 {
		rate = fc.Factor * cal.Capacity
	}
	cfg.logf("calibration: argon2id %s %.1f ms; sequential login failed %.1f ms, ok %.1f ms; %d hash slots: capacity %.1f logins/s; flood at %.0f/s",
		cal.HashParams, cal.HashMs, cal.FailMs, cal.OKMs, cal.HashSlots, cal.Capacity, rate)

	rep := &FloodReport{Victim: victim, Calibration: cal, Samples: fc.Calibrate, Rate: rate}
	floodClient := benchkit.NewClient(min(fc.Inflight, 512), cfg.Insecure)
	defer floodClient.CloseIdleConnections()
	for _, auth := range fc.Auth {
		cfg.logf("flood: /me (%s) alone for %v", auth, cfg.Duration)
		alone := drive(ctx, client, cfg.URL, "/api/v1/me", creds[auth], cfg.Concurrency, cfg.Duration, cfg.Requests)
		alone.Mode = auth
		alone.finish()
		rep.Rows = append(rep.Rows, &FloodRow{Auth: auth, Flood: "none", Me: alone})
		for _, ips := range fc.IPs {
			cfg.logf("flood: /me (%s) beside a login flood of %.0f/s from %s for %v", auth, rate, ipsLabel(ips), cfg.Duration)
			stop := make(chan struct{})
			var fs *FloodStats
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				fs = flood(ctx, floodClient, cfg.URL, victim, rate, ips, fc.Inflight, stop)
			}()
			me := drive(ctx, client, cfg.URL, "/api/v1/me", creds[auth], cfg.Concurrency, cfg.Duration, cfg.Requests)
			close(stop)
			wg.Wait()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			me.Mode = auth
			me.finish()
			fs.finish(cal)
			row := &FloodRow{Auth: auth, Flood: ipsLabel(ips), Me: me, Login: fs}
			if alone.P99ms > 0 {
				row.P99Ratio = me.P99ms / alone.P99ms
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

// calibrate times the hash in the tool and sequential logins against the
// idle server.
func calibrate(ctx context.Context, cfg Config, api *benchkit.API, victim, victimPW string) (*Calibration, error) {
	fc := cfg.Flood
	p := password.DefaultParams()
	if fc.Params.Memory != 0 {
		p.Memory = fc.Params.Memory
	}
	if fc.Params.Time != 0 {
		p.Time = fc.Params.Time
	}
	if fc.Params.Threads != 0 {
		p.Threads = fc.Params.Threads
	}
	cal := &Calibration{HashParams: fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads), HashSlots: fc.HashSlots}
	if cal.HashSlots == 0 {
		cal.HashSlots = max(1, runtime.NumCPU()/2)
	}
	salt := make([]byte, p.SaltLen)
	pw := []byte("not-the-password-" + benchkit.RandomSuffix(8))
	hash := func() time.Duration {
		t := time.Now()
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		return time.Since(t)
	}
	// The first hashes of a fresh process fault in new memory and run
	// about twice as long; the server's heap is warm. Warm up first.
	for range calibrationWarmup {
		hash()
	}
	// Interleave hash, failed login and successful login so that all three
	// see the same (shared) machine.
	var hashes, fails, oks, rtts []time.Duration
	ipBase := randUint32()
	for i := range fc.Calibrate {
		hashes = append(hashes, hash())
		t0 := time.Now()
		if r, err := api.Do(ctx, "GET", "/livez", nil, benchkit.Credential{}); err != nil {
			return nil, err
		} else if r.Status != http.StatusOK {
			return nil, fmt.Errorf("calibration: GET /livez answered %d", r.Status)
		}
		rtts = append(rtts, time.Since(t0))
		ip := tenIP(ipBase + uint32(i))
		t := time.Now()
		r, err := api.Do(ctx, "POST", "/api/v1/login", map[string]any{"username": victim, "password": "wrong-" + victimPW}, benchkit.Credential{}, "X-Forwarded-For", ip)
		if err != nil {
			return nil, err
		}
		if r.Status != http.StatusUnauthorized {
			return nil, fmt.Errorf("calibration: a wrong password answered %d, want 401: %s", r.Status, r.Body)
		}
		fails = append(fails, time.Since(t))
		t = time.Now()
		if _, _, err := api.LoginCookie(ctx, victim, victimPW, "X-Forwarded-For", tenIP(ipBase+uint32(i)+1<<20)); err != nil {
			return nil, err
		}
		oks = append(oks, time.Since(t))
	}
	cal.HashMs, cal.FailMs, cal.OKMs = ms(median(hashes)), ms(median(fails)), ms(median(oks))
	cal.HashMinMs, cal.FailMinMs, cal.OKMinMs = ms(slices.Min(hashes)), ms(slices.Min(fails)), ms(slices.Min(oks))
	cal.RTTMs = ms(median(rtts))
	cal.FailOutsideServer = (cal.FailMs - cal.HashMs - cal.RTTMs) / cal.FailMs
	cal.FailOutside = (cal.FailMs - cal.HashMs) / cal.FailMs
	cal.OKOutside = (cal.OKMs - cal.HashMs) / cal.OKMs
	cal.FailOutsideMin = (cal.FailMinMs - cal.HashMinMs) / cal.FailMinMs
	cal.OKOutsideMin = (cal.OKMinMs - cal.HashMinMs) / cal.OKMinMs
	cal.Capacity = float64(cal.HashSlots) / (cal.FailMs / 1000)
	return cal, nil
}

// calibrationWarmup is how many unrecorded hashes warm the tool's heap.
const calibrationWarmup = 8

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// tenIP maps n into 10.0.0.0/8.
func tenIP(n uint32) string {
	n &= 1<<24 - 1
	return fmt.Sprintf("10.%d.%d.%d", n>>16, n>>8&0xff, n&0xff)
}

// flood sends failed logins for victim at rate per second (open loop: the
// schedule does not wait for answers) until stop is closed, from a fresh
// 10.x.y.z address per attempt (ips 0) or cycling over ips addresses.
func flood(ctx context.Context, client *http.Client, base, victim string, rate float64, ips, inflight int, stop <-chan struct{}) *FloodStats {
	fs := &FloodStats{OfferedRate: rate}
	var mu sync.Mutex
	sem := make(chan struct{}, inflight)
	interval := time.Duration(float64(time.Second) / rate)
	ipBase := randUint32()
	body := fmt.Sprintf(`{"username":%q,"password":"wrong-password-%s"}`, victim, benchkit.RandomSuffix(8))
	var wg sync.WaitGroup
	start := time.Now()
	next := start
	var others atomic.Int64
loop:
	for i := uint32(0); ; i++ {
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-stop:
				t.Stop()
				break loop
			case <-ctx.Done():
				t.Stop()
				break loop
			case <-t.C:
			}
		} else {
			select {
			case <-stop:
				break loop
			default:
			}
		}
		next = next.Add(interval)
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			fs.Dropped++
			mu.Unlock()
			continue
		}
		ip := tenIP(ipBase + i)
		if ips > 0 {
			ip = tenIP(ipBase + i%uint32(ips))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/login", strings.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "sesame-bench-flood/1")
			req.Header.Set("X-Forwarded-For", ip)
			t := time.Now()
			resp, err := client.Do(req)
			status := 0
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			d := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			fs.Sent++
			switch status {
			case http.StatusUnauthorized:
				fs.Served++
				fs.served.Record(d)
			case http.StatusServiceUnavailable:
				fs.Busy++
				fs.refused.Record(d)
			case http.StatusTooManyRequests:
				fs.Throttled++
				fs.refused.Record(d)
			default:
				fs.Other++
				if others.Add(1) <= 3 {
					if err != nil {
						fs.OtherSamples = append(fs.OtherSamples, err.Error())
					} else {
						fs.OtherSamples = append(fs.OtherSamples, fmt.Sprint(status))
					}
				}
			}
		}()
	}
	wg.Wait()
	fs.Seconds = time.Since(start).Seconds()
	return fs
}

func (fs *FloodStats) finish(cal *Calibration) {
	if fs.Seconds > 0 {
		fs.ServedPerSec = float64(fs.Served) / fs.Seconds
	}
	fs.ServedP50ms, fs.ServedP99ms = ms(fs.served.Quantile(0.5)), ms(fs.served.Quantile(0.99))
	fs.RefusedP99ms = ms(fs.refused.Quantile(0.99))
	if cal.HashSlots > 0 {
		fs.HashBusyShare = fs.ServedPerSec * cal.HashMs / 1000 / float64(cal.HashSlots)
	}
}
