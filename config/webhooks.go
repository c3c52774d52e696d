package config

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sesame-auth/sesame/webhook"
)

// Webhook is one webhook endpoint of the configuration file (key
// webhooks, from the file only): where lifecycle events are POSTed, signed
// per the Standard Webhooks specification (see package webhook and
// docs/webhooks.md).
type Webhook struct {
	// URL receives the webhooks: https, or http on a loopback address.
	URL string
	// Events are the event types it wants: exact types (user.signup,
	// login.success, ...) or "*" for all. Unknown types are refused.
	Events []string
	// Secrets are its signing secrets, "whsec_" and base64 (written
	// inline, usually as ${ENV_VAR}); SecretFiles name files whose first
	// line is one. One secret, or two during a rotation (each request is
	// then signed with both).
	Secrets     []Secret
	SecretFiles []string
}

// webhookFields are the fields of a webhook in the file.
var webhookFields = []string{"url", "events", "secrets", "secret_files"}

// ReadKeys returns the endpoint's signing keys: its secrets, then its
// secret files' (each file's first line). The errors name the file, never
// a secret.
func (w *Webhook) ReadKeys() ([][]byte, error) {
	var keys [][]byte
	for i, s := range w.Secrets {
		k, err := webhook.ParseSecret(s.Reveal())
		if err != nil {
			return nil, fmt.Errorf("secrets[%d]: %v", i, err)
		}
		keys = append(keys, k)
	}
	for _, f := range w.SecretFiles {
		s, err := readFirstLine(f)
		if err != nil {
			return nil, fmt.Errorf("secret_files: %s: %v", f, err)
		}
		k, err := webhook.ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret_files: %s: %v", f, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func readFirstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errors.New("the file does not exist")
		}
		return "", fmt.Errorf("cannot read it: %v", errors.Unwrap(err))
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return "", errors.New("the file is empty")
	}
	return strings.TrimSpace(sc.Text()), nil
}

// String is the endpoint in one line for `sesame config check`: its URL
// without query or user-info (either may hold a credential), its events,
// and where its secrets come from, never a secret.
func (w *Webhook) String() string {
	u := w.URL
	if p, err := url.Parse(w.URL); err == nil {
		p.RawQuery, p.User, p.Fragment, p.ForceQuery = "", nil, "", false
		u = p.String()
		if strings.Contains(w.URL, "?") {
			u += "?(redacted)"
		}
	}
	var src []string
	if n := len(w.Secrets); n > 0 {
		src = append(src, fmt.Sprintf("%d inline secret(s), redacted", n))
	}
	for _, f := range w.SecretFiles {
		src = append(src, "secret_file "+f)
	}
	return fmt.Sprintf("%s events=%s %s", u, strings.Join(w.Events, ","), strings.Join(src, ", "))
}

func (w Webhook) clone() Webhook {
	w.Events = slices.Clone(w.Events)
	w.Secrets = slices.Clone(w.Secrets)
	w.SecretFiles = slices.Clone(w.SecretFiles)
	return w
}

// webhooksFromYAML reads the value of webhooks: a YAML list of maps, or
// null for none. Unknown event types are problems at their own line.
func webhooksFromYAML(path, dir string, n *yaml.Node, lookup func(string) (string, bool), ps *Problems) ([]Webhook, []ruleLines) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.addf(fmt.Sprintf("%s:%d: webhooks", path, n.Line), false,
			"wrong type: want a list of endpoints, each a mapping such as {url: https://hooks.example.com/sesame, events: [\"*\"], secret_files: [hook.secret]}")
		return nil, nil
	}
	hooks := make([]Webhook, 0, len(n.Content))
	lines := make([]ruleLines, 0, len(n.Content))
	for i, item := range n.Content {
		var w Webhook
		wl := ruleLines{file: path, line: item.Line, fields: map[string]int{}, bad: map[string]bool{}}
		if item.Kind != yaml.MappingNode {
			wl.bad[""] = true
			ps.addf(fmt.Sprintf("%s:%d: webhooks[%d]", path, item.Line, i), false,
				"wrong type: want a mapping of %s", strings.Join(webhookFields, ", "))
			hooks, lines = append(hooks, w), append(lines, wl)
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			kn, vn := item.Content[j], item.Content[j+1]
			field := kn.Value
			at := fmt.Sprintf("%s:%d: webhooks[%d].%s", path, kn.Line, i, field)
			if kn.Kind != yaml.ScalarNode {
				ps.addf(fmt.Sprintf("%s:%d: webhooks[%d]", path, kn.Line, i), false, "a field must be a plain name")
				continue
			}
			if line, dup := wl.fields[field]; dup {
				ps.addf(at, false, "duplicate field (first set on line %d)", line)
				continue
			}
			if !slices.Contains(webhookFields, field) {
				ps.addf(at, false, "unknown field%s", suggestFrom(field, webhookFields))
				continue
			}
			wl.fields[field] = kn.Line
			var err error
			switch field {
			case "url":
				w.URL, err = ruleString(vn, lookup)
			case "events":
				w.Events, err = ruleList(vn, lookup)
				if err == nil {
					for k, ev := range w.Events {
						if ev == "*" || webhook.KnownEventType(ev) {
							continue
						}
						line := kn.Line
						if vn.Kind == yaml.SequenceNode && k < len(vn.Content) {
							line = vn.Content[k].Line
						}
						ps.addf(fmt.Sprintf("%s:%d: webhooks[%d].events", path, line, i), false,
							"unknown event type %q%s (see docs/webhooks.md for the list; \"*\" is every one)", truncateText(ev, 60), suggestEvent(ev))
						wl.bad[field] = true
					}
				}
			case "secrets":
				var l []string
				l, err = ruleList(vn, lookup)
				for _, s := range l {
					w.Secrets = append(w.Secrets, Secret(s))
				}
			case "secret_files":
				w.SecretFiles, err = ruleList(vn, lookup)
				for k, f := range w.SecretFiles {
					if f != "" && !filepath.IsAbs(f) {
						w.SecretFiles[k] = filepath.Join(dir, f)
					}
				}
			}
			if err != nil {
				ps.addf(at, false, "%v", err)
				wl.bad[field] = true
			}
		}
		hooks, lines = append(hooks, w), append(lines, wl)
	}
	return hooks, lines
}

