package licensing

import (
	"testing"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/signing"
)

// A license file names the linked customer when there is one, else the
// license's own customer ID and email, carries the license's terms and
// verifies with the ring's keys; it is called <reference>_<code>.lic.
func TestLicenseFile(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	secret := []byte("license file test instance secret")
	if _, err := signing.EnsureKey(f.ctx, f.d.Bun, secret, f.clock()); err != nil {
		t.Fatal(err)
	}
	ring, err := signing.Load(f.ctx, f.d.Bun, secret)
	if err != nil {
		t.Fatal(err)
	}
	own, mail, two := "client-own", "own@example.com", 2
	l := f.license("FILE-1", LicenseInput{CustomerID: fields.Some(&own), Email: fields.Some(&mail), ParallelUses: fields.Some(&two),
		Domains: fields.Some([]string{"example.com"})})
	now := f.clock()

	name, file, err := LicenseFile(ring, l, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if name != "ACME_FILE-1.lic" {
		t.Fatalf("name %q", name)
	}
	got, err := ring.VerifyLicenseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.LicenseCode != "FILE-1" || got.ProductRef != "ACME" || got.ProductName != "Acme CMS" ||
		*got.ClientID != own || *got.Email != mail || *got.ParallelUses != 2 || len(got.Domains) != 1 || !got.IssuedAt.Equal(now) {
		t.Fatalf("license file %+v", got)
	}

	cu := &customers.Customer{ClientID: "client-linked", Email: "linked@example.com"}
	_, file, err = LicenseFile(ring, l, cu, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = ring.VerifyLicenseFile(file); err != nil || *got.ClientID != "client-linked" || *got.Email != "linked@example.com" {
		t.Fatalf("with the linked customer: %+v, %v", got, err)
	}
}
