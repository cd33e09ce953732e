package testfactory_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/testfactory"
)

func TestDefaultsAreUniqueAndValid(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a, b := testfactory.Activation(t, d.Bun, nil), testfactory.Activation(t, d.Bun, nil)
	if a.LicenseCode == b.LicenseCode || a.ProductID == b.ProductID || *a.Domain == *b.Domain {
		t.Errorf("two activations made without options share a license, product or domain: %+v %+v", a, b)
	}
	if !a.IsValid || !a.IsActive || a.ProductReferenceID == "" {
		t.Errorf("default activation: %+v, want a valid, active one read back with its product", a)
	}
	lic, err := licensing.Get(context.Background(), d.Bun, *a.LicenseID)
	if err != nil {
		t.Fatal(err)
	}
	if lic.TotalActivations != 1 || lic.ActiveActivations != 1 || !lic.IsValid || lic.Status(time.Now()) != licensing.StatusValid {
		t.Errorf("the activation's license: %d total, %d active, valid %v", lic.TotalActivations, lic.ActiveActivations, lic.IsValid)
	}
}

func TestOptionsAreStored(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	p := testfactory.Product(t, d.Bun, &testfactory.ProductOpts{Name: testfactory.Ptr("Acme CMS"), ReferenceID: testfactory.Ptr("ACME"), IsActive: testfactory.Ptr(false)})
	if p.Name != "Acme CMS" || p.ReferenceID != "ACME" || p.IsActive {
		t.Errorf("product: %+v", p)
	}
	c := testfactory.Customer(t, d.Bun, &testfactory.CustomerOpts{Email: testfactory.Ptr("ann@example.com"), Unconfirmed: true})
	if c.Email != "ann@example.com" || c.Confirmed() || c.HasPassword() {
		t.Errorf("customer: %+v, want ann's unconfirmed account without a password", c)
	}
	expires := time.Now().Add(-time.Hour).UTC()
	lic := testfactory.License(t, d.Bun, &testfactory.LicenseOpts{Product: p, Customer: c, LicenseCode: testfactory.Ptr("ACME-1"),
		ParallelUses: testfactory.Ptr(2), ExpiresAt: &expires, Domains: []string{"a.example.com"}})
	if lic.ProductReferenceID != "ACME" || lic.LicenseCode != "ACME-1" || *lic.CustomerID != c.ClientID || *lic.Email != c.Email ||
		*lic.ParallelUses != 2 || lic.Status(time.Now()) != licensing.StatusExpired || len(lic.Domains) != 1 {
		t.Errorf("license: %+v", lic)
	}
	failed := testfactory.Activation(t, d.Bun, &testfactory.ActivationOpts{License: lic, IsValid: testfactory.Ptr(false),
		FailureReason: testfactory.Ptr("license_expired"), IP: testfactory.Ptr("203.0.113.9")})
	if failed.IsValid || failed.IsActive || *failed.FailureReason != "license_expired" || *failed.IP != "203.0.113.9" {
		t.Errorf("failed attempt: %+v", failed)
	}
	if got, _ := licensing.Get(context.Background(), d.Bun, lic.ID); got.TotalActivations != 0 {
		t.Errorf("a failed attempt counted in total_activations: %d", got.TotalActivations)
	}
}
