package guard

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

var testProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     []string
		want    string // "" means the invalid Addr
	}{
		{"no proxies: peer", nil, "203.0.113.7:5555", nil, "203.0.113.7"},
		{"attack: no proxies, XFF ignored", nil, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"attack: untrusted peer's XFF ignored", testProxies, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted peer without XFF: the proxy", testProxies, "10.0.0.1:80", nil, "10.0.0.1"},
		{"one proxy", testProxies, "10.0.0.1:80", []string{"203.0.113.7"}, "203.0.113.7"},
		{"attack: spoofed left-most ignored", testProxies, "10.0.0.1:80", []string{"198.51.100.1, 1.2.3.4, 203.0.113.7"}, "203.0.113.7"},
		{"attack: spoofed trusted-looking left entry", testProxies, "10.0.0.1:80", []string{"10.9.9.9, 203.0.113.7"}, "203.0.113.7"},
		{"chain of proxies", testProxies, "10.0.0.3:80", []string{"198.51.100.1, 203.0.113.7, 10.0.0.1, 10.0.0.2"}, "203.0.113.7"},
		{"all trusted: left-most", testProxies, "10.0.0.3:80", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"several header lines", testProxies, "10.0.0.3:80", []string{"198.51.100.1", "203.0.113.7, 10.0.0.2"}, "203.0.113.7"},
		{"walk crosses header lines", testProxies, "10.0.0.3:80", []string{"198.51.100.1, 203.0.113.9", "10.0.0.2"}, "203.0.113.9"},
		{"spaces and tabs", testProxies, "10.0.0.1:80", []string{"198.51.100.1 ,\t203.0.113.7\t"}, "203.0.113.7"},
		{"no spaces", testProxies, "10.0.0.1:80", []string{"198.51.100.1,203.0.113.7"}, "203.0.113.7"},
		{"IPv4 with port", testProxies, "10.0.0.1:80", []string{"203.0.113.7:4711"}, "203.0.113.7"},
		{"IPv6 peer and client", testProxies, "[2001:db8::1]:443", []string{"2600:1::7"}, "2600:1::7"},
		{"IPv6 bracketed with port", testProxies, "[2001:db8::1]:443", []string{"[2600:1::7]:4711"}, "2600:1::7"},
		{"IPv6 bracketed", testProxies, "[2001:db8::1]:443", []string{"[2600:1::7]"}, "2600:1::7"},
		{"IPv6 chain", testProxies, "[2001:db8::1]:443", []string{"2600:1::7, 2001:db8::2, 10.0.0.5"}, "2600:1::7"},
		{"IPv4-mapped client", testProxies, "10.0.0.1:80", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv4-mapped peer is trusted", testProxies, "[::ffff:10.0.0.1]:80", []string{"203.0.113.7"}, "203.0.113.7"},
		{"attack: IPv4-mapped spoof of a proxy", testProxies, "10.0.0.1:80", []string{"203.0.113.7, ::ffff:10.0.0.2"}, "203.0.113.7"},
		{"zone stripped", testProxies, "10.0.0.1:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"garbage: stop at the proxy", testProxies, "10.0.0.1:80", []string{"203.0.113.7, garbage"}, "10.0.0.1"},
		{"garbage in the middle: last good", testProxies, "10.0.0.3:80", []string{"203.0.113.7, garbage, 10.0.0.2"}, "10.0.0.2"},
		{"unknown", testProxies, "10.0.0.1:80", []string{"unknown"}, "10.0.0.1"},
		{"empty value", testProxies, "10.0.0.1:80", []string{""}, "10.0.0.1"},
		{"trailing comma", testProxies, "10.0.0.1:80", []string{"203.0.113.7,"}, "10.0.0.1"},
		{"bad port", testProxies, "10.0.0.1:80", []string{"203.0.113.7:99999"}, "10.0.0.1"},
		{"CIDR is not an address", testProxies, "10.0.0.1:80", []string{"203.0.113.0/24"}, "10.0.0.1"},
		{"unbracketed IPv6 with port-like tail is an address", testProxies, "10.0.0.1:80", []string{"2600:1::7:80"}, "2600:1::7:80"},
		{"oversized entry", testProxies, "10.0.0.1:80", []string{"203.0.113.7, " + strings.Repeat("1", 200)}, "10.0.0.1"},
		{"RFC 7239 syntax is not XFF", testProxies, "10.0.0.1:80", []string{"for=203.0.113.7"}, "10.0.0.1"},
		{"remote without port", nil, "203.0.113.7", nil, "203.0.113.7"},
		{"remote IPv6 with zone", nil, "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"remote not an address", testProxies, "pipe", []string{"203.0.113.7"}, ""},
		{"remote empty", nil, "", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/login", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("X-Real-IP", "192.0.2.66")
			r.Header.Set("Forwarded", "for=192.0.2.66")
			got := IPResolver{TrustedProxies: tc.proxies}.ClientIP(r)
			var want netip.Addr
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got != want {
				t.Fatalf("ClientIP: got %v, want %v", got, want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    string // the prefixes joined by ","
		wantErr bool
	}{
		{"", "", false},
		{" , ,", "", false},
		{"10.0.0.0/8,192.168.1.1", "10.0.0.0/8,192.168.1.1/32", false},
		{" 10.0.0.0/8 , ::1 ", "10.0.0.0/8,::1/128", false},
		{"2001:db8::/32", "2001:db8::/32", false},
		{"10.1.2.3/8", "10.0.0.0/8", false},
		{"::ffff:10.0.0.1", "10.0.0.1/32", false},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", false},
		{"0.0.0.0/0", "", true},
		{"::/0", "", true},
		{"::ffff:0.0.0.0/96", "", true},
		{"::ffff:0:0/80", "", true},
		{"10.0.0.0/33", "", true},
		{"garbage", "", true},
		{"10.0.0.0/8,garbage", "", true},
		{"fe80::1%eth0", "", true},
		{"10.0.0.0/8/8", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePrefixes(tc.in)
			if tc.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), "guard: ") {
					t.Fatalf("ParsePrefixes(%q): got %v, %v, want an error starting with guard: ", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrefixes(%q): %v", tc.in, err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if strings.Join(s, ",") != tc.want {
				t.Fatalf("ParsePrefixes(%q): got %v, want %s", tc.in, s, tc.want)
			}
		})
	}
}

// refClientIP is the right-most-untrusted algorithm written plainly, to
// check the allocation-free walk against.
func refClientIP(res IPResolver, remote string, xff []string) netip.Addr {
	peer := parseRemoteAddr(remote)
	if !peer.IsValid() || !res.trusted(peer) {
		return peer
	}
	if len(xff) == 0 {
		return peer
	}
	entries := strings.Split(strings.Join(xff, ","), ",")
	last := peer
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseForwardedEntry(entries[i])
		if !ok {
			return last
		}
		if !res.trusted(a) {
			return a
		}
		last = a
	}
	return last
}

func FuzzClientIP(f *testing.F) {
	for _, s := range [][2]string{
		{"10.0.0.1:80", "203.0.113.7"},
		{"10.0.0.1:80", "198.51.100.1, 203.0.113.7, 10.0.0.2"},
		{"[2001:db8::1]:443", "[2600:1::7]:4711, 2001:db8::2"},
		{"10.0.0.1:80", "garbage,,10.0.0.2"},
		{"10.0.0.1:80", "a\n203.0.113.7, 10.0.0.9\n10.0.0.2"},
		{"203.0.113.7:1", "10.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "::ffff:203.0.113.7, fe80::1%eth0"},
		{"pipe", ""},
	} {
		f.Add(s[0], s[1])
	}
	res := IPResolver{TrustedProxies: testProxies}
	f.Fuzz(func(t *testing.T, remote, header string) {
		xff := strings.Split(header, "\n")
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		got := res.ClientIP(r)
		if want := refClientIP(res, remote, xff); got != want {
			t.Fatalf("ClientIP(%q, %q): got %v, want %v", remote, header, got, want)
		}
		if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
			t.Fatalf("ClientIP(%q, %q): got %v, want no zone and no IPv4-mapped form", remote, header, got)
		}
		peer := parseRemoteAddr(remote)
		if got != peer && !res.trusted(peer) {
			t.Fatalf("ClientIP(%q, %q): got %v, an untrusted peer's header was believed", remote, header, got)
		}
	})
}

func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8,192.168.1.1", "::1", "0.0.0.0/0", "::ffff:10.0.0.0/104", "fe80::1%eth0", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "guard: ") {
				t.Fatalf("error %q: want the guard: prefix", err)
			}
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p.Bits() == 0 || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("ParsePrefixes(%q): got %v, want valid, masked, non-/0, unmapped prefixes", s, p)
			}
			again, err := ParsePrefixes(p.String())
			if err != nil || len(again) != 1 || again[0] != p {
				t.Fatalf("ParsePrefixes(%q) round trip: got %v, %v, want %v", p.String(), again, err, p)
			}
		}
	})
}
