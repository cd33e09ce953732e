package browsertest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/licensor/licensor/app/server/browsertest"
	"github.com/licensor/licensor/app/server/servertest"
)

// An admin turns on two-factor sign-in in a real browser (the QR code is
// drawn, the key is shown, a code from it confirms, the recovery codes are
// shown), signs out, and signs in with the password and a code computed
// from the key shown.
func TestConsoleTwoFactor(t *testing.T) {
	t.Parallel()
	e := browsertest.New(t)
	b := e.Browser(t)
	b.SignInAdmin()
	b.Open("/admin/account")
	b.WaitText("Sessions")
	b.Screenshot("account")
	b.ClickLink("Set up two-factor sign-in")
	b.WaitPath(`^/admin/account/two-factor$`)
	b.ClickButton("Set up two-factor sign-in")
	b.WaitVisible("#tf-secret")
	if b.Count(".qr-code svg path") != 1 {
		t.Fatal("no QR code drawn")
	}
	b.Screenshot("two-factor-setup")
	secret := strings.ReplaceAll(b.Text("#tf-secret"), " ", "")
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The previous step's code confirms (one step of drift), so the
	// sign-in below can use the current step's without waiting for the
	// next one: each step is accepted once.
	b.Fill("#tf-code", code(time.Now().Add(-30*time.Second)))
	b.ClickButton("Confirm and turn on")
	b.WaitText("Your recovery codes")
	if n := b.Count(".code-list li"); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	b.Screenshot("recovery-codes")

	b.ClickButton("Sign out")
	b.WaitPath(`^/admin/login`)
	b.FillForm("form.login-form", "email", servertest.AdminEmail, "password", servertest.AdminPassword)
	b.ClickButton("Sign in")
	b.WaitPath(`^/admin/login/two-factor$`)
	b.Screenshot("two-factor-sign-in")
	b.Fill("#two-factor-code", code(time.Now()))
	b.ClickButton("Verify")
	b.WaitPath(`^/admin/?$`)
	b.WaitText("Sign out")
}
