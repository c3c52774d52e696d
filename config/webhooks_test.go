package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A webhook secret planted as a canary (whsec_ and the base64 of 32 bytes).
const canaryWebhookSecret = "whsec_Y2FuYXJ5LXdlYmhvb2stc2VjcmV0LTMyLWJ5dGVzIQ=="

// TestWebhooksFromFile: endpoints are read with their fields, secret files
// relative to the file, inline secrets from the environment; Settings
// shows one row per endpoint with its line and never a secret (nor a
// query string of the URL).
func TestWebhooksFromFile(t *testing.T) {
	dir := t.TempDir()
	other := "whsec_" + strings.Repeat("QUJD", 8)
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sesame.yaml")
	text := `public_url: https://auth.example.com
webhooks:
  - url: https://hooks.example.com/sesame?token=canary-url-token
    events: [user.signup, login.failure]
    secrets: ["${HOOK_SECRET}"]
  - url: http://127.0.0.1:9000/in
    events: ["*"]
    secret_files: [hook.secret]
`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, env{"HOOK_SECRET": canaryWebhookSecret}, file)
	if len(c.Webhooks) != 2 {
		t.Fatalf("got %d webhooks, want 2", len(c.Webhooks))
	}
	w0, w1 := c.Webhooks[0], c.Webhooks[1]
	if w0.URL != "https://hooks.example.com/sesame?token=canary-url-token" || strings.Join(w0.Events, ",") != "user.signup,login.failure" ||
		len(w0.Secrets) != 1 || w0.Secrets[0].Reveal() != canaryWebhookSecret {
		t.Errorf("webhooks[0]: got %+v", w0)
	}
	if w1.SecretFiles[0] != filepath.Join(dir, "hook.secret") || w1.Events[0] != "*" {
		t.Errorf("webhooks[1]: got %+v", w1)
	}
	for i, w := range c.Webhooks {
		keys, err := w.ReadKeys()
		if err != nil || len(keys) != 1 || len(keys[0]) < 24 {
			t.Errorf("webhooks[%d].ReadKeys: %d keys, %v", i, len(keys), err)
		}
	}
	var all strings.Builder
	rows := map[string]Setting{}
	for _, s := range c.Settings() {
		rows[s.Key] = s
		fmt.Fprintf(&all, "%s %s %s\n", s.Key, s.Value, s.Source)
	}
	if s := rows["webhooks"]; s.Value != "2 endpoints" || s.Source.String() != "file "+file+":2" {
		t.Errorf("webhooks row: got %q from %s", s.Value, s.Source)
	}
	for i, line := range []int{3, 6} {
		if s := rows[fmt.Sprintf("webhooks[%d]", i)]; s.Source.String() != fmt.Sprintf("file %s:%d", file, line) {
			t.Errorf("webhooks[%d] row: got %q from %s", i, s.Value, s.Source)
		}
	}
	for _, leak := range []string{canaryWebhookSecret, strings.TrimPrefix(canaryWebhookSecret, "whsec_"), other, "canary-url-token"} {
		if strings.Contains(all.String(), leak) || strings.Contains(fmt.Sprintf("%v %+v %#v", c, c, c), leak) {
			t.Errorf("settings or the config's printed form show %q:\n%s", leak, all.String())
		}
	}
	if !strings.Contains(all.String(), "secret_file "+filepath.Join(dir, "hook.secret")) {
		t.Errorf("settings: want where the secret comes from in\n%s", all.String())
	}
}

// TestWebhooksRefused: each mistake is reported at its line; unknown event
// types at the event's own line, with a suggestion.
func TestWebhooksRefused(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // in the problems
	}{
		{"unknown event type", `webhooks:
  - url: https://h.example.com/in
    secrets: [` + canaryWebhookSecret + `]
    events:
      - user.signup
      - login.sucess
`, ":6: webhooks[0].events: unknown event type \"login.sucess\" (did you mean login.success?)"},
		{"unknown event type inline", `webhooks:
  - url: https://h.example.com/in
    secrets: [` + canaryWebhookSecret + `]
    events: [session.deleted]
`, ":4: webhooks[0].events: unknown event type \"session.deleted\""},
		{"no events", `webhooks:
  - url: https://h.example.com/in
    secrets: [` + canaryWebhookSecret + `]
`, "webhooks[0].events: missing"},
		{"no secret", `webhooks:
  - url: https://h.example.com/in
    events: ["*"]
`, ":2: webhooks[0]: no secret"},
		{"three secrets", `webhooks:
  - url: https://h.example.com/in
    events: ["*"]
    secrets: [` + canaryWebhookSecret + `, ` + canaryWebhookSecret + `, ` + canaryWebhookSecret + `]
`, "3 secrets: give one, or two during a rotation"},
		{"not whsec", `webhooks:
  - url: https://h.example.com/in
    events: ["*"]
    secrets: [canary-plain-secret-value-123456]
`, ":4: webhooks[0].secrets: secrets[0]: a webhook secret starts with whsec_"},
		{"http not loopback", `webhooks:
  - url: http://h.example.com/in
    events: ["*"]
    secrets: [` + canaryWebhookSecret + `]
`, ":2: webhooks[0].url: \"http://h.example.com/in\": http is allowed only on a loopback address"},
		{"missing secret file", `webhooks:
  - url: https://h.example.com/in
    events: ["*"]
    secret_files: [nowhere.secret]
`, "webhooks[0].secret_files: "},
		{"unknown field", `webhooks:
  - url: https://h.example.com/in
    event: ["*"]
    secrets: [` + canaryWebhookSecret + `]
`, ":3: webhooks[0].event: unknown field (did you mean events?)"},
		{"duplicate URL", `webhooks:
  - url: https://h.example.com/in
    events: ["*"]
    secrets: [` + canaryWebhookSecret + `]
  - url: https://h.example.com/in
    events: [logout]
    secrets: [` + canaryWebhookSecret + `]
`, ":5: webhooks[1].url: the same URL as"},
		{"not a list", `webhooks: https://h.example.com/in
`, "webhooks: wrong type: want a list of endpoints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "sesame.yaml", tc.yaml)
			_, err := load(t, env{}, file)
			if err == nil {
				t.Fatalf("loaded; want a problem %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got\n%v\nwant a problem containing %q", err, tc.want)
			}
			for _, leak := range []string{canaryWebhookSecret, "canary-plain-secret-value"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the problem shows a secret: %v", err)
				}
			}
		})
	}
}

// TestWebhooksNotFromEnv: webhooks is a file-only key.
func TestWebhooksNotFromEnv(t *testing.T) {
	k := KeyNamed("webhooks")
	if k == nil || !k.FileOnly() {
		t.Fatal("webhooks: want a file-only key")
	}
}
