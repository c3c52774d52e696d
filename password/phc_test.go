package password

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// validPHC is a well-formed argon2id string with fast parameters, a 16-byte
// zero salt and a 32-byte zero hash; malformed cases are edits of it.
var validPHC = phc{memory: 64, time: 1, threads: 1, salt: make([]byte, 16), hash: make([]byte, 32)}.encode()

const (
	zeroSalt16 = "AAAAAAAAAAAAAAAAAAAAAA"                      // 16 zero bytes
	zeroHash32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 zero bytes
)

// malformedPHC are stored hashes that Verify must refuse with ErrInvalidHash,
// without computing anything and without panicking.
var malformedPHC = []struct {
	name    string
	encoded string
}{
	{"empty", ""},
	{"just a dollar", "$"},
	{"no leading dollar", strings.TrimPrefix(validPHC, "$")},
	{"leading space", " " + validPHC},
	{"trailing newline", validPHC + "\n"},
	{"trailing dollar", validPHC + "$"},
	{"extra field", validPHC + "$AAAA"},
	{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16},
	{"empty hash", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16 + "$"},
	{"missing salt and hash", "$argon2id$v=19$m=64,t=1,p=1"},
	{"missing version", "$argon2id$m=64,t=1,p=1$" + zeroSalt16 + "$" + zeroHash32},
	{"wrong algorithm argon2i", strings.Replace(validPHC, "argon2id", "argon2i", 1)},
	{"wrong algorithm argon2d", strings.Replace(validPHC, "argon2id", "argon2d", 1)},
	{"upper-case algorithm", strings.Replace(validPHC, "argon2id", "ARGON2ID", 1)},
	{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	{"version 16", strings.Replace(validPHC, "v=19", "v=16", 1)},
	{"version with leading zero", strings.Replace(validPHC, "v=19", "v=019", 1)},
	{"version 0x13 in hex", strings.Replace(validPHC, "v=19", "v=13", 1)},
	{"parameters out of order", strings.Replace(validPHC, "m=64,t=1", "t=1,m=64", 1)},
	{"missing p", strings.Replace(validPHC, ",p=1", "", 1)},
	{"duplicate m", strings.Replace(validPHC, "t=1", "m=64", 1)},
	{"unknown parameter", strings.Replace(validPHC, "p=1", "p=1,x=1", 1)},
	{"associated data parameter", strings.Replace(validPHC, "p=1", "p=1,data=AAAA", 1)},
	{"unknown keyid", strings.Replace(validPHC, "p=1", "p=1,keyid=AAAA", 1)},
	{"empty keyid", strings.Replace(validPHC, "p=1", "p=1,keyid=", 1)},
	{"keyid after data", strings.Replace(validPHC, "p=1", "p=1,data=AA,keyid="+pepperKeyID, 1)},
	{"empty m", strings.Replace(validPHC, "m=64", "m=", 1)},
	{"leading zero", strings.Replace(validPHC, "m=64", "m=064", 1)},
	{"plus sign", strings.Replace(validPHC, "m=64", "m=+64", 1)},
	{"negative", strings.Replace(validPHC, "m=64", "m=-64", 1)},
	{"hex", strings.Replace(validPHC, "m=64", "m=0x40", 1)},
	{"space in value", strings.Replace(validPHC, "m=64", "m= 64", 1)},
	{"m overflows uint32", strings.Replace(validPHC, "m=64", "m=4294967296", 1)},
	{"attack: huge m, 4 GiB", strings.Replace(validPHC, "m=64", "m=4194304", 1)},
	{"attack: m just above 256 MiB", strings.Replace(validPHC, "m=64", "m=262145", 1)},
	{"attack: huge t", strings.Replace(validPHC, "t=1", "t=4294967295", 1)},
	{"attack: t above 16", strings.Replace(validPHC, "t=1", "t=17", 1)},
	{"attack: m×t above the bound", strings.Replace(strings.Replace(validPHC, "m=64", "m=262144", 1), "t=1", "t=5", 1)},
	{"attack: p=255", strings.Replace(validPHC, "p=1", "p=255", 1)},
	{"p above 255", strings.Replace(validPHC, "p=1", "p=256", 1)},
	{"p of 4 digits", strings.Replace(validPHC, "p=1", "p=1000", 1)},
	{"t=0 would panic in argon2", strings.Replace(validPHC, "t=1", "t=0", 1)},
	{"p=0 would panic in argon2", strings.Replace(validPHC, "p=1", "p=0", 1)},
	{"m=0", strings.Replace(validPHC, "m=64", "m=0", 1)},
	{"m below 8×p", strings.Replace(strings.Replace(validPHC, "m=64", "m=15", 1), "p=1", "p=2", 1)},
	{"bad base64 salt", "$argon2id$v=19$m=64,t=1,p=1$!!!!!!!!!!!!!!!!!!!!!!$" + zeroHash32},
	{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16 + "==$" + zeroHash32},
	{"url-safe alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + "____________________AA" + "$" + zeroHash32},
	{"newline inside salt", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16[:10] + "\n" + zeroSalt16[10:] + "$" + zeroHash32},
	{"non-zero trailing bits", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16[:21] + "B$" + zeroHash32},
	{"salt length 1 mod 4", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16 + "AAA$" + zeroHash32},
	{"salt of 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$AAAAAA$" + zeroHash32},
	{"salt of 49 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 66) + "$" + zeroHash32},
	{"hash of 8 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16 + "$AAAAAAAAAAA"},
	{"hash of 65 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + zeroSalt16 + "$" + strings.Repeat("A", 87)},
	{"peppered hash of 64 bytes", "$argon2id$v=19$m=64,t=1,p=1,keyid=" + pepperKeyID + "$" + zeroSalt16 + "$" + strings.Repeat("A", 86)},
	{"attack: 1 MB string", validPHC + strings.Repeat("A", 1<<20)},
}

// TestVerifyMalformed checks that every malformed or unsupported stored hash
// is an ErrInvalidHash, never ok, never a panic, and never reaches argon2.
func TestVerifyMalformed(t *testing.T) {
	for _, tt := range malformedPHC {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newFastHasher([]byte("0123456789abcdef0123456789abcdef"))
			ok, rehash, err := h.Verify("correct horse", tt.encoded)
			if !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Verify error = %v, want ErrInvalidHash", err)
			}
			if ok || rehash {
				t.Errorf("Verify = %v, %v; want false, false", ok, rehash)
			}
			if n := rec.count(); n != 0 {
				t.Errorf("got %d argon2 calls, want 0", n)
			}
			if err != nil && len(tt.encoded) > 8 && strings.Contains(err.Error(), tt.encoded) {
				t.Errorf("error %q echoes the stored hash", err)
			}
		})
	}
}

// TestParseValid checks the parser accepts what the encoder writes, with
// and without the pepper marker, at the bounds.
func TestParseValid(t *testing.T) {
	tests := []phc{
		{memory: 64, time: 1, threads: 1, salt: make([]byte, 16), hash: make([]byte, 32)},
		{memory: 64, time: 1, threads: 1, peppered: true, salt: make([]byte, 16), hash: make([]byte, 32)},
		{memory: 8, time: 1, threads: 1, salt: make([]byte, minSaltLen), hash: make([]byte, minKeyLen)},
		{memory: maxMemory, time: 4, threads: maxThreads, salt: make([]byte, maxSaltLen), hash: make([]byte, maxKeyLen)},
		{memory: 65536, time: 16, threads: 1, salt: []byte("somesalt"), hash: []byte("0123456789abcdef")},
	}
	for _, want := range tests {
		encoded := want.encode()
		got, err := parsePHC(encoded)
		if err != nil {
			t.Errorf("parsePHC(%q): %v", encoded, err)
			continue
		}
		if re := got.encode(); re != encoded {
			t.Errorf("parsePHC(%q) re-encodes as %q", encoded, re)
		}
	}
}

// fakeKDF stands in for argon2 in the fuzz test: cheap and deterministic.
func fakeKDF(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	sum := sha256.Sum256(append(append([]byte{byte(time), byte(memory), threads}, salt...), pw...))
	out := make([]byte, keyLen)
	for i := range out {
		out[i] = sum[i%len(sum)]
	}
	return out
}

// FuzzVerify fuzzes the PHC parser through Verify: it never panics, an error
// is never ok, needsRehash only comes with ok, anything accepted is in
// canonical form, and argon2 is only ever asked for bounded work.
func FuzzVerify(f *testing.F) {
	pepper := []byte("0123456789abcdef0123456789abcdef")
	seedHasher := &Hasher{Params: fastParams, AllowWeakParams: true, Pepper: pepper, kdf: fakeKDF}
	plain := &Hasher{Params: fastParams, AllowWeakParams: true, kdf: fakeKDF}
	for _, h := range []*Hasher{seedHasher, plain} {
		encoded, err := h.Hash("correct horse")
		if err != nil {
			f.Fatal(err)
		}
		f.Add("correct horse", encoded)
		f.Add("wrong horse", encoded)
	}
	f.Add("password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	for _, tt := range malformedPHC {
		if len(tt.encoded) < 1024 {
			f.Add("correct horse", tt.encoded)
		}
	}

	f.Fuzz(func(t *testing.T, pw, encoded string) {
		h := &Hasher{
			Params: fastParams, AllowWeakParams: true, Pepper: pepper,
			kdf: func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
				if err := checkCost(memory, time, threads); err != nil {
					t.Fatalf("argon2 asked for unbounded work: %v", err)
				}
				if n := uint32(len(salt)); n < minSaltLen || n > maxSaltLen || keyLen < minKeyLen || keyLen > maxKeyLen {
					t.Fatalf("argon2 asked for salt %d bytes, key %d bytes", n, keyLen)
				}
				return fakeKDF(pw, salt, time, memory, threads, keyLen)
			},
		}
		ok, rehash, err := h.Verify(pw, encoded)
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify = %v, %v, %v: ok or rehash with an error", ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatal("needsRehash without ok")
		}
		if stored, perr := parsePHC(encoded); perr == nil {
			if re := stored.encode(); re != encoded {
				t.Fatalf("accepted non-canonical %q (canonical %q)", encoded, re)
			}
		} else if ok {
			t.Fatalf("ok for a string the parser refuses: %v", perr)
		}
	})
}
