package admin_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/admin"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
)

const msgInvalid = "These credentials do not match our records."

func signInForm(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)

	c.GetCSRF("/admin/login")
	before := c.Cookie(server.AdminSessionCookie)
	if before == "" {
		t.Fatal("no session cookie before sign-in")
	}

	r := c.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword))
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin" {
		t.Fatalf("sign in: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	after := c.Cookie(server.AdminSessionCookie)
	if after == "" || after == before {
		t.Fatalf("session ID not regenerated at sign-in (before %q, after %q)", before, after)
	}
	cookies := strings.Join(r.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(cookies, server.AdminSessionCookie+"=") || !strings.Contains(cookies, "HttpOnly") || !strings.Contains(cookies, "SameSite=Lax") {
		t.Errorf("session cookie attributes: %s", cookies)
	}
	if strings.Contains(strings.ToLower(cookies), "secure") {
		t.Errorf("cookie is Secure on an http base URL: %s", cookies)
	}

	r = c.Get("/admin")
	if r.StatusCode != 200 || !strings.Contains(r.Body, servertest.AdminName) || !strings.Contains(r.Body, `action="/admin/logout"`) {
		t.Fatalf("dashboard: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, `hx-boost="true"`) || !strings.Contains(r.Body, `"X-CSRF-Token": "`+c.CSRF+`"`) {
		t.Error("console layout lacks hx-boost or the CSRF header for htmx")
	}

	// The pre-sign-in session ID is worthless now (session fixation).
	fixated := e.Client(t)
	fixated.SetCookie(server.AdminSessionCookie, before)
	if r := fixated.Get("/admin"); r.StatusCode != 302 {
		t.Errorf("old session ID still signed in: %d", r.StatusCode)
	}

	// The sign-in is in the history and sets last_login_at.
	var ok int
	var last *string
	if err := e.DB.Bun.QueryRowContext(context.Background(),
		`SELECT count(*) FILTER (WHERE success), (SELECT last_login_at::text FROM admins WHERE id = ?) FROM admin_logins`, e.Admin.ID).Scan(&ok, &last); err != nil {
		t.Fatal(err)
	}
	if ok != 1 || last == nil {
		t.Errorf("successful logins recorded: %d, last_login_at %v", ok, last)
	}

	// A signed-in admin asking for the sign-in page goes to the console.
	if r := c.Get("/admin/login"); r.StatusCode != 302 || r.Header.Get("Location") != "/admin" {
		t.Errorf("signed-in GET /admin/login: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestSignInRedirectsToPageAskedFor(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	tests := []struct{ next, want string }{
		{"/admin/settings", "/admin/settings"},
		{"/admin/customers?page=2", "/admin/customers?page=2"},
		{"", "/admin"},
		{"https://evil.example/", "/admin"},
		{"//evil.example/admin", "/admin"},
		{`/\evil.example`, "/admin"},
		{"admin", "/admin"},
		{"javascript:alert(1)", "/admin"},
	}
	for _, tt := range tests {
		c := e.Client(t)
		c.GetCSRF("/admin/login?next=" + url.QueryEscape(tt.next))
		form := signInForm(servertest.AdminEmail, servertest.AdminPassword)
		form.Set("next", tt.next)
		r := c.PostForm("/admin/login", form)
		if r.StatusCode != 303 || r.Header.Get("Location") != tt.want {
			t.Errorf("next=%q: %d %q, want 303 %q", tt.next, r.StatusCode, r.Header.Get("Location"), tt.want)
		}
	}
}

func TestLoginFormCarriesNext(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	r := c.Get("/admin/login?next=%2Fadmin%2Fplugins")
	if !strings.Contains(r.Body, `name="next" value="/admin/plugins"`) {
		t.Errorf("login form does not carry next:\n%s", r.Body)
	}
	r = c.Get("/admin/login?next=https%3A%2F%2Fevil.example")
	if strings.Contains(r.Body, `name="next"`) {
		t.Errorf("login form carries a foreign next:\n%s", r.Body)
	}
}

func TestSignInFailures(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	tests := []struct{ name, email, password string }{
		{"wrong password", servertest.AdminEmail, "not the password"},
		{"unknown email", "nobody@example.com", servertest.AdminPassword},
		{"empty form", "", ""},
		{"not an email", "<script>alert(1)</script>", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.Client(t)
			c.GetCSRF("/admin/login")
			r := c.PostForm("/admin/login", signInForm(tt.email, tt.password))
			if r.StatusCode != 422 {
				t.Fatalf("status %d, want 422\n%s", r.StatusCode, r.Body)
			}
			if !strings.Contains(r.Body, msgInvalid) {
				t.Errorf("message missing:\n%s", r.Body)
			}
			if tt.email != "" && !strings.Contains(r.Body, `value="`+htmlEscape(tt.email)+`"`) {
				t.Errorf("typed email not kept:\n%s", r.Body)
			}
			if !strings.Contains(r.Body, "<html") {
				t.Error("a plain form post should get the whole page")
			}
			if r := c.Get("/admin"); r.StatusCode != 302 {
				t.Errorf("failed sign-in left a signed-in session: %d", r.StatusCode)
			}
		})
	}
	var failed int
	if err := e.DB.Bun.QueryRowContext(context.Background(), `SELECT count(*) FROM admin_logins WHERE NOT success`).Scan(&failed); err != nil {
		t.Fatal(err)
	}
	if failed != len(tests) {
		t.Errorf("%d failed sign-ins recorded, want %d", failed, len(tests))
	}
}

func TestSignInFailureHTMXFragment(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	c.GetCSRF("/admin/login")
	r := c.PostForm("/admin/login", signInForm(servertest.AdminEmail, "wrong password"), "HX-Request", "true")
	if r.StatusCode != 422 || !strings.Contains(r.Body, msgInvalid) {
		t.Fatalf("%d\n%s", r.StatusCode, r.Body)
	}
	if strings.Contains(r.Body, "<html") || !strings.HasPrefix(strings.TrimSpace(r.Body), "<form") {
		t.Errorf("htmx request did not get the form fragment alone:\n%s", r.Body)
	}
	if !strings.Contains(r.Header.Get("Vary"), "HX-Request") {
		t.Errorf("Vary = %q", r.Header.Get("Vary"))
	}

	// Success answers htmx with HX-Redirect, not a 3xx the XHR would follow.
	r = c.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword), "HX-Request", "true")
	if r.StatusCode != 200 || r.Header.Get("HX-Redirect") != "/admin" {
		t.Errorf("htmx sign-in: %d HX-Redirect %q", r.StatusCode, r.Header.Get("HX-Redirect"))
	}
}

