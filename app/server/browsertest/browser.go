package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/static"
	"github.com/licensor/licensor/test/eventually"
)

// Timeout bounds each step (a navigation, a wait, a click): generous for
// a loaded machine, short enough that a broken page fails the test fast.
const Timeout = 20 * time.Second

// The viewport: a common laptop screen.
const (
	viewportWidth  = 1280
	viewportHeight = 800
)

// chromiumNames are the executables tried, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// chromiumPath finds Chromium. Without it the test is skipped, unless CI
// is set (any value): then it fails, so CI cannot skip browser tests
// silently.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "browsertest: Chromium is not installed (apt-get install -y chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so browser tests must run")
	}
	t.Skip(msg)
	return ""
}

// requireAssets skips (or fails under CI) when static/vendor was not built:
// without htmx and Pico CSS the pages neither behave nor look as shipped.
func requireAssets(t *testing.T) {
	t.Helper()
	for _, f := range []string{"vendor/htmx.min.js", "vendor/pico.min.css"} {
		if _, err := fs.Stat(static.FS, f); err != nil {
			msg := "browsertest: static/" + f + " is missing (make assets)"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// Browser is one tab of the package's headless Chromium, in a browser
// context of its own (its own cookies and storage, like a private window),
// working on one Env.
type Browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	// Downloads is the directory downloads are saved to.
	Downloads string

	width, height int64

	shotDir string
	shots   *atomic.Int32

	mu      sync.Mutex
	dialogs []string
}

// shared is the one Chromium a test binary starts: each Browser is a tab
// in a browser context of its own, so tests run side by side in one
// browser instead of starting one each.
var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	dir    string
	err    error
}

// sharedBrowser starts the package's Chromium on first use.
func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "browsertest-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = dir
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(exe),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			// The tests run side by side, each in a tab of this one browser,
			// and only one tab is in front: without these Chromium would
			// throttle the timers and rendering of the others (htmx's
			// settle delays, the pages' own setTimeouts), and their waits
			// would run into Timeout on a loaded machine.
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-default-apps", true),
			chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("mute-audio", true),
			chromedp.Flag("password-store", "basic"),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(viewportWidth, viewportHeight),
		)
		ctx, cancel := chromedp.NewContext(allocCtx)
		// The first run starts the browser; it must not carry a timeout,
		// or the browser would end with it.
		if err := chromedp.Do(ctx); err != nil {
			shared.err = fmt.Errorf("start %s: %w", exe, err)
		}
		shared.ctx = ctx
		shared.cancel = func() {
			cancel()
			cancelAlloc()
		}
	})
	if shared.err != nil {
		t.Fatalf("browsertest: %v", shared.err)
	}
	return shared.ctx
}

// Shutdown stops the package's Chromium; a TestMain calls it after the
// tests ran.
func Shutdown() {
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
}

// Browser opens a tab for t on e, at the laptop size (1280×800), in a
// fresh browser context. A native confirm() or alert() fails the test
// (the console's dialogs are its own); it is accepted and recorded
// (Dialogs) so the test can go on and say more.
func (e *Env) Browser(t *testing.T) *Browser {
	t.Helper()
	return e.BrowserAt(t, viewportWidth, viewportHeight)
}

// Phone is the size of a phone: 390×844 CSS pixels.
const (
	PhoneWidth  = 390
	PhoneHeight = 844
)

// BrowserAt opens a tab as Browser does, with a viewport of width×height.
func (e *Env) BrowserAt(t *testing.T, width, height int64) *Browser {
	t.Helper()
	parent := sharedBrowser(t)
	b := &Browser{t: t, base: e.URL, Downloads: t.TempDir(), width: width, height: height}
	b.shotDir, b.shots = screenshotDir(t)
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	b.ctx = ctx
	b.run("set the viewport", chromedp.EmulateViewport(width, height))

	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	t.Cleanup(func() {
		if d := b.Dialogs(); len(d) > 0 {
			t.Errorf("browsertest: the page opened native dialogs (confirm/alert), which the console never should: %q", d)
		}
	})

	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.Downloads, EventsEnabled: &yes,
		BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
	}); err != nil {
		t.Fatalf("browsertest: download behaviour: %v", err)
	}
	return b
}

