package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/webhook"
)

// The Standard Webhooks example vector, published with the specification's
// reference libraries (github.com/standard-webhooks/standard-webhooks at
// b2fa7b8, libraries/go/webhook_test.go TestWebhookSign, and the same
// values in libraries/javascript/src/webhook.test.ts, python/tests/
// test_webhooks.py, php/tests/WebhookTest.php, ruby/spec/webhook_spec.rb,
// csharp/.../WebhookTest.cs and java/.../TestScenario.java). The
// specification's text (spec/standard-webhooks.md) shows the headers and
// the signed content "msg_id.timestamp.payload" but no key.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specHeader(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", strconv.Itoa(specTimestamp))
	h.Set("webhook-signature", sig)
	return h
}

func TestSignSpecVector(t *testing.T) {
	key, err := webhook.ParseSecret(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign([][]byte{key}, specID, time.Unix(specTimestamp, 0), []byte(specPayload))
	if got != specSignature {
		t.Fatalf("Sign of the spec's example: got %q, want %q", got, specSignature)
	}
}

func TestVerifySpecVector(t *testing.T) {
	at := time.Unix(specTimestamp, 0)
	if err := webhook.Verify([]string{specSecret}, specHeader(specSignature), []byte(specPayload), at.Add(time.Minute)); err != nil {
		t.Fatalf("Verify of the spec's example: %v", err)
	}
	// The receiver may hold the key without its prefix.
	if err := webhook.Verify([]string{strings.TrimPrefix(specSecret, "whsec_")}, specHeader(specSignature), []byte(specPayload), at); err != nil {
		t.Fatalf("Verify with the bare base64 key: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	at := time.Unix(specTimestamp, 0)
	body := []byte(specPayload)
	other := webhook.NewSecret()
	for _, tc := range []struct {
		name    string
		secrets []string
		header  http.Header
		body    []byte
		now     time.Time
		want    error
	}{
		{"body changed", []string{specSecret}, specHeader(specSignature), []byte(`{"test": 2432232315}`), at, webhook.ErrNoMatch},
		{"body re-encoded", []string{specSecret}, specHeader(specSignature), []byte(`{"test":2432232314}`), at, webhook.ErrNoMatch},
		{"wrong secret", []string{other}, specHeader(specSignature), body, at, webhook.ErrNoMatch},
		{"signature truncated", []string{specSecret}, specHeader("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O"), body, at, webhook.ErrNoMatch},
		{"empty signature", []string{specSecret}, specHeader("v1,"), body, at, webhook.ErrNoMatch},
		{"other version only", []string{specSecret}, specHeader(strings.Replace(specSignature, "v1,", "v1a,", 1)), body, at, webhook.ErrNoMatch},
		{"too old", []string{specSecret}, specHeader(specSignature), body, at.Add(5*time.Minute + time.Second), webhook.ErrTooOld},
		{"too new", []string{specSecret}, specHeader(specSignature), body, at.Add(-5*time.Minute - time.Second), webhook.ErrTooNew},
		{"no id", []string{specSecret}, func() http.Header { h := specHeader(specSignature); h.Del("webhook-id"); return h }(), body, at, webhook.ErrMissingHeaders},
		{"no timestamp", []string{specSecret}, func() http.Header { h := specHeader(specSignature); h.Del("webhook-timestamp"); return h }(), body, at, webhook.ErrMissingHeaders},
		{"bad timestamp", []string{specSecret}, func() http.Header { h := specHeader(specSignature); h.Set("webhook-timestamp", "soon"); return h }(), body, at, webhook.ErrBadTimestamp},
		// The id is signed: another id with the same signature fails (a
		// replay under a fresh idempotency key).
		{"id changed", []string{specSecret}, func() http.Header { h := specHeader(specSignature); h.Set("webhook-id", "msg_other"); return h }(), body, at, webhook.ErrNoMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.Verify(tc.secrets, tc.header, tc.body, tc.now); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The tolerance boundary: exactly 5 minutes either way is accepted.
	for _, now := range []time.Time{at.Add(5 * time.Minute), at.Add(-5 * time.Minute)} {
		if err := webhook.Verify([]string{specSecret}, specHeader(specSignature), body, now); err != nil {
			t.Errorf("at %v from the timestamp: %v, want accepted", now.Sub(at), err)
		}
	}
	if err := webhook.VerifyTolerance([]string{specSecret}, specHeader(specSignature), body, at.Add(time.Hour), 2*time.Hour); err != nil {
		t.Errorf("VerifyTolerance 2h, an hour late: %v", err)
	}
}

// During a rotation the sender signs with both keys; a receiver that has
// either key (not yet updated, or already updated) accepts.
func TestRotationTwoSignatures(t *testing.T) {
	oldS, newS := webhook.NewSecret(), webhook.NewSecret()
	oldK, _ := webhook.ParseSecret(oldS)
	newK, _ := webhook.ParseSecret(newS)
	now := time.Now()
	body := []byte(`{"type":"login.success"}`)
	h := http.Header{}
	webhook.SetHeaders(h, [][]byte{newK, oldK}, "msg_x", now, body)
	if sigs := strings.Fields(h.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("two keys: got signatures %q, want two", h.Get("webhook-signature"))
	}
	for name, secrets := range map[string][]string{"old": {oldS}, "new": {newS}, "both": {newS, oldS}} {
		if err := webhook.Verify(secrets, h, body, now); err != nil {
			t.Errorf("receiver with the %s secret: %v", name, err)
		}
	}
	if err := webhook.Verify([]string{webhook.NewSecret()}, h, body, now); !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("receiver with an unrelated secret: got %v, want ErrNoMatch", err)
	}
}

func TestParseSecret(t *testing.T) {
	if _, err := webhook.ParseSecret(webhook.NewSecret()); err != nil {
		t.Fatalf("NewSecret does not parse: %v", err)
	}
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!notbase64", "whsec_c2hvcnQ="} {
		_, err := webhook.ParseSecret(bad)
		if err == nil {
			t.Errorf("ParseSecret(%q): accepted", bad)
			continue
		}
		if len(bad) > 10 && strings.Contains(err.Error(), bad[6:]) {
			t.Errorf("ParseSecret's error repeats the secret: %v", err)
		}
	}
}

func TestMessageIDHasNoDot(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := webhook.NewMessageID()
		if !strings.HasPrefix(id, "msg_") || strings.ContainsAny(id, ". ") || seen[id] {
			t.Fatalf("NewMessageID: got %q (or a repeat)", id)
		}
		seen[id] = true
	}
}

// An endpoint printed with any verb, or logged, never shows its keys.
func TestEndpointRedactsKeys(t *testing.T) {
	key, _ := webhook.ParseSecret(specSecret)
	ep := webhook.Endpoint{URL: "https://h.example/in", Events: webhook.Filter{"*"}, Keys: [][]byte{key}}
	for _, s := range []string{fmt.Sprint(ep), fmt.Sprintf("%v %+v %#v %s", ep, ep, ep, ep), fmt.Sprint([]webhook.Endpoint{ep})} {
		if strings.Contains(s, string(key)) || strings.Contains(s, fmt.Sprint(key)) || strings.Contains(s, "MfKQ9r8") {
			t.Errorf("an endpoint prints its key: %s", s)
		}
	}
}