// Sign-in limits count in windows of the node's clock (15 minutes,
// clock-aligned): the lockout ends with its window.
func TestSignInRateLimitPerEmail(t *testing.T) {
	t.Parallel()
	// The clock stands 6½ minutes into a window until the test moves it.
	window := admin.DefaultLoginLimits.Window
	clk := servertest.NewClock(time.Now().Truncate(window).Add(6*time.Minute + 30*time.Second))
	e := servertest.NewWithClock(t, clk.Now)
	c := e.Client(t)
	c.GetCSRF("/admin/login")
	for i := 1; i <= 5; i++ {
		if r := c.PostForm("/admin/login", signInForm(servertest.AdminEmail, "wrong password")); r.StatusCode != 422 {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	// Over the limit even the right password is refused, in any letter case.
	r := c.PostForm("/admin/login", signInForm(strings.ToUpper(servertest.AdminEmail), servertest.AdminPassword))
	if r.StatusCode != 429 {
		t.Fatalf("attempt 6: %d, want 429", r.StatusCode)
	}
	// The wait is what is left of the window: 8½ minutes.
	if !strings.Contains(r.Body, "Too many sign-in attempts. Please try again in 9 minutes.") {
		t.Errorf("429 message:\n%s", r.Body)
	}
	if got := r.Header.Get("Retry-After"); got != "510" {
		t.Errorf("Retry-After %q, want 510", got)
	}
	// Another account from the same address is not locked.
	if _, err := servertest.CreateAdmin(e.DB, "Bob", "bob@example.com", "bobs long password"); err != nil {
		t.Fatal(err)
	}
	if r := c.PostForm("/admin/login", signInForm("bob@example.com", "bobs long password")); r.StatusCode != 303 {
		t.Errorf("other account: %d, want 303", r.StatusCode)
	}
	// A second before the window ends the account is still locked; at its
	// end, the right password signs in.
	clk.Add(8*time.Minute + 29*time.Second)
	again := e.Client(t)
	again.GetCSRF("/admin/login")
	if r := again.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword)); r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("the window's last second: %d, Retry-After %q; want 429 and 1", r.StatusCode, r.Header.Get("Retry-After"))
	}
	clk.Add(time.Second)
	if r := again.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword)); r.StatusCode != 303 {
		t.Errorf("the next window: %d, want 303", r.StatusCode)
	}
}

