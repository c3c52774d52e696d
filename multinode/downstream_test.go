package multinode

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/verify"
)

// streamingDownstream is a service that accepts Sesame's access tokens
// with the verify package, following the revocation stream of node n. Its
// poll interval is an hour: a revocation it enforces within the test's
// deadline came on the stream, not from a poll.
func streamingDownstream(t *testing.T, n *node) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Config{
		JWKSURL: n.url + "/.well-known/jwks.json", Issuer: "https://sesame.test", Audience: []string{"https://sesame.test"},
		Revocations: &verify.RevocationConfig{
			URL:                          n.url + "/api/v1/revocations",
			Transport:                    verify.TransportStream,
			PollInterval:                 time.Hour,
			TrustTokensIssuedBeforePrime: true, // the test's tokens are made before the downstream starts
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v.Start(ctx)
	return v
}

// A downstream verify service follows node B's revocation stream; a
// logout on node A reaches it through the deployment's store and
// notifier, then B's stream: the downstream rejects the token as revoked,
// and keeps accepting the user's other session.
func TestDownstreamFollowsStreamOfAnotherNode(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, c *cluster) {
		a, b := c.nodes[0], c.nodes[1]
		a.want(201, "POST", "/api/v1/signup", map[string]string{"username": "dora", "password": pw}, "", "")
		revoked := a.loginBearer("dora", pw).AccessToken
		kept := b.loginBearer("dora", pw).AccessToken
		ds := streamingDownstream(t, b)

		start := time.Now()
		for { // until the downstream has primed from the stream
			_, err := ds.Verify(context.Background(), revoked)
			if err == nil {
				break
			}
			if time.Since(start) > deadline {
				t.Fatalf("the downstream still answers %v for a live token after %v", err, deadline)
			}
			time.Sleep(5 * time.Millisecond)
		}

		a.want(204, "POST", "/api/v1/logout", nil, "", revoked)
		start = time.Now()
		for {
			_, err := ds.Verify(context.Background(), revoked)
			if errors.Is(err, verify.ErrRevoked) {
				break
			}
			if time.Since(start) > deadline {
				t.Fatalf("the downstream still answers %v for a token revoked on node A after %v", err, deadline)
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("the downstream of node B rejected a token revoked on node A after %v", time.Since(start))
		if _, err := ds.Verify(context.Background(), kept); err != nil {
			t.Fatalf("the downstream refused the user's other session: %v", err)
		}
	})
}
