package verify

import (
	"testing"
)

func FuzzParseKeySet(f *testing.F) {
	f.Add(`{"keys":[]}`)
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`)
	f.Add(`{"keys":[{"kty":"oct","k":"AAAA","alg":"HS256"},"x",1,null]}`)
	f.Add(`[]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		set, _, err := parseKeySet([]byte(body))
		if err == nil {
			for _, k := range set.Keys() {
				if k.IsSymmetric() || k.CanSign() || !k.CanVerify() {
					t.Fatalf("accepted key %v: want public verification keys only", k)
				}
			}
		}
	})
}

func FuzzParseFeedPage(f *testing.F) {
	f.Add(`{"revocations":[{"seq":12,"sid":"s","at":"2026-03-01T12:00:00Z"}],"next":13}`)
	f.Add(`{"revocations":[],"next":1}`)
	f.Add(`{"next":null}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		p, err := parseFeedPage([]byte(body))
		if err == nil && p.Next == nil {
			t.Fatal("accepted a page without next")
		}
	})
}
