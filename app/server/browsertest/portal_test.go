package browsertest_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/server/browsertest"
	"github.com/licensor/licensor/app/signing"
)

// mailTimeout bounds the wait for an email: River picks the job up within
// a poll, then it goes over SMTP to mailtest.
const mailTimeout = 20 * time.Second

// link finds the absolute link to path (a prefix such as
// "/customer/email/verify/") in an email's text, and checks that it points
// at the node (base_url).
func link(t *testing.T, e *browsertest.Env, text, path string) string {
	t.Helper()
	m := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `[A-Za-z0-9_-]+`).FindString(text)
	if m == "" {
		t.Fatalf("no %s link in the email:\n%s", path, text)
	}
	if !strings.HasPrefix(m, e.URL+path) {
		t.Fatalf("email link %s does not lead to the node at %s", m, e.URL)
	}
	return m
}

// A new customer goes through the portal (issue #6, Tests): register, get
// the confirmation email, verify, sign in, see the dashboard and licenses,
// download the license file and verify its signature with the published
// public key, deactivate an activation, change the avatar, and sign out.
func TestPortal(t *testing.T) {
	t.Parallel()
	e := browsertest.New(t)
	e.SetSettings(t, map[string]string{
		"registration_enabled": "true", "email_verification_required": "true", "allow_customer_deactivation": "true",
	})
	const email, password = "nina@example.com", "violet harbour kettle 42"
	product := newProduct(t, e, "Widget Pro", "WIDGETPRO")
	// Bought before the account existed: linked by the confirmed email.
	lic := newLicense(t, e, product, "NINA-1111-2222-3333-4444", email)
	activate(t, e, product, lic.LicenseCode, "shop.nina.example")

	b := e.Browser(t)
	b.Open("/customer/register")
	b.WaitText("Create an account")
	b.Screenshot("register")
	b.FillForm("form.login-form", "name", "Nina New", "email", email, "password", password, "password_confirmation", password)
	b.ClickButton("Create account")
	b.WaitPath(`^/customer/login`)
	b.WaitText("We have sent an email to " + email)
	b.Screenshot("registered")

	// The confirmation email arrives over SMTP; its link verifies.
	confirm := e.WaitMail(t, email, "Confirm your email address", mailTimeout)
	b.Open(link(t, e, confirm.Text, "/customer/email/verify/"))
	b.WaitPath(`^/customer/login`)
	b.WaitText("Your email address is confirmed. You can sign in now.")
	b.Screenshot("email-confirmed")
	if n := scalar[int](t, e, "SELECT count(*) FROM customers WHERE email = ? AND confirmed_at IS NOT NULL", email); n != 1 {
		t.Fatalf("confirmed customers with %s: %d", email, n)
	}

	b.SignInCustomer(email, password)
	b.WaitText("Welcome, Nina New")
	if got := b.Text(`[data-stat="total"]`); got != "1" {
		t.Errorf("dashboard license total %q, want 1", got)
	}
	b.Screenshot("dashboard")

	// Licenses: the list masks the code; the detail page reveals it.
	b.ClickLink("Licenses")
	b.WaitPath(`^/customer/product-licenses$`)
	b.WaitText("Widget Pro")
	b.WaitText("NINA••••••••4444")
	if strings.Contains(b.Text("#portal-licenses-results"), lic.LicenseCode) {
		t.Error("the licenses list shows the whole code")
	}
	b.Screenshot("licenses")
	b.ClickLink("Widget Pro")
	b.WaitPath(`^/customer/product-licenses/\d+$`)
	b.WaitText("shop.nina.example")
	b.ClickButton("Reveal")
	b.WaitText(lic.LicenseCode)
	b.Screenshot("license")

	// Download the license file and check it as client software would,
	// offline, with the key published at /api/external/public-keys.
	b.ClickButton("Download license file")
	file := b.WaitDownload(`^WIDGETPRO_NINA-1111-2222-3333-4444\.lic$`)
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := signing.VerifyLicenseFile(body, publishedKeys(t, e))
	if err != nil {
		t.Fatalf("verify the downloaded license file: %v\n%s", err, body)
	}
	if lf.LicenseCode != lic.LicenseCode || lf.ProductRef != "WIDGETPRO" || lf.Email == nil || *lf.Email != email {
		t.Errorf("license file content: %+v", lf)
	}
	// A changed byte breaks the signature.
	tampered := []byte(strings.Replace(string(body), "A", "B", 1))
	if _, err := signing.VerifyLicenseFile(tampered, publishedKeys(t, e)); err == nil {
		t.Error("a tampered license file verifies")
	}

	// Deactivate the activation, confirming first; its slot is freed.
	b.ClickLink("Activations")
	b.WaitPath(`^/customer/product-activations$`)
	b.WaitText("shop.nina.example")
	b.Screenshot("activations")
	b.ClickLabel("Deactivate shop.nina.example")
	b.ConfirmDialog("Deactivate shop.nina.example?")
	b.WaitText("The activation on shop.nina.example was deactivated; its slot is free.")
	if n := scalar[int](t, e, "SELECT count(*) FROM activations WHERE license_id = ? AND is_active", lic.ID); n != 0 {
		t.Errorf("active activations after deactivating: %d", n)
	}
	if n := b.Count(`#portal-activations-results button[formaction*="/deactivate"]`); n != 0 {
		t.Errorf("%d deactivate buttons left", n)
	}
	b.Screenshot("activation-deactivated")

	b.ClickLink("Settings")
	b.WaitPath(`^/customer/settings$`)
	b.WaitText("Recent sign-ins")
	b.Screenshot("settings")

	// Change the avatar: a 300×200 PNG comes back as a square picture, in
	// the settings panel and in the header.
	b.Upload("#settings-avatar", writePNG(t, 300, 200))
	b.ClickButton("Upload picture")
	b.WaitText("Your picture has been saved.")
	b.WaitJS("the new picture loads, square", `(() => {
		const im = document.querySelector("#avatar img.avatar-large");
		return im && im.complete && im.naturalWidth > 0 && im.naturalWidth === im.naturalHeight; })()`)
	b.WaitJS("the header shows the picture", `(() => {
		const im = document.querySelector(".account img.avatar");
		return im && im.complete && im.naturalWidth > 0; })()`)
	b.ScreenshotOf("#avatar", "avatar")

	// Sign out: the dashboard asks for a sign-in again.
	b.ClickButton("Sign out")
	b.WaitPath(`^/customer/login`)
	b.WaitText("You have been signed out.")
	b.Screenshot("signed-out")
	b.Open("/customer/dashboard")
	b.WaitPath(`^/customer/login\?next=`)
}

