package licensing

import (
	"errors"
	"slices"
	"testing"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
)

func TestAdminActivationActions(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("ONE", LicenseInput{ParallelUses: fields.Some(intp(1))})
	a := f.mustActivate("ONE", "", caller("a.example.com"))
	f.activate("ONE", "", caller("b.example.com")) // refused: a failed row

	var failedRow Activation
	if err := f.d.Bun.NewSelect().Model(&failedRow).Where("NOT is_valid").Scan(f.ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, testAdmin, failedRow.ID)
	if verr, ok := fields.As(err); !ok || verr.First() != "Failed activation attempts cannot be activated." {
		t.Fatal(err)
	}

	got, changed, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin)
	if err != nil || !changed || got.IsActive || *got.DeactivationReason != ReasonAdmin {
		t.Fatalf("%+v %v %v", got, changed, err)
	}
	if _, changed, _ := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin); changed {
		t.Fatal("idempotent")
	}
	b := f.mustActivate("ONE", "", caller("b.example.com"))
	// The admin override exceeds parallel uses on purpose.
	got, changed, err = f.s.MarkActivationActive(f.ctx, f.d.Bun, testAdmin, a.ID)
	if err != nil || !changed || !got.IsActive || got.DeactivationReason != nil || got.DeactivatedAt != nil {
		t.Fatalf("%+v %v %v", got, changed, err)
	}
	if f.reload(l.ID).ActiveActivations != 2 {
		t.Fatal("override not applied")
	}
	if m := f.lastMessage(); m != "Activation "+itoa(a.ID)+" of license ONE marked active via console, without checking the license's limits." {
		t.Fatal(m)
	}
	if err := f.s.DeleteActivation(f.ctx, f.d.Bun, testAdmin, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := GetActivation(f.ctx, f.d.Bun, b.ID); !errors.Is(err, ErrActivationNotFound) {
		t.Fatal(err)
	}
	for _, err := range []error{
		f.s.DeleteActivation(f.ctx, f.d.Bun, testAdmin, b.ID),
		func() error { _, _, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, testAdmin, 999); return err }(),
	} {
		if !errors.Is(err, ErrActivationNotFound) {
			t.Fatal(err)
		}
	}
}

func TestListActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	ann, _ := customers.NewService(f.clock, customers.Hooks{}).Create(f.ctx, f.d.Bun, testAdmin, f.set,
		customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	f.license("MINE", LicenseInput{Email: fields.Some(strp("ann@example.com"))})
	f.license("THEIRS", LicenseInput{IsValid: fields.Some(false)})
	mine := f.mustActivate("MINE", "", caller("a.example.com"))
	f.activate("THEIRS", "", caller("evil.example.com"))

	yes, no := true, false
	cases := []struct {
		name string
		f    ActivationFilter
		want []string
	}{
		{"all", ActivationFilter{}, []string{"THEIRS", "MINE"}},
		{"failed", ActivationFilter{IsValid: &no}, []string{"THEIRS"}},
		{"active", ActivationFilter{IsActive: &yes}, []string{"MINE"}},
		{"by code", ActivationFilter{LicenseCode: "mine"}, []string{"MINE"}},
		{"by domain", ActivationFilter{Domain: "evil.example.com"}, []string{"THEIRS"}},
		{"search", ActivationFilter{Search: "203.0.113"}, []string{"THEIRS", "MINE"}},
		{"product", ActivationFilter{ProductReferenceID: "ACME"}, []string{"THEIRS", "MINE"}},
		{"customer (linking rule)", ActivationFilter{Customer: ann}, []string{"MINE"}},
		{"license", ActivationFilter{LicenseID: *mine.LicenseID}, []string{"MINE"}},
	}
	for _, c := range cases {
		got, total, err := ListActivations(f.ctx, f.d.Bun, c.f, "", listing.Page{})
		var codes []string
		for _, a := range got {
			codes = append(codes, a.LicenseCode)
		}
		if err != nil || total != len(c.want) || !slices.Equal(codes, c.want) {
			t.Errorf("%s: %v (%d, %v), want %v", c.name, codes, total, err, c.want)
		}
	}
}

func TestCustomerOwnsOnlyLinkedLicensesAndActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	cs := customers.NewService(f.clock, customers.Hooks{})
	ann, _ := cs.Create(f.ctx, f.d.Bun, testAdmin, f.set, customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	mine := f.license("MINE", LicenseInput{CustomerID: fields.Some(strp("cust-001"))})
	theirs := f.license("THEIRS", LicenseInput{CustomerID: fields.Some(strp("CUST-002")), Email: fields.Some(strp("ann@example.com"))})
	myAct := f.mustActivate("MINE", "CUST-001", caller("a.example.com"))
	theirAct := f.mustActivate("THEIRS", "CUST-002", caller("b.example.com"))

	if l, err := CustomerLicense(f.ctx, f.d.Bun, ann, mine.ID); err != nil || l.LicenseCode != "MINE" {
		t.Fatal(l, err)
	}
	if _, err := CustomerLicense(f.ctx, f.d.Bun, ann, theirs.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal("a license with another customer_id is not Ann's, whatever its email", err)
	}
	if a, err := CustomerActivation(f.ctx, f.d.Bun, ann, myAct.ID); err != nil || a.ID != myAct.ID {
		t.Fatal(a, err)
	}
	if _, err := CustomerActivation(f.ctx, f.d.Bun, ann, theirAct.ID); !errors.Is(err, ErrActivationNotFound) {
		t.Fatal(err)
	}
}

func TestDeactivateLicenseActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE", LicenseInput{})
	other := f.license("OTHER", LicenseInput{})
	a1 := f.mustActivate("CODE", "", caller("a.example.com"))
	a2 := f.mustActivate("CODE", "", caller("b.example.com"))
	keep := f.mustActivate("OTHER", "", caller("c.example.com"))
	f.takeHooks()

	n, err := f.s.DeactivateLicenseActivations(f.ctx, f.d.Bun, testAdmin, l.ID)
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	for _, id := range []int64{a1.ID, a2.ID} {
		if a := f.activation(id); a.IsActive || *a.DeactivationReason != ReasonAdmin {
			t.Fatalf("%+v", a)
		}
	}
	if !f.activation(keep.ID).IsActive || f.reload(other.ID).ActiveActivations != 1 {
		t.Fatal("another license's activation was touched")
	}
	if got := f.takeHooks(); !slices.Equal(got, []string{"activation.deactivated CODE admin", "activation.deactivated CODE admin"}) {
		t.Fatal(got)
	}
	if m := f.lastMessage(); m != "License CODE deactivated via console (2 activations)." {
		t.Fatal(m)
	}
	if n, err := f.s.DeactivateLicenseActivations(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil || n != 0 {
		t.Fatal("a second call has nothing to do", n, err)
	}
	if _, err := f.s.DeactivateLicenseActivations(f.ctx, f.d.Bun, testAdmin, 999); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}
