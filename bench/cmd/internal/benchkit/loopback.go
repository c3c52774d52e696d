package benchkit

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckLoopback parses raw as an http or https base URL and refuses it
// unless its host is a loopback address (127.0.0.0/8, ::1) or "localhost":
// the load tools may only be pointed at this machine. It returns the URL
// without a trailing slash.
func CheckLoopback(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL %q: want http:// or https://", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("URL %q: want a bare base URL such as http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	if host == "" {
		return "", fmt.Errorf("URL %q: no host", raw)
	}
	if !isLoopbackHost(host) {
		return "", fmt.Errorf("URL %q: refusing a non-loopback host %q: these tools only load this machine (127.0.0.1, ::1 or localhost)", raw, host)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if strings.Contains(host, "%") { // a zone: not a plain loopback literal
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
