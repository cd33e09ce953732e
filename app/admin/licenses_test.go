package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
)

func licenseByCode(t *testing.T, e *servertest.Env, code string) *licensing.License {
	t.Helper()
	l, err := licensing.ByCode(context.Background(), e.DB.Bun, code)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func activate(t *testing.T, e *servertest.Env, code, domain string) {
	t.Helper()
	if _, err := e.DB.Bun.ExecContext(context.Background(), `INSERT INTO activations (product_id, license_id, license_code, domain, is_valid, is_active)
		SELECT product_id, id, license_code, ?, true, true FROM licenses WHERE license_code = ?`, domain, code); err != nil {
		t.Fatal(err)
	}
}

func TestLicenseListAndBulk(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "AAA-1", "CUST-ANN", "ann@example.org")
	seedLicense(t, e, "BBB-2", "", "bob@example.org")
	seedLicense(t, e, "CCC-3", "CUST-CAT", "")
	seedProduct(t, e, "Other", "OTHER", catalog.ProductInput{})
	activate(t, e, "AAA-1", "a.example.net")

	r := c.Get("/admin/licenses")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `data-copy="AAA-1"`) || !strings.Contains(r.Body, "1 / ∞") ||
		!strings.Contains(r.Body, `<span class="badge status-badge badge-valid">valid</span>`) {
		t.Fatalf("list: %d\n%s", r.StatusCode, r.Body)
	}
	has := func(body string, want ...string) {
		t.Helper()
		for _, code := range []string{"AAA-1", "BBB-2", "CCC-3"} {
			if strings.Contains(body, `<code title="`+code+`">`) != contains(want, code) {
				t.Errorf("want only %v listed\n%s", want, body)
				return
			}
		}
	}
	has(c.Get("/admin/licenses?q=bob@", "HX-Request", "true").Body, "BBB-2")
	has(c.Get("/admin/licenses?q=cust-cat").Body, "CCC-3")
	has(c.Get("/admin/licenses?q=aaa").Body, "AAA-1")
	has(c.Get("/admin/licenses?product=OTHER").Body)
	has(c.Get("/admin/licenses?product=ACME").Body, "AAA-1", "BBB-2", "CCC-3")
	if r := c.Get("/admin/licenses?sort=-license_code"); strings.Index(r.Body, "CCC-3") > strings.Index(r.Body, "AAA-1") {
		t.Error("not sorted descending")
	}

	a, b := licenseByCode(t, e, "AAA-1"), licenseByCode(t, e, "BBB-2")
	ids := url.Values{"ids": {fmt.Sprint(a.ID), fmt.Sprint(b.ID)}, "back": {"/admin/licenses?status=blocked"}}
	r = c.PostForm("/admin/licenses/bulk-block", ids)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/licenses?status=blocked" {
		t.Fatalf("bulk block: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.Get("/admin/licenses?status=blocked")
	if !strings.Contains(r.Body, "Blocked 2 licenses.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	has(r.Body, "AAA-1", "BBB-2")
	has(c.Get("/admin/licenses?status=valid").Body, "CCC-3")
	if l := licenseByCode(t, e, "AAA-1"); l.ActiveActivations != 0 {
		t.Errorf("blocking kept %d activations", l.ActiveActivations)
	}
	c.PostForm("/admin/licenses/bulk-unblock", ids)
	if l := licenseByCode(t, e, "BBB-2"); !l.IsValid {
		t.Error("bulk unblock did not unblock")
	}
	c.PostForm("/admin/licenses/bulk-delete", ids)
	if n := countRows(t, e, "licenses"); n != 1 {
		t.Errorf("licenses after bulk delete: %d", n)
	}
}

func TestLicenseCreate(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{
		DefaultLicenseType: fields.Some(strp("trial")), DefaultUses: fields.Some(intp(3)), DefaultSupportUntilDays: fields.Some(intp(30)),
	})
	r := c.Get("/admin/licenses/new")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `<option value="ACME">Acme CMS (ACME)</option>`) || !strings.Contains(r.Body, `hx-get="/admin/licenses/new"`) {
		t.Fatalf("form: %d\n%s", r.StatusCode, r.Body)
	}
	// Choosing the product fills in its defaults and keeps what was typed.
	r = c.Get("/admin/licenses/new?product=ACME&email=typed@example.org", "HX-Request", "true")
	if strings.Contains(r.Body, "<html") || !strings.Contains(r.Body, `name="type" value="trial"`) || !strings.Contains(r.Body, `name="uses" value="3"`) ||
		!strings.Contains(r.Body, `value="typed@example.org"`) || strings.Contains(r.Body, `name="support_until" value=""`) {
		t.Fatalf("defaults fragment:\n%s", r.Body)
	}

	r = c.PostForm("/admin/licenses", url.Values{"product": {"ACME"}, "email": {"buyer@example.org"}, "is_valid": {"1"},
		"domains": {"example.com\n*.shop.example"}, "expires_at": {"2099-01-31"}})
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/licenses/") {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	var l licensing.License
	if err := e.DB.Bun.NewSelect().Model(&l).Where("email = 'buyer@example.org'").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(l.LicenseCode) != 36 || *l.Type != "trial" || *l.Uses != 3 || l.SupportUntil == nil || len(l.Domains) != 2 || l.ExpiresAt == nil {
		t.Errorf("stored: %+v", l)
	}
	r = c.Get(r.Header.Get("Location"))
	if !strings.Contains(r.Body, "License "+l.LicenseCode+" created.") || !strings.Contains(r.Body, "license.created") {
		t.Errorf("detail after create:\n%s", r.Body)
	}

	for _, tc := range []struct {
		name, field, msg string
		form             url.Values
	}{
		{"product required", "product", "The product field is required.", url.Values{"email": {"kept@example.org"}}},
		{"code taken", "license_code", "The license code has already been taken.", url.Values{"product": {"ACME"}, "license_code": {strings.ToLower(l.LicenseCode)}}},
		{"bad email", "email", "The email field must be a valid email address.", url.Values{"product": {"ACME"}, "email": {"nope"}}},
		{"bad uses", "uses", "The uses field must be an integer.", url.Values{"product": {"ACME"}, "uses": {"lots"}}},
		{"bad date", "expires_at", "The expires at field must be a valid date.", url.Values{"product": {"ACME"}, "expires_at": {"31/01/2030"}}},
		{"bad ip", "ips", "IP 2 must be a valid IP address or CIDR range.", url.Values{"product": {"ACME"}, "ips": {"10.0.0.1\nnot-an-ip"}}},
		{"bad domain", "domains", "Domain 3 must be a valid domain name.", url.Values{"product": {"ACME"}, "domains": {"a.example\n\nb.example\nnot a domain!"}}},
		// Issue 15.6 and 15.8: past the bounds, the field is named (a 500 or a wrapped date before).
		{"days wrap", "expiry_days", "The expiry days field must not be greater than 36500.", url.Values{"product": {"ACME"}, "expiry_days": {"106752"}}},
		{"uses past integer", "uses", "The uses field must not be greater than 2147483647.", url.Values{"product": {"ACME"}, "uses": {"2147483648"}}},
		{"parallel past integer", "parallel_uses", "The parallel uses field must not be greater than 2147483647.", url.Values{"product": {"ACME"}, "parallel_uses": {"99999999999"}}},
		{"year 0000", "support_until", "The support until field must be a date between 1970-01-01 and 9999-12-31.", url.Values{"product": {"ACME"}, "support_until": {"0000-01-01"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.PostForm("/admin/licenses", tc.form)
			if r.StatusCode != 422 {
				t.Fatalf("status %d\n%s", r.StatusCode, r.Body)
			}
			if !strings.Contains(r.Body, fmt.Sprintf(`<small class="field-error" id="license-%s-error">`, tc.field)) || !strings.Contains(r.Body, tc.msg) {
				t.Fatalf("no %q next to %s:\n%s", tc.msg, tc.field, r.Body)
			}
			for k, v := range tc.form {
				if k != "product" && !strings.Contains(r.Body, strings.Split(v[0], "\n")[0]) {
					t.Errorf("typed %s %q not kept", k, v[0])
				}
			}
		})
	}
	if n := countRows(t, e, "licenses"); n != 1 {
		t.Errorf("licenses: %d", n)
	}
}

