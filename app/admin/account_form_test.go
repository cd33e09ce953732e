package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
)

// The account page's fields (partials/field): an error is shown next to
// the field of the form that was sent, with aria-invalid pointing at it,
// and not on the same-named field of the page's other form.
func TestAccountFieldErrors(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	c.GetCSRF("/admin/account")
	r := c.PostForm("/admin/account/password", url.Values{"current_password": {"wrong one"}, "password": {"my next admin passphrase 13"}, "password_confirmation": {"something else entirely 14"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current password: %d", r.StatusCode)
	}
	for _, want := range []string{
		`<label for="account-current">Current password</label>`,
		`<input id="account-current" type="password" name="current_password" required autocomplete="current-password" aria-invalid="true" aria-describedby="account-current-error">`,
		`<small class="field-error" id="account-current-error">The current password is not correct.</small>`,
		`<input id="account-email-current" type="password" name="current_password" required autocomplete="current-password">`,
		`<input id="account-name" type="text" name="name" value="` + servertest.AdminName + `" required autocomplete="name">`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(r.Body, `id="account-email-current-error"`) {
		t.Error("the email form shows the password form's error")
	}
	r = c.PostForm("/admin/account/profile", url.Values{"name": {""}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty name: %d", r.StatusCode)
	}
	if !strings.Contains(r.Body, `<input id="account-name" type="text" name="name" value="" required autocomplete="name" aria-invalid="true" aria-describedby="account-name-error">`) ||
		!strings.Contains(r.Body, `<small class="field-error" id="account-name-error">`) {
		t.Errorf("empty name: no error at the field\n%s", r.Body)
	}
}
