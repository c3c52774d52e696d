package password

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// fastParams keep argon2 cheap in tests whose subject is not the cost.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1}

// kdfCall records the arguments of one argon2 computation.
type kdfCall struct {
	time, memory uint32
	threads      uint8
	saltLen      int
	keyLen       uint32
}

// kdfRecorder counts and records argon2 computations made through
// Hasher.kdf, then runs the real argon2id.
type kdfRecorder struct {
	mu    sync.Mutex
	calls []kdfCall
}

func (r *kdfRecorder) kdf(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	r.mu.Lock()
	r.calls = append(r.calls, kdfCall{time, memory, threads, len(salt), keyLen})
	r.mu.Unlock()
	return argon2.IDKey(pw, salt, time, memory, threads, keyLen)
}

func (r *kdfRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// newFastHasher returns a Hasher with fastParams that records its argon2
// calls.
func newFastHasher(pepper []byte) (*Hasher, *kdfRecorder) {
	rec := &kdfRecorder{}
	return &Hasher{Params: fastParams, AllowWeakParams: true, Pepper: pepper, kdf: rec.kdf}, rec
}

func mustHash(t testing.TB, h *Hasher, pw string) string {
	t.Helper()
	encoded, err := h.Hash(pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return encoded
}

func mustParse(t testing.TB, encoded string) phc {
	t.Helper()
	stored, err := parsePHC(encoded)
	if err != nil {
		t.Fatalf("parsePHC(%q): %v", encoded, err)
	}
	return stored
}

// TestDefaultHashMeetsFloor checks SEC-41 on a real hash from the zero
// Hasher: the stored PHC string names argon2id v=19 with m=19456, t=2, p=1,
// a 16-byte salt and a 32-byte hash, and it verifies.
func TestDefaultHashMeetsFloor(t *testing.T) {
	var h Hasher
	encoded := mustHash(t, &h, "correct horse battery staple")
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Errorf("got %q, want prefix %q", encoded, want)
	}
	stored := mustParse(t, encoded)
	got := Params{Memory: stored.memory, Time: stored.time, Threads: stored.threads,
		SaltLen: uint32(len(stored.salt)), KeyLen: uint32(len(stored.hash))}
	if !got.MeetsFloor() {
		t.Errorf("stored params %+v are below the SEC-41 floor", got)
	}
	if got != DefaultParams() {
		t.Errorf("stored params %+v, want %+v", got, DefaultParams())
	}
	ok, rehash, err := h.Verify("correct horse battery staple", encoded)
	if !ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

// TestVerifyReferenceVector verifies a string produced by the argon2
// reference implementation (its test suite's argon2id v=19 vector), so the
// PHC encoding interoperates. Its parameters differ from the defaults, so it
// needs a rehash.
func TestVerifyReferenceVector(t *testing.T) {
	const vector = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	var h Hasher
	ok, rehash, err := h.Verify("password", vector)
	if !ok || !rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if got := mustParse(t, vector).encode(); got != vector {
		t.Errorf("re-encoded %q, want %q", got, vector)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	long := strings.Repeat("a", 500)
	tests := []struct {
		name      string
		stored    string // password hashed
		presented string // password verified
		want      bool
	}{
		{"same password", "correct horse", "correct horse", true},
		{"wrong password", "correct horse", "correct horsf", false},
		{"empty password hashes and verifies", "", "", true},
		{"attack: empty against a real hash", "correct horse", "", false},
		{"no case folding", "Correct Horse", "correct horse", false},
		{"no trimming", "correct horse ", "correct horse", false},
		{"attack: no truncation, same first 500 bytes", long + "x", long + "y", false},
		{"attack: prefix", "correct horse", "correct hors", false},
		{"unicode", "pässwörd-日本", "pässwörd-日本", true},
		{"no Unicode normalization: composed and decomposed é differ", "e\u0301cole", "\u00e9cole", false},
		{"1024 bytes, the limit", strings.Repeat("k", 1024), strings.Repeat("k", 1024), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newFastHasher(nil)
			encoded := mustHash(t, h, tt.stored)
			ok, rehash, err := h.Verify(tt.presented, encoded)
			if err != nil || ok != tt.want || rehash {
				t.Errorf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tt.want)
			}
		})
	}
}

// TestHashUniqueSalt checks SEC-42: two hashes of one password have
// different salts and hashes, and both verify.
func TestHashUniqueSalt(t *testing.T) {
	h, _ := newFastHasher(nil)
	a, b := mustHash(t, h, "correct horse"), mustHash(t, h, "correct horse")
	if a == b {
		t.Fatalf("two hashes of one password are both %q", a)
	}
	if sa, sb := mustParse(t, a).salt, mustParse(t, b).salt; bytes.Equal(sa, sb) {
		t.Errorf("two hashes share the salt %x", sa)
	}
	for _, encoded := range []string{a, b} {
		if ok, _, err := h.Verify("correct horse", encoded); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want true, nil", encoded, ok, err)
		}
	}
}

