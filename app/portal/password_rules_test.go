package portal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/server/servertest"
)

// A common password (in the embedded list, longer than the minimum) and
// one shorter than password_min_length are refused on every form that sets
// a password, with the message next to the field.
func TestWeakPasswordsRefused(t *testing.T) {
	t.Parallel()
	const common = "qwerty123456"
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"registration_enabled": "true", "password_min_length": "12"})

	c := e.Client(t)
	r := register(c, "Walt Weak", "walt@example.com", common, common)
	if r.StatusCode != 422 || !strings.Contains(r.Body, passwords.MsgCommon) || !strings.Contains(r.Body, `id="register-password-error"`) {
		t.Errorf("register with a common password: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, `value="walt@example.com"`) {
		t.Error("typed email not kept")
	}
	r = register(c, "Walt Weak", "walt@example.com", "short-pw1", "short-pw1")
	if r.StatusCode != 422 || !strings.Contains(r.Body, "at least 12") {
		t.Errorf("register with a short password: %d\n%s", r.StatusCode, r.Body)
	}
	if n := countRows(t, e, "SELECT count(*) FROM customers"); n != 0 {
		t.Fatalf("accounts created with weak passwords: %d", n)
	}
	if !strings.Contains(c.Get("/customer/register").Body, `data-strength data-min="12"`) {
		t.Error("no strength meter hook on the password field")
	}

	cu := newCustomer(t, e, "cora@example.com", true)
	s := mustSignIn(t, e, "cora@example.com")
	s.GetCSRF("/customer/settings")
	r = s.PostForm("/customer/settings/password", url.Values{"current_password": {password}, "password": {common}, "password_confirmation": {common}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, passwords.MsgCommon) {
		t.Errorf("change to a common password: %d\n%s", r.StatusCode, r.Body)
	}
	r = s.PostForm("/customer/settings/password", url.Values{"current_password": {password}, "password": {"xx cora@example.com"}, "password_confirmation": {"xx cora@example.com"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, passwords.MsgPersonal) {
		t.Errorf("change to a password holding the email: %d\n%s", r.StatusCode, r.Body)
	}

	anon := e.Client(t)
	anon.GetCSRF("/customer/password/forgot")
	anon.PostForm("/customer/password/forgot", url.Values{"email": {cu.Email}})
	resets := mails(t, e, mail.KindPasswordReset, cu.Email)
	if len(resets) != 1 {
		t.Fatalf("reset emails: %d", len(resets))
	}
	path := link(t, resets[0])
	anon.GetCSRF(path)
	r = anon.PostForm(path, url.Values{"password": {common}, "password_confirmation": {common}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, passwords.MsgCommon) {
		t.Errorf("reset to a common password: %d\n%s", r.StatusCode, r.Body)
	}
	// The link was not used up by the refusal.
	r = anon.PostForm(path, url.Values{"password": {"a much better passphrase"}, "password_confirmation": {"a much better passphrase"}})
	if r.StatusCode != 303 {
		t.Errorf("reset with a good password after a refusal: %d\n%s", r.StatusCode, r.Body)
	}
}
