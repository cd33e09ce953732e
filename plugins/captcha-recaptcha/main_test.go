package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/plugins/sdk/sdktest"
)

// siteverifyServer is a fake of reCAPTCHA's (and hCaptcha's, Turnstile's)
// siteverify endpoint: it answers by the response token it is posted and
// keeps every form it received.
type siteverifyServer struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
}

func newSiteverify(t *testing.T) *siteverifyServer {
	t.Helper()
	s := &siteverifyServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusMethodNotAllowed)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.forms = append(s.forms, r.PostForm)
		s.mu.Unlock()
		if r.PostForm.Get("secret") != "the-secret" {
			_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-secret"]}`))
			return
		}
		switch r.PostForm.Get("response") {
		case "v2-good":
			_, _ = w.Write([]byte(`{"success":true,"challenge_ts":"2030-01-02T03:04:05Z","hostname":"portal.example"}`))
		case "v3-login":
			_, _ = w.Write([]byte(`{"success":true,"score":0.9,"action":"login"}`))
		case "v3-register":
			_, _ = w.Write([]byte(`{"success":true,"score":0.9,"action":"register"}`))
		case "v3-bot":
			_, _ = w.Write([]byte(`{"success":true,"score":0.1,"action":"login"}`))
		case "used-twice":
			_, _ = w.Write([]byte(`{"success":false,"error-codes":["timeout-or-duplicate"]}`))
		case "provider-down":
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		case "garbage":
			_, _ = w.Write([]byte(`<html>captive portal</html>`))
		case "slow":
			<-r.Context().Done() // until the caller gives up
		default:
			_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *siteverifyServer) posted() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.forms...)
}