// The forgotten-password flow end to end: ask for the link, open it from
// the email, choose a new password, sign in with it (the old one no longer
// works).
func TestPortalPasswordReset(t *testing.T) {
	t.Parallel()
	e := browsertest.New(t)
	const email, oldPassword, newPassword = "olga@example.com", "amber lantern orchard 7", "quiet copper meadow 19"
	newCustomer(t, e, "Olga Old", email, oldPassword)

	b := e.Browser(t)
	b.Open("/customer/login")
	b.ClickLink("Forgot your password?")
	b.WaitPath(`^/customer/password/forgot$`)
	b.WaitText("Forgot your password?")
	b.Fill("#forgot-email", email)
	b.Screenshot("forgot")
	b.ClickButton("Send the reset link")
	b.WaitText("If an account uses that address, we have sent it a link to reset the password.")
	b.Screenshot("forgot-sent")

	reset := e.WaitMail(t, email, "Reset your password", mailTimeout)
	b.Open(link(t, e, reset.Text, "/customer/password/reset/"))
	b.WaitText("Choose a new password")
	b.FillForm("form.login-form", "password", newPassword, "password_confirmation", newPassword)
	b.Screenshot("reset")
	b.ClickButton("Save the password")
	b.WaitPath(`^/customer/login`)
	b.WaitText("Your password has been changed. You can sign in with it now.")
	b.Screenshot("reset-done")

	// The old password is refused, with the message next to the form.
	b.FillForm("form.login-form", "email", email, "password", oldPassword)
	b.ClickButton("Sign in")
	b.WaitText("These credentials do not match our records.")
	b.Screenshot("old-password-refused")

	b.SignInCustomer(email, newPassword)
	b.WaitText("Welcome, Olga Old")
	b.Screenshot("dashboard")
}

// writePNG writes a w×h PNG (a gradient) to a temporary file.
func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 160, A: 255})
		}
	}
	name := filepath.Join(t.TempDir(), "me.png")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return name
}

// publishedKeys fetches GET /api/external/public-keys from the node and
// returns the lookup signing.VerifyLicenseFile needs.
func publishedKeys(t *testing.T, e *browsertest.Env) func(kid string) (ed25519.PublicKey, bool) {
	t.Helper()
	resp, err := http.Get(e.URL + "/api/external/public-keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("public keys: %d %v\n%s", resp.StatusCode, err, raw)
	}
	var keys signing.PublicKeysJSON
	if err := json.Unmarshal(raw, &keys); err != nil || len(keys.Data) == 0 {
		t.Fatalf("public keys: %v\n%s", err, raw)
	}
	return func(kid string) (ed25519.PublicKey, bool) {
		for _, k := range keys.Data {
			if k.KID == kid && k.Alg == "ed25519" {
				b, err := base64.StdEncoding.DecodeString(k.PublicKey)
				return ed25519.PublicKey(b), err == nil && len(b) == ed25519.PublicKeySize
			}
		}
		return nil, false
	}
}
