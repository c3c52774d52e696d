package cookie

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func testKey(id string, fill byte) Key {
	return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, KeySize)}
}

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestCodec(t *testing.T, keys ...Key) (*Codec, *fakeClock) {
	t.Helper()
	if len(keys) == 0 {
		keys = []Key{testKey("k1", 1)}
	}
	c, err := NewCodec(keys...)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: epoch}
	c.Now = clock.Now
	return c, clock
}

func TestCodecRoundTrip(t *testing.T) {
	c, _ := newTestCodec(t)
	for _, plain := range [][]byte{nil, []byte("dark"), bytes.Repeat([]byte{0, 0xff}, 500)} {
		v, err := c.Encode("__Host-prefs", plain, time.Hour)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if !strings.HasPrefix(v, "k1.") {
			t.Errorf("got value %q, want the key ID prefix k1.", v)
		}
		if err := validateValue(v); err != nil {
			t.Errorf("encoded value is not cookie-safe: %v", err)
		}
		if _, err := (Cookie{Name: "__Host-prefs", Value: v}).Header(); err != nil {
			t.Errorf("encoded value cannot be written: %v", err)
		}
		got, err := c.Decode("__Host-prefs", v)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("got %q, want %q", got, plain)
		}
	}
}

func TestCodecFreshNonce(t *testing.T) {
	c, _ := newTestCodec(t)
	a, _ := c.Encode("p", []byte("same"), time.Hour)
	b, _ := c.Encode("p", []byte("same"), time.Hour)
	if a == b {
		t.Errorf("two encodings of the same plaintext are equal (%q), want distinct nonces", a)
	}
}

func TestCodecExpiryBoundary(t *testing.T) {
	c, clock := newTestCodec(t)
	v, err := c.Encode("p", []byte("x"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		at      time.Time
		wantErr error
	}{
		{"at encoding", epoch, nil},
		{"one nanosecond before expiry", epoch.Add(time.Hour - time.Nanosecond), nil},
		{"exactly at expiry", epoch.Add(time.Hour), ErrExpired},
		{"after expiry", epoch.Add(time.Hour + time.Nanosecond), ErrExpired},
		{"long after", epoch.Add(401 * day), ErrExpired},
		{"clock set back before encoding", epoch.Add(-time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Set(tt.at)
			_, err := c.Decode("p", v)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode at %v: error %v, want %v", tt.at, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false, want true", err)
			}
		})
	}
}

