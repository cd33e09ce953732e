package licensing

import (
	"slices"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
)

func (f *licFixture) deactivateToken(a *Activation, client string, c Caller) *Failure {
	f.t.Helper()
	fl, err := f.s.DeactivateActivation(f.ctx, f.d.Bun, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: f.product.ReferenceID, ClientName: client, Caller: c})
	if err != nil {
		f.t.Fatal(err)
	}
	return fl
}

func TestDeactivateTokenPath(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	cust, err := customers.NewService(f.clock, customers.Hooks{}).Create(f.ctx, f.d.Bun, testAdmin, f.set,
		customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	if err != nil {
		t.Fatal(err)
	}
	l := f.license("ONE", LicenseInput{ParallelUses: fields.Some(intp(1)), CustomerID: fields.Some(strp("CUST-001"))})
	a := f.mustActivate("ONE", "CUST-001", caller("shop.example.com"))
	wantFailure(t, f.activate("ONE", "CUST-001", caller("shop.example.com")).Failure, FailParallelExhausted)

	wantFailure(t, f.deactivateToken(a, "", caller("evil.example.com")), FailVerifyInvalid)
	wantFailure(t, f.deactivateToken(a, "CUST-002", caller("shop.example.com")), FailVerifyInvalid)
	f.takeHooks()
	if fl := f.deactivateToken(a, "", caller("shop.example.com")); fl != nil {
		t.Fatal(*fl)
	}
	got := f.activation(a.ID)
	if got.IsActive || *got.DeactivationReason != ReasonClient || got.DeactivatedAt == nil {
		t.Fatalf("%+v", got)
	}
	if m := f.lastMessage(); m != "License ONE deactivated via API for product Acme CMS from https://shop.example.com." {
		t.Fatal(m)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"activation.deactivated ONE client"}) {
		t.Fatal(h)
	}
	acts, _ := audit.CustomerActivities(f.ctx, f.d.Bun, cust.ID, 1)
	if len(acts) != 1 || acts[0].Type != audit.CustomerLicenseDeactivated {
		t.Fatalf("%+v", acts)
	}
	wantFailure(t, f.deactivateToken(a, "", caller("shop.example.com")), FailDeactivated)
	// The slot is free again.
	b := f.mustActivate("ONE", "CUST-001", caller("shop.example.com"))

	// Works for a blocked license and an inactive product: a customer can
	// always free a slot. (Blocking already freed b; activate c by hand.)
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.deactivateToken(b, "", caller("shop.example.com")), FailDeactivated)
	if _, _, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, testAdmin, b.ID); err != nil {
		t.Fatal(err)
	}
	p, _, err := catalog.NewService(f.clock).SetProductActive(f.ctx, f.d.Bun, testAdmin, f.product.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	f.product = p
	if fl := f.deactivateToken(b, "", caller("shop.example.com")); fl != nil {
		t.Fatal(*fl)
	}
}

func TestDeactivateCodePath(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("MANY", LicenseInput{})
	a1 := f.mustActivate("MANY", "", caller("shop.example.com"))
	a2 := f.mustActivate("MANY", "", caller("shop.example.com"))
	keep := f.mustActivate("MANY", "", caller("other.example.com"))
	deactivate := func(code, client string, c Caller) *Failure {
		fl, err := f.s.DeactivateCode(f.ctx, f.d.Bun, VerifyCodeRequest{Product: f.product, LicenseCode: code, ClientName: client, Caller: c})
		if err != nil {
			t.Fatal(err)
		}
		return fl
	}
	wantFailure(t, deactivate("NOPE", "", caller("shop.example.com")), FailVerifyInvalid)
	wantFailure(t, deactivate("MANY", "", caller("nowhere.example.com")), FailVerifyInvalid)
	wantFailure(t, deactivate("MANY", "named", caller("shop.example.com")), FailVerifyInvalid)
	if fl := deactivate("many", "", caller("shop.example.com")); fl != nil {
		t.Fatal(*fl)
	}
	if f.activation(a1.ID).IsActive || f.activation(a2.ID).IsActive || !f.activation(keep.ID).IsActive {
		t.Fatal("every activation on the caller's host, and only those, are freed")
	}
	wantFailure(t, deactivate("MANY", "", caller("shop.example.com")), FailVerifyInvalid)
}
