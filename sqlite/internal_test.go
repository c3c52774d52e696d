package sqlite

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDataEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   map[string][]byte
	}{
		{"nil", nil},
		{"one", map[string][]byte{"theme": []byte(`"dark"`)}},
		{"binary and empty", map[string][]byte{"bin": {0, 1, 0xff}, "empty": {}, "": []byte("empty key")}},
		{"large value", map[string][]byte{"big": bytes.Repeat([]byte("x"), 1<<16)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeData(encodeData(tc.in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(got) != len(tc.in) {
				t.Fatalf("entries: got %d, want %d", len(got), len(tc.in))
			}
			for k, v := range tc.in {
				if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
					t.Fatalf("[%q]: got %q (present %v), want %q", k, g, ok, v)
				}
			}
		})
	}
}

// TestDecodedValuesAreIndependent: values share one buffer, so appending
// to one must not write into the next.
func TestDecodedValuesAreIndependent(t *testing.T) {
	m, err := decodeData(encodeData(map[string][]byte{"a": []byte("1"), "b": []byte("2")}))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(m["a"], 'X')
	if string(m["b"]) != "2" {
		t.Fatalf(`m["b"] after appending to m["a"]: got %q, want "2"`, m["b"])
	}
}

func TestDataDecodingRejectsCorruption(t *testing.T) {
	valid := encodeData(map[string][]byte{"k": []byte("value")})
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated", valid[:len(valid)-1]},
		{"trailing bytes", append(append([]byte(nil), valid...), 0)},
		{"count larger than input", []byte{0x7f, 0, 0}},
		{"length past the end", []byte{1, 5, 'k'}},
		{"bad varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"huge length", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := decodeData(tc.in); err == nil {
				t.Fatalf("decode(%x): got %v, want an error", tc.in, m)
			}
		})
	}
}

func FuzzDecodeData(f *testing.F) {
	f.Add(encodeData(map[string][]byte{"k": []byte("v"), "e": {}}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeData(b)
		if err != nil {
			return
		}
		again, err := decodeData(encodeData(m))
		if err != nil || len(again) != len(m) {
			t.Fatalf("re-encoding %v: got %v, %v", m, again, err)
		}
	})
}

func TestEmbeddedMigrationsParse(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Name != "0001_init.sql" {
		t.Fatalf("migrations: got %d, want 0001_init.sql first", len(ms))
	}
}

func TestMigrationNames(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		wantErr string // "" for success
	}{
		{"in order", []string{"0001_a.sql", "0002_b.sql"}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "want 2"},
		{"duplicate version", []string{"0001_a.sql", "0001_b.sql"}, "want 2"},
		{"starts at 2", []string{"0002_b.sql"}, "want 1"},
		{"no underscore", []string{"0001.sql"}, "want a name like"},
		{"short number", []string{"1_a.sql"}, "want a name like"},
		{"not sql", []string{"0001_a.txt"}, "want a name like"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := parseMigrations(fsys, "m")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tc.wantErr == "" && len(ms) != len(tc.files):
				t.Fatalf("got %d migrations, want %d", len(ms), len(tc.files))
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
