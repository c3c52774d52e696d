package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// fetchTimeout bounds every request to the JWKS and revocation endpoints,
// whatever the HTTP client.
const fetchTimeout = 5 * time.Second

// checkURL parses an endpoint URL: absolute, https, or http only to a
// loopback host (a test server, a sidecar), without user info or fragment.
func checkURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("verify: %s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("verify: %s: %w", field, err)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("verify: %s must be an absolute URL", field)
	case u.User != nil || u.Fragment != "":
		return nil, fmt.Errorf("verify: %s must have no user info or fragment", field)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("verify: %s must use https (plain http is allowed only to a loopback host)", field)
	default:
		return nil, fmt.Errorf("verify: %s must be an https URL", field)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultHTTPClient bounds the whole exchange and refuses redirects to
// other hosts.
func defaultHTTPClient() *http.Client {
	return &http.Client{Timeout: fetchTimeout, CheckRedirect: sameHostRedirect}
}

// withRedirectPolicy returns a copy of c that refuses redirects to other
// hosts, unless c has its own policy.
func withRedirectPolicy(c *http.Client) *http.Client {
	if c.CheckRedirect != nil {
		return c
	}
	cp := *c
	cp.CheckRedirect = sameHostRedirect
	return &cp
}

// sameHostRedirect follows at most 3 redirects, to the same host and
// scheme only: the key set must come from the pinned URL's host (SEC-18).
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) > 3:
		return errors.New("verify: too many redirects")
	case req.URL.Host != first.Host || req.URL.Scheme != first.Scheme:
		return errors.New("verify: redirect to another host or scheme refused")
	}
	return nil
}

// errTooLarge marks a response body over the limit.
var errTooLarge = errors.New("verify: response body too large")

// get fetches u and returns the status and a body of at most limit bytes.
func get(ctx context.Context, client *http.Client, u string, limit int64) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("verify: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sesame-verify")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("verify: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // allow connection reuse
		return resp.StatusCode, nil, nil
	}
	if resp.ContentLength > limit {
		return resp.StatusCode, nil, errTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("verify: reading the response: %w", err)
	}
	if int64(len(body)) > limit {
		return resp.StatusCode, nil, errTooLarge
	}
	return resp.StatusCode, body, nil
}
