package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/plugins/host/hosttest"
)

// The reCAPTCHA plugin as the portal's CAPTCHA: its widget in the form, and
// each submitted token checked at a fake siteverify endpoint on loopback.
func TestRecaptchaPluginGuardsPortalForms(t *testing.T) {
	t.Parallel()
	tokens := make(chan url.Values, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		tokens <- r.PostForm
		res := map[string]any{"success": false, "error-codes": []string{"invalid-input-response"}}
		if r.PostForm.Get("secret") == "s3cret" {
			switch r.PostForm.Get("response") {
			case "good":
				res = map[string]any{"success": true, "score": 0.9}
			case "low":
				res = map[string]any{"success": true, "score": 0.2}
			}
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	defer srv.Close()

	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	e := servertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir })
	ctx := context.Background()
	svc := e.Nodes[0].Plugins
	by := audit.Source{Actor: audit.System}
	if err := svc.SetEnabled(ctx, "captcha-recaptcha", true, by); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "captcha-recaptcha", map[string]string{
		"site_key": "site-1", "secret_key": "s3cret", "version": "v2", "score_threshold": "0.5", "verify_url": srv.URL,
	}, by); err != nil {
		t.Fatal(err)
	}
	e.SetSettings(t, map[string]string{"captcha_provider": "plugin:captcha-recaptcha", "captcha_forms": "password_forgot"})

	c := e.Client(t)
	page := c.Get("/customer/password/forgot")
	if !strings.Contains(page.Body, `<div class="g-recaptcha" data-sitekey="site-1"></div>`) ||
		!strings.Contains(page.Body, `<script src="https://www.google.com/recaptcha/api.js" async defer></script>`) {
		t.Fatalf("widget not in the form:\n%s", page.Body)
	}
	csp := page.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' https://www.google.com https://www.gstatic.com") ||
		!strings.Contains(csp, "frame-src https://www.google.com https://www.gstatic.com") {
		t.Fatalf("CSP does not allow the widget: %s", csp)
	}
	if csp := c.Get("/customer/login").Header.Get("Content-Security-Policy"); strings.Contains(csp, "google") {
		t.Fatalf("a page without the widget allows its origins: %s", csp)
	}
	form := func(token string) url.Values {
		v := url.Values{"email": {"nobody@example.com"}}
		if token != "" {
			v.Set("g-recaptcha-response", token)
		}
		return v
	}
	if r := c.PostForm("/customer/password/forgot", form("")); r.StatusCode != 422 || !strings.Contains(r.Body, captcha.MsgMissing) {
		t.Fatalf("no token: %d\n%s", r.StatusCode, r.Body)
	}
	for _, tok := range []string{"forged", "low"} {
		if r := c.PostForm("/customer/password/forgot", form(tok)); r.StatusCode != 422 || !strings.Contains(r.Body, captcha.MsgWrong) {
			t.Fatalf("token %s: %d\n%s", tok, r.StatusCode, r.Body)
		}
		if got := <-tokens; got.Get("response") != tok || got.Get("secret") != "s3cret" || got.Get("remoteip") == "" {
			t.Fatalf("provider received %v", got)
		}
	}
	if r := c.PostForm("/customer/password/forgot", form("good")); r.StatusCode != 303 {
		t.Fatalf("good token: %d\n%s", r.StatusCode, r.Body)
	}

	// Disabled, the plugin refuses to answer: the form does not go
	// through unchecked.
	if err := svc.SetEnabled(ctx, "captcha-recaptcha", false, by); err != nil {
		t.Fatal(err)
	}
	if r := c.PostForm("/customer/password/forgot", form("good")); r.StatusCode != 422 || !strings.Contains(r.Body, captcha.MsgUnavailable) {
		t.Fatalf("disabled plugin: %d\n%s", r.StatusCode, r.Body)
	}
}
