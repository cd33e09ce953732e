package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
)

func TestLicenseSendDetails(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	srv := e.StartMailWorker(t)
	c := e.SignIn(t)
	seedLicense(t, e, "MAIL-1", "", "buyer@example.org")
	seedLicense(t, e, "MAIL-2", "", "other@example.org")
	seedLicense(t, e, "NOMAIL-3", "CUST-X", "")
	one, two, none := licenseByCode(t, e, "MAIL-1"), licenseByCode(t, e, "MAIL-2"), licenseByCode(t, e, "NOMAIL-3")

	if r := c.Get(fmt.Sprintf("/admin/licenses/%d", one.ID)); !strings.Contains(r.Body, fmt.Sprintf(`action="/admin/licenses/%d/send-details"`, one.ID)) {
		t.Fatalf("no send button:\n%s", r.Body)
	}
	r := c.PostForm(fmt.Sprintf("/admin/licenses/%d/send-details", one.ID), nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != fmt.Sprintf("/admin/licenses/%d", one.ID) {
		t.Fatalf("send: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Get(r.Header.Get("Location")); !strings.Contains(r.Body, "License details of MAIL-1 queued for buyer@example.org.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	got := srv.Wait(1, 10*time.Second)
	if len(got) != 1 || got[0].To[0] != "buyer@example.org" || got[0].Subject != "Your Acme CMS license details" || !strings.Contains(got[0].Text, "MAIL-1") {
		t.Fatalf("delivered: %+v", got)
	}

	// A license without an email is refused with a message; nothing queued.
	r = c.PostForm(fmt.Sprintf("/admin/licenses/%d/send-details", none.ID), nil)
	if r = c.Get(r.Header.Get("Location")); !strings.Contains(r.Body, "License NOMAIL-3 has no email address") {
		t.Errorf("no refusal:\n%s", r.Body)
	}
	if n := countRows(t, e, "mail_messages"); n != 1 {
		t.Errorf("mail rows after refusal: %d", n)
	}

	// Bulk: the two with email are sent, the one without is named.
	r = c.PostForm("/admin/licenses/bulk-send-details", url.Values{
		"ids": {fmt.Sprint(one.ID), fmt.Sprint(two.ID), fmt.Sprint(none.ID), "999999"}, "back": {"/admin/licenses?q=MAIL"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/licenses?q=MAIL" {
		t.Fatalf("bulk: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.Get(r.Header.Get("Location"))
	if !strings.Contains(r.Body, "License details queued for 2 licenses.") || !strings.Contains(r.Body, "Not sent: 1 license has no email address (NOMAIL-3)") {
		t.Errorf("bulk flashes:\n%s", r.Body)
	}
	got = srv.Wait(3, 10*time.Second)
	to := map[string]int{}
	for _, m := range got {
		to[m.To[0]]++
	}
	if len(got) != 3 || to["buyer@example.org"] != 2 || to["other@example.org"] != 1 {
		t.Errorf("delivered after bulk: %v", to)
	}
	// Nothing selected.
	r = c.PostForm("/admin/licenses/bulk-send-details", url.Values{})
	if r = c.Get(r.Header.Get("Location")); !strings.Contains(r.Body, "Select the licenses first.") {
		t.Errorf("empty selection:\n%s", r.Body)
	}
	if r := c.PostForm("/admin/licenses/999999/send-details", nil); r.StatusCode != 404 {
		t.Errorf("unknown license: %d", r.StatusCode)
	}
}

func TestLicenseGenerate(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	e.SetSettings(t, map[string]string{"license_code_format": "custom", "license_code_custom_format": "GEN-%X%X%X%X-%Z%Z%Z%Z"})
	seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{
		DefaultLicenseType: fields.Some(strp("trial")), DefaultParallelUses: fields.Some(intp(2)),
	})

	r := c.Get("/admin/licenses/generate?product=ACME")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `name="count"`) || !strings.Contains(r.Body, `name="type" value="trial"`) ||
		!strings.Contains(r.Body, `name="parallel_uses" value="2"`) || strings.Contains(r.Body, `name="license_code"`) {
		t.Fatalf("form: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get("/admin/licenses"); !strings.Contains(r.Body, `href="/admin/licenses/generate"`) {
		t.Error("the list does not link to the generate form")
	}

	// Bad input: the messages are next to their fields, typed values kept,
	// nothing created.
	for _, tc := range []struct{ count, product, field, msg string }{
		{"1", "ACME", "count", "The count field must be at least 2."},
		{"501", "ACME", "count", "The count field must not be greater than 500."},
		{"ten", "ACME", "count", "The count field must be an integer."},
		{"", "ACME", "count", "The count field is required."},
		{"5", "", "product", "The product field is required."},
		{"5", "NOPE", "product", "The selected product is invalid."},
	} {
		r := c.PostForm("/admin/licenses/generate", url.Values{"product": {tc.product}, "count": {tc.count}, "email": {"typed@example.org"}, "is_valid": {"1"}})
		if r.StatusCode != 422 || !strings.Contains(r.Body, `id="license-`+tc.field+`-error">`+tc.msg) || !strings.Contains(r.Body, `value="typed@example.org"`) {
			t.Errorf("count %q product %q: %d\n%s", tc.count, tc.product, r.StatusCode, r.Body)
		}
	}
	r = c.PostForm("/admin/licenses/generate", url.Values{"product": {"ACME"}, "count": {"5"}, "uses": {"-1"}, "is_valid": {"1"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, `id="license-uses-error"`) {
		t.Errorf("bad uses: %d\n%s", r.StatusCode, r.Body)
	}
	if n := countRows(t, e, "licenses"); n != 0 {
		t.Fatalf("bad input created %d licenses", n)
	}

	r = c.PostForm("/admin/licenses/generate", url.Values{"product": {"ACME"}, "count": {"25"}, "type": {"trial"}, "parallel_uses": {"2"},
		"email": {"reseller@example.org"}, "expires_at": {"2099-05-01"}, "is_valid": {"1"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/licenses/generated" {
		t.Fatalf("generate: %d\n%s", r.StatusCode, r.Body)
	}
	var list []licensing.License
	if err := e.DB.Bun.NewSelect().Model(&list).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(list) != 25 {
		t.Fatalf("generated %d", len(list))
	}
	seen := map[string]bool{}
	for _, l := range list {
		if !strings.HasPrefix(l.LicenseCode, "GEN-") || len(l.LicenseCode) != 13 || seen[l.LicenseCode] ||
			*l.Type != "trial" || *l.ParallelUses != 2 || *l.Email != "reseller@example.org" || l.ExpiresAt == nil {
			t.Fatalf("license %+v", l)
		}
		seen[l.LicenseCode] = true
	}
	r = c.Get("/admin/licenses/generated")
	if !strings.Contains(r.Body, "Generated 25 licenses for Acme CMS.") || !strings.Contains(r.Body, `href="/admin/licenses/generated/csv"`) ||
		!strings.Contains(r.Body, `data-copy="`+list[24].LicenseCode+`"`) {
		t.Fatalf("result page:\n%s", r.Body)
	}
	r = c.Get("/admin/licenses/generated/csv")
	rows := strings.Split(strings.TrimSpace(r.Body), "\n")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") ||
		len(rows) != 26 || !strings.HasPrefix(rows[0], "license_code,product_reference_id") || !strings.HasPrefix(rows[1], list[0].LicenseCode+",ACME,trial,,reseller@example.org,,2,2099-05-01") {
		t.Fatalf("csv: %d %q\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
	}
	if n := countRows(t, e, "activity_log WHERE type = 'license.created'"); n != 25 {
		t.Errorf("activity log: %d license.created", n)
	}
	// Another admin has no generation to show.
	if r := e.SignIn(t).Get("/admin/licenses/generated/csv"); r.StatusCode != 404 {
		t.Errorf("csv of another session: %d", r.StatusCode)
	}
}

// A custom format too small for the count fails as a whole: nothing is
// half-created.
func TestLicenseGenerateAllOrNothing(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	e.SetSettings(t, map[string]string{"license_code_format": "custom", "license_code_custom_format": "X-%X"})
	seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	r := c.PostForm("/admin/licenses/generate", url.Values{"product": {"ACME"}, "count": {"50"}, "is_valid": {"1"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, `id="license-count-error">Only `) {
		t.Fatalf("generate 50 codes from 10: %d\n%s", r.StatusCode, r.Body)
	}
	if n := countRows(t, e, "licenses"); n != 0 {
		t.Errorf("%d licenses left behind", n)
	}
}

func TestCustomerEmailActions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	srv := e.StartMailWorker(t)
	c := e.SignIn(t)
	ann := seedCustomer(t, e, "Ann Lee", "ann@example.org", "", false)
	bob := seedCustomer(t, e, "Bob Ray", "bob@example.org", "", true)
	annPath, bobPath := fmt.Sprintf("/admin/customers/%d", ann.ID), fmt.Sprintf("/admin/customers/%d", bob.ID)

	r := c.Get(annPath)
	if !strings.Contains(r.Body, `action="`+annPath+`/send-password-reset"`) || !strings.Contains(r.Body, `action="`+annPath+`/resend-confirmation"`) {
		t.Fatalf("actions missing:\n%s", r.Body)
	}
	if r := c.Get(bobPath); strings.Contains(r.Body, "/resend-confirmation") || !strings.Contains(r.Body, "/send-password-reset") {
		t.Error("a confirmed customer is offered a confirmation email, or no reset")
	}

	r = c.PostForm(annPath+"/send-password-reset", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != annPath {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	if r := c.Get(annPath); !strings.Contains(r.Body, "Password reset link queued for ann@example.org.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	got := srv.Wait(1, 10*time.Second)
	if len(got) != 1 || got[0].To[0] != "ann@example.org" || got[0].Subject != "Reset your password" || !strings.Contains(got[0].Text, "/customer/password/reset/") {
		t.Fatalf("reset email: %+v", got)
	}
	// The link works: its token opens a reset.
	tok := tokenIn(t, got[0].Text, "/customer/password/reset/")
	if _, err := customers.ConsumeToken(context.Background(), e.DB.Bun, tok, time.Now(), customers.TokenPasswordReset); err != nil {
		t.Errorf("reset token: %v", err)
	}

	if r := c.PostForm(annPath+"/resend-confirmation", nil); r.StatusCode != 303 {
		t.Fatalf("resend confirmation: %d", r.StatusCode)
	}
	if r := c.Get(annPath); !strings.Contains(r.Body, "Confirmation email queued for ann@example.org.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	got = srv.Wait(2, 10*time.Second)
	if len(got) != 2 || got[1].Subject != "Confirm your email address" || !strings.Contains(got[1].Text, "/customer/email/verify/") {
		t.Fatalf("confirmation email: %+v", got)
	}

	// A confirmed customer is refused a confirmation email.
	if r := c.PostForm(bobPath+"/resend-confirmation", nil); r.StatusCode != 303 {
		t.Fatalf("resend to a confirmed customer: %d", r.StatusCode)
	}
	if r := c.Get(bobPath); !strings.Contains(r.Body, "Bob Ray has already confirmed bob@example.org") {
		t.Errorf("no refusal:\n%s", r.Body)
	}
	if n := countRows(t, e, "mail_messages"); n != 2 {
		t.Errorf("mail rows: %d", n)
	}
	if n := countRows(t, e, "activity_log WHERE type IN ('customer.password_reset_sent', 'customer.confirmation_sent')"); n != 2 {
		t.Errorf("activity log rows: %d", n)
	}
	if r := c.PostForm("/admin/customers/999999/send-password-reset", nil); r.StatusCode != 404 {
		t.Errorf("unknown customer: %d", r.StatusCode)
	}
}

func tokenIn(t *testing.T, text, prefix string) string {
	t.Helper()
	i := strings.Index(text, prefix)
	if i < 0 {
		t.Fatalf("no %s link in\n%s", prefix, text)
	}
	rest := text[i+len(prefix):]
	if j := strings.IndexAny(rest, " \r\n>)\""); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func TestCustomerDetailShowsLoginHistory(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ann := seedCustomer(t, e, "Ann Lee", "ann@example.org", "", true)
	ctx := context.Background()
	for _, l := range []customers.Login{
		{CustomerID: &ann.ID, Login: "ann@example.org", IP: "203.0.113.9", UserAgent: "Firefox/130", Success: true},
		{CustomerID: &ann.ID, Login: "ann@example.org", IP: "198.51.100.4", UserAgent: "curl/8", Reason: customers.ReasonInvalidCredentials},
	} {
		if err := customers.RecordLogin(ctx, e.DB.Bun, l); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Get(fmt.Sprintf("/admin/customers/%d", ann.ID))
	for _, want := range []string{`id="customer-logins"`, "203.0.113.9", "Firefox/130", "198.51.100.4", "invalid_credentials", `<span class="avatar" aria-hidden="true">AL</span>`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("customer page lacks %q", want)
		}
	}
}

func TestNewConsoleActionsNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	seedLicense(t, e, "AAA-1", "", "a@example.org")
	l := licenseByCode(t, e, "AAA-1")
	cu := seedCustomer(t, e, "Ann Lee", "ann@example.org", "", false)
	anon := e.Client(t)
	for _, p := range []string{"/admin/licenses/generate", "/admin/licenses/generated", "/admin/licenses/generated/csv", "/admin/settings/signing-keys"} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d", p, r.StatusCode)
		}
	}
	posts := []string{
		"/admin/licenses/generate", "/admin/licenses/bulk-send-details", fmt.Sprintf("/admin/licenses/%d/send-details", l.ID),
		fmt.Sprintf("/admin/customers/%d/send-password-reset", cu.ID), fmt.Sprintf("/admin/customers/%d/resend-confirmation", cu.ID),
		"/admin/settings/signing-keys/rotate",
	}
	form := url.Values{"ids": {fmt.Sprint(l.ID)}, "product": {"ACME"}, "count": {"3"}}
	anon.GetCSRF("/admin/login")
	for _, p := range posts {
		if r := anon.PostForm(p, form); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range posts {
		if r := c.PostForm(p, form); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	if n := countRows(t, e, "licenses"); n != 1 {
		t.Errorf("licenses: %d", n)
	}
	if n := countRows(t, e, "mail_messages"); n != 0 {
		t.Errorf("mail queued: %d", n)
	}
	if n := countRows(t, e, "signing_keys"); n != 1 {
		t.Errorf("signing keys: %d", n)
	}
}
