package portal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
)

// The settings page's fields (partials/field): an error is shown next to
// the field of the form that was sent, with aria-invalid pointing at it,
// and not on the same-named field of the page's other form.
func TestSettingsFieldErrors(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := newCustomer(t, e, "fay@example.com", true)
	c := mustSignIn(t, e, cu.Email)
	r := c.Get("/customer/settings")
	for _, want := range []string{
		`<label for="settings-name">Name</label>`,
		`<input id="settings-name" type="text" name="name" value="Cora Customer" required autocomplete="name">`,
		`<input id="settings-email" type="email" name="email" value="" required autocomplete="email">`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	c.GetCSRF("/customer/settings")
	r = c.PostForm("/customer/settings/password", url.Values{"current_password": {"wrong password!"}, "password": {"a fine new passphrase 15"}, "password_confirmation": {"a fine new passphrase 15"}})
	if r.StatusCode != 422 {
		t.Fatalf("wrong current password: %d", r.StatusCode)
	}
	for _, want := range []string{
		`<input id="settings-current_password" type="password" name="current_password" required autocomplete="current-password" aria-invalid="true" aria-describedby="settings-current_password-error">`,
		`<small class="field-error" id="settings-current_password-error">`,
		`<input id="settings-email-current_password" type="password" name="current_password" required autocomplete="current-password">`,
		`<input id="settings-password_confirmation" type="password" name="password_confirmation" required autocomplete="new-password">`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("after a wrong password the page lacks %s", want)
		}
	}
}

// The registration form's fields (partials/field): errors next to their
// fields, typed values kept, the password not echoed.
func TestRegisterFieldErrors(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"registration_enabled": "true"})
	c := e.Client(t)
	r := register(c, "", "nina@example.com", password, password+"x")
	if r.StatusCode != 422 {
		t.Fatalf("empty name, confirmation differs: %d", r.StatusCode)
	}
	for _, want := range []string{
		`<label for="register-name">Name</label>`,
		`<input id="register-name" type="text" name="name" value="" required autocomplete="name" aria-invalid="true" aria-describedby="register-name-error">`,
		`<small class="field-error" id="register-name-error">`,
		`<input id="register-email" type="email" name="email" value="nina@example.com" required autocomplete="email">`,
		`<input id="register-password_confirmation" type="password" name="password_confirmation" required autocomplete="new-password" aria-invalid="true" aria-describedby="register-password_confirmation-error">`,
		`<small class="field-error" id="register-password_confirmation-error">`,
		`name="password" required autocomplete="new-password" minlength="`,
		`data-strength data-min="`,
		`aria-describedby="register-password-hint">`,
		`<small class="field-hint" id="register-password-hint">At least `,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	if strings.Contains(r.Body, password) {
		t.Error("the form echoes the password")
	}
}
