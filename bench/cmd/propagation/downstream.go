package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/bench/cmd/internal/benchkit"
	"github.com/sesame-auth/sesame/verify"
)

// downstream is another service that accepts Sesame's access tokens with
// package verify, following the revocation feed of one node, in one mode
// ("stream" or "poll"). It answers GET /api/v1/me (any path) with 200 for
// an accepted token, and the verify middleware's refusal otherwise.
type downstream struct {
	mode string
	name string // the row's node column
	api  *benchkit.API
	srv  *http.Server
	stop context.CancelFunc
}

// startDownstream starts a downstream service on a loopback port,
// following node. iss and aud are those of the node's access tokens.
func startDownstream(ctx context.Context, cfg *Config, mode, node, iss, aud string) (*downstream, error) {
	rc := &verify.RevocationConfig{
		URL: node + "/api/v1/revocations",
		// The bench's tokens are issued around the downstream's start; a
		// production verifier keeps the default.
		TrustTokensIssuedBeforePrime: true,
	}
	switch mode {
	case "stream":
		rc.Transport = verify.TransportStream
	case "poll":
		rc.Transport = verify.TransportPoll
		rc.PollInterval = cfg.DownstreamPoll
	default:
		return nil, fmt.Errorf("unknown downstream mode %q", mode)
	}
	v, err := verify.New(verify.Config{
		JWKSURL: node + "/.well-known/jwks.json", Issuer: iss, Audience: []string{aud},
		HTTPClient: benchkit.NewClient(2, cfg.Insecure), Revocations: rc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	if err := v.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("downstream (%s): key set of %s: %w", mode, node, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	vctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	v.Start(vctx)
	d := &downstream{
		mode: mode, name: fmt.Sprintf("downstream (%s) of %s", mode, node), stop: stop,
		api: &benchkit.API{Base: "http://" + l.Addr().String(), Client: benchkit.NewClient(4, false)},
		srv: &http.Server{Handler: v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
		})), ReadHeaderTimeout: 5 * time.Second},
	}
	go func() { _ = d.srv.Serve(l) }()
	return d, nil
}

func (d *downstream) close() {
	d.stop()
	_ = d.srv.Close()
	d.api.Client.CloseIdleConnections()
}

// tokenIssuer reads iss and the first aud of an access token, unverified:
// the downstream is configured with what the nodes issue.
func tokenIssuer(tok string) (iss, aud string, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", "", errors.New("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", fmt.Errorf("the access token's payload: %w", err)
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", "", fmt.Errorf("the access token's payload: %w", err)
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(c.Aud, &one) == nil:
	case json.Unmarshal(c.Aud, &many) == nil && len(many) > 0:
		one = many[0]
	}
	if c.Iss == "" || one == "" {
		return "", "", errors.New("the access token has no iss or aud")
	}
	return c.Iss, one, nil
}
