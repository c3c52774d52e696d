package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/config"
	"github.com/sesame-auth/sesame/jose"
	"github.com/sesame-auth/sesame/oauth"
	"github.com/sesame-auth/sesame/session"
)

// BenchmarkBackchannelLogout (issue 12): the latency from a session's
// revocation to the back-channel logout notice reaching each of 3 relying
// parties: the real wiring (package app, as `sesame serve` builds it) over
// a SQLite file, the RPs on loopback answering 200. One iteration revokes
// one session that all 3 clients got tokens for and waits for the 3
// notices; the latency is to the last of them. Reported as p50, p99 and
// max in ms (ns/op is the same latency's mean). Sub-benchmarks by the
// clients' ID-token algorithm, which signs the logout tokens: RS256 (the
// default) costs about 1 ms a signature, ES256 a tenth of that.
func BenchmarkBackchannelLogout(b *testing.B) {
	for _, alg := range []jose.Algorithm{jose.RS256, jose.ES256} {
		b.Run(string(alg), func(b *testing.B) { benchBackchannelLogout(b, alg) })
	}
}

func benchBackchannelLogout(b *testing.B, alg jose.Algorithm) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newBenchApp(b, ctx, "http://127.0.0.1:1", func(cfg *config.Config) { cfg.Issuer = "https://sesame.bench.test" })
	store := a.OAuthStore()
	if store == nil || a.OAuth() == nil {
		b.Fatal("the app has no OpenID Provider")
	}

	type arrival struct {
		sid string
		at  time.Time
	}
	arrivals := make(chan arrival, 64)
	var clients []*oauth.Client
	for i := range 3 {
		rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at := time.Now()
			var claims struct {
				SID string `json:"sid"`
			}
			parts := strings.Split(r.PostFormValue("logout_token"), ".")
			if len(parts) == 3 {
				if p, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
					_ = json.Unmarshal(p, &claims)
				}
			}
			w.WriteHeader(http.StatusOK)
			arrivals <- arrival{claims.SID, at}
		}))
		defer rp.Close()
		c := &oauth.Client{
			ID: fmt.Sprintf("rp-%d", i), Name: fmt.Sprintf("RP %d", i), SecretHash: oauth.HashSecret("unused-secret"),
			RedirectURIs: []string{rp.URL + "/callback"}, BackchannelLogoutURI: rp.URL + "/backchannel",
			IDTokenAlg: alg, CreatedAt: time.Now().UTC(),
		}
		if err := store.CreateClient(ctx, c); err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
	}

	round := func() time.Duration {
		s, err := a.Sessions().StartTokenSession(ctx, "bench-user", session.LoginOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range clients {
			// What the token endpoint records at a code exchange.
			if err := store.AddLogoutTarget(ctx, &oauth.LogoutTarget{SessionID: s.ID, ClientID: c.ID, UserID: "bench-user", CreatedAt: time.Now().UTC()}); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if _, err := a.Sessions().Revoke(ctx, s.ID, "logout"); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for got := 0; got < len(clients); {
			select {
			case ar := <-arrivals:
				if ar.sid == s.ID {
					got++
					last = ar.at
				}
			case <-time.After(30 * time.Second):
				b.Fatalf("%d of %d notices within 30 s", got, len(clients))
			}
		}
		return last.Sub(start)
	}
	round() // warm-up: connections, the dispatcher's first reads

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		lat = append(lat, round())
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}