// TestVerifyNeedsRehash checks SEC-41's "rehash stale parameters at login":
// needsRehash is set whenever the stored hash differs from what the Hasher
// would produce now, and only alongside a successful match.
func TestVerifyNeedsRehash(t *testing.T) {
	base := fastParams.withDefaults()
	with := func(f func(*Params)) Params { p := base; f(&p); return p }
	tests := []struct {
		name string
		old  Params
		now  Params
		want bool
	}{
		{"same parameters", base, base, false},
		{"zero fields mean defaults", base, with(func(p *Params) { p.SaltLen, p.KeyLen = 0, 0 }), false},
		{"memory raised", base, with(func(p *Params) { p.Memory = 128 }), true},
		{"memory lowered", with(func(p *Params) { p.Memory = 128 }), base, true},
		{"time raised", base, with(func(p *Params) { p.Time = 2 }), true},
		{"threads changed", base, with(func(p *Params) { p.Threads = 2 }), true},
		{"salt length changed", base, with(func(p *Params) { p.SaltLen = 32 }), true},
		{"key length changed", base, with(func(p *Params) { p.KeyLen = 16 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := &Hasher{Params: tt.old, AllowWeakParams: true}
			now := &Hasher{Params: tt.now, AllowWeakParams: true}
			encoded := mustHash(t, old, "correct horse")
			ok, rehash, err := now.Verify("correct horse", encoded)
			if !ok || rehash != tt.want || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.want)
			}
			ok, rehash, err = now.Verify("wrong horse", encoded)
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestTooLongWithoutHashing checks SEC-44 structurally: a 1 MB password is
// refused by Hash, Verify and Dummy before any argon2 computation, on a
// Hasher whose parameters would make one take seconds.
func TestTooLongWithoutHashing(t *testing.T) {
	huge := strings.Repeat("k", 1<<20)
	valid := mustHash(t, &Hasher{Params: fastParams, AllowWeakParams: true}, "correct horse")
	tests := []struct {
		name     string
		maxBytes int
		pw       string
		wantErr  bool
	}{
		{"1 MB, default limit", 0, huge, true},
		{"1025 bytes, default limit", 0, huge[:1025], true},
		{"1 MB, limit 4096", 4096, huge, true},
		{"4097 bytes, limit 4096", 4096, huge[:4097], true},
		{"257 bytes, limit raised to 256", 1, huge[:257], true},
		{"256 bytes, limit raised to 256", 1, huge[:256], false},
		{"1024 bytes, default limit", 0, huge[:1024], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			h := &Hasher{
				Params:   Params{Memory: maxMemory, Time: 4}, // about 1 GiB·pass: seconds if ever computed
				MaxBytes: tt.maxBytes,
				kdf: func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
					calls++
					return make([]byte, keyLen) // never the real, slow argon2
				},
			}
			h.Dummy("warm up") // computes Dummy's own hash once, before counting
			calls = 0
			_, hashErr := h.Hash(tt.pw)
			ok, rehash, verifyErr := h.Verify(tt.pw, valid)
			h.Dummy(tt.pw)
			if !tt.wantErr {
				if hashErr != nil || verifyErr != nil || calls == 0 {
					t.Errorf("got Hash %v, Verify %v, %d argon2 calls; want no errors and some calls", hashErr, verifyErr, calls)
				}
				return
			}
			if !errors.Is(hashErr, ErrTooLong) || !errors.Is(verifyErr, ErrTooLong) {
				t.Errorf("got Hash %v, Verify %v; want ErrTooLong from both", hashErr, verifyErr)
			}
			if ok || rehash {
				t.Errorf("Verify = %v, %v; want false, false", ok, rehash)
			}
			if calls != 0 {
				t.Errorf("got %d argon2 calls for a %d-byte password, want 0", calls, len(tt.pw))
			}
		})
	}
}

// TestPepper checks SEC-42's pepper: HMAC-SHA256 over the argon2 output,
// marked in the PHC string; a hash made with pepper A does not verify with
// pepper B or without one.
func TestPepper(t *testing.T) {
	pepperA := []byte("pepper A: 0123456789abcdef0123456789")
	pepperB := []byte("pepper B: 0123456789abcdef0123456789")
	withA, _ := newFastHasher(pepperA)
	withB, _ := newFastHasher(pepperB)
	without, _ := newFastHasher(nil)

	encoded := mustHash(t, withA, "correct horse")
	if !strings.Contains(encoded, ",keyid="+pepperKeyID+"$") {
		t.Errorf("peppered hash %q has no keyid marker", encoded)
	}

	t.Run("construction", func(t *testing.T) {
		stored := mustParse(t, encoded)
		raw := argon2.IDKey([]byte("correct horse"), stored.salt, stored.time, stored.memory, stored.threads, uint32(len(stored.hash)))
		mac := hmac.New(sha256.New, pepperA)
		mac.Write(raw)
		if want := mac.Sum(nil)[:len(stored.hash)]; !bytes.Equal(stored.hash, want) {
			t.Errorf("stored hash %x, want HMAC-SHA256(pepper, argon2id) %x", stored.hash, want)
		}
	})

	tests := []struct {
		name       string
		h          *Hasher
		encoded    string
		wantOK     bool
		wantRehash bool
		wantErr    error
	}{
		{"same pepper", withA, encoded, true, false, nil},
		{"attack: other pepper", withB, encoded, false, false, nil},
		{"no pepper configured", without, encoded, false, false, ErrPepperRequired},
		{"unpeppered hash on a peppered Hasher gains the pepper", withA, mustHash(t, without, "correct horse"), true, true, nil},
		{"attack: marker stripped", withA, strings.Replace(encoded, ",keyid="+pepperKeyID, "", 1), false, false, nil},
		{"attack: marker stripped, no pepper", without, strings.Replace(encoded, ",keyid="+pepperKeyID, "", 1), false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := tt.h.Verify("correct horse", tt.encoded)
			if ok != tt.wantOK || rehash != tt.wantRehash || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, %v", ok, rehash, err, tt.wantOK, tt.wantRehash, tt.wantErr)
			}
		})
	}
}

