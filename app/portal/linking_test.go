package portal_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
)

// TestUnprovenEmailLinksNoLicense is issue 15.4: with
// email_verification_required off, whoever registers with an address signs
// in at once but gets none of the licenses bought with it (the code, the
// license file, the deactivation of its activations) until the address is
// proven by its confirmation link.
func TestUnprovenEmailLinksNoLicense(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	e := s.e
	ctx := context.Background()
	e.SetSettings(t, map[string]string{"registration_enabled": "true", "email_verification_required": "false"})
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim, two, exp := "vic@example.com", 2, time.Now().AddDate(1, 0, 0)
	l, err := licensing.NewService(licensing.Options{}).CreateLicense(ctx, e.DB.Bun, audit.Source{Actor: audit.System}, set, licensing.LicenseInput{
		ProductReferenceID: fields.Some(s.product.ReferenceID), LicenseCode: fields.Some("VICT-1111-2222-3333-4444"),
		Email: fields.Some(&victim), ParallelUses: fields.Some(&two), ExpiresAt: fields.Some(&exp),
	})
	if err != nil {
		t.Fatal(err)
	}
	var act int64
	if err := e.DB.Bun.NewRaw(`INSERT INTO activations (license_id, product_id, license_code, domain, ip, is_valid, is_active)
		VALUES (?, ?, ?, 'vic.example.com', '203.0.113.7', true, true) RETURNING id`, l.ID, s.product.ID, l.LicenseCode).Scan(ctx, &act); err != nil {
		t.Fatal(err)
	}

	c := e.Client(t)
	if r := register(c, "Mal Lory", victim, password, password); r.StatusCode != 303 || r.Header.Get("Location") != "/customer/dashboard" {
		t.Fatalf("register: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	page := fmt.Sprintf("/customer/product-licenses/%d", l.ID)
	if r := c.Get("/customer/product-licenses"); r.StatusCode != 200 || strings.Contains(r.Body, "VICT") {
		t.Errorf("an unproven address lists the license bought with it: %d", r.StatusCode)
	}
	for _, p := range []string{page, page + "/code", page + "/file", page + "/download"} {
		if r := c.Get(p); r.StatusCode != 404 {
			t.Errorf("GET %s with an unproven address: %d, want 404", p, r.StatusCode)
		}
	}
	c.GetCSRF("/customer/product-activations")
	c.PostForm(fmt.Sprintf("/customer/product-activations/%d/deactivate", act), url.Values{})
	var active bool
	if err := e.DB.Bun.NewRaw("SELECT is_active FROM activations WHERE id = ?", act).Scan(ctx, &active); err != nil || !active {
		t.Errorf("an unproven address deactivated the owner's activation (active %v, %v)", active, err)
	}

	// Its confirmation link, sent even though the account signs in without
	// it, proves the address: the licenses are theirs then.
	confirm := mails(t, e, mail.KindEmailConfirmation, victim)
	if len(confirm) != 1 {
		t.Fatalf("confirmation emails: %d", len(confirm))
	}
	if r := c.Get(link(t, confirm[0])); r.StatusCode >= 400 {
		t.Fatalf("confirmation link: %d", r.StatusCode)
	}
	if r := c.Get(page); r.StatusCode != 200 || !strings.Contains(r.Body, "vic.example.com") {
		t.Errorf("license page once the address is proven: %d", r.StatusCode)
	}
}
