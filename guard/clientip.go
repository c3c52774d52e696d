package guard

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// IPResolver finds the client address of a request (SEC-52). The zero
// value trusts no proxy and always answers with the TCP peer, ignoring
// X-Forwarded-For, which any client can write. It is safe for concurrent
// use once configured.
type IPResolver struct {
	// TrustedProxies are the networks of the reverse proxies in front of
	// the server (from --trusted-proxies). Default none. Only a peer inside
	// one of them is believed about X-Forwarded-For.
	TrustedProxies []netip.Prefix
}

// ClientIP returns the client address of r.
//
// The peer is r.RemoteAddr. When the peer is a trusted proxy, ClientIP
// walks X-Forwarded-For (all its header lines, in order) from the right,
// skipping trusted proxies, and returns the first untrusted address: the
// right-most entries were written by our own proxies, while everything to
// the left of the first untrusted one was written by the client and may be
// forged. An entry that does not parse stops the walk, and the last
// address reached (the nearest proxy vouching for it) is returned: a
// malformed header fails toward our proxy, never toward an address an
// attacker chose. When every entry is trusted, the left-most is returned.
//
// Addresses are returned without zone, IPv4-mapped IPv6 addresses as IPv4.
// The Forwarded (RFC 7239) and X-Real-IP headers are not read. A
// RemoteAddr that does not parse (not a TCP connection) gives the invalid
// Addr, which [Limiter] treats as one shared client.
func (res IPResolver) ClientIP(r *http.Request) netip.Addr {
	peer := parseRemoteAddr(r.RemoteAddr)
	if !peer.IsValid() || !res.trusted(peer) {
		return peer
	}
	return res.fromForwardedFor(peer, r.Header.Values("X-Forwarded-For"))
}

func (res IPResolver) trusted(a netip.Addr) bool {
	for _, p := range res.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromForwardedFor walks the X-Forwarded-For values from the right,
// starting from the trusted peer.
func (res IPResolver) fromForwardedFor(peer netip.Addr, values []string) netip.Addr {
	last := peer
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			j := strings.LastIndexByte(v, ',')
			a, ok := parseForwardedEntry(v[j+1:])
			if !ok {
				return last
			}
			if !res.trusted(a) {
				return a
			}
			last = a
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
	return last
}

// maxEntryLen bounds one X-Forwarded-For entry: the longest form,
// "[" + a full IPv6 address with an embedded IPv4 + zone + "]:65535", fits.
const maxEntryLen = 80

// parseForwardedEntry parses one X-Forwarded-For element: an IP address,
// optionally with a port ("192.0.2.1:443", "[2001:db8::1]:443") or in
// brackets ("[2001:db8::1]"), surrounded by optional spaces or tabs.
// Anything else ("unknown", obfuscated identifiers, empty) is malformed.
func parseForwardedEntry(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	if s == "" || len(s) > maxEntryLen {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return clean(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return clean(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return clean(a), true
		}
	}
	return netip.Addr{}, false
}

func parseRemoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return clean(ap.Addr())
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return clean(a)
	}
	return netip.Addr{}
}

func clean(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

// ParsePrefixes parses a comma-separated list of trusted proxy networks,
// as given to --trusted-proxies: CIDR prefixes ("10.0.0.0/8",
// "2001:db8::/32") or bare addresses ("192.168.1.1", meaning /32, or
// "::1", meaning /128). Spaces around items are ignored; an empty string is
// no proxies. Host bits below the prefix length are cleared
// ("10.1.2.3/8" is 10.0.0.0/8). A zero-length prefix ("0.0.0.0/0", "::/0")
// is refused: trusting every address would let any client choose the IP
// that throttling and audit logs see.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("guard: trusted proxy %q: %w", item, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zones are not supported")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, errors.New("an IPv4-mapped prefix must be at least /96")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, errors.New("a /0 prefix would trust every client")
	}
	return p.Masked(), nil
}