// TestSecretRedacted checks that a Hasher's pepper never shows in fmt, slog
// or JSON output.
func TestSecretRedacted(t *testing.T) {
	pepper := []byte("TOP-SECRET-PEPPER-0123456789")
	h := &Hasher{Pepper: pepper}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		fmt.Fprintf(&out, verb+"\n", h)
		fmt.Fprintf(&out, verb+"\n", h.Pepper)
	}
	slog.New(slog.NewTextHandler(&out, nil)).Info("cfg", "hasher", h, "pepper", h.Pepper)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("cfg", "hasher", h, "pepper", h.Pepper)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	for _, leak := range []string{string(pepper), fmt.Sprintf("%x", pepper), fmt.Sprintf("%X", pepper), "VE9QLVNFQ1JFVC1QRVBQRVI", "84 79 80"} {
		if strings.Contains(out.String(), leak) {
			t.Errorf("output contains the pepper as %q:\n%s", leak, out.String())
		}
	}
	if !strings.Contains(out.String(), redacted) {
		t.Errorf("output has no %q:\n%s", redacted, out.String())
	}
}

// TestDummy checks SEC-45: Dummy performs an argon2 computation with the
// Hasher's configured parameters, the same as a Verify of a real hash, and
// its one-time dummy hash is safe to create concurrently.
func TestDummy(t *testing.T) {
	params := Params{Memory: 96, Time: 2, Threads: 2, SaltLen: 24, KeyLen: 20}
	for _, pepper := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		t.Run(fmt.Sprintf("pepper=%t", pepper != nil), func(t *testing.T) {
			rec := &kdfRecorder{}
			h := &Hasher{Params: params, AllowWeakParams: true, Pepper: pepper, kdf: rec.kdf}
			h.Dummy("warm up") // hashes the dummy once, then verifies against it
			if got := rec.count(); got != 2 {
				t.Fatalf("got %d argon2 calls on the first Dummy, want 2", got)
			}

			stored := mustHash(t, h, "correct horse")
			before := rec.count()
			_, _, _ = h.Verify("wrong horse", stored)
			verifyCall := rec.calls[before]

			const n = 8
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { h.Dummy("unknown user's password") })
			}
			wg.Wait()
			if got := rec.count() - before - 1; got != n {
				t.Fatalf("got %d argon2 calls from %d Dummy calls, want %d", got, n, n)
			}
			want := kdfCall{time: 2, memory: 96, threads: 2, saltLen: 24, keyLen: 20}
			if verifyCall != want {
				t.Errorf("Verify computed %+v, want %+v", verifyCall, want)
			}
			for _, c := range rec.calls[before+1:] {
				if c != verifyCall {
					t.Errorf("Dummy computed %+v, Verify computed %+v", c, verifyCall)
				}
			}
		})
	}
}