func TestCodecRejects(t *testing.T) {
	k1, k2 := testKey("k1", 1), testKey("k2", 2)
	c, _ := newTestCodec(t, k1)
	v, err := c.Encode("__Host-prefs", []byte("dark"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, data, _ := strings.Cut(v, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(data)

	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return id + "." + base64.RawURLEncoding.EncodeToString(b)
	}
	// A value sealed under the same ID with a different secret: an
	// attacker who guesses or learns a key ID.
	impostor, _ := newTestCodec(t, Key{ID: "k1", Secret: k2.Secret})
	forged, _ := impostor.Encode("__Host-prefs", []byte("dark"), time.Hour)
	other, _ := newTestCodec(t, k2)
	unknownKey, _ := other.Encode("__Host-prefs", []byte("dark"), time.Hour)

	tests := []struct {
		name, cookie, value string
	}{
		{"swapped cookie name", "__Host-other", v},
		{"name differing in case", "__host-prefs", v},
		{"tampered nonce", "__Host-prefs", flip(0)},
		{"tampered expiry", "__Host-prefs", flip(12)},
		{"tampered plaintext", "__Host-prefs", flip(12 + 8)},
		{"tampered tag", "__Host-prefs", flip(len(raw) - 1)},
		{"unknown key ID", "__Host-prefs", unknownKey},
		{"key ID relabelled to the unknown key", "__Host-prefs", "k2." + data},
		{"forged under a known key ID", "__Host-prefs", forged},
		{"truncated", "__Host-prefs", v[:len(v)-1]},
		{"truncated to the nonce", "__Host-prefs", id + "." + base64.RawURLEncoding.EncodeToString(raw[:12])},
		{"extended", "__Host-prefs", v + "A"},
		{"padded base64", "__Host-prefs", id + "." + base64.URLEncoding.EncodeToString(raw)},
		{"standard base64 alphabet", "__Host-prefs", id + "." + strings.NewReplacer("-", "+", "_", "/").Replace(data) + "+/"},
		{"line break inside the base64", "__Host-prefs", id + "." + data[:10] + "\r\n" + data[10:]},
		{"no key ID", "__Host-prefs", data},
		{"empty key ID", "__Host-prefs", "." + data},
		{"empty", "__Host-prefs", ""},
		{"only a dot", "__Host-prefs", "."},
		{"empty cookie name", "", v},
		{"oversized", "__Host-prefs", v + strings.Repeat("A", MaxCookieBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode(tt.cookie, tt.value)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode error %v, want ErrInvalid", err)
			}
			if errors.Is(err, ErrExpired) {
				t.Errorf("Decode error %v is ErrExpired for an unauthenticated value, want only ErrInvalid", err)
			}
			if got != nil {
				t.Errorf("got plaintext %q with an error, want nil", got)
			}
		})
	}
}

// TestCodecNonCanonicalBase64 checks that a value has one spelling: the last
// base64 character may not carry non-zero padding bits.
func TestCodecNonCanonicalBase64(t *testing.T) {
	c, _ := newTestCodec(t)
	for size := range 3 {
		v, _ := c.Encode("p", make([]byte, size), time.Hour)
		last := v[len(v)-1]
		idx := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
		alt := v[:len(v)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[idx^1])
		if _, err := base64.RawURLEncoding.DecodeString(alt[strings.IndexByte(alt, '.')+1:]); err != nil {
			continue // this length has no padding bits to abuse
		}
		decodedAlt, errAlt := c.Decode("p", alt)
		if !errors.Is(errAlt, ErrInvalid) {
			t.Errorf("size %d: non-canonical spelling %q decoded to %q, %v; want ErrInvalid", size, alt, decodedAlt, errAlt)
		}
	}
}

func TestCodecRotation(t *testing.T) {
	oldKey, newKey := testKey("2025-01", 1), testKey("2025-06", 2)
	before, clock := newTestCodec(t, oldKey)
	oldValue, err := before.Encode("p", []byte("dark"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	after, _ := newTestCodec(t, newKey, oldKey)
	after.Now = clock.Now
	t.Run("old key still decodes", func(t *testing.T) {
		got, err := after.Decode("p", oldValue)
		if err != nil || string(got) != "dark" {
			t.Errorf("Decode = %q, %v; want \"dark\", nil", got, err)
		}
	})
	t.Run("new key encrypts", func(t *testing.T) {
		v, err := after.Encode("p", []byte("light"), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(v, "2025-06.") {
			t.Errorf("got value %q, want key ID 2025-06", v)
		}
		if _, err := before.Decode("p", v); !errors.Is(err, ErrInvalid) {
			t.Errorf("codec without the new key: error %v, want ErrInvalid", err)
		}
	})
	t.Run("retired key no longer decodes", func(t *testing.T) {
		retired, _ := newTestCodec(t, newKey)
		if _, err := retired.Decode("p", oldValue); !errors.Is(err, ErrInvalid) {
			t.Errorf("error %v, want ErrInvalid", err)
		}
	})
}

func TestCodecEncodeRejects(t *testing.T) {
	c, _ := newTestCodec(t)
	tests := []struct {
		name    string
		cookie  string
		plain   []byte
		maxAge  time.Duration
		tooBig  bool
		mention string
	}{
		{name: "zero maxAge", cookie: "p", maxAge: 0, mention: "maxAge"},
		{name: "negative maxAge", cookie: "p", maxAge: -time.Second, mention: "maxAge"},
		{name: "maxAge over 400 days", cookie: "p", maxAge: 400*day + time.Nanosecond, mention: "maxAge"},
		{name: "invalid name", cookie: "a;b", maxAge: time.Hour, mention: "token"},
		{name: "SEC-04 encoded value over 4096 bytes", cookie: "__Host-prefs", plain: make([]byte, 3100), maxAge: time.Hour, tooBig: true},
		{name: "SEC-04 huge plaintext", cookie: "p", plain: make([]byte, 1<<20), maxAge: time.Hour, tooBig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Encode(tt.cookie, tt.plain, tt.maxAge)
			if err == nil {
				t.Fatalf("Encode = %q, nil; want an error", got)
			}
			if tt.tooBig != errors.Is(err, ErrTooLarge) {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %t, want %t", err, !tt.tooBig, tt.tooBig)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

// TestCodecSizeBoundary checks SEC-04 at its edge: the largest plaintext
// whose cookie fits is accepted and can be written; one byte more is not.
func TestCodecSizeBoundary(t *testing.T) {
	c, _ := newTestCodec(t)
	const name = "__Host-prefs"
	largest := -1
	for n := 2900; n < 3100; n++ {
		if _, err := c.Encode(name, make([]byte, n), time.Hour); err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("size %d: error %v, want ErrTooLarge", n, err)
			}
			break
		}
		largest = n
	}
	if largest < 0 {
		t.Fatal("no plaintext size in the probed range fits")
	}
	v, err := c.Encode(name, make([]byte, largest), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(name) + len(v); n > MaxCookieBytes || n < MaxCookieBytes-3 {
		t.Errorf("largest cookie is %d bytes, want within 3 bytes under %d", n, MaxCookieBytes)
	}
	if _, err := (Cookie{Name: name, Value: v}).Header(); err != nil {
		t.Errorf("largest encoded value cannot be written: %v", err)
	}
}

func TestNewCodecRejects(t *testing.T) {
	tests := []struct {
		name string
		keys []Key
	}{
		{"no keys", nil},
		{"short secret", []Key{{ID: "k", Secret: make([]byte, 16)}}},
		{"long secret", []Key{{ID: "k", Secret: make([]byte, 33)}}},
		{"nil secret", []Key{{ID: "k"}}},
		{"empty ID", []Key{{Secret: make([]byte, KeySize)}}},
		{"ID with dot (the separator)", []Key{{ID: "a.b", Secret: make([]byte, KeySize)}}},
		{"ID with semicolon", []Key{{ID: "a;b", Secret: make([]byte, KeySize)}}},
		{"ID with NUL", []Key{{ID: "a\x00", Secret: make([]byte, KeySize)}}},
		{"ID too long", []Key{{ID: strings.Repeat("k", 33), Secret: make([]byte, KeySize)}}},
		{"duplicate ID", []Key{testKey("k", 1), testKey("k", 2)}},
		{"bad old key", []Key{testKey("k1", 1), {ID: "k0", Secret: []byte("password")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCodec(tt.keys...)
			if err == nil {
				t.Fatalf("NewCodec = %v, nil; want an error", c)
			}
			if !strings.HasPrefix(err.Error(), "cookie: ") {
				t.Errorf("error %q lacks the \"cookie: \" prefix", err)
			}
		})
	}
}

func TestZeroCodec(t *testing.T) {
	var c Codec
	if _, err := c.Encode("p", []byte("x"), time.Hour); err == nil {
		t.Error("zero Codec Encode error nil, want one")
	}
	if _, err := c.Decode("p", "k1.AAAA"); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero Codec Decode error %v, want ErrInvalid", err)
	}
}

func TestCodecDefaultClock(t *testing.T) {
	c, err := NewCodec(testKey("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Encode("p", []byte("x"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decode("p", v); err != nil || string(got) != "x" {
		t.Errorf("Decode = %q, %v; want \"x\", nil", got, err)
	}
}

// TestCodecConcurrent is meant for -race: a Codec is shared by handlers.
func TestCodecConcurrent(t *testing.T) {
	c, _ := newTestCodec(t, testKey("k2", 2), testKey("k1", 1))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				plain := fmt.Appendf(nil, "%d-%d", i, j)
				v, err := c.Encode("p", plain, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := c.Decode("p", v)
				if err != nil || !bytes.Equal(got, plain) {
					t.Errorf("Decode = %q, %v; want %q, nil", got, err, plain)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestSecretsRedact checks SEC-54: keys and codecs never print secrets.
func TestSecretsRedact(t *testing.T) {
	secret := []byte("CANARY-0123456789abcdef-CANARY!!")
	k := Key{ID: "k1", Secret: secret}
	c, err := NewCodec(k)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("keys", "key", k, "codec", c, "keys", []Key{k})
	asJSON, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "key", k, "codec", c, "keys", []Key{k})

	outputs := map[string]string{
		"Key String":       k.String(),
		"Key %v":           fmt.Sprintf("%v", k),
		"Key %+v":          fmt.Sprintf("%+v", k),
		"Key %#v":          fmt.Sprintf("%#v", k),
		"Key %x":           fmt.Sprintf("%x", k),
		"Key in struct":    fmt.Sprintf("%+v", struct{ K Key }{k}),
		"Key in slice":     fmt.Sprintf("%v", []Key{k}),
		"Codec String":     c.String(),
		"Codec %+v":        fmt.Sprintf("%+v", c),
		"Codec %#v":        fmt.Sprintf("%#v", c),
		"Codec value %+v":  fmt.Sprintf("%+v", *c),
		"Codec value %#v":  fmt.Sprintf("%#v", *c),
		"slog":             logged.String(),
		"json":             string(asJSON),
		"NewCodec error":   fmt.Sprint(func() error { _, err := NewCodec(Key{ID: "k", Secret: secret[:31]}); return err }()),
		"Codec in a slice": fmt.Sprintf("%+v", []*Codec{c}),
	}
	for name, out := range outputs {
		for _, leak := range []string{"CANARY", fmt.Sprintf("%x", secret[:8]), fmt.Sprint(secret[:8])} {
			if strings.Contains(out, leak) {
				t.Errorf("%s output %q contains the secret", name, out)
			}
		}
	}
	if !strings.Contains(k.String(), "k1") || !strings.Contains(c.String(), "k1") {
		t.Errorf("got %q and %q, want the key ID shown", k.String(), c.String())
	}
}
