package portal_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/testfactory"
	"github.com/licensor/licensor/app/web/webtest"
)

const (
	password        = "correct horse battery staple"
	msgInvalid      = "These credentials do not match our records."
	msgNotConfirmed = "Your email address is not confirmed yet."
)

// passwordHash is password hashed once for the package's customers:
// argon2id per customer is most of a portal test's set-up under -race.
var passwordHash = sync.OnceValue(func() string {
	h, err := passwords.Hash(password)
	if err != nil {
		panic(err)
	}
	return h
})

// newCustomer creates a customer with password (testfactory); confirmed
// unless told.
func newCustomer(t *testing.T, e *servertest.Env, email string, confirmed bool) *customers.Customer {
	t.Helper()
	return testfactory.Customer(t, e.DB.Bun, &testfactory.CustomerOpts{Name: testfactory.Ptr("Cora Customer"), Email: &email,
		PasswordHash: testfactory.Ptr(passwordHash()), Unconfirmed: !confirmed})
}

func signIn(c *webtest.Client, login, pw string, extra ...string) *webtest.Response {
	c.GetCSRF("/customer/login")
	form := url.Values{"email": {login}, "password": {pw}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return c.PostForm("/customer/login", form)
}

func mustSignIn(t *testing.T, e *servertest.Env, login string) *webtest.Client {
	t.Helper()
	c := e.Client(t)
	if r := signIn(c, login, password); r.StatusCode != 303 || r.Header.Get("Location") != "/customer/dashboard" {
		t.Fatalf("sign in as %s: %d %q\n%s", login, r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	return c
}

// mails returns the outbox messages of kind to address, oldest first,
// once the queued password_reset jobs (forgot-password, a registration
// with a known address) have run.
func mails(t *testing.T, e *servertest.Env, kind, to string) []string {
	t.Helper()
	runPasswordResets(t, e)
	var bodies []string
	err := e.DB.Bun.NewRaw("SELECT text_body FROM mail_messages WHERE kind = ? AND to_address = ? ORDER BY id", kind, to).
		Scan(context.Background(), &bodies)
	if err != nil {
		t.Fatal(err)
	}
	return bodies
}

// runPasswordResets works the queued password_reset jobs as the node's
// worker does, and removes them.
func runPasswordResets(t *testing.T, e *servertest.Env) {
	t.Helper()
	ctx := context.Background()
	var jobs []struct {
		ID   int64                 `bun:"id"`
		Args jobargs.PasswordReset `bun:"args,type:jsonb"`
	}
	if err := e.DB.Bun.NewRaw("DELETE FROM river_job WHERE kind = 'password_reset' RETURNING id, args").Scan(ctx, &jobs); err != nil {
		t.Fatal(err)
	}
	reset := e.Nodes[0].JobDeps(nil, nil).PasswordReset
	for _, j := range jobs {
		if err := reset(ctx, j.Args.Email); err != nil {
			t.Fatalf("password_reset job %d: %v", j.ID, err)
		}
	}
}

func countRows(t *testing.T, e *servertest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.Bun.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

var linkRE = regexp.MustCompile(`(/customer/(?:email/verify|password/reset)/[A-Za-z0-9_-]+)`)

func link(t *testing.T, body string) string {
	t.Helper()
	m := linkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no portal link in email:\n%s", body)
	}
	return m[1]
}

func register(c *webtest.Client, name, email, pw, confirm string) *webtest.Response {
	c.GetCSRF("/customer/register")
	return c.PostForm("/customer/register", url.Values{
		"name": {name}, "email": {email}, "password": {pw}, "password_confirmation": {confirm},
	})
}

func TestRegistrationOffIs404(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	if r := c.Get("/customer/register"); r.StatusCode != 404 {
		t.Errorf("GET /customer/register with registration off: %d", r.StatusCode)
	}
	c.GetCSRF("/customer/login")
	r := c.PostForm("/customer/register", url.Values{"name": {"Nina"}, "email": {"nina@example.com"}, "password": {password}, "password_confirmation": {password}})
	if r.StatusCode != 404 {
		t.Errorf("POST /customer/register with registration off: %d", r.StatusCode)
	}
	if n := countRows(t, e, "SELECT count(*) FROM customers"); n != 0 {
		t.Errorf("customers created: %d", n)
	}
	if r := c.Get("/customer/login"); strings.Contains(r.Body, `href="/customer/register"`) {
		t.Error("sign-in page links to registration while it is off")
	}
}

func TestRegisterWithVerification(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"registration_enabled": "true", "email_verification_required": "true"})
	c := e.Client(t, webtest.Following())
	c.FollowRedirects = false

	r := register(c, "Nina New", "nina@example.com", password, password)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/login" {
		t.Fatalf("register: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	cu, err := customers.ByEmail(context.Background(), e.DB.Bun, "nina@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if cu.Confirmed() || cu.ClientID == "" || !cu.HasPassword() {
		t.Errorf("new account: confirmed %v, client id %q, password %v", cu.Confirmed(), cu.ClientID, cu.HasPassword())
	}
	if r := c.Get("/customer/login"); !strings.Contains(r.Body, "We have sent an email to nina@example.com") {
		t.Errorf("no neutral answer after registering:\n%s", r.Body)
	}
	confirmations := mails(t, e, mail.KindEmailConfirmation, "nina@example.com")
	if len(confirmations) != 1 {
		t.Fatalf("confirmation emails: %d", len(confirmations))
	}

	// Unconfirmed: the right password is told so, with the resend link.
	r = signIn(c, "nina@example.com", password)
	if r.StatusCode != 403 || !strings.Contains(r.Body, msgNotConfirmed) || !strings.Contains(r.Body, "/customer/email/resend") {
		t.Fatalf("unconfirmed sign-in: %d\n%s", r.StatusCode, r.Body)
	}
	// ... but a wrong password is not.
	if r := signIn(c, "nina@example.com", "wrong password!!"); r.StatusCode != 422 || strings.Contains(r.Body, msgNotConfirmed) {
		t.Errorf("unconfirmed, wrong password: %d\n%s", r.StatusCode, r.Body)
	}

	verify := link(t, confirmations[0])
	if r := c.Get(verify); r.StatusCode != 303 || r.Header.Get("Location") != "/customer/login" {
		t.Fatalf("verify: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if cu, _ = customers.Get(context.Background(), e.DB.Bun, cu.ID); !cu.Confirmed() {
		t.Fatal("not confirmed after the link")
	}
	if r := c.Get(verify); r.StatusCode != 400 || !strings.Contains(r.Body, "invalid") {
		t.Errorf("reused confirmation link: %d\n%s", r.StatusCode, r.Body)
	}
	mustSignIn(t, e, "nina@example.com")
}

func TestConfirmationLinkExpired(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := newCustomer(t, e, "late@example.com", false)
	c := e.Client(t)
	c.GetCSRF("/customer/email/resend")
	if r := c.PostForm("/customer/email/resend", url.Values{"email": {cu.Email}}); r.StatusCode != 303 {
		t.Fatalf("resend: %d\n%s", r.StatusCode, r.Body)
	}
	bodies := mails(t, e, mail.KindEmailConfirmation, cu.Email)
	if len(bodies) != 1 {
		t.Fatalf("confirmation emails after resend: %d", len(bodies))
	}
	if _, err := e.DB.Bun.NewRaw("UPDATE customer_tokens SET expires_at = now() - interval '1 minute'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(link(t, bodies[0])); r.StatusCode != 400 {
		t.Errorf("expired confirmation link: %d", r.StatusCode)
	}
	if cu, _ = customers.Get(context.Background(), e.DB.Bun, cu.ID); cu.Confirmed() {
		t.Error("confirmed by an expired link")
	}
	if r := c.Get("/customer/email/verify/not-a-token"); r.StatusCode != 400 {
		t.Errorf("unknown token: %d", r.StatusCode)
	}
}

func TestResendSameAnswer(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "done@example.com", true)
	var first *webtest.Response
	for _, email := range []string{"nobody@example.com", "done@example.com"} {
		c := e.Client(t)
		c.GetCSRF("/customer/email/resend")
		r := c.PostForm("/customer/email/resend", url.Values{"email": {email}})
		if first == nil {
			first = r
		}
		if r.StatusCode != first.StatusCode || r.Header.Get("Location") != first.Header.Get("Location") {
			t.Errorf("resend %s: %d %q, first %d %q", email, r.StatusCode, r.Header.Get("Location"), first.StatusCode, first.Header.Get("Location"))
		}
	}
	if n := countRows(t, e, "SELECT count(*) FROM mail_messages"); n != 0 {
		t.Errorf("emails sent for unknown/confirmed accounts: %d", n)
	}
}

func TestRegisterWithoutVerificationSignsIn(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"registration_enabled": "true", "email_verification_required": "false"})
	c := e.Client(t)
	r := register(c, "Quick Quinn", "quinn@example.com", password, password)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/dashboard" {
		t.Fatalf("register: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if r := c.Get("/customer/dashboard"); r.StatusCode != 200 || !strings.Contains(r.Body, "Quick Quinn") {
		t.Fatalf("dashboard after registering: %d\n%s", r.StatusCode, r.Body)
	}
	// Only the confirmation link, which proves the address: until then it
	// links no license (TestUnprovenEmailLinksNoLicense).
	if n := countRows(t, e, "SELECT count(*) FROM mail_messages"); n != 1 || len(mails(t, e, mail.KindEmailConfirmation, "quinn@example.com")) != 1 {
		t.Errorf("emails: %d, want the confirmation only", n)
	}
}

