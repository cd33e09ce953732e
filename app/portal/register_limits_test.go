package portal_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/server/servertest"
)

// TestRegistrationRateLimited is issue 15.3: registration is limited as
// forgot-password is, per IP and per address, the "already registered"
// path included. Fifteen registrations with a customer's email from
// fifteen addresses queue at most three reset emails to them; twelve new
// addresses from one IP get ten confirmation emails, then 429. The
// confirmation email repeats a plain name only.
func TestRegistrationRateLimited(t *testing.T) {
	t.Parallel()
	// The node's clock stands at the start of an hour: one window of the
	// per-IP (15 minutes) and per-address (1 hour) limits, however long
	// the test takes. X-Forwarded-For names the client (from the test's
	// own peer).
	e := servertest.NewWithClock(t, servertest.NewClock(time.Now().Truncate(time.Hour)).Now, func(cfg *config.Config) { cfg.HTTP.TrustedProxies = []string{"0.0.0.0"} })
	e.SetSettings(t, map[string]string{"registration_enabled": "true", "email_verification_required": "true"})
	cu := newCustomer(t, e, "cora@example.com", true)

	registerFrom := func(ip, name, email string) int {
		c := e.Client(t)
		c.GetCSRF("/customer/register")
		return c.PostForm("/customer/register", url.Values{
			"name": {name}, "email": {email}, "password": {password}, "password_confirmation": {password},
		}, "X-Forwarded-For", ip).StatusCode
	}
	var codes []int
	for i := range 15 {
		codes = append(codes, registerFrom(fmt.Sprintf("192.0.2.%d", i+1), "Eve Hill", cu.Email))
	}
	if got := len(mails(t, e, mail.KindPasswordReset, cu.Email)); got != 3 {
		t.Errorf("15 registrations with a customer's email queued %d reset emails, want 3", got)
	}
	if !slices.Equal(codes[:3], []int{303, 303, 303}) || slices.ContainsFunc(codes[3:], func(c int) bool { return c != 429 }) {
		t.Errorf("answers %v: want 3×303 then 429", codes)
	}

	codes = nil
	for i := range 12 {
		codes = append(codes, registerFrom("198.51.100.7", "Eve Hill", fmt.Sprintf("new%d@example.com", i)))
	}
	if n := countRows(t, e, "SELECT count(*) FROM mail_messages WHERE kind = ?", mail.KindEmailConfirmation); n != 10 {
		t.Errorf("12 registrations from one IP queued %d confirmation emails, want 10", n)
	}
	if codes[9] != 303 || codes[10] != 429 || codes[11] != 429 {
		t.Errorf("answers %v: want 10×303 then 429", codes)
	}

	// The per-address limit also holds for a new address, and a form with
	// a wrong field spends none of it.
	for range 5 {
		if s := registerFrom("203.0.113.9", "Eve Hill", "typo"); s != 422 {
			t.Fatalf("bad email: %d", s)
		}
	}
	if s := registerFrom("203.0.113.10", "Eve Hill", "fresh@example.com"); s != 303 {
		t.Errorf("a new address after bad forms: %d", s)
	}

	// Anything but a plain name is left out of the confirmation email.
	for i, name := range []string{"Win a prize at evil.example now", "Ann https://evil.example", "Ann <b>Lee</b>", "Call 555 0100 today"} {
		email := fmt.Sprintf("named%d@example.com", i)
		if s := registerFrom(fmt.Sprintf("203.0.113.%d", 20+i), name, email); s != 303 {
			t.Fatalf("register %q: %d", name, s)
		}
		body := mails(t, e, mail.KindEmailConfirmation, email)[0]
		if !strings.Contains(body, "\nHello,\n") || strings.Contains(body, "evil") || strings.Contains(body, "555") {
			t.Errorf("confirmation email for name %q:\n%s", name, body)
		}
	}
	if s := registerFrom("203.0.113.30", "Zoë O'Brien-Smith", "zoe@example.com"); s != 303 {
		t.Fatal(s)
	}
	if body := mails(t, e, mail.KindEmailConfirmation, "zoe@example.com")[0]; !strings.Contains(body, "\nHello Zoë O'Brien-Smith,\n") {
		t.Errorf("a plain name is greeted:\n%s", body)
	}
}

// TestForgotPasswordSameWork is issue 15.9: forgot-password does the same
// work whether or not the address has an account — one password_reset job
// queued, no email written while answering — and answers alike.
func TestForgotPasswordSameWork(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := newCustomer(t, e, "cora@example.com", true)
	for _, email := range []string{cu.Email, "nobody@example.com"} {
		c := e.Client(t)
		c.GetCSRF("/customer/password/forgot")
		r := c.PostForm("/customer/password/forgot", url.Values{"email": {email}})
		if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/login" {
			t.Fatalf("forgot %s: %d %q", email, r.StatusCode, r.Header.Get("Location"))
		}
		jobs := countRows(t, e, "SELECT count(*) FROM river_job WHERE kind = 'password_reset' AND args->>'email' = ?", email)
		written := countRows(t, e, "SELECT count(*) FROM mail_messages") + countRows(t, e, "SELECT count(*) FROM customer_tokens")
		if jobs != 1 || written != 0 {
			t.Errorf("forgot %s: %d jobs queued, %d mails and tokens written while answering; want 1 and 0", email, jobs, written)
		}
	}
	// The job sends the link to the account only.
	if n := len(mails(t, e, mail.KindPasswordReset, cu.Email)); n != 1 {
		t.Errorf("reset emails to the customer: %d", n)
	}
	if n := countRows(t, e, "SELECT count(*) FROM mail_messages WHERE to_address = 'nobody@example.com'"); n != 0 {
		t.Errorf("emails to an address without an account: %d", n)
	}
}
