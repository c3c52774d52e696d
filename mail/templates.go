package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var embedded embed.FS

// The message kinds, each a template NAME.txt (its first line is the
// subject, the rest the text body) and optionally NAME.html (the HTML
// alternative; without one the text is shown as paragraphs in
// layout.html).
const (
	KindVerify    = "verify"     // confirm an address (sign-up, or asked again)
	KindChange    = "change"     // confirm a new address, sent to it
	KindChanged   = "changed"    // the address was changed, sent to the old one
	KindReset     = "reset"      // a password-reset link
	KindResetDone = "reset_done" // the password was reset
	KindNewDevice = "new_device" // a sign-in from a new device (SEC-48)
)

var kinds = []string{KindVerify, KindChange, KindChanged, KindReset, KindResetDone, KindNewDevice}

// Data is what a template may use. Link holds a token: it is never logged.
type Data struct {
	Site       string // the public URL
	Username   string
	Email      string // the address concerned (the new one for change and changed)
	Link       string // the verification, confirmation or reset link
	AccountURL string // the account page
	Time       string // when it happened, UTC
	Device     string // the user agent
	IP         string
}

// Templates renders messages. The zero value is not usable: use
// [LoadTemplates]. Safe for concurrent use.
type Templates struct {
	text   map[string]*texttemplate.Template
	html   map[string]*htmltemplate.Template
	layout *htmltemplate.Template
}

// LoadTemplates parses the embedded templates, each replaced by the file
// of the same name in dir when dir is not "" and holds one (key
// mail_templates): verify.txt, change.txt, changed.txt, reset.txt,
// reset_done.txt, new_device.txt, the matching .html files, and
// layout.html. A template that does not parse is an error.
func LoadTemplates(dir string) (*Templates, error) {
	read := func(name string) ([]byte, bool, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return b, true, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, false, fmt.Errorf("mail: template %s: %w", name, err)
			}
		}
		b, err := embedded.ReadFile("templates/" + name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	b, _, err := read("layout.html")
	if err != nil {
		return nil, err
	}
	if t.layout, err = htmltemplate.New("layout.html").Option("missingkey=error").Parse(string(b)); err != nil {
		return nil, fmt.Errorf("mail: template layout.html: %w", err)
	}
	for _, k := range kinds {
		b, ok, err := read(k + ".txt")
		if err != nil || !ok {
			return nil, fmt.Errorf("mail: template %s.txt: missing or unreadable: %v", k, err)
		}
		if t.text[k], err = texttemplate.New(k).Option("missingkey=error").Parse(string(b)); err != nil {
			return nil, fmt.Errorf("mail: template %s.txt: %w", k, err)
		}
		b, ok, err = read(k + ".html")
		if err != nil {
			return nil, err
		}
		if ok {
			if t.html[k], err = htmltemplate.New(k).Option("missingkey=error").Parse(string(b)); err != nil {
				return nil, fmt.Errorf("mail: template %s.html: %w", k, err)
			}
		}
	}
	return t, nil
}

// Render renders the message kind for the recipient to.
func (t *Templates) Render(kind, to string, d Data) (Rendered, error) {
	tt, ok := t.text[kind]
	if !ok {
		return Rendered{}, fmt.Errorf("mail: no template %q", kind)
	}
	var buf bytes.Buffer
	if err := tt.Execute(&buf, d); err != nil {
		return Rendered{}, fmt.Errorf("mail: template %s: %w", kind, err)
	}
	subject, body, _ := strings.Cut(buf.String(), "\n")
	r := Rendered{To: to, Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(body, "\n")}
	buf.Reset()
	var err error
	if ht, ok := t.html[kind]; ok {
		err = ht.Execute(&buf, d)
	} else {
		link, text := d.Link, "Open the link"
		if link == "" {
			link, text = d.AccountURL, "Your account"
		}
		var paras []string
		for _, p := range strings.Split(r.Text, "\n\n") {
			if p = strings.TrimSpace(p); p != "" && p != link {
				paras = append(paras, p)
			}
		}
		err = t.layout.Execute(&buf, map[string]any{"Subject": r.Subject, "Paragraphs": paras, "Link": link, "LinkText": text})
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("mail: template %s.html: %w", kind, err)
	}
	r.HTML = buf.String()
	return r, nil
}