func configured(t *testing.T, version, verifyURL string) *sdk.CaptchaClient {
	t.Helper()
	c := sdktest.Captcha(t, &provider{http: &http.Client{}})
	err := c.Configure(context.Background(), sdk.Config{
		"site_key": "site-<key>", "secret_key": "the-secret", "version": version, "score_threshold": "0.5", "verify_url": verifyURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestManifest(t *testing.T) {
	t.Parallel()
	sdktest.Manifest(t, manifest, sdk.KindCaptcha)
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := sdktest.Captcha(t, &provider{http: &http.Client{}})

	if _, err := c.Verify(ctx, sdk.VerifyRequest{Token: "v2-good"}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("Verify before any settings: %v, want an error saying so", err)
	}
	err := c.Configure(ctx, sdk.Config{
		"version": "v4", "score_threshold": "1.5", "verify_url": "ftp://example.com/verify", "script_url": "not a url",
	})
	var fe sdk.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("bad settings: %v (%T), want field errors", err, err)
	}
	for _, field := range []string{"site_key", "secret_key", "version", "score_threshold", "verify_url", "script_url"} {
		if fe[field] == "" {
			t.Errorf("no message on %s: %v", field, fe)
		}
	}
	if _, err := c.Widget(ctx, sdk.WidgetRequest{Form: "login"}); err == nil {
		t.Error("refused settings were kept")
	}
}

func TestWidgets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v2 := configured(t, "v2", "https://www.google.com/recaptcha/api/siteverify")
	w, err := v2.Widget(ctx, sdk.WidgetRequest{Form: "login", Locale: "de"})
	if err != nil {
		t.Fatal(err)
	}
	if w.HTML != `<div class="g-recaptcha" data-sitekey="site-&lt;key&gt;"></div>` || w.ResponseField != "g-recaptcha-response" {
		t.Errorf("v2 widget %q (field %s): the site key must be escaped", w.HTML, w.ResponseField)
	}
	if len(w.ScriptURLs) != 1 || w.ScriptURLs[0] != "https://www.google.com/recaptcha/api.js?hl=de" {
		t.Errorf("v2 script %v, want the page's language", w.ScriptURLs)
	}
	if strings.Join(w.Origins, " ") != "https://www.google.com https://www.gstatic.com" {
		t.Errorf("origins %v: reCAPTCHA loads from www.google.com and www.gstatic.com", w.Origins)
	}

	v3 := configured(t, "v3", "https://www.google.com/recaptcha/api/siteverify")
	w, err = v3.Widget(ctx, sdk.WidgetRequest{Form: "password_forgot"})
	if err != nil {
		t.Fatal(err)
	}
	if w.HTML != `<input type="hidden" name="g-recaptcha-response" data-recaptcha-v3="site-&lt;key&gt;" data-action="password_forgot">` {
		t.Errorf("v3 widget %q", w.HTML)
	}
	if len(w.ScriptURLs) != 1 || w.ScriptURLs[0] != "https://www.google.com/recaptcha/api.js?render=site-%3Ckey%3E" {
		t.Errorf("v3 script %v, want render=<site key>", w.ScriptURLs)
	}

	h := sdktest.Captcha(t, &provider{http: &http.Client{}})
	err = h.Configure(ctx, sdk.Config{"site_key": "k", "secret_key": "s", "verify_url": "https://api.hcaptcha.com/siteverify",
		"script_url": "https://js.hcaptcha.com/1/api.js", "widget_class": "h-captcha", "response_field": "h-captcha-response"})
	if err != nil {
		t.Fatal(err)
	}
	w, err = h.Widget(ctx, sdk.WidgetRequest{Form: "register"})
	if err != nil {
		t.Fatal(err)
	}
	if w.HTML != `<div class="h-captcha" data-sitekey="k"></div>` || w.ResponseField != "h-captcha-response" ||
		strings.Join(w.Origins, " ") != "https://js.hcaptcha.com https://*.hcaptcha.com" {
		t.Errorf("hCaptcha widget %+v", w)
	}
}

func TestVerifyV2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := newSiteverify(t)
	c := configured(t, "v2", fake.URL)

	v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "v2-good", RemoteIP: "203.0.113.9", Form: "login"})
	if err != nil || !v.OK {
		t.Fatalf("a good response: %+v %v", v, err)
	}
	form := fake.posted()[0]
	if form.Get("secret") != "the-secret" || form.Get("response") != "v2-good" || form.Get("remoteip") != "203.0.113.9" {
		t.Errorf("posted %v, want secret, response and remoteip", form)
	}

	v, err = c.Verify(ctx, sdk.VerifyRequest{Token: "used-twice"})
	if err != nil || v.OK || v.Reason != "refused by the provider: timeout-or-duplicate" {
		t.Errorf("a used token: %+v %v, want a refusal naming the provider's error code", v, err)
	}
	if form := fake.posted()[1]; form.Has("remoteip") {
		t.Errorf("remoteip sent without a caller IP: %v", form)
	}

	before := len(fake.posted())
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "  "}); err != nil || v.OK || v.Reason != "no response token" {
		t.Errorf("an empty response: %+v %v", v, err)
	}
	if len(fake.posted()) != before {
		t.Error("an empty response was sent to the provider")
	}

	// The provider failing is an error (Licensor lets the form through
	// or not by its own rule), never a verdict.
	for _, token := range []string{"provider-down", "garbage"} {
		if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: token}); err == nil {
			t.Errorf("%s: %+v, want an error", token, v)
		}
	}
}

func TestVerifyV3ScoreAndAction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := newSiteverify(t)
	c := configured(t, "v3", fake.URL)

	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "v3-login", Form: "login"}); err != nil || !v.OK || v.Score != 0.9 {
		t.Errorf("a person: %+v %v", v, err)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "v3-bot", Form: "login"}); err != nil || v.OK || v.Score != 0.1 ||
		v.Reason != "score 0.10 below the threshold 0.50" {
		t.Errorf("a bot: %+v %v", v, err)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "v3-register", Form: "login"}); err != nil || v.OK ||
		!strings.Contains(v.Reason, `action "register", not "login"`) {
		t.Errorf("a token made for another form: %+v %v", v, err)
	}
}

// The host's deadline crosses gRPC and cuts the request to a provider that
// does not answer.
func TestVerifyStopsAtTheHostsDeadline(t *testing.T) {
	t.Parallel()
	fake := newSiteverify(t)
	c := configured(t, "v2", fake.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "slow"}); err == nil {
		t.Fatalf("a provider that never answers: %+v, want an error", v)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Verify returned after %v: the deadline did not reach the plugin's request", took)
	}
}