func TestSignInRateLimitPerIP(t *testing.T) {
	t.Parallel()
	// One window of the node's clock, however long the 23 attempts take.
	clk := servertest.NewClock(time.Now().Truncate(admin.DefaultLoginLimits.Window))
	// The app sees every test request from 0.0.0.0; trust it as a proxy so
	// X-Forwarded-For names the client.
	e := servertest.NewWithClock(t, clk.Now, func(cfg *config.Config) { cfg.HTTP.TrustedProxies = []string{"0.0.0.0"} })
	c := e.Client(t)
	c.GetCSRF("/admin/login")
	post := func(email, ip string) int {
		return c.PostForm("/admin/login", signInForm(email, "wrong password"), "X-Forwarded-For", ip).StatusCode
	}
	for i := range 20 {
		if s := post("user"+string(rune('a'+i))+"@example.com", "203.0.113.7"); s != 422 {
			t.Fatalf("attempt %d: %d", i+1, s)
		}
	}
	if s := post("another@example.com", "203.0.113.7"); s != 429 {
		t.Fatalf("attempt 21 from the same IP: %d, want 429", s)
	}
	// A client cannot dodge the limit by prepending an address of its own:
	// the right-most untrusted address counts.
	if s := post("another@example.com", "198.51.100.1, 203.0.113.7"); s != 429 {
		t.Errorf("spoofed X-Forwarded-For escaped the limit: %d", s)
	}
	if s := post("another@example.com", "203.0.113.8"); s != 422 {
		t.Errorf("other IP: %d, want 422", s)
	}
}

func TestSignInWithoutCSRFToken(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	c.GetCSRF("/admin/login")
	for name, form := range map[string]url.Values{
		"missing": {"email": {servertest.AdminEmail}, "password": {servertest.AdminPassword}, "_csrf": {""}},
		"wrong":   {"email": {servertest.AdminEmail}, "password": {servertest.AdminPassword}, "_csrf": {"forged"}},
	} {
		r := c.PostForm("/admin/login", form)
		if r.StatusCode != 403 || !strings.Contains(r.Body, "This form has expired") {
			t.Errorf("%s token: %d\n%s", name, r.StatusCode, r.Body)
		}
	}
	// A cross-site post with the right token is refused too.
	r := c.PostForm("/admin/login", signInForm(servertest.AdminEmail, servertest.AdminPassword), "Origin", "https://evil.example")
	if r.StatusCode != 403 {
		t.Errorf("cross-origin post: %d, want 403", r.StatusCode)
	}
	// The token in the X-CSRF-Token header (htmx) is accepted.
	form := signInForm(servertest.AdminEmail, servertest.AdminPassword)
	form.Set("_csrf", "")
	if r := c.PostForm("/admin/login", form, "X-CSRF-Token", c.CSRF); r.StatusCode != 303 {
		t.Errorf("token in header: %d, want 303", r.StatusCode)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