// run runs steps with the step timeout; a failure ends the test with a
// screenshot and the page's URL and text.
func (b *Browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// fail ends the test, saving what the page looked like.
func (b *Browser) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if png, err := b.capture(); err == nil && b.shotDir != "" {
		name := filepath.Join(b.shotDir, "FAILED.png")
		if os.WriteFile(name, png, 0o644) == nil {
			msg += "\nscreenshot: " + name
		}
	}
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	b.t.Fatalf("browsertest: %s\nat %s\npage text:\n%s", msg, loc, text)
}

// Open loads path (relative to the node's URL, or absolute) and waits for
// the page to load.
func (b *Browser) Open(path string) {
	b.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = b.base + path
	}
	b.run("open "+path, chromedp.Navigate(u))
}

// poll evaluates the JavaScript expression until it is true, for up to
// Timeout. Errors while a page is being replaced count as "not yet".
func (b *Browser) poll(what, expr string) {
	b.t.Helper()
	if err := b.pollErr(expr, Timeout); err != nil {
		b.fail("%s: %v", what, err)
	}
}

func (b *Browser) pollErr(expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){ try { return !!(`+expr+`); } catch (e) { return false; } })()`))
		cancel()
		if err == nil && ok {
			return nil
		}
		if b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("condition still false")
			}
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		// A sleep, not a signal: chromedp.Poll (the page polling itself)
		// builds the condition with new Function, which the pages'
		// Content-Security-Policy (no 'unsafe-eval') refuses; and an
		// awaited in-page poll of our own kept failing after a navigation
		// ("Inspected target navigated or closed") in TestListsFit's two
		// tabs. So each check is one short evaluation, a moment apart.
		time.Sleep(pollInterval)
	}
}

// pollInterval is the pause between two checks of poll's condition.
const pollInterval = 50 * time.Millisecond

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// WaitJS waits until the JavaScript expression is true; what names the
// condition in the failure.
func (b *Browser) WaitJS(what, expr string) {
	b.t.Helper()
	b.poll(what, expr)
}

// WaitText waits until the page's visible text contains text.
func (b *Browser) WaitText(text string) {
	b.t.Helper()
	b.poll("wait for text "+js(text), `document.readyState !== "loading" && document.body && document.body.innerText.includes(`+js(text)+`)`)
}

// WaitNoText waits until the page's visible text no longer contains text.
func (b *Browser) WaitNoText(text string) {
	b.t.Helper()
	b.poll("wait for text "+js(text)+" to go", `document.readyState !== "loading" && document.body && !document.body.innerText.includes(`+js(text)+`)`)
}

// WaitPath waits until the location's path (and query) matches re.
func (b *Browser) WaitPath(re string) {
	b.t.Helper()
	regexp.MustCompile(re)
	b.poll("wait for the location to match "+re, `document.readyState !== "loading" && new RegExp(`+js(re)+`).test(location.pathname + location.search)`)
}

// WaitVisible waits until an element matching the CSS selector is visible.
func (b *Browser) WaitVisible(css string) {
	b.t.Helper()
	b.run("wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

// Count returns how many elements match the CSS selector now.
func (b *Browser) Count(css string) int {
	b.t.Helper()
	return Eval[int](b, `document.querySelectorAll(`+js(css)+`).length`)
}

// Text returns the visible text of the first element matching the CSS
// selector (waiting for it), trimmed; for SVG text, its text content.
func (b *Browser) Text(css string) string {
	b.t.Helper()
	b.WaitVisible(css)
	return Eval[string](b, `(function(){ const el = document.querySelector(`+js(css)+`); return (el.innerText ?? el.textContent).trim(); })()`)
}

// Location returns the page's URL.
func (b *Browser) Location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.fail("location: %v", err)
	}
	return u
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// Fill types value into the field matching the CSS selector, replacing
// what it held; keyboard events fire as when a person types. Date fields,
// selects and checkboxes are set directly (with input and change events).
func (b *Browser) Fill(css, value string) {
	b.t.Helper()
	b.WaitVisible(css)
	kind := Eval[string](b, `(function(){ const el = document.querySelector(`+js(css)+`); return el.tagName === "SELECT" ? "select" : (el.type || ""); })()`)
	switch kind {
	case "select", "date", "datetime-local", "time", "month", "week", "color", "range", "hidden":
		b.setValue(css, value)
	case "checkbox", "radio":
		b.SetChecked(css, value != "" && value != "0" && value != "false")
	default:
		b.run("fill "+css,
			chromedp.Evaluate[chromedp.Void](`(function(){ const el = document.querySelector(`+js(css)+`); el.focus(); el.select && el.select(); el.value = ""; })()`),
			chromedp.SendKeys(chromedp.CSS(css), value),
		)
	}
}

func (b *Browser) setValue(css, value string) {
	b.t.Helper()
	b.run("set "+css, chromedp.Evaluate[chromedp.Void](`(function(){
		const el = document.querySelector(`+js(css)+`);
		el.value = `+js(value)+`;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`))
	if got := Eval[string](b, `document.querySelector(`+js(css)+`).value`); got != value {
		b.fail("set %s to %q: it holds %q (no such option?)", css, value, got)
	}
}

// SetChecked clicks the checkbox matching the CSS selector when its state
// differs from checked.
func (b *Browser) SetChecked(css string, checked bool) {
	b.t.Helper()
	b.WaitVisible(css)
	if Eval[bool](b, `document.querySelector(`+js(css)+`).checked`) != checked {
		b.run("click "+css, chromedp.Click(chromedp.CSS(css)))
	}
}

// FillForm fills the fields of the form matching formCSS by name: pairs
// are name, value, name, value...
func (b *Browser) FillForm(formCSS string, pairs ...string) {
	b.t.Helper()
	if len(pairs)%2 != 0 {
		b.t.Fatal("browsertest: FillForm needs name, value pairs")
	}
	for i := 0; i < len(pairs); i += 2 {
		b.Fill(fmt.Sprintf(`%s [name=%s]`, formCSS, js(pairs[i])), pairs[i+1])
	}
}

// buttonExpr finds the visible button, submit input or role=button link
// whose text is text.
func buttonExpr(text string) string {
	return `[...document.querySelectorAll('button, input[type=submit], a[role=button]')].find(el =>
		((el.value && el.tagName === "INPUT") ? el.value : el.textContent).trim() === ` + js(text) + ` &&
		el.offsetParent !== null && !el.disabled) || null`
}

// ClickButton clicks the visible button (or submit input, or link styled
// as a button) whose text is text, waiting for it to appear.
func (b *Browser) ClickButton(text string) {
	b.t.Helper()
	b.run("click button "+js(text), chromedp.Click(chromedp.JSPath(buttonExpr(text))))
}

// ClickLabel clicks the visible button or link whose accessible label
// (aria-label) is label: an icon button, such as a row action.
func (b *Browser) ClickLabel(label string) {
	b.t.Helper()
	expr := `[...document.querySelectorAll('button[aria-label], a[aria-label]')].find(el => el.getAttribute("aria-label") === ` + js(label) +
		` && el.offsetParent !== null && !el.disabled) || null`
	b.run("click "+js(label), chromedp.Click(chromedp.JSPath(expr)))
}

// ClickLink clicks the first visible link whose text is text.
func (b *Browser) ClickLink(text string) {
	b.t.Helper()
	expr := `[...document.querySelectorAll('a')].find(el => el.textContent.trim() === ` + js(text) + ` && el.offsetParent !== null) || null`
	b.run("click link "+js(text), chromedp.Click(chromedp.JSPath(expr)))
}

// Click clicks the first element matching the CSS selector.
func (b *Browser) Click(css string) {
	b.t.Helper()
	b.run("click "+css, chromedp.Click(chromedp.CSS(css)))
}

// Press sends key to the focused element as a person presses it, with
// Ctrl held when ctrl is true (a shortcut such as Ctrl+K); key is a
// character or one of chromedp/kb's named keys (kb.ArrowDown, kb.Enter).
func (b *Browser) Press(key string, ctrl bool) {
	b.t.Helper()
	var opts []chromedp.KeyOption
	if ctrl {
		opts = append(opts, chromedp.KeyModifiers(kb.ModifierCtrl))
	}
	b.run("press "+js(key), chromedp.KeyEvent(key, opts...))
}

// Upload sets the files of the file input matching the CSS selector.
func (b *Browser) Upload(css string, files ...string) {
	b.t.Helper()
	b.run("upload to "+css, chromedp.SetUploadFiles(chromedp.CSS(css), files, chromedp.NodeReady))
}

// Dialogs returns the messages of the dialogs (confirm, alert) accepted so
// far, oldest first.
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// ConfirmDialog waits for the console's own modal dialog (never the
// browser's) whose text contains text, and confirms it: its confirm
// button, or its form's submit button.
func (b *Browser) ConfirmDialog(text string) {
	b.t.Helper()
	b.WaitDialogOpen(text)
	b.run("confirm the dialog "+js(text), chromedp.Click(chromedp.JSPath(`(function(){
		const d = document.querySelector("dialog[open]");
		return d && (d.querySelector("[data-dialog-confirm]") || d.querySelector("button[type=submit]:not([disabled])"));
	})()`)))
}

// WaitDialogOpen waits until the console's modal dialog shows text.
func (b *Browser) WaitDialogOpen(text string) {
	b.t.Helper()
	b.poll("wait for a dialog with "+js(text), `(function(){
		const d = document.querySelector("dialog[open]");
		return d && d.innerText.includes(`+js(text)+`) && d.matches(":modal");
	})()`)
}

// WaitDownload waits until a file whose name matches re is completely
// downloaded and returns its path.
func (b *Browser) WaitDownload(re string) string {
	b.t.Helper()
	pattern := regexp.MustCompile(re)
	var found string
	done := func() bool {
		entries, _ := os.ReadDir(b.Downloads)
		for _, e := range entries {
			if pattern.MatchString(e.Name()) && !strings.HasSuffix(e.Name(), ".crdownload") {
				found = filepath.Join(b.Downloads, e.Name())
				return true
			}
		}
		return false
	}
	// Polled: Chromium's download events go to the whole browser, every
	// test's tab at once, and say nothing of the file's final name.
	if !eventually.Within(Timeout, done) {
		entries, _ := os.ReadDir(b.Downloads)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		b.fail("no download matching %s after %s; downloads: %v", re, Timeout, names)
	}
	return found
}

// Screenshot saves a PNG of the whole page as
// test-output/screenshots/<test>/NN-name.png, once htmx has settled.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	_ = b.pollErr(`document.readyState === "complete" && !document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping")`, 5*time.Second)
	png, err := b.capture()
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	return b.save(name, png)
}

// ScreenshotOf saves a PNG of the first element matching the CSS selector
// at its real size (for a closer look than the whole page gives), named
// like Screenshot's.
func (b *Browser) ScreenshotOf(css, name string) string {
	b.t.Helper()
	b.WaitVisible(css)
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(css)))
	if err != nil {
		b.fail("screenshot of %s: %v", css, err)
	}
	return b.save(name, png)
}

