package licensing

import (
	"testing"
	"time"

	"github.com/licensor/licensor/app/fields"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	other := f.newProduct("OTHER", "Other")
	l := f.license("CODE", LicenseInput{ParallelUses: fields.Some(intp(2)), Uses: fields.Some(intp(5))})
	f.mustActivate("CODE", "", caller("a.example.com"))

	res, err := Check(f.ctx, f.d.Bun, "code", nil, f.now)
	if err != nil || res.Failure != nil || res.License == nil {
		t.Fatalf("%+v %v", res, err)
	}
	got := res.License
	if got.ProductReferenceID != "ACME" || got.ProductName != "Acme CMS" || got.ActiveActivations != 1 ||
		*got.ParallelUsesLeft() != 1 || *got.UsesLeft() != 4 || got.Status(f.now) != StatusValid {
		t.Fatalf("%+v", got)
	}
	if res, _ := Check(f.ctx, f.d.Bun, "CODE", f.product, f.now); res.License == nil {
		t.Fatal("the license's own product")
	}
	if res, _ := Check(f.ctx, f.d.Bun, "CODE", other, f.now); res.License != nil {
		t.Fatal("another product's license is no license")
	}
	if res, _ := Check(f.ctx, f.d.Bun, "NOPE", nil, f.now); res.License != nil || res.Failure != nil {
		t.Fatal("unknown code")
	}

	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{ExpiresAt: fields.Some(timep(f.now.Add(-time.Minute)))}); err != nil {
		t.Fatal(err)
	}
	res, _ = Check(f.ctx, f.d.Bun, "CODE", nil, f.now)
	wantFailure(t, res.Failure, FailExpired)
	if res.License == nil {
		t.Fatal("an expired license still carries its data")
	}
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil {
		t.Fatal(err)
	}
	res, _ = Check(f.ctx, f.d.Bun, "CODE", nil, f.now)
	wantFailure(t, res.Failure, FailBlocked)
	if FailCheckInvalid.Message != "License is invalid." {
		t.Fatal(FailCheckInvalid)
	}
}