func suggestEvent(ev string) string {
	names := make([]string, len(webhook.EventTypes))
	for i, t := range webhook.EventTypes {
		names[i] = string(t)
	}
	return suggestFrom(ev, names)
}

// webhookAt names webhooks[i].field with its file and line when read
// from a file.
func (c *Config) webhookAt(i int, field string) string {
	name := fmt.Sprintf("webhooks[%d]", i)
	if field != "" {
		name += "." + field
	}
	if i >= len(c.webhookLines) || c.webhookLines[i].file == "" {
		return name
	}
	wl := c.webhookLines[i]
	line := wl.line
	if l, ok := wl.fields[field]; ok {
		line = l
	}
	return fmt.Sprintf("%s:%d: %s", wl.file, line, name)
}

// checkWebhooks checks the endpoints; a server (RoleServe) also reads
// their secret files. The inline secrets are checked everywhere.
func (c *Config) checkWebhooks(role Role, ps *Problems) {
	urls := map[string]int{}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		bad := func(field string) bool {
			return i < len(c.webhookLines) && (c.webhookLines[i].bad[""] || c.webhookLines[i].bad[field])
		}
		if bad("") {
			continue
		}
		if !bad("url") {
			if w.URL == "" {
				ps.add(Problem{Where: c.webhookAt(i, "url"), Msg: "missing: the URL webhooks are POSTed to"})
			} else if err := checkWebURI(w.URL, "webhook URL"); err != nil {
				ps.add(Problem{Where: c.webhookAt(i, "url"), Msg: err.Error()})
			} else if j, dup := urls[w.URL]; dup {
				ps.add(Problem{Where: c.webhookAt(i, "url"), Msg: "the same URL as " + c.webhookAt(j, "") + ": give one endpoint every event type it wants"})
			} else {
				urls[w.URL] = i
			}
		}
		if !bad("events") && len(w.Events) == 0 {
			ps.add(Problem{Where: c.webhookAt(i, "events"), Msg: "missing: the event types to send (exact types, or \"*\" for all)"})
		}
		if bad("secrets") || bad("secret_files") {
			continue
		}
		switch n := len(w.Secrets) + len(w.SecretFiles); {
		case n == 0:
			ps.add(Problem{Where: c.webhookAt(i, ""), Msg: "no secret: give secrets (whsec_..., usually ${ENV_VAR}) or secret_files (generate one with sesame webhooks secret)"})
			continue
		case n > 2:
			ps.add(Problem{Where: c.webhookAt(i, ""), Msg: fmt.Sprintf("%d secrets: give one, or two during a rotation", n)})
			continue
		}
		for k, s := range w.Secrets {
			if _, err := webhook.ParseSecret(s.Reveal()); err != nil {
				ps.add(Problem{Where: c.webhookAt(i, "secrets"), Msg: fmt.Sprintf("secrets[%d]: %v", k, err)})
			}
		}
		if role != RoleServe {
			continue // an admin's machine need not hold the nodes' secret files
		}
		for _, f := range w.SecretFiles {
			s, err := readFirstLine(f)
			if err == nil {
				_, err = webhook.ParseSecret(s)
			}
			if err != nil {
				ps.add(Problem{Where: c.webhookAt(i, "secret_files"), Msg: fmt.Sprintf("%s: %v", f, err)})
			}
		}
	}
}

// webhooksText is the compact form of webhooks for Settings: how many.
func webhooksText(hooks []Webhook) string {
	switch len(hooks) {
	case 0:
		return ""
	case 1:
		return "1 endpoint"
	}
	return fmt.Sprintf("%d endpoints", len(hooks))
}

// webhookSettings are the rows of Settings for the endpoints, one per
// endpoint: key "webhooks[i]", value [Webhook.String] (no secret), source
// its line.
func (c *Config) webhookSettings() []Setting {
	out := make([]Setting, 0, len(c.Webhooks))
	for i := range c.Webhooks {
		src := c.Source("webhooks")
		if i < len(c.webhookLines) && c.webhookLines[i].file != "" {
			src = Source{Kind: FromFile, Where: fmt.Sprintf("%s:%d", c.webhookLines[i].file, c.webhookLines[i].line)}
		}
		out = append(out, Setting{Key: fmt.Sprintf("webhooks[%d]", i), Value: c.Redact(c.Webhooks[i].String()), Source: src})
	}
	return out
}

// webhooksExample is the commented example config init writes for
// webhooks, before the settable "# webhooks: []" line.
const webhooksExample = `## For example:
##   webhooks:
##     - url: https://hooks.example.com/sesame
##       events: [user.signup, login.failure, session.revoked, refresh.reuse]
##       secret_files: [hooks.secret]   # first line: whsec_... (sesame webhooks secret > hooks.secret)
##     - url: https://audit.example.com/in
##       events: ["*"]
##       secrets: [${AUDIT_WEBHOOK_SECRET}, ${AUDIT_WEBHOOK_SECRET_OLD}]   # two during a rotation
# webhooks: []
`
