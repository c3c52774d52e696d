package proxytest

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
)

// browserTimeout bounds one test's browser: every action in it dies with
// this deadline, so a hang cannot outlive the test.
const browserTimeout = 60 * time.Second

// chromiumPath finds Chromium as the browser/ tests do: $SESAME_TEST_CHROMIUM,
// /usr/bin/chromium, then PATH; skip without one, fail under CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SESAME_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		missingChromium(t, fmt.Sprintf("SESAME_TEST_CHROMIUM=%s does not exist", p))
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	missingChromium(t, "no chromium at /usr/bin/chromium or in PATH")
	return ""
}

func missingChromium(t *testing.T, why string) {
	t.Helper()
	msg := why + ": install Debian's chromium (apt-get install chromium) or set SESAME_TEST_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing browser is a failure)")
	}
	t.Skip(msg)
}

// browser is one headless Chromium with a fresh profile, as in browser/.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	chromium := chromiumPath(t)
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
	return &browser{t: t, ctx: ctx}
}

// navigate opens url and returns the main response after any redirects.
func (b *browser) navigate(url string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	if err != nil || resp == nil {
		b.t.Fatalf("open %s: %v (response %v)", url, err, resp)
	}
	return resp
}

// fill types v into the empty field with the given id.
func (b *browser) fill(id, v string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), v)); err != nil {
		b.t.Fatalf("fill #%s: %v", id, err)
	}
}

// click clicks the element and returns the response of the page it leads to.
func (b *browser) click(sel string) *network.Response {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("wait for %s: %v", sel, err)
	}
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil || resp == nil {
		b.t.Fatalf("click %s: %v (response %v)", sel, err, resp)
	}
	return resp
}

func evalString(b *browser, expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// location is the page's URL.
func (b *browser) location() string { b.t.Helper(); return evalString(b, `location.href`) }

// text is the trimmed text of the first element matching sel, or "" when
// there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(evalString(b, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, sel)))
}
