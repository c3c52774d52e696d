package verify

import (
	"strings"
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

// FuzzSSEParser feeds arbitrary bytes to the revocation stream's event
// parser: it must never panic, never return an event beyond its bounds,
// give the same events whether the stream arrives whole or byte by byte
// (a CR and its LF in two reads), and agree with the spec's algorithm.
func FuzzSSEParser(f *testing.F) {
	for _, s := range []string{
		"retry: 1000\n\nevent: revocation\nid: 12\ndata: {\"seq\":12,\"sid\":\"s\",\"at\":\"2026-03-01T12:00:00Z\"}\n\n",
		"event: position\nid: 13\ndata: {\"next\":13}\n\n: heartbeat\n\n",
		"event: a\r\nid: 1\r\ndata: x\r\n\r\n",
		"data: a\rdata: b\r\r",
		"\uFEFFdata: x\n\n",
		"\xEF\xBBdata: x\n\n",
		"id: 1\x002\ndata\n\n",
		"data:x\ndata:  y\n\nevent\n:c\n\n",
		"data: unterminated",
		"retry: 99999999999999999999999\n\n",
		"data: " + strings.Repeat("x", maxSSELine) + "\n\n",
		strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", 40) + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkSSEParser)
}
