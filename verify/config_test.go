package verify

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesUnsafeConfig(t *testing.T) {
	good := Config{JWKSURL: "https://auth.example/.well-known/jwks.json", Issuer: testIssuer, Audience: []string{"api"}}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" means success
	}{
		{"good", func(*Config) {}, ""},
		{"http to loopback IPv4", func(c *Config) { c.JWKSURL = "http://127.0.0.1:8080/jwks.json" }, ""},
		{"http to loopback IPv6", func(c *Config) { c.JWKSURL = "http://[::1]:8080/jwks.json" }, ""},
		{"http to localhost", func(c *Config) { c.JWKSURL = "http://localhost/jwks.json" }, ""},
		{"plain http", func(c *Config) { c.JWKSURL = "http://auth.example/jwks.json" }, "https"},
		{"http to a private address", func(c *Config) { c.JWKSURL = "http://10.0.0.1/jwks.json" }, "https"},
		{"http to localhost.evil", func(c *Config) { c.JWKSURL = "http://localhost.evil.example/jwks.json" }, "https"},
		{"ftp", func(c *Config) { c.JWKSURL = "ftp://auth.example/jwks.json" }, "https"},
		{"relative", func(c *Config) { c.JWKSURL = "/jwks.json" }, "absolute"},
		{"user info", func(c *Config) { c.JWKSURL = "https://u:p@auth.example/jwks.json" }, "user info"},
		{"no JWKS URL", func(c *Config) { c.JWKSURL = "" }, "JWKSURL is required"},
		{"no issuer", func(c *Config) { c.Issuer = "" }, "Issuer is required"},
		{"no audience", func(c *Config) { c.Audience = nil }, "Audience is required"},
		{"empty audience", func(c *Config) { c.Audience = []string{""} }, "empty"},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, "negative"},
		{"plain http feed", func(c *Config) { c.Revocations = &RevocationConfig{URL: "http://auth.example/rev"} }, "https"},
		{"feed with since", func(c *Config) { c.Revocations = &RevocationConfig{URL: "https://auth.example/rev?since=5"} }, "since"},
		{"staleness under poll", func(c *Config) {
			c.Revocations = &RevocationConfig{PollInterval: time.Minute, MaxStaleness: time.Second}
		}, "shorter"},
		{"heartbeat not under staleness", func(c *Config) {
			c.Revocations = &RevocationConfig{Heartbeat: 3 * time.Second}
		}, "Heartbeat"},
		{"plain http stream", func(c *Config) {
			c.Revocations = &RevocationConfig{URL: "https://auth.example/rev", StreamURL: "http://auth.example/rev/stream"}
		}, "https"},
		{"unknown transport", func(c *Config) { c.Revocations = &RevocationConfig{Transport: 7} }, "Transport"},
		{"negative stream retry", func(c *Config) { c.Revocations = &RevocationConfig{StreamRetry: -time.Second} }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			_, err := New(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "verify: "):
				t.Fatalf("got %q, want the verify: prefix", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	v, err := New(Config{
		JWKSURL: "https://auth.example/jwks.json", Issuer: "https://auth.example/", Audience: []string{"api"},
		Revocations: &RevocationConfig{PollInterval: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := v.cfg
	checks := []struct {
		name      string
		got, want any
	}{
		{"Type", s.Type, "at+jwt"},
		{"Leeway", s.Leeway, time.Duration(0)},
		{"RefreshInterval", s.RefreshInterval, 15 * time.Minute},
		{"RefetchCooldown", s.RefetchCooldown, 30 * time.Second},
		{"MaxJWKSBytes", s.MaxJWKSBytes, int64(1 << 20)},
		{"CacheSize", s.CacheSize, 10000},
		{"HTTPClient.Timeout", s.HTTPClient.Timeout, 5 * time.Second},
		{"Revocations.URL", s.rev.URL, "https://auth.example/api/v1/revocations"},
		{"Revocations.MaxStaleness", s.rev.MaxStaleness, 6 * time.Second},
		{"Revocations.MaxTokenLifetime", s.rev.MaxTokenLifetime, time.Hour},
		{"Revocations.Transport", s.rev.Transport, TransportStream},
		{"Revocations.StreamURL", s.rev.StreamURL, "https://auth.example/api/v1/revocations/stream"},
		{"Revocations.Heartbeat", s.rev.Heartbeat, 2 * time.Second},
		{"Revocations.StreamRetry", s.rev.StreamRetry, 30 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// A staleness bound shorter than 3 heartbeats of at least 250 ms:
	// the verifier polls, as it always did.
	short, _ := New(Config{JWKSURL: "https://a.example/j", Issuer: "https://a.example", Audience: []string{"a"},
		Revocations: &RevocationConfig{PollInterval: 100 * time.Millisecond}})
	if short.rev.cfg.Transport != TransportPoll {
		t.Errorf("MaxStaleness 300 ms: got transport %v, want poll", short.rev.cfg.Transport)
	}
	if v.rev.streamClient.Timeout != 0 || v.rev.streamClient.CheckRedirect == nil {
		t.Error("the stream's client: want no overall timeout (the stream stays open) and the redirect policy")
	}
	if s.HTTPClient.CheckRedirect == nil {
		t.Error("default client follows redirects anywhere, want same host only")
	}
	// A supplied client keeps its settings and gains the redirect policy.
	own := &http.Client{Timeout: time.Second}
	v, _ = New(Config{JWKSURL: "https://a.example/j", Issuer: "i", Audience: []string{"a"}, HTTPClient: own})
	if v.cfg.HTTPClient.CheckRedirect == nil || v.cfg.HTTPClient.Timeout != time.Second || own.CheckRedirect != nil {
		t.Error("a supplied client: want a copy with the redirect policy, the original untouched")
	}
}