func TestLicenseDetailEditBlockDelete(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "AAA-1", "CUST-ANN", "ann@example.org")
	seedLicense(t, e, "OTHER-1", "", "")
	activate(t, e, "AAA-1", "one.example.net")
	activate(t, e, "AAA-1", "two.example.net")
	activate(t, e, "OTHER-1", "other.example.net")
	l := licenseByCode(t, e, "AAA-1")
	path := fmt.Sprintf("/admin/licenses/%d", l.ID)

	r := c.Get(path)
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Activations (2)") || !strings.Contains(r.Body, "one.example.net") ||
		strings.Contains(r.Body, "other.example.net") || !strings.Contains(r.Body, "/activations/") {
		t.Fatalf("detail: %d\n%s", r.StatusCode, r.Body)
	}
	var acts []licensing.Activation
	if err := e.DB.Bun.NewSelect().Model(&acts).Where("license_id = ?", l.ID).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Deactivate one activation; another license's activation is a 404.
	r = c.PostForm(fmt.Sprintf("%s/activations/%d/deactivate", path, acts[0].ID), nil)
	if r.StatusCode != 303 || licenseByCode(t, e, "AAA-1").ActiveActivations != 1 {
		t.Fatalf("deactivate: %d", r.StatusCode)
	}
	other := licenseByCode(t, e, "OTHER-1")
	if r := c.PostForm(fmt.Sprintf("/admin/licenses/%d/activations/%d/deactivate", other.ID, acts[1].ID), nil); r.StatusCode != 404 {
		t.Errorf("foreign activation: %d", r.StatusCode)
	}

	// Edit: bad input keeps values; good input saves.
	r = c.Get(path + "/edit")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `value="AAA-1" readonly`) || !strings.Contains(r.Body, `value="ann@example.org"`) {
		t.Fatalf("edit form: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm(path+"/edit", url.Values{"email": {"bad"}, "invoice": {"INV-9"}, "is_valid": {"1"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The email field must be a valid email address.") || !strings.Contains(r.Body, `value="INV-9"`) {
		t.Errorf("invalid edit: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm(path+"/edit", url.Values{"email": {"new@example.org"}, "invoice": {"INV-9"}, "uses": {"5"}, "is_valid": {"1"}})
	if r.StatusCode != 303 {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.Body)
	}
	if got := licenseByCode(t, e, "AAA-1"); *got.Email != "new@example.org" || *got.Invoice != "INV-9" || *got.Uses != 5 || got.CustomerID != nil {
		t.Errorf("saved: %+v", got)
	}

	// Blocking frees the remaining activation; unblocking keeps it freed.
	r = c.PostForm(path+"/block", nil)
	if r.StatusCode != 303 {
		t.Fatalf("block: %d", r.StatusCode)
	}
	if got := licenseByCode(t, e, "AAA-1"); got.IsValid || got.ActiveActivations != 0 {
		t.Errorf("after block: valid %v, active %d", got.IsValid, got.ActiveActivations)
	}
	r = c.Get(path)
	if !strings.Contains(r.Body, "License AAA-1 blocked; 1 activation freed.") || !strings.Contains(r.Body, "license.blocked") ||
		!strings.Contains(r.Body, "license.updated") || !strings.Contains(r.Body, `action="`+path+`/unblock"`) {
		t.Errorf("after block:\n%s", r.Body)
	}
	c.PostForm(path+"/unblock", nil)
	if got := licenseByCode(t, e, "AAA-1"); !got.IsValid || got.ActiveActivations != 0 {
		t.Errorf("after unblock: %+v", got)
	}

	// With activation records, a delete must name the license (what the
	// dialog asks to type); without, nothing is deleted.
	if r := c.Get(path+"/delete", "HX-Request", "true"); r.StatusCode != 200 || !strings.Contains(r.Body, `data-confirm-text="AAA-1"`) ||
		!strings.Contains(r.Body, "activation record") {
		t.Fatalf("delete dialog: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm(path+"/delete", url.Values{"confirm_name": {"AAA-"}}); r.StatusCode != 303 || licenseByCode(t, e, "AAA-1") == nil {
		t.Fatalf("delete without the code typed: %d", r.StatusCode)
	}
	r = c.PostForm(path+"/delete", url.Values{"confirm_name": {"AAA-1"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/licenses" {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := c.Get("/admin/licenses"); !strings.Contains(r.Body, "License AAA-1 deleted with its activations.") {
		t.Errorf("no flash")
	}
	for _, p := range []string{path, path + "/edit", "/admin/licenses/x"} {
		if r := c.Get(p); r.StatusCode != 404 {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
	}
}

func TestLicensePagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	seedLicense(t, e, "AAA-1", "", "")
	l := licenseByCode(t, e, "AAA-1")
	base := fmt.Sprintf("/admin/licenses/%d", l.ID)
	anon := e.Client(t)
	for _, p := range []string{"/admin/licenses", "/admin/licenses/new", base, base + "/edit"} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d", p, r.StatusCode)
		}
	}
	posts := []string{"/admin/licenses", "/admin/licenses/bulk-block", "/admin/licenses/bulk-unblock", "/admin/licenses/bulk-delete",
		base + "/edit", base + "/block", base + "/unblock", base + "/delete", base + "/activations/1/deactivate"}
	anon.GetCSRF("/admin/login")
	for _, p := range posts {
		if r := anon.PostForm(p, url.Values{"ids": {fmt.Sprint(l.ID)}, "product": {"ACME"}}); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range posts {
		if r := c.PostForm(p, url.Values{"ids": {fmt.Sprint(l.ID)}, "product": {"ACME"}}); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	if got := licenseByCode(t, e, "AAA-1"); !got.IsValid || countRows(t, e, "licenses") != 1 {
		t.Error("license changed")
	}
}

func strp(s string) *string { return &s }
