package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/server/servertest"
)

// The license page shows an expired license in its product's grace period
// (docs/api/external.md#grace-period), and nothing once it has passed.
func TestLicensePageGracePeriod(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "GRACE-1", "", "")
	l := licenseByCode(t, e, "GRACE-1")
	path := fmt.Sprintf("/admin/licenses/%d", l.ID)
	exec := func(q string) {
		t.Helper()
		if _, err := e.DB.Bun.ExecContext(context.Background(), q, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE products SET grace_days = 7 WHERE id = (SELECT product_id FROM licenses WHERE id = ?)")
	if r := c.Get(path); strings.Contains(r.Body, "in grace") {
		t.Fatal("a license without expiry shows a grace period")
	}
	exec("UPDATE licenses SET expires_at = now() - interval '2 days' WHERE id = ?")
	if r := c.Get(path); !strings.Contains(r.Body, "in grace</span> until ") || !strings.Contains(r.Body, "LICENSE_IN_GRACE") {
		t.Fatalf("in grace:\n%s", r.Body)
	}
	exec("UPDATE licenses SET expires_at = now() - interval '8 days' WHERE id = ?")
	if r := c.Get(path); strings.Contains(r.Body, "in grace") {
		t.Fatal("a license past its grace period shows one")
	}
}

// Entitlements in the console (docs/licensing.md#entitlements): the license
// form edits them against the product's names, the page shows them, and the
// list filters by one; the in-grace status filter lists expired licenses in
// their grace period only.
func TestLicenseEntitlementsAndGraceFilter(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "ENT-1", "", "")
	seedLicense(t, e, "ENT-2", "", "")
	ctx := context.Background()
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE products SET entitlements = '{pro,sso}', grace_days = 7 WHERE reference_id = 'ACME'"); err != nil {
		t.Fatal(err)
	}
	l := licenseByCode(t, e, "ENT-1")
	path := fmt.Sprintf("/admin/licenses/%d", l.ID)
	if r := c.Get(path + "/edit"); !strings.Contains(r.Body, `name="entitlements"`) || !strings.Contains(r.Body, "<code>sso</code>") {
		t.Fatalf("edit form:\n%s", r.Body)
	}
	r := c.PostForm(path+"/edit", url.Values{"entitlements": {"SSO enterprise"}, "is_valid": {"1"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "enterprise") {
		t.Fatalf("unknown entitlement: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm(path+"/edit", url.Values{"entitlements": {"SSO"}, "is_valid": {"1"}}); r.StatusCode != 303 {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.Body)
	}
	if got := licenseByCode(t, e, "ENT-1").Entitlements; strings.Join(got, " ") != "sso" {
		t.Fatalf("stored %v", got)
	}
	if r := c.Get(path); !strings.Contains(r.Body, `<a href="/admin/licenses?entitlement=sso"><code>sso</code></a>`) {
		t.Fatalf("page:\n%s", r.Body)
	}
	r = c.Get("/admin/licenses?entitlement=sso")
	if !strings.Contains(r.Body, "ENT-1") || strings.Contains(r.Body, "ENT-2") {
		t.Fatalf("entitlement filter:\n%s", r.Body)
	}
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET expires_at = now() - interval '2 days' WHERE license_code = 'ENT-2'"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET expires_at = now() - interval '9 days' WHERE license_code = 'ENT-1'"); err != nil {
		t.Fatal(err)
	}
	r = c.Get("/admin/licenses?status=in_grace")
	if !strings.Contains(r.Body, "ENT-2") || strings.Contains(r.Body, "ENT-1") {
		t.Fatalf("in-grace filter:\n%s", r.Body)
	}
}

// The license page renews on the same key and lists the renewals
// (docs/licensing.md#renewals).
func TestLicensePageRenew(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "REN-1", "", "")
	activate(t, e, "REN-1", "one.example.net")
	l := licenseByCode(t, e, "REN-1")
	path := fmt.Sprintf("/admin/licenses/%d", l.ID)
	if r := c.Get(path); !strings.Contains(r.Body, `action="`+path+`/renew"`) || !strings.Contains(r.Body, "Never renewed.") {
		t.Fatalf("page:\n%s", r.Body)
	}
	if _, err := e.DB.Bun.ExecContext(context.Background(), "UPDATE licenses SET expires_at = now() - interval '3 days' WHERE id = ?", l.ID); err != nil {
		t.Fatal(err)
	}
	if r := c.PostForm(path+"/renew", url.Values{"days": {"0"}}); r.StatusCode != 303 || licenseByCode(t, e, "REN-1").ExpiresAt.After(time.Now()) {
		t.Fatalf("0 days: %d", r.StatusCode)
	}
	if r := c.PostForm(path+"/renew", url.Values{"days": {"30"}}); r.StatusCode != 303 {
		t.Fatalf("renew: %d\n%s", r.StatusCode, r.Body)
	}
	got := licenseByCode(t, e, "REN-1")
	if got.ExpiresAt == nil || got.ExpiresAt.Before(time.Now().AddDate(0, 0, 29)) || got.ActiveActivations != 1 {
		t.Fatalf("renewed: %v, %d active", got.ExpiresAt, got.ActiveActivations)
	}
	if r := c.Get(path); !strings.Contains(r.Body, "Renewals (1)") || !strings.Contains(r.Body, "License REN-1 renewed for 30 days") {
		t.Fatalf("page after renewal:\n%s", r.Body)
	}
}
