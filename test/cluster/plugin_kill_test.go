package cluster

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/test/eventually"
)

var (
	pidDD      = regexp.MustCompile(`<dt>Process</dt><dd>(\d+)</dd>`)
	restartsDD = regexp.MustCompile(`<dt>Restarts</dt><dd>(\d+)</dd>`)
)

// TestPluginKilledUnderLoad kills the portal's CAPTCHA plugin
// (captcha-recaptcha, verifying at a local stand-in for Google's
// siteverify) on one node while two nodes behind nginx serve activations,
// verifies, portal sign-ins through the CAPTCHA and console pages: the
// sign-in whose check was inside the plugin gets the form back with "not
// available" (422, no 5xx), nothing else fails, the node lives on, the
// console's plugin page shows the crash and the restart, and the next
// check works on a new process.
func TestPluginKilledUnderLoad(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts licensor processes")
	}
	nginx := lookNginx(t)
	plugins := t.TempDir()
	hosttest.Install(t, plugins, "captcha-recaptcha")

	// siteverify passes "good"; "hang" waits until released, so a check is
	// inside the plugin when it is killed.
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var releaseOnce sync.Once
	verify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("response") == "hang" {
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		ok := r.PostForm.Get("secret") == "s3cret" && r.PostForm.Get("response") == "good"
		_ = json.NewEncoder(w).Encode(map[string]any{"success": ok})
	}))
	t.Cleanup(verify.Close)
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	c := startCluster(t, options{nodes: 2, nginx: nginx, env: []string{"LICENSOR_PLUGINS_DIR=" + plugins}})
	admin := c.browser(t, c.nodes[0])
	admin.signIn(t)
	submit := func(path string, form url.Values) {
		t.Helper()
		if res, body := admin.post(t, path, form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d\n%s", path, res.StatusCode, body)
		}
	}
	_, page := admin.get(t, "/admin/plugins/captcha-recaptcha")
	csrf := webtest.CSRFFromHTML(page)
	submit("/admin/plugins/captcha-recaptcha/enable", url.Values{"_csrf": {csrf}})
	submit("/admin/plugins/captcha-recaptcha/settings", url.Values{
		"_csrf": {csrf}, "site_key": {"site-1"}, "secret_key": {"s3cret"}, "version": {"v2"}, "score_threshold": {"0.5"},
		"verify_url": {verify.URL}, "script_url": {"https://www.google.com/recaptcha/api.js"},
		"widget_class": {"g-recaptcha"}, "response_field": {"g-recaptcha-response"},
	})
	submit("/admin/plugins/captcha-recaptcha/use-captcha", url.Values{"_csrf": {csrf}})
	// Sign-ins refused while the plugin is down count as failures: keep
	// the load's account clear of the lockout.
	portalForm := admin.form(t, "/admin/settings/portal")
	portalForm.Set("login_max_attempts", "1000")
	submit("/admin/settings/portal", portalForm)
	c.api(t, c.internalKey, "/api/internal/customers", map[string]any{"name": "Pat Portal", "email": "pat@example.com", "password": "long enough password"}, nil)

	// signIn signs in to the portal at base with token as the CAPTCHA's
	// answer.
	signIn := func(base, token string) (int, string, error) {
		b := c.browser(t, base)
		res, err := b.hc.Get(base + "/customer/login")
		if err != nil {
			return 0, "", err
		}
		page := readAll(res)
		if res.StatusCode != http.StatusOK {
			return res.StatusCode, page, nil
		}
		res, err = b.hc.PostForm(base+"/customer/login", url.Values{
			"_csrf": {webtest.CSRFFromHTML(page)}, "email": {"pat@example.com"}, "password": {"long enough password"},
			"g-recaptcha-response": {token},
		})
		if err != nil {
			return 0, "", err
		}
		return res.StatusCode, readAll(res), nil
	}
	// Each node learns of the plugin's settings and the portal's provider
	// by NOTIFY, under a loaded machine not always within a second: wait
	// until a sign-in through the plugin works on both.
	for i, node := range c.nodes {
		var (
			status int
			body   string
			err    error
		)
		if !eventually.Within(30*time.Second, func() bool {
			status, body, err = signIn(node, "good")
			return status == http.StatusSeeOther
		}) {
			t.Fatalf("portal sign-in through the plugin on node %d: %d %v\n%s", i+1, status, err, body)
		}
	}

	// The load: the API, portal sign-ins through the CAPTCHA, console pages.
	tr := c.startTraffic(t, "PLUGIN", 4, 20*time.Millisecond, func() string { return c.lb })
	var (
		stop             atomic.Bool
		wg               sync.WaitGroup
		portal, console  tally
		portalRefusals   atomic.Int64
		consoleAdmin     = c.browser(t, c.lb)
		signInsSucceeded atomic.Int64
	)
	consoleAdmin.signIn(t)
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				start := time.Now()
				status, body, err := signIn(c.lb, "good")
				portal.add(status, time.Since(start), err)
				switch {
				case status == http.StatusSeeOther:
					signInsSucceeded.Add(1)
				case status == http.StatusUnprocessableEntity && strings.Contains(body, "not available right now"):
					portalRefusals.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for !stop.Load() {
			for _, p := range []string{"/admin", "/admin/customers", "/admin/licenses", "/admin/plugins"} {
				start := time.Now()
				res, err := consoleAdmin.hc.Get(c.lb + p)
				if err == nil {
					readAll(res)
					console.add(res.StatusCode, time.Since(start), nil)
				} else {
					console.add(0, time.Since(start), err)
				}
			}
		}
	})
	awaitAnswers(t, &console, http.StatusOK, 8, "console pages before the kill")
	awaitAnswers(t, &portal, http.StatusSeeOther, 2, "portal sign-ins before the kill")

	// A sign-in on node 1 whose check hangs inside the plugin.
	pluginPage := func() (pid, restarts int, page string) {
		_, page = admin.get(t, "/admin/plugins/captcha-recaptcha")
		if m := pidDD.FindStringSubmatch(page); m != nil {
			pid, _ = strconv.Atoi(m[1])
		}
		if m := restartsDD.FindStringSubmatch(page); m != nil {
			restarts, _ = strconv.Atoi(m[1])
		}
		return pid, restarts, page
	}
	before, _, page := pluginPage()
	if before == 0 || !strings.Contains(page, `badge-valid">running`) {
		t.Fatalf("the plugin is not running on node 1:\n%s", page)
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan answer, 1)
	go func() {
		status, body, err := signIn(c.nodes[0], "hang")
		inflight <- answer{status, body, err}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the hanging check never reached siteverify")
	}
	if err := syscall.Kill(before, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", before, err)
	}
	killed := time.Now()
	select {
	case a := <-inflight:
		if a.err != nil || a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "not available right now") {
			t.Errorf("the sign-in in flight: %d %v, want 422 with the CAPTCHA not available\n%s", a.status, a.err, a.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sign-in in flight got no answer within 10 s of the kill")
	}
	releaseOnce.Do(func() { close(release) })

	// Node 1 restarts the plugin with its backoff; its page says so.
	var after, restarts int
	if !eventually.Within(20*time.Second, func() bool {
		after, restarts, page = pluginPage()
		return after != 0 && after != before && restarts >= 1
	}) {
		t.Fatalf("the plugin was not restarted within 20 s (process %d, %d restarts):\n%s", after, restarts, page)
	}
	t.Logf("plugin restarted on node 1 %s after the kill (process %d → %d)", time.Since(killed).Round(time.Millisecond), before, after)
	// The page names the crash as the plugin's last error: nothing that
	// happens after the restart (its settings, the calls on the new
	// process) may hide it.
	if !strings.Contains(page, `badge-valid">running`) {
		t.Errorf("plugin page after the restart does not show it running:\n%s", page)
	}
	if !strings.Contains(page, "died") && !strings.Contains(page, "exited") {
		t.Errorf("the plugin page's last error does not name the crash (restarts: %d):\n%s", restarts, page)
	}
	// The host sends the settings to a restarted process before any call
	// reaches it: the very next sign-in works.
	if status, body, err := signIn(c.nodes[0], "good"); status != http.StatusSeeOther {
		t.Fatalf("sign-in on node 1 after the restart: %d %v\n%s", status, err, body)
	}
	awaitAnswers(t, &console, http.StatusOK, 8, "console pages after the restart")
	awaitAnswers(t, &portal, http.StatusSeeOther, 2, "portal sign-ins after the restart")
	stop.Store(true)
	wg.Wait()
	tr.finish(t, c)

	ps, pt, _ := portal.snapshot()
	cs, ct, _ := console.snapshot()
	t.Logf("portal sign-ins: %v (%d refused as not available, %d without answer); console pages: %v (%d without answer)", ps, portalRefusals.Load(), pt, cs, ct)
	for code, n := range ps {
		if code >= 500 {
			t.Errorf("%d portal sign-ins answered %d", n, code)
		}
	}
	for code, n := range cs {
		if code != http.StatusOK {
			t.Errorf("%d console pages answered %d", n, code)
		}
	}
	if pt+ct > 0 || signInsSucceeded.Load() == 0 {
		t.Errorf("%d portal and %d console requests without answer; %d sign-ins succeeded", pt, ct, signInsSucceeded.Load())
	}
	for i, p := range c.procs {
		if err := p.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("node %d died: %v", i+1, err)
		}
	}
}