func TestRegisterExistingEmailAnswersLikeNew(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"registration_enabled": "true", "email_verification_required": "true"})
	newCustomer(t, e, "taken@example.com", true)

	fresh := register(e.Client(t), "Nina New", "fresh@example.com", password, password)
	taken := register(e.Client(t), "Eve Intruder", "TAKEN@example.com", password, password)
	if fresh.StatusCode != taken.StatusCode || fresh.Header.Get("Location") != taken.Header.Get("Location") {
		t.Errorf("new %d %q, existing %d %q", fresh.StatusCode, fresh.Header.Get("Location"), taken.StatusCode, taken.Header.Get("Location"))
	}
	if n := countRows(t, e, "SELECT count(*) FROM customers"); n != 2 {
		t.Errorf("customers: %d, want 2", n)
	}
	if got := mails(t, e, mail.KindPasswordReset, "taken@example.com"); len(got) != 1 {
		t.Errorf("the owner was not emailed: %d", len(got))
	}

	// Invalid input answers alike too: the field errors, never "taken".
	for _, email := range []string{"taken@example.com", "other@example.com"} {
		r := register(e.Client(t), "Eve", email, "short", "short")
		if r.StatusCode != 422 || strings.Contains(r.Body, "already been taken") || !strings.Contains(r.Body, "register-password-error") {
			t.Errorf("short password for %s: %d\n%s", email, r.StatusCode, r.Body)
		}
	}
	r := register(e.Client(t), "Mismatch Mo", "mo@example.com", password, password+"x")
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The password confirmation does not match.") {
		t.Errorf("mismatch: %d\n%s", r.StatusCode, r.Body)
	}
	if n := countRows(t, e, "SELECT count(*) FROM customers WHERE email = 'mo@example.com'"); n != 0 {
		t.Error("an account was created despite the mismatch")
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := newCustomer(t, e, "cora@example.com", true)
	c := e.Client(t)
	c.GetCSRF("/customer/login")
	before := c.Cookie(server.PortalSessionCookie)
	r := signIn(c, cu.Email, password)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/dashboard" {
		t.Fatalf("sign in: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	after := c.Cookie(server.PortalSessionCookie)
	if after == "" || after == before {
		t.Errorf("session id not rotated: %q → %q", before, after)
	}
	cookies := strings.Join(r.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(cookies, "max-age=7200") && !strings.Contains(cookies, "Max-Age=7200") {
		t.Errorf("session cookie without remember me: %s", cookies)
	}
	if r := c.Get("/customer/dashboard"); r.StatusCode != 200 || !strings.Contains(r.Body, cu.ClientID) || !strings.Contains(r.Body, `data-stat="total">0<`) {
		t.Fatalf("dashboard: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get("/customer/login"); r.StatusCode != 302 || r.Header.Get("Location") != "/customer/dashboard" {
		t.Errorf("signed-in GET /customer/login: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if n := countRows(t, e, "SELECT count(*) FROM customer_logins WHERE success AND customer_id = ? AND ip <> ''", cu.ID); n != 1 {
		t.Errorf("successful sign-ins recorded: %d", n)
	}
	if n := countRows(t, e, "SELECT count(*) FROM customers WHERE last_login_at IS NOT NULL"); n != 1 {
		t.Error("last_login_at not set")
	}

	// The pre-sign-in session id is worthless now.
	fixated := e.Client(t)
	fixated.SetCookie(server.PortalSessionCookie, before)
	if r := fixated.Get("/customer/dashboard"); r.StatusCode != 302 {
		t.Errorf("old session id still signed in: %d", r.StatusCode)
	}

	// By client ID, remembered.
	c2 := e.Client(t)
	r = signIn(c2, strings.ToUpper(cu.ClientID), password, "remember", "1")
	if r.StatusCode != 303 {
		t.Fatalf("sign in by client id: %d\n%s", r.StatusCode, r.Body)
	}
	cookies = strings.Join(r.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(strings.ToLower(cookies), "max-age=604800") {
		t.Errorf("remembered session cookie: %s", cookies)
	}
	if r := c2.Get("/customer/dashboard"); r.StatusCode != 200 {
		t.Errorf("dashboard after client-id sign-in: %d", r.StatusCode)
	}
}

func TestSignInFailuresSameMessage(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "cora@example.com", true)
	for _, tt := range []struct{ name, login, pw string }{
		{"wrong password", "cora@example.com", "not the password"},
		{"unknown account", "nobody@example.com", password},
		{"empty", "", ""},
	} {
		c := e.Client(t)
		r := signIn(c, tt.login, tt.pw)
		if r.StatusCode != 422 || !strings.Contains(r.Body, msgInvalid) {
			t.Errorf("%s: %d\n%s", tt.name, r.StatusCode, r.Body)
		}
		if r := c.Get("/customer/dashboard"); r.StatusCode != 302 {
			t.Errorf("%s: signed in anyway: %d", tt.name, r.StatusCode)
		}
	}
	if n := countRows(t, e, "SELECT count(*) FROM customer_logins WHERE NOT success AND reason = 'invalid_credentials'"); n != 3 {
		t.Errorf("failures recorded: %d", n)
	}
}

// A lockout lasts what is left of its window of the node's clock
// (login_lockout_minutes, clock-aligned).
func TestLockout(t *testing.T) {
	t.Parallel()
	// The clock stands at the start of a 15-minute window until the test
	// moves it.
	clk := servertest.NewClock(time.Now().Truncate(15 * time.Minute))
	e := servertest.NewWithClock(t, clk.Now)
	e.SetSettings(t, map[string]string{"login_max_attempts": "3", "login_lockout_minutes": "15"})
	cu := newCustomer(t, e, "cora@example.com", true)
	for _, login := range []string{cu.Email, "ghost@example.com"} {
		c := e.Client(t)
		for i := range 3 {
			if r := signIn(c, login, "wrong password"); r.StatusCode != 422 {
				t.Fatalf("%s attempt %d: %d", login, i+1, r.StatusCode)
			}
		}
		r := signIn(c, login, password)
		if r.StatusCode != 429 || !strings.Contains(r.Body, "Too many sign-in attempts") || r.Header.Get("Retry-After") != "900" {
			t.Errorf("%s after 3 failures: %d, Retry-After %q\n%s", login, r.StatusCode, r.Header.Get("Retry-After"), r.Body)
		}
	}
	// The lockout is the account's: its client ID is locked too, from
	// another client.
	if r := signIn(e.Client(t), cu.ClientID, password); r.StatusCode != 429 {
		t.Errorf("client id of a locked account: %d", r.StatusCode)
	}
	if n := countRows(t, e, "SELECT count(*) FROM customer_logins WHERE reason = 'locked_out'"); n != 3 {
		t.Errorf("locked-out attempts recorded: %d", n)
	}
	// Locked to the window's last second; the next window lets the right
	// password in.
	clk.Add(15*time.Minute - time.Second)
	if r := signIn(e.Client(t), cu.Email, password); r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
		t.Errorf("the window's last second: %d, Retry-After %q; want 429 and 1", r.StatusCode, r.Header.Get("Retry-After"))
	}
	clk.Add(time.Second)
	mustSignIn(t, e, cu.Email)
}

// One address guessing across many accounts, each under its own limit,
// is stopped by the address's limit (four times an account's, at least
// 20): the next attempt is refused, the right password included.
func TestLockoutPerIP(t *testing.T) {
	t.Parallel()
	// One 15-minute window of the node's clock, however long 21 sign-ins take.
	e := servertest.NewWithClock(t, servertest.NewClock(time.Now().Truncate(15*time.Minute)).Now)
	e.SetSettings(t, map[string]string{"login_max_attempts": "3", "login_lockout_minutes": "15"})
	cu := newCustomer(t, e, "cora@example.com", true)
	c := e.Client(t)
	for i := range 20 {
		if r := signIn(c, fmt.Sprintf("guess-%d@example.com", i), "wrong password"); r.StatusCode != 422 {
			t.Fatalf("attempt %d: %d", i+1, r.StatusCode)
		}
	}
	r := signIn(e.Client(t), cu.Email, password)
	if r.StatusCode != 429 || !strings.Contains(r.Body, "Too many sign-in attempts") || r.Header.Get("Retry-After") == "" {
		t.Fatalf("21st attempt from the address, right password: %d\n%s", r.StatusCode, r.Body)
	}
	if n := countRows(t, e, "SELECT count(*) FROM customer_logins WHERE reason = 'locked_out'"); n != 1 {
		t.Errorf("locked-out attempts recorded: %d", n)
	}
}

func TestRedirectsToPageAskedFor(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "cora@example.com", true)
	anon := e.Client(t)
	if r := anon.Get("/customer/dashboard"); r.StatusCode != 302 || r.Header.Get("Location") != "/customer/login?next=%2Fcustomer%2Fdashboard" {
		t.Errorf("anonymous dashboard: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for path, want := range map[string]string{"/login": "/customer/login", "/dashboard": "/customer/dashboard", "/customer": "/customer/dashboard"} {
		if r := anon.Get(path); r.StatusCode != 302 || r.Header.Get("Location") != want {
			t.Errorf("GET %s: %d %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	for _, tt := range []struct{ next, want string }{
		{"/customer/dashboard?x=1", "/customer/dashboard?x=1"},
		{"https://evil.example/", "/customer/dashboard"},
		{"//evil.example/x", "/customer/dashboard"},
		{`/\evil.example`, "/customer/dashboard"},
		{"javascript:alert(1)", "/customer/dashboard"},
	} {
		r := signIn(e.Client(t), "cora@example.com", password, "next", tt.next)
		if r.StatusCode != 303 || r.Header.Get("Location") != tt.want {
			t.Errorf("next=%q: %d %q, want %q", tt.next, r.StatusCode, r.Header.Get("Location"), tt.want)
		}
	}
}

func TestForgotAndReset(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := newCustomer(t, e, "cora@example.com", true)
	other := mustSignIn(t, e, cu.Email) // another browser, signed in before the reset
	third := mustSignIn(t, e, cu.Email)

	answers := map[string]*webtest.Response{}
	for _, email := range []string{"nobody@example.com", cu.Email} {
		c := e.Client(t)
		c.GetCSRF("/customer/password/forgot")
		answers[email] = c.PostForm("/customer/password/forgot", url.Values{"email": {email}})
	}
	a, b := answers["nobody@example.com"], answers[cu.Email]
	if a.StatusCode != 303 || a.StatusCode != b.StatusCode || a.Header.Get("Location") != b.Header.Get("Location") {
		t.Errorf("forgot answers differ: %d %q vs %d %q", a.StatusCode, a.Header.Get("Location"), b.StatusCode, b.Header.Get("Location"))
	}
	if got := mails(t, e, mail.KindPasswordReset, "nobody@example.com"); len(got) != 0 {
		t.Error("email sent to an unknown address")
	}
	resets := mails(t, e, mail.KindPasswordReset, cu.Email)
	if len(resets) != 1 {
		t.Fatalf("reset emails: %d", len(resets))
	}
	reset := link(t, resets[0])

	c := e.Client(t)
	c.GetCSRF(reset)
	if r := c.PostForm(reset, url.Values{"password": {"new password 123"}, "password_confirmation": {"different 123"}}); r.StatusCode != 422 {
		t.Errorf("mismatched reset: %d", r.StatusCode)
	}
	if r := c.PostForm(reset, url.Values{"password": {"short"}, "password_confirmation": {"short"}}); r.StatusCode != 422 {
		t.Errorf("short reset: %d", r.StatusCode)
	}
	r := c.PostForm(reset, url.Values{"password": {"new password 123"}, "password_confirmation": {"new password 123"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/login" {
		t.Fatalf("reset (after invalid tries, link still good): %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if r := other.Get("/customer/dashboard"); r.StatusCode != 302 {
		t.Errorf("other session survived the reset: %d", r.StatusCode)
	}
	// The ended sessions' browsers can sign in again, even straight from
	// the sign-in page.
	if r := signIn(third, cu.Email, "new password 123"); r.StatusCode != 303 {
		t.Errorf("sign in from the sign-in page of an ended session: %d\n%s", r.StatusCode, r.Body)
	}
	if r := signIn(other, cu.Email, "new password 123"); r.StatusCode != 303 {
		t.Errorf("sign in again after the session ended: %d\n%s", r.StatusCode, r.Body)
	}
	if r := signIn(e.Client(t), cu.Email, password); r.StatusCode != 422 {
		t.Errorf("old password still works: %d", r.StatusCode)
	}
	if r := signIn(e.Client(t), cu.Email, "new password 123"); r.StatusCode != 303 {
		t.Errorf("new password: %d", r.StatusCode)
	}
	c.GetCSRF(reset)
	if r := c.PostForm(reset, url.Values{"password": {"another pass 456"}, "password_confirmation": {"another pass 456"}}); r.StatusCode != 400 {
		t.Errorf("reused reset link: %d", r.StatusCode)
	}
}

func TestResetLinkExpired(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := newCustomer(t, e, "cora@example.com", true)
	c := e.Client(t)
	c.GetCSRF("/customer/password/forgot")
	c.PostForm("/customer/password/forgot", url.Values{"email": {cu.Email}})
	reset := link(t, mails(t, e, mail.KindPasswordReset, cu.Email)[0])
	if _, err := e.DB.Bun.NewRaw("UPDATE customer_tokens SET expires_at = now() - interval '1 second'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.GetCSRF(reset)
	if r := c.PostForm(reset, url.Values{"password": {"new password 123"}, "password_confirmation": {"new password 123"}}); r.StatusCode != 400 {
		t.Errorf("expired reset link: %d", r.StatusCode)
	}
	if r := signIn(e.Client(t), cu.Email, password); r.StatusCode != 303 {
		t.Errorf("password changed by an expired link: %d", r.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "cora@example.com", true)
	c := mustSignIn(t, e, "cora@example.com")
	c.GetCSRF("/customer/dashboard")
	if r := c.PostForm("/customer/logout", nil); r.StatusCode != 303 || r.Header.Get("Location") != "/customer/login" {
		t.Fatalf("logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Get("/customer/dashboard"); r.StatusCode != 302 {
		t.Errorf("still signed in after logout: %d", r.StatusCode)
	}
}

func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "cora@example.com", true)
	c := e.Client(t)
	c.GetCSRF("/customer/login")
	r := c.PostForm("/customer/login", url.Values{"_csrf": {"forged"}, "email": {"cora@example.com"}, "password": {password}})
	if r.StatusCode != 403 {
		t.Errorf("forged CSRF token: %d", r.StatusCode)
	}
	// The admin console's token is not the portal's.
	admin := e.Client(t)
	adminToken := admin.GetCSRF("/admin/login")
	if r := c.PostForm("/customer/login", url.Values{"_csrf": {adminToken}, "email": {"cora@example.com"}, "password": {password}}); r.StatusCode != 403 {
		t.Errorf("admin CSRF token accepted by the portal: %d", r.StatusCode)
	}
}

func TestAdminAndCustomerSessionsIndependent(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	newCustomer(t, e, "cora@example.com", true)
	admin := e.SignIn(t)
	if r := admin.Get("/customer/dashboard"); r.StatusCode != 302 {
		t.Errorf("admin session opens the portal: %d", r.StatusCode)
	}
	cust := mustSignIn(t, e, "cora@example.com")
	if r := cust.Get("/admin"); r.StatusCode != 302 {
		t.Errorf("customer session opens the console: %d", r.StatusCode)
	}
	// One browser, both signed in; signing out of one keeps the other.
	both := e.SignIn(t)
	if r := signIn(both, "cora@example.com", password); r.StatusCode != 303 {
		t.Fatalf("customer sign-in beside admin: %d", r.StatusCode)
	}
	both.GetCSRF("/customer/dashboard")
	both.PostForm("/customer/logout", nil)
	if r := both.Get("/admin"); r.StatusCode != 200 {
		t.Errorf("portal sign-out ended the admin session: %d", r.StatusCode)
	}
	if both.Cookie(server.PortalSessionCookie) == both.Cookie(server.AdminSessionCookie) {
		t.Error("one cookie for both sessions")
	}
}

func TestNewDeviceAlert(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"new_device_alerts": "true"})
	cu := newCustomer(t, e, "cora@example.com", true)
	signInAs := func(ua string) {
		t.Helper()
		c := e.Client(t)
		c.GetCSRF("/customer/login")
		r := c.PostForm("/customer/login", url.Values{"email": {cu.Email}, "password": {password}}, "User-Agent", ua)
		if r.StatusCode != 303 {
			t.Fatalf("sign in with %s: %d", ua, r.StatusCode)
		}
	}
	signInAs("Browser/1") // the first sign-in ever: nothing to compare with
	signInAs("Browser/1") // a known device
	if got := mails(t, e, mail.KindNewDevice, cu.Email); len(got) != 0 {
		t.Fatalf("alerts for a known device: %d", len(got))
	}
	signInAs("Other/2")
	if got := mails(t, e, mail.KindNewDevice, cu.Email); len(got) != 1 || !strings.Contains(got[0], "Other/2") {
		t.Errorf("alerts for a new device: %v", got)
	}
}

func TestLoginFragmentForHTMX(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	c.GetCSRF("/customer/login")
	r := c.PostForm("/customer/login", url.Values{"email": {"x@example.com"}, "password": {"nope"}}, "HX-Request", "true")
	if r.StatusCode != 422 || !strings.HasPrefix(strings.TrimSpace(r.Body), "<form") || strings.Contains(r.Body, "<html") {
		t.Errorf("htmx failure: %d\n%s", r.StatusCode, r.Body)
	}
}

func TestEmailFormsRateLimited(t *testing.T) {
	t.Parallel()
	// The node's clock stands at the start of an hour: one window of the
	// per-IP (15 minutes) and per-address (1 hour) limits.
	e := servertest.NewWithClock(t, servertest.NewClock(time.Now().Truncate(time.Hour)).Now)
	c := e.Client(t)
	for _, path := range []string{"/customer/email/resend", "/customer/password/forgot"} {
		c.GetCSRF(path)
		var r *webtest.Response
		for i := 0; i <= 10; i++ {
			r = c.PostForm(path, url.Values{"email": {"someone@example.com"}})
		}
		if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 11th request: %d", path, r.StatusCode)
		}
	}
}
