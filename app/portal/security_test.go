package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web/webtest"
)

// Customers see their sessions and sign the others out.
func TestPortalSessions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "cora@example.com", true)
	a, b := mustSignIn(t, e, "cora@example.com"), mustSignIn(t, e, "cora@example.com")
	page := a.Get("/customer/settings")
	if strings.Count(page.Body, `id="session-`) != 2 || !strings.Contains(page.Body, "this session") {
		t.Fatalf("settings do not list the two sessions:\n%s", page.Body)
	}
	a.GetCSRF("/customer/settings")
	if r := a.PostForm("/customer/settings/sessions/end-others", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end others: %d", r.StatusCode)
	}
	if r := b.Get("/customer/dashboard"); r.StatusCode != http.StatusFound {
		t.Errorf("the other browser is still signed in: %d", r.StatusCode)
	}
	if r := a.Get("/customer/dashboard"); r.StatusCode != http.StatusOK {
		t.Errorf("the asking browser was signed out: %d", r.StatusCode)
	}
	if n := countRows(t, e, "SELECT count(*) FROM activity_log WHERE type = 'customer.sessions_ended' AND actor_type = 'customer' AND message = ?",
		"Customer cora@example.com signed out their other sessions (1)."); n != 1 {
		t.Errorf("%d activity lines for ending the other sessions, want 1", n)
	}
}

var portalSecretRE = regexp.MustCompile(`<code id="tf-secret" class="secret-key">([A-Z2-7 ]+)</code>`)

// Customers turn two-factor sign-in on in their settings (when
// allow_customer_2fa is on); sign-in then asks for a code, accepted once.
func TestPortalTwoFactor(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	var mu sync.Mutex
	now := time.Unix(time.Now().Unix()/30*30+5, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	app := e.NewAppWith(t, func(d *server.Deps) { d.TwoFactor = twofactor.New([]byte(servertest.InstanceSecret), clock) })
	newCustomer(t, e, "cora@example.com", true)
	c := webtest.New(t, app)
	if r := signIn(c, "cora@example.com", password); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	c.GetCSRF("/customer/settings")
	c.PostForm("/customer/settings/two-factor", nil)
	m := portalSecretRE.FindStringSubmatch(c.Get("/customer/settings").Body)
	if m == nil {
		t.Fatal("no key on the settings page after starting the set-up")
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code := func(at time.Time) string { s, _ := totp.GenerateCode(secret, at); return s }
	if r := c.PostForm("/customer/settings/two-factor/confirm", url.Values{"code": {code(clock())}}); r.StatusCode != http.StatusOK || strings.Count(r.Body, "<li><code>") != 10 {
		t.Fatalf("confirm: %d", r.StatusCode)
	}
	if n := countRows(t, e, "SELECT count(*) FROM activity_log WHERE type = 'customer.two_factor_enabled' AND message = ?",
		"Customer cora@example.com turned on two-factor sign-in."); n != 1 {
		t.Errorf("%d activity lines for turning two-factor sign-in on, want 1", n)
	}

	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	d := webtest.New(t, app)
	r := signIn(d, "cora@example.com", password)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/customer/login/two-factor" {
		t.Fatalf("password step: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := d.Get("/customer/dashboard"); r.StatusCode != http.StatusFound {
		t.Fatalf("signed in by the password alone: %d", r.StatusCode)
	}
	d.GetCSRF("/customer/login/two-factor")
	if r := d.PostForm("/customer/login/two-factor", url.Values{"code": {"000000"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("wrong code: %d", r.StatusCode)
	}
	if r := d.PostForm("/customer/login/two-factor", url.Values{"code": {code(clock())}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: %d", r.StatusCode)
	}
	if r := d.Get("/customer/dashboard"); r.StatusCode != http.StatusOK {
		t.Fatalf("not signed in after the code: %d", r.StatusCode)
	}
	replay := webtest.New(t, app)
	signIn(replay, "cora@example.com", password)
	replay.GetCSRF("/customer/login/two-factor")
	if r := replay.PostForm("/customer/login/two-factor", url.Values{"code": {code(clock())}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("replayed code: %d, want 422", r.StatusCode)
	}

	// Not allowed: no set-up for customers without it.
	e.SetSettings(t, map[string]string{"allow_customer_2fa": "0"})
	for _, n := range e.Nodes {
		n.Settings.Invalidate()
	}
	newCustomer(t, e, "dan@example.com", true)
	dan := webtest.New(t, app)
	signIn(dan, "dan@example.com", password)
	if strings.Contains(dan.Get("/customer/settings").Body, "Two-factor sign-in") {
		t.Error("the set-up shows with allow_customer_2fa off")
	}
	dan.GetCSRF("/customer/settings")
	if r := dan.PostForm("/customer/settings/two-factor", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("set-up with allow_customer_2fa off: %d, want 404", r.StatusCode)
	}
}
