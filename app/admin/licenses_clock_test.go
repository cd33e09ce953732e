package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/server/servertest"
)

// The expiry clock in the console (docs/licensing.md#expiry-clock): the
// product form sets the default, the license form chooses a license's, the
// license page says which and whether it started, and the license and
// activation lists filter the licenses whose clock has not started (and the
// activations of licenses in grace).
func TestLicenseExpiryClockInConsole(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	seedLicense(t, e, "RUN-1", "", "")
	p, err := catalog.ByRef(ctx, e.DB.Bun, "ACME")
	if err != nil {
		t.Fatal(err)
	}
	productPath := fmt.Sprintf("/admin/products/%d", p.ID)
	if r := c.Get(productPath + "/edit"); !strings.Contains(r.Body, `<option value="first_activation" selected>`) {
		t.Fatalf("product form:\n%s", r.Body)
	}
	if r := c.PostForm(productPath+"/edit", url.Values{"name": {"Acme CMS"}, "is_active": {"1"}, "default_expiry_days": {"14"}, "default_expiry_start": {"sometime"}}); r.StatusCode != 422 ||
		!strings.Contains(r.Body, "The selected default expiry start is invalid.") {
		t.Fatalf("bad start: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm(productPath+"/edit", url.Values{"name": {"Acme CMS"}, "is_active": {"1"}, "default_expiry_days": {"14"}, "default_expiry_start": {"first_verify"}}); r.StatusCode != 303 {
		t.Fatalf("product edit: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get(productPath); !strings.Contains(r.Body, `<dd id="product-expiry-start">at the first verify</dd>`) {
		t.Fatalf("product page:\n%s", r.Body)
	}

	// The create form takes the product's default.
	if r := c.Get("/admin/licenses/new?product=ACME"); !strings.Contains(r.Body, `<option value="first_verify" selected>`) {
		t.Fatalf("new form:\n%s", r.Body)
	}
	if r := c.PostForm("/admin/licenses", url.Values{"product": {"ACME"}, "license_code": {"WAIT-1"}, "expiry_days": {"14"}, "expiry_start": {"first_verify"}, "is_valid": {"1"}}); r.StatusCode != 303 {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	wait := licenseByCode(t, e, "WAIT-1")
	if wait.ExpiryStart != "first_verify" || !wait.ClockPending() {
		t.Fatalf("created %+v", wait)
	}
	waitPath := fmt.Sprintf("/admin/licenses/%d", wait.ID)
	if r := c.Get(waitPath); !strings.Contains(r.Body, `14 days, starting at the first verify: <span class="badge badge-pending">not started</span>`) {
		t.Fatalf("waiting page:\n%s", r.Body)
	}
	// Switching it to creation starts it.
	if r := c.PostForm(waitPath+"/edit", url.Values{"expiry_days": {"14"}, "expiry_start": {"creation"}, "is_valid": {"1"}}); r.StatusCode != 303 {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get(waitPath); !strings.Contains(r.Body, "14 days, starting at creation: started ") {
		t.Fatalf("started page:\n%s", r.Body)
	}
	if r := c.PostForm("/admin/licenses", url.Values{"product": {"ACME"}, "license_code": {"WAIT-2"}, "expiry_days": {"14"}, "is_valid": {"1"}}); r.StatusCode != 303 {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm("/admin/licenses", url.Values{"product": {"ACME"}, "license_code": {"BAD-1"}, "expiry_start": {"never"}, "is_valid": {"1"}}); r.StatusCode != 422 ||
		!strings.Contains(r.Body, `id="license-expiry_start-error">The selected expiry start is invalid.`) {
		t.Fatalf("bad start: %d\n%s", r.StatusCode, r.Body)
	}

	r := c.Get("/admin/licenses?status=clock_not_started")
	if !strings.Contains(r.Body, "WAIT-2") || strings.Contains(r.Body, "WAIT-1") || strings.Contains(r.Body, "RUN-1") {
		t.Fatalf("clock filter:\n%s", r.Body)
	}

	// Activations by their license's state.
	activate(t, e, "WAIT-2", "wait.example.net")
	activate(t, e, "RUN-1", "grace.example.net")
	activate(t, e, "WAIT-1", "plain.example.net")
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE products SET grace_days = 7 WHERE reference_id = 'ACME'"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET expires_at = now() - interval '2 days' WHERE license_code = 'RUN-1'"); err != nil {
		t.Fatal(err)
	}
	r = c.Get("/admin/activations?license=clock_not_started")
	if !strings.Contains(r.Body, "wait.example.net") || strings.Contains(r.Body, "grace.example.net") || strings.Contains(r.Body, "plain.example.net") {
		t.Fatalf("activations, clock filter:\n%s", r.Body)
	}
	r = c.Get("/admin/activations?license=in_grace")
	if !strings.Contains(r.Body, "grace.example.net") || strings.Contains(r.Body, "wait.example.net") || strings.Contains(r.Body, "plain.example.net") {
		t.Fatalf("activations, grace filter:\n%s", r.Body)
	}
}

// The activation list's "Released (no heartbeat)" state lists the
// activations released for want of heartbeats, and no other inactive ones.
func TestActivationListReleasedFilter(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "HB-1", "", "")
	activate(t, e, "HB-1", "released.example.net")
	activate(t, e, "HB-1", "admin.example.net")
	activate(t, e, "HB-1", "live.example.net")
	for host, reason := range map[string]string{"released.example.net": "released", "admin.example.net": "admin"} {
		if _, err := e.DB.Bun.ExecContext(context.Background(),
			"UPDATE activations SET is_active = false, deactivation_reason = ?, deactivated_at = now() WHERE domain = ?", reason, host); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Get("/admin/activations?active=released")
	if !strings.Contains(r.Body, "released.example.net") || strings.Contains(r.Body, "admin.example.net") || strings.Contains(r.Body, "live.example.net") ||
		!strings.Contains(r.Body, `<option value="released" selected>`) {
		t.Fatalf("released filter:\n%s", r.Body)
	}
}