// TestDummyDefaultParams runs Dummy on the zero Hasher: it computes argon2
// with the SEC-41 parameters.
func TestDummyDefaultParams(t *testing.T) {
	rec := &kdfRecorder{}
	h := &Hasher{kdf: rec.kdf}
	h.Dummy("correct horse")
	want := kdfCall{time: DefaultTime, memory: DefaultMemory, threads: DefaultThreads, saltLen: int(DefaultSaltLen), keyLen: DefaultKeyLen}
	if len(rec.calls) != 2 || rec.calls[1] != want {
		t.Errorf("got calls %+v, want the second to be %+v", rec.calls, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		h    *Hasher
		ok   bool
	}{
		{"zero value", &Hasher{}, true},
		{"OWASP m=47104,t=1", &Hasher{Params: Params{Memory: 47104, Time: 1}}, true},
		{"OWASP m=7168,t=5", &Hasher{Params: Params{Memory: 7168, Time: 5}}, true},
		{"below the floor", &Hasher{Params: Params{Memory: 19455, Time: 2}}, false},
		{"below the floor, allowed for tests", &Hasher{Params: Params{Memory: 64, Time: 1}, AllowWeakParams: true}, true},
		{"memory above 256 MiB", &Hasher{Params: Params{Memory: maxMemory + 1, Time: 1}}, false},
		{"memory × time above the bound", &Hasher{Params: Params{Memory: maxMemory, Time: 5}}, false},
		{"time above 16", &Hasher{Params: Params{Memory: 19456, Time: 17}}, false},
		{"threads above 16", &Hasher{Params: Params{Threads: 17}}, false},
		{"memory below 8 × threads", &Hasher{Params: Params{Memory: 15, Threads: 2}, AllowWeakParams: true}, false},
		{"salt of 8 bytes", &Hasher{Params: Params{SaltLen: 8}}, false},
		{"salt of 48 bytes", &Hasher{Params: Params{SaltLen: 48}}, true},
		{"key of 15 bytes", &Hasher{Params: Params{KeyLen: 15}}, false},
		{"key of 64 bytes", &Hasher{Params: Params{KeyLen: 64}}, true},
		{"pepper of 15 bytes", &Hasher{Pepper: make([]byte, 15)}, false},
		{"pepper of 16 bytes", &Hasher{Pepper: make([]byte, 16)}, true},
		{"pepper with a 33-byte key", &Hasher{Pepper: make([]byte, 32), Params: Params{KeyLen: 33}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, errInvalidConfig) {
					t.Errorf("Validate() = %v, want it to wrap errInvalidConfig", err)
				}
				if _, hashErr := tt.h.Hash("correct horse"); !errors.Is(hashErr, errInvalidConfig) {
					t.Errorf("Hash error = %v, want the configuration error", hashErr)
				}
			}
		})
	}
}

func TestParamsMeetsFloor(t *testing.T) {
	tests := []struct {
		p    Params
		want bool
	}{
		{Params{}, true},
		{DefaultParams(), true},
		{Params{Memory: 47104, Time: 1}, true},
		{Params{Memory: 47103, Time: 1}, false},
		{Params{Memory: 19456, Time: 1}, false},
		{Params{Memory: 19455, Time: 2}, false},
		{Params{Memory: 12288, Time: 3}, true},
		{Params{Memory: 12287, Time: 3}, false},
		{Params{Memory: 9216, Time: 4}, true},
		{Params{Memory: 7168, Time: 5}, true},
		{Params{Memory: 7167, Time: 16}, false},
		{Params{Memory: 262144, Time: 1}, true},
	}
	for _, tt := range tests {
		if got := tt.p.MeetsFloor(); got != tt.want {
			t.Errorf("%+v.MeetsFloor() = %v, want %v", tt.p, got, tt.want)
		}
	}
}

// BenchmarkHash measures Hash at the SEC-41 default parameters.
func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	var h Hasher
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures a successful Verify at the default parameters.
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	var h Hasher
	encoded := mustHash(b, &h, "correct horse battery staple")
	for b.Loop() {
		if ok, _, err := h.Verify("correct horse battery staple", encoded); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
