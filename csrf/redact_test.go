package csrf_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/csrf"
)

// SEC-37 (tokens and keys never in logs): the key redacts itself however it
// is printed or logged, alone, inside Config, or inside Protection.
func TestKeyRedacted(t *testing.T) {
	key := csrf.Key("CANARY-key-0123456789abcdefghijklmnop")
	cfg := csrf.Config{Key: key}
	p, err := csrf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", "key", key, "cfg", cfg, "p", p)
	text := slog.New(slog.NewTextHandler(&logs, nil))
	text.Info("x", "key", key, "cfg", cfg, "p", p)
	js, _ := json.Marshal(cfg)
	outs := []string{
		fmt.Sprint(key), fmt.Sprintf("%v %+v %#v %s", key, key, key, key),
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", p, p, p, p),
		logs.String(), string(js),
	}
	for _, out := range outs {
		if strings.Contains(out, "CANARY") || strings.Contains(out, fmt.Sprint([]byte(key))[:20]) {
			t.Fatalf("key leaked: %s", out)
		}
	}
}

// Error strings are lowercase and prefixed "csrf: " (STYLE 9), and stable
// for audit logs.
func TestErrorStrings(t *testing.T) {
	want := map[error]string{
		csrf.ErrCrossSite:      "csrf: cross-site request",
		csrf.ErrOriginMismatch: "csrf: origin mismatch",
		csrf.ErrNoOrigin:       "csrf: no origin information",
		csrf.ErrMissingToken:   "csrf: missing token",
		csrf.ErrMalformedToken: "csrf: malformed token",
		csrf.ErrTokenMismatch:  "csrf: token for another session",
		csrf.ErrNoPreSession:   "csrf: missing pre-session cookie",
		csrf.ErrUnreadableForm: "csrf: unreadable form",
	}
	for err, s := range want {
		if err.Error() != s {
			t.Errorf("got %q, want %q", err, s)
		}
		if strings.ToLower(s) != s {
			t.Errorf("%q is not lowercase", s)
		}
	}
}
