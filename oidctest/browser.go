package oidctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/testlog"
	"github.com/sesame-auth/sesame/oauth"
)

// MissingProgram skips the test with msg, or fails it under CI=true,
// where a missing program is a failure (STYLE 15).
func MissingProgram(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing program is a failure)")
	}
	t.Skip(msg)
}

// ChromiumPath finds Chromium as the browser/ tests do:
// $SESAME_TEST_CHROMIUM, /usr/bin/chromium, then PATH; see
// [MissingProgram].
func ChromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SESAME_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		MissingProgram(t, fmt.Sprintf("SESAME_TEST_CHROMIUM=%s does not exist", p))
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	MissingProgram(t, "no chromium at /usr/bin/chromium or in PATH: apt-get install chromium, or set SESAME_TEST_CHROMIUM")
	return ""
}

// browserTimeout bounds one test's browser: every action in it dies with
// this deadline, so a hang cannot outlive the test.
const browserTimeout = 120 * time.Second

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// StartBrowser starts Chromium for the test (see [ChromiumPath]); it
// stops when the test ends, and its output is logged when the test
// failed.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	chromium := ChromiumPath(t)
	out := &testlog.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.CombinedOutput(out),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	deadline, cancelDeadline := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelDeadline()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v\n%s", chromium, err, out.String())
	}
	return &Browser{t: t, ctx: ctx}
}

// Navigate opens url and returns the main response after any redirects.
func (b *Browser) Navigate(url string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	if err != nil || resp == nil {
		b.t.Fatalf("open %s: %v (response %v)", url, err, resp)
	}
	return resp
}

// Fill types v into the empty field with the given id.
func (b *Browser) Fill(id, v string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), v)); err != nil {
		b.t.Fatalf("fill #%s: %v", id, err)
	}
}

// ClickTo clicks the element and waits until the loaded page's URL starts
// with one of the prefixes (at most 30 s), and returns that URL.
// Redirects that leave for another origin make the first navigation look
// aborted to the DevTools protocol, so the page is waited for by its URL.
func (b *Browser) ClickTo(sel string, prefixes ...string) string {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("wait for %s: %v", sel, err)
	}
	b.Eval(`window.oidctestOld = true, ""`) // the page we leave: not the one to wait for
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState == "complete" && !window.oidctestOld ? location.href : ""`))
		for _, p := range prefixes {
			if err == nil && loc != "" && strings.HasPrefix(loc, p) {
				return loc
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("after clicking %s: %s, want a page at one of %q; page text: %.500s", sel,
				b.Eval(`(window.oidctestOld ? "still on the page clicked, " : "") + location.href`), prefixes, b.Eval(`document.body.innerText`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Eval evaluates a JavaScript expression whose value is a string.
func (b *Browser) Eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Location is the page's origin and path.
func (b *Browser) Location() string {
	b.t.Helper()
	return b.Eval(`location.origin + location.pathname`)
}

// Text is the trimmed text of the first element matching sel, or "".
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(b.Eval(fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, sel)))
}

// MarkButton gives the submit button of the page's form whose action
// contains action, and whose value matches the regular expression re (""
// for the first), the id oidctest-button, for [Browser.ClickTo]; false
// when there is none.
func (b *Browser) MarkButton(action, re string) bool {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const f = Array.from(document.forms).find(f => (f.getAttribute("action") || "").includes(%q));
		if (!f) return "no";
		const b = Array.from(f.querySelectorAll("button, input[type=submit]")).find(b => %q === "" || new RegExp(%q, "i").test(b.value));
		if (!b) return "no";
		b.id = "oidctest-button";
		return "yes";
	})()`, action, re, re)
	return b.Eval(js) == "yes"
}

// Consent answers Sesame's consent page (allow or deny) with a click and
// waits for a page whose URL starts with prefix.
func (b *Browser) Consent(allow bool, prefix string) {
	b.t.Helper()
	re := allowRE.String()
	if !allow {
		re = denyRE.String()
	}
	if !b.MarkButton(oauth.PathConsent, strings.TrimPrefix(re, "(?i)")) {
		b.t.Fatalf("no %v button on the consent page: %.1000s", allow, b.Eval(`document.body.innerHTML`))
	}
	b.ClickTo("#oidctest-button", prefix)
}

// Login fills Sesame's login form and submits it, waiting for a page whose
// URL starts with prefix.
func (b *Browser) Login(user, pw, prefix string) {
	b.t.Helper()
	b.Fill("username", user)
	b.Fill("password", pw)
	b.ClickTo("#login-submit", prefix)
}