func (b *Browser) save(name string, png []byte) string {
	b.t.Helper()
	file := filepath.Join(b.shotDir, fmt.Sprintf("%02d-%s.png", b.shots.Add(1), name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatalf("browsertest: save screenshot: %v", err)
	}
	return file
}

// capture takes a PNG of the whole page by making the viewport as tall as
// the page for a moment (a capture beyond the viewport would leave
// 100vh-tall parts, such as the sidebar, at the window's height).
func (b *Browser) capture() ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	h, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)`))
	if err != nil {
		return nil, err
	}
	h = min(max(h, b.height), 8000)
	defer func() { _ = chromedp.Do(ctx, chromedp.EmulateViewport(b.width, b.height)) }()
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(b.width, h),
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`),
		// Two frames: the resize is laid out and painted.
		chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise),
	); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// SignInAdmin signs in to the console as servertest's admin and waits for
// the dashboard.
func (b *Browser) SignInAdmin() {
	b.t.Helper()
	b.Open("/admin/login")
	b.FillForm("form.login-form", "email", servertest.AdminEmail, "password", servertest.AdminPassword)
	b.ClickButton("Sign in")
	b.WaitPath(`^/admin/?$`)
	b.WaitText("Sign out")
}

// SignInCustomer signs in to the portal with login (email or client ID)
// and password and waits for the customer dashboard.
func (b *Browser) SignInCustomer(login, password string) {
	b.t.Helper()
	b.Open("/customer/login")
	b.FillForm("form.login-form", "email", login, "password", password)
	b.ClickButton("Sign in")
	b.WaitPath(`^/customer/dashboard`)
}

// screenshotDirs are the screenshot directories emptied in this run, with
// their counters: a test's tabs share one directory and one numbering.
var screenshotDirs sync.Map // dir → *atomic.Int32

// screenshotDir is test-output/screenshots/<test> at the repository root,
// emptied the first time a test asks for it in this run.
func screenshotDir(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	dir := filepath.Join(root, "test-output", "screenshots", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	n, loaded := screenshotDirs.LoadOrStore(dir, new(atomic.Int32))
	if !loaded {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatalf("browsertest: clear %s: %v", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return dir, n.(*atomic.Int32)
}

// repoRoot is the nearest directory above the working directory (the
// test's package) holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.Trim(v, "<>"), s) {
			return true
		}
	}
	return false
}
