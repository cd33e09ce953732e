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
// from the key shown. The node's clock stands still while the browser
// works, so a code is never a step too old by the time the server reads
// it.
func TestConsoleTwoFactor(t *testing.T) {
	t.Parallel()
	clock := servertest.NewClock(time.Now())
	e := browsertest.NewWithClock(t, clock.Now)
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
	b.Fill("#tf-code", code(clock.Now()))
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
	// Each step's code is accepted once: the sign-in comes a step later.
	clock.Add(30 * time.Second)
	b.Fill("#two-factor-code", code(clock.Now()))
	b.ClickButton("Verify")
	b.WaitPath(`^/admin/?$`)
	b.WaitText("Sign out")
}
