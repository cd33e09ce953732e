package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/licensor/licensor/app/admin"
	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	secretRE   = regexp.MustCompile(`<code id="tf-secret" class="secret-key">([A-Z2-7 ]+)</code>`)
	recoveryRE = regexp.MustCompile(`<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>`)
)

// enrol turns two-factor sign-in on for the signed-in client c at clk's
// time and returns the secret shown and the recovery codes.
func enrol(t *testing.T, c *webtest.Client, clk *servertest.Clock) (string, []string) {
	t.Helper()
	c.GetCSRF("/admin/account/two-factor")
	if r := c.PostForm("/admin/account/two-factor", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("begin enrolment: %d", r.StatusCode)
	}
	page := c.Get("/admin/account/two-factor")
	m := secretRE.FindStringSubmatch(page.Body)
	if m == nil || !strings.Contains(page.Body, "<svg") || !strings.Contains(page.Body, "<path") {
		t.Fatalf("set-up page without the QR code and the key:\n%s", page.Body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	r := c.PostForm("/admin/account/two-factor/confirm", url.Values{"code": {code(t, secret, clk.Now())}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("confirm: %d\n%s", r.StatusCode, r.Body)
	}
	var codes []string
	for _, m := range recoveryRE.FindAllStringSubmatch(r.Body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	return secret, codes
}

// signInWithCode signs in through both steps; it returns the code step's
// answer.
func signInWithCode(t *testing.T, c *webtest.Client, email, password, code string) *webtest.Response {
	t.Helper()
	c.GetCSRF("/admin/login")
	r := c.PostForm("/admin/login", signInForm(email, password))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login/two-factor" {
		t.Fatalf("password step: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Fatalf("signed in after the password alone: %d", r.StatusCode)
	}
	c.GetCSRF("/admin/login/two-factor")
	return c.PostForm("/admin/login/two-factor", url.Values{"code": {code}})
}

// The lead's check: an admin enrols TOTP (QR code and key shown, a code
// confirms), signs out, signs in with the password and a code computed
// from the shown key; a replay of that code is refused. Also: ±1 step of
// drift, recovery codes used once.
func TestTwoFactorEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	// The node's clock stands 5 s into a code step, and at the start of
	// a sign-in window (15 minutes), which the wrong codes below count in.
	clk := servertest.NewClock(time.Now().Truncate(admin.DefaultLoginLimits.Window).Add(5 * time.Second))
	e := servertest.NewWithClock(t, clk.Now)
	app := e.App
	owner := webtest.New(t, app)
	owner.GetCSRF("/admin/login")
	if r := owner.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	secret, recovery := enrol(t, owner, clk)
	if r := owner.Get("/admin/users"); !strings.Contains(r.Body, `<span class="badge badge-valid">on</span>`) {
		t.Error("the users list does not show 2FA on")
	}
	owner.PostForm("/admin/logout", nil)

	clk.Add(30 * time.Second)
	c := webtest.New(t, app)
	now := code(t, secret, clk.Now())
	if r := signInWithCode(t, c, servertest.AdminEmail, servertest.AdminPassword, now); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("code step: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if r := c.Get("/admin"); r.StatusCode != http.StatusOK {
		t.Fatalf("not signed in after the code: %d", r.StatusCode)
	}

	// The same code again, in its own window: refused.
	replay := webtest.New(t, app)
	if r := signInWithCode(t, replay, servertest.AdminEmail, servertest.AdminPassword, now); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("replayed code: %d, want 422", r.StatusCode)
	}
	if r := replay.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("signed in with a replayed code: %d", r.StatusCode)
	}
	// A code of an earlier step than the last accepted: refused; the next
	// step's code (a clock one step ahead) is accepted.
	if r := replay.PostForm("/admin/login/two-factor", url.Values{"code": {code(t, secret, clk.Now().Add(-30*time.Second))}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an earlier step's code: %d, want 422", r.StatusCode)
	}
	if r := replay.PostForm("/admin/login/two-factor", url.Values{"code": {code(t, secret, clk.Now().Add(30*time.Second))}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the next step's code (+1 drift): %d, want 303", r.StatusCode)
	}
	// Two steps ahead is too far.
	clk.Add(2 * time.Minute)
	far := webtest.New(t, app)
	if r := signInWithCode(t, far, servertest.AdminEmail, servertest.AdminPassword, code(t, secret, clk.Now().Add(time.Minute))); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a code two steps ahead: %d, want 422", r.StatusCode)
	}

	// A recovery code signs in once.
	rc := webtest.New(t, app)
	if r := signInWithCode(t, rc, servertest.AdminEmail, servertest.AdminPassword, strings.ToUpper(recovery[3])); r.StatusCode != http.StatusSeeOther {
		t.Errorf("recovery code: %d, want 303", r.StatusCode)
	}
	again := webtest.New(t, app)
	if r := signInWithCode(t, again, servertest.AdminEmail, servertest.AdminPassword, recovery[3]); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("recovery code used twice: %d, want 422", r.StatusCode)
	}
	// Wrong codes count in the sign-in limits (5 per account): after
	// them even a right code is refused.
	for range 3 {
		again.PostForm("/admin/login/two-factor", url.Values{"code": {"000000"}})
	}
	if r := again.PostForm("/admin/login/two-factor", url.Values{"code": {code(t, secret, clk.Now())}}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a right code after 5 wrong ones: %d, want 429", r.StatusCode)
	}
}

// With require_admin_2fa, an admin without two-factor sign-in is sent to
// set it up after the password, and can do nothing else until then; an
// owner can reset another admin's (logged).
func TestTwoFactorRequiredAndReset(t *testing.T) {
	t.Parallel()
	clk := servertest.NewClock(time.Now().Truncate(30 * time.Second).Add(5 * time.Second))
	e := servertest.NewWithClock(t, clk.Now)
	app := e.App
	e.SetSettings(t, map[string]string{"require_admin_2fa": "1"})
	a, err := admins.CreateWithRole(context.Background(), e.DB.Bun, "Adam", "adam@example.com", "adam's passphrase 11", roleID(t, e, admins.RoleAdministrator))
	if err != nil {
		t.Fatal(err)
	}
	c := webtest.New(t, app)
	c.GetCSRF("/admin/login")
	if r := c.PostForm("/admin/login", signInForm("adam@example.com", "adam's passphrase 11")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	for _, page := range []string{"/admin", "/admin/customers", "/admin/account"} {
		if r := c.Get(page); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/account/two-factor" {
			t.Errorf("%s before enrolment: %d %q, want the set-up page", page, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := c.Get("/admin/customers", "HX-Request", "true"); r.Header.Get("HX-Redirect") != "/admin/account/two-factor" {
		t.Errorf("htmx request before enrolment: HX-Redirect %q", r.Header.Get("HX-Redirect"))
	}
	enrol(t, c, clk)
	if r := c.Get("/admin/customers"); r.StatusCode != http.StatusOK {
		t.Fatalf("after enrolment: %d", r.StatusCode)
	}
	// Required: it cannot be turned off.
	c.GetCSRF("/admin/account/two-factor")
	if r := c.PostForm("/admin/account/two-factor/disable", url.Values{"current_password": {"adam's passphrase 11"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("turning off required 2FA: %d, want 422", r.StatusCode)
	}

	// The owner resets it (a lost phone); Adam is sent to set it up again.
	owner := webtest.New(t, app)
	owner.GetCSRF("/admin/login")
	owner.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword))
	enrol(t, owner, clk) // the owner is held to the rule too
	owner.GetCSRF("/admin/users")
	if r := owner.PostForm("/admin/users/"+strconv.FormatInt(a.ID, 10)+"/reset-two-factor", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset 2FA: %d", r.StatusCode)
	}
	if r := c.Get("/admin/customers"); r.Header.Get("Location") != "/admin/account/two-factor" {
		t.Errorf("after the reset Adam is not sent to set it up: %d", r.StatusCode)
	}
	var n int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE type = 'admin.two_factor_reset' AND subject_id = ? AND actor_name = ?`, a.ID, servertest.AdminName).Scan(context.Background(), &n); err != nil || n != 1 {
		t.Errorf("reset logged %d times (%v), want once", n, err)
	}
}
