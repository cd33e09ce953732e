package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/plugins/sdk"
)

// pluginEnv is a console whose plugin folder holds the shipped plugins.
func pluginEnv(t *testing.T) *servertest.Env {
	t.Helper()
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	hosttest.Install(t, dir, "import-xlsx")
	return servertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir })
}

// fakeSiteverify passes the token "good" when the secret is "s3cret".
func fakeSiteverify(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ok := r.PostForm.Get("secret") == "s3cret" && r.PostForm.Get("response") == "good"
		_ = json.NewEncoder(w).Encode(map[string]any{"success": ok})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPluginsPage(t *testing.T) {
	t.Parallel()
	e := pluginEnv(t)
	srv := fakeSiteverify(t)
	c := e.SignIn(t)
	ctx := context.Background()
	h := e.Nodes[0].Plugins.Host()

	r := c.Get("/admin/plugins")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `href="/admin/plugins" aria-current="page"`) {
		t.Fatalf("list: %d\n%s", r.StatusCode, r.Body)
	}
	for _, want := range []string{`id="plugin-captcha-recaptcha"`, `id="plugin-import-xlsx"`, "importformat", "1.0.0", `badge-expired">disabled`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("list lacks %q", want)
		}
	}

	// Enable: started on first use, not now.
	r = c.PostForm("/admin/plugins/captcha-recaptcha/enable", url.Values{"from": {"list"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/plugins" {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if p, _ := h.Get("captcha-recaptcha"); !p.Enabled || p.Pid != 0 {
		t.Fatalf("after enable: %+v", p)
	}

	// The settings form follows the manifest; the secret is a password field.
	r = c.Get("/admin/plugins/captcha-recaptcha")
	for _, want := range []string{`name="site_key"`, `type="password" name="secret_key"`, `name="score_threshold" value="0.5"`, "not set", "Use for the portal", `data-confirm="Disable plugin captcha-recaptcha?`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}

	form := url.Values{
		"site_key": {"site-1"}, "secret_key": {""}, "version": {"v2"}, "score_threshold": {"abc"},
		"verify_url": {srv.URL}, "script_url": {"https://www.google.com/recaptcha/api.js"},
		"widget_class": {"g-recaptcha"}, "response_field": {"g-recaptcha-response"},
	}
	r = c.PostForm("/admin/plugins/captcha-recaptcha/settings", form)
	if r.StatusCode != 422 || !strings.Contains(r.Body, "Enter a number.") || !strings.Contains(r.Body, "Enter secret key.") ||
		!strings.Contains(r.Body, `name="site_key" value="site-1"`) {
		t.Fatalf("bad values: %d\n%s", r.StatusCode, r.Body)
	}

	// Values the plugin itself refuses come back next to the field.
	form.Set("secret_key", "s3cret")
	form.Set("score_threshold", "7")
	r = c.PostForm("/admin/plugins/captcha-recaptcha/settings", form)
	if r.StatusCode != 422 || !strings.Contains(r.Body, "Enter a number from 0 to 1.") || strings.Contains(r.Body, "s3cret") {
		t.Fatalf("refused by the plugin: %d\n%s", r.StatusCode, r.Body)
	}

	form.Set("score_threshold", "0.3")
	r = c.PostForm("/admin/plugins/captcha-recaptcha/settings", form)
	if r.StatusCode != 303 {
		t.Fatalf("save: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.Get("/admin/plugins/captcha-recaptcha")
	if !strings.Contains(r.Body, "Settings of captcha-recaptcha saved.") || !strings.Contains(r.Body, "stored — leave empty to keep") ||
		strings.Contains(r.Body, "s3cret") || !strings.Contains(r.Body, `name="score_threshold" value="0.3"`) {
		t.Fatalf("after save:\n%s", r.Body)
	}
	// The secret is sealed in the database, the rest stored as typed.
	var cfgJSON string
	var sealed []byte
	if err := e.DB.Bun.NewRaw("SELECT config::text, secrets FROM plugin_settings WHERE name = 'captcha-recaptcha'").Scan(ctx, &cfgJSON, &sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cfgJSON, "s3cret") || strings.Contains(string(sealed), "s3cret") || len(sealed) < 20 || !strings.Contains(cfgJSON, `"site_key": "site-1"`) {
		t.Fatalf("stored: %s / %x", cfgJSON, sealed)
	}

	// Saving again with the secret left empty keeps it: verification with
	// the secret still passes at the fake provider.
	form.Set("secret_key", "")
	form.Set("score_threshold", "0.4")
	if r := c.PostForm("/admin/plugins/captcha-recaptcha/settings", form); r.StatusCode != 303 {
		t.Fatalf("save keeping the secret: %d\n%s", r.StatusCode, r.Body)
	}
	v, err := h.Captcha("captcha-recaptcha").Verify(ctx, sdk.VerifyRequest{Token: "good"})
	if err != nil || !v.OK {
		t.Fatalf("verify with the kept secret: %+v %v", v, err)
	}

	// Choose it for the portal.
	r = c.PostForm("/admin/plugins/captcha-recaptcha/use-captcha", nil)
	if r.StatusCode != 303 {
		t.Fatalf("use for portal: %d", r.StatusCode)
	}
	var provider string
	if err := e.DB.Bun.NewRaw("SELECT value #>> '{}' FROM settings WHERE key = 'captcha_provider'").Scan(ctx, &provider); err != nil || provider != "plugin:captcha-recaptcha" {
		t.Fatalf("captcha_provider = %q, %v", provider, err)
	}
	r = c.Get("/admin/plugins")
	if !strings.Contains(r.Body, "portal provider") || !strings.Contains(r.Body, `badge-valid">running`) {
		t.Errorf("list after choosing:\n%s", r.Body)
	}
	// An import format cannot be the portal's CAPTCHA.
	if r := c.PostForm("/admin/plugins/import-xlsx/use-captcha", nil); r.StatusCode != 303 {
		t.Fatalf("use-captcha on an import format: %d", r.StatusCode)
	}
	if r := c.Get("/admin/plugins/import-xlsx"); !strings.Contains(r.Body, "import-xlsx is not a CAPTCHA plugin.") {
		t.Errorf("no refusal flash:\n%s", r.Body)
	}

	// Disable stops the process.
	pid := func() int { p, _ := h.Get("captcha-recaptcha"); return p.Pid }()
	if pid == 0 {
		t.Fatal("plugin not running before disable")
	}
	if r := c.PostForm("/admin/plugins/captcha-recaptcha/disable", nil); r.StatusCode != 303 {
		t.Fatalf("disable: %d", r.StatusCode)
	}
	if p, _ := h.Get("captcha-recaptcha"); p.Enabled || p.Pid != 0 || p.Status != host.StatusDisabled {
		t.Fatalf("after disable: %+v", p)
	}
	if r := c.Get("/admin/plugins/captcha-recaptcha"); !strings.Contains(r.Body, "still the portal&#39;s CAPTCHA provider") {
		t.Errorf("no warning about the portal provider:\n%s", r.Body)
	}
	if r := c.Get("/admin/plugins/no-such-plugin"); r.StatusCode != 404 {
		t.Errorf("unknown plugin: %d", r.StatusCode)
	}
	var logged int
	_ = e.DB.Bun.NewRaw("SELECT count(*) FROM activity_log WHERE type LIKE 'plugin.%'").Scan(ctx, &logged)
	if logged < 4 {
		t.Errorf("activity log has %d plugin entries", logged)
	}
}

func TestPluginPagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := pluginEnv(t)
	anon := e.Client(t)
	for _, p := range []string{"/admin/plugins", "/admin/plugins/captcha-recaptcha"} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	posts := []string{
		"/admin/plugins/captcha-recaptcha/enable", "/admin/plugins/captcha-recaptcha/disable",
		"/admin/plugins/captcha-recaptcha/settings", "/admin/plugins/captcha-recaptcha/use-captcha",
	}
	form := url.Values{"site_key": {"x"}, "secret_key": {"y"}}
	anon.GetCSRF("/admin/login")
	for _, p := range posts {
		if r := anon.PostForm(p, form); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range posts {
		if r := c.PostForm(p, form); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	if countRows(t, e, "plugin_settings") != 0 {
		t.Error("plugin settings changed without a token")
	}
}
