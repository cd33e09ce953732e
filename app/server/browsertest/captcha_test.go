package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server/browsertest"
	"github.com/licensor/licensor/plugins/host/hosttest"
)

// fakeRecaptcha is reCAPTCHA v3 on loopback: api.js defines grecaptcha
// whose execute resolves to "tok-<action>-<site key>", and siteverify
// answers success with the score set, echoing the token's action.
type fakeRecaptcha struct {
	script, verify *httptest.Server
	score          atomic.Uint64 // math.Float64bits
	mu             sync.Mutex
	tokens         []string
}

func newFakeRecaptcha(t *testing.T) *fakeRecaptcha {
	f := &fakeRecaptcha{}
	f.score.Store(math.Float64bits(0.9))
	f.script = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api.js" || r.URL.Query().Get("render") != "site-key-v3" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, `window.grecaptcha = {
  ready: function (cb) { setTimeout(cb, 0); },
  execute: function (key, opts) { return Promise.resolve("tok-" + opts.action + "-" + key); }
};`)
	}))
	f.verify = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.PostFormValue("response")
		f.mu.Lock()
		f.tokens = append(f.tokens, token)
		f.mu.Unlock()
		action, _, _ := strings.Cut(strings.TrimPrefix(token, "tok-"), "-")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"success": r.PostFormValue("secret") == "secret-v3" && token != "",
			"score":   math.Float64frombits(f.score.Load()), "action": action,
		})
	}))
	t.Cleanup(f.script.Close)
	t.Cleanup(f.verify.Close)
	return f
}

func (f *fakeRecaptcha) lastToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) == 0 {
		return ""
	}
	return f.tokens[len(f.tokens)-1]
}

// The portal's sign-in with the reCAPTCHA v3 plugin as its CAPTCHA: the
// page loads the provider's script (allowed by the page's CSP), gets a
// token for the action "login" on submit and posts it in the hidden field;
// a score under the threshold refuses the form.
func TestPortalRecaptchaV3(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	fake := newFakeRecaptcha(t)
	e := browsertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir })
	ctx := context.Background()
	plugins := e.Nodes[0].Plugins
	if err := plugins.SetEnabled(ctx, "captcha-recaptcha", true, system); err != nil {
		t.Fatal(err)
	}
	if err := plugins.Save(ctx, "captcha-recaptcha", map[string]string{
		"site_key": "site-key-v3", "secret_key": "secret-v3", "version": "v3", "score_threshold": "0.5",
		"verify_url": fake.verify.URL, "script_url": fake.script.URL + "/api.js",
	}, system); err != nil {
		t.Fatal(err)
	}
	e.SetSettings(t, map[string]string{"captcha_provider": "plugin:captcha-recaptcha", "captcha_forms": "login"})
	const email, password = "vic@example.com", "amber lantern meadow 7"
	newCustomer(t, e, "Vic Three", email, password)

	signIn := func(b *browsertest.Browser) {
		b.Open("/customer/login")
		b.WaitJS("the reCAPTCHA script", "typeof window.grecaptcha === 'object'")
		if n := b.Count(`input[type="hidden"][name="g-recaptcha-response"][data-recaptcha-v3="site-key-v3"][data-action="login"]`); n != 1 {
			t.Fatalf("%d v3 fields", n)
		}
		b.FillForm("form.login-form", "email", email, "password", password)
		b.ClickButton("Sign in")
	}

	b := e.Browser(t)
	signIn(b)
	b.WaitPath(`^/customer/dashboard`)
	b.Screenshot("recaptcha-v3-signed-in")
	if tok := fake.lastToken(); tok != "tok-login-site-key-v3" {
		t.Fatalf("siteverify got token %q", tok)
	}

	b.ClickButton("Sign out")
	b.WaitPath(`^/customer/login`)
	fake.score.Store(math.Float64bits(0.1))
	signIn(b)
	b.WaitText(captcha.MsgWrong)
	b.Screenshot("recaptcha-v3-low-score")
	if loc := b.Location(); !strings.Contains(loc, "/customer/login") {
		t.Fatalf("at %s after a low score", loc)
	}
}
