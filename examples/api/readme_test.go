package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeScope is what each Go snippet of the README's "Using the library"
// section is the body of, in order, as the README says before it.
var readmeScope = []string{
	"func run0(ctx context.Context, addr string, csrfKey []byte) error",
	"func run1(ctx context.Context, addr string, db *sqlite.DB, sessions *session.Manager, accounts *account.Service, master *keyring.MasterKey) error",
}

const readmeImports = `package readmesnippet

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/account"
	"github.com/sesame-auth/sesame/csrf"
	"github.com/sesame-auth/sesame/guard"
	"github.com/sesame-auth/sesame/keyring"
	"github.com/sesame-auth/sesame/password"
	"github.com/sesame-auth/sesame/session"
	"github.com/sesame-auth/sesame/sqlite"
	"github.com/sesame-auth/sesame/token"
)

var (
	_ = json.Marshal
	_ = fmt.Sprint
	_ = template.New
	_ = sesame.ErrorCode
	_ = csrf.New
	_ = guard.NewLimiter
	_ = password.Hasher{}
	_ = token.New
)
`

// TestReadmeLibrarySnippetsCompile: the README's library snippets (cookie
// path with CSRF, and token path) compile against the library as it is,
// and check their errors, so that a developer who copies them gets a
// program that builds.
func TestReadmeLibrarySnippetsCompile(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the go tool is needed to compile the README's snippets")
		}
		t.Skip("no go tool on PATH: the README's snippets are not compiled")
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Using the library\n")
	if start < 0 {
		t.Fatal(`README: no "## Using the library" section`)
	}
	end := strings.Index(text[start:], "\nPackages:\n")
	if end < 0 {
		t.Fatal(`README: the "Using the library" section has no "Packages:" table after its snippets`)
	}
	var snippets []string
	for _, part := range strings.Split(text[start:start+end], "```go\n")[1:] {
		code, _, ok := strings.Cut(part, "\n```")
		if !ok {
			t.Fatal("README: an unterminated Go snippet")
		}
		snippets = append(snippets, code)
	}
	if len(snippets) != len(readmeScope) {
		t.Fatalf("README: %d Go snippets in the library section, the test knows %d", len(snippets), len(readmeScope))
	}
	ignored := regexp.MustCompile(`(?m)^\w+, _ :=|^_ = |^\w+\(.*\)\s*(//.*)?$`) // a setup step whose error is dropped
	for i, code := range snippets {
		if m := ignored.FindString(code); m != "" {
			t.Errorf("README snippet %d ignores an error: %q", i, m)
		}
	}
	if !strings.Contains(snippets[0], "csrf.New") || !strings.Contains(snippets[0], "protect.Handler(") {
		t.Error("README: the library snippet does not protect its routes against CSRF")
	}
	if !strings.Contains(snippets[1], "token.NewMiddleware") || !strings.Contains(snippets[1], "sesame.RequireAuth") {
		t.Error("README: the token snippet does not use the token middleware and RequireAuth")
	}

	src := readmeImports
	for i, code := range snippets {
		src += "\n" + readmeScope[i] + " {\n" + code + "\n}\n"
	}
	// The snippet package exists only in an overlay: nothing is written
	// into the repository.
	dir := t.TempDir()
	file := filepath.Join(dir, "snippets.go")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(here, "readmesnippet", "snippets.go"): file}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "build", "-overlay", ov, "./readmesnippet").CombinedOutput()
	if err != nil {
		t.Fatalf("the README's library snippets do not compile: %v\n%s\n--- as compiled:\n%s", err, out, numbered(src))
	}
}

func numbered(src string) string {
	var b strings.Builder
	for i, line := range strings.Split(src, "\n") {
		b.WriteString(strings.Repeat(" ", 4-len(itoa(i+1))) + itoa(i+1) + "  " + line + "\n")
	}
	return b.String()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
