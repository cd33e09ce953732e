package licensing

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
)

func TestCreateLicenseTakesProductDefaults(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	p, err := catalog.NewService(f.clock).CreateProduct(f.ctx, f.d.Bun, testAdmin, f.set, catalog.ProductInput{
		Name: fields.Some("Pro"), ReferenceID: fields.Some("PRO"),
		DefaultLicenseType: fields.Some(strp("perpetual")), DefaultUses: fields.Some(intp(10)), DefaultParallelUses: fields.Some(intp(1)),
		DefaultExpiryDays: fields.Some(intp(365)), DefaultUpdatesUntilDays: fields.Some(intp(30)), DefaultSupportUntilDays: fields.Some(intp(7)),
		DefaultComments: fields.Some(strp("from the shop")),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.s.CreateLicense(f.ctx, f.d.Bun, testAdmin, f.set, LicenseInput{
		ProductReferenceID: fields.Some("pro"), Uses: fields.Some[*int](nil), ParallelUses: fields.Some(intp(3)),
		Email: fields.Some(strp("Ann@Example.com")), Domains: fields.Some([]string{"https://WWW.Example.com/x", "*.example.org", "example.com"}),
		IPs: fields.Some([]string{"10.0.0.0/8", "::ffff:192.0.2.1", "172.16.*", " "}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if l.ProductID != p.ID || l.ProductReferenceID != "PRO" || l.ProductName != "Pro" || *l.Type != "perpetual" ||
		*l.Uses != 10 || *l.ParallelUses != 3 || *l.ExpiryDays != 365 || l.ExpiresAt != nil || *l.Comments != "from the shop" ||
		!l.UpdatesUntil.Equal(f.now.Add(30*24*time.Hour)) || !l.SupportUntil.Equal(f.now.Add(7*24*time.Hour)) ||
		!l.IsValid || l.IsEnvato || *l.Email != "Ann@Example.com" || l.Status(f.now) != StatusValid {
		t.Fatalf("%+v", l)
	}
	if !slices.Equal(l.Domains, []string{"example.com", "*.example.org"}) {
		t.Fatalf("domains %q", l.Domains)
	}
	if !slices.Equal(l.IPs, []string{"10.0.0.0/8", "192.0.2.1", "172.16.0.0/16"}) {
		t.Fatalf("ips %q", l.IPs)
	}
	if len(l.LicenseCode) != 36 || strings.ToUpper(l.LicenseCode) != l.LicenseCode {
		t.Fatalf("generated code %q: an upper-case UUID by default", l.LicenseCode)
	}
	if m := f.lastMessage(); m != "License "+l.LicenseCode+" created via console." {
		t.Fatal(m)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"license.created " + l.LicenseCode}) {
		t.Fatal(h)
	}

	// Without defaults, uses and parallel uses are unlimited.
	plain := f.license("PLAIN", LicenseInput{})
	if plain.Uses != nil || plain.ParallelUses != nil || plain.UpdatesUntil != nil || plain.UsesLeft() != nil || plain.ParallelUsesLeft() != nil {
		t.Fatalf("%+v", plain)
	}
}

func TestLicenseValidation(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("TAKEN", LicenseInput{})
	cases := []struct {
		in          LicenseInput
		field, want string
	}{
		{LicenseInput{}, "product_reference_id", "The product reference id field is required."},
		{LicenseInput{ProductReferenceID: fields.Some("NOPE")}, "product_reference_id", "The selected product reference id is invalid."},
		{LicenseInput{LicenseCode: fields.Some("taken")}, "license_code", "The license code has already been taken."},
		{LicenseInput{LicenseCode: fields.Some("has space")}, "license_code", "The license code field format is invalid."},
		{LicenseInput{LicenseCode: fields.Some(strings.Repeat("C", 101))}, "license_code", "The license code field must not be greater than 100 characters."},
		{LicenseInput{Type: fields.Some(strp(strings.Repeat("t", 101)))}, "type", "The type field must not be greater than 100 characters."},
		{LicenseInput{CustomerID: fields.Some(strp(strings.Repeat("c", 156)))}, "customer_id", "The customer id field must not be greater than 155 characters."},
		{LicenseInput{Email: fields.Some(strp("nope"))}, "email", "The email field must be a valid email address."},
		{LicenseInput{Invoice: fields.Some(strp(strings.Repeat("i", 256)))}, "invoice", "The invoice field must not be greater than 255 characters."},
		{LicenseInput{Uses: fields.Some(intp(-1))}, "uses", "The uses field must be at least 0."},
		{LicenseInput{ParallelUses: fields.Some(intp(-1))}, "parallel_uses", "The parallel uses field must be at least 0."},
		{LicenseInput{Domains: fields.Some([]string{"ok.example.com", "http://"})}, "domains.1", "The domains.1 field must be a valid domain name."},
		{LicenseInput{IPs: fields.Some([]string{"10.0.0.1", "not-an-ip"})}, "ips.1", "The ips.1 field must be a valid IP address or CIDR range."},
	}
	for _, c := range cases {
		if !c.in.ProductReferenceID.Set && c.field != "product_reference_id" {
			c.in.ProductReferenceID = fields.Some("ACME")
		}
		_, err := f.s.CreateLicense(f.ctx, f.d.Bun, testAdmin, f.set, c.in)
		verr, ok := fields.As(err)
		if !ok || verr.Map()[c.field] != c.want {
			t.Errorf("got %v, want %s: %q", err, c.field, c.want)
		}
	}
	if n := f.count("SELECT count(*) FROM licenses"); n != 1 {
		t.Fatalf("%d licenses", n)
	}
}

func TestUpdateLicense(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE", LicenseInput{Uses: fields.Some(intp(5)), Email: fields.Some(strp("a@example.com"))})
	for _, c := range []struct {
		in   LicenseInput
		want string
	}{
		{LicenseInput{ProductReferenceID: fields.Some("OTHER")}, "The product reference id cannot be changed."},
		{LicenseInput{LicenseCode: fields.Some("NEW")}, "The license code cannot be changed."},
	} {
		_, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, c.in)
		if verr, ok := fields.As(err); !ok || verr.First() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	got, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{
		ProductReferenceID: fields.Some("acme"), LicenseCode: fields.Some("code"),
		Uses: fields.Some[*int](nil), Email: fields.Some(strp("")), Comments: fields.Some(strp("note")),
		Domains: fields.Some([]string{"example.com"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Uses != nil || got.Email != nil || *got.Comments != "note" || !slices.Equal(got.Domains, []string{"example.com"}) {
		t.Fatalf("%+v", got)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"license.updated CODE email,comments,uses,domains"}) {
		t.Fatal(h)
	}
	// Sending the stored values changes nothing and logs nothing.
	before := f.count("SELECT count(*) FROM activity_log")
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{Comments: fields.Some(strp("note"))}); err != nil {
		t.Fatal(err)
	}
	if after := f.count("SELECT count(*) FROM activity_log"); after != before || len(f.takeHooks()) != 0 {
		t.Fatal("a no-op update was logged or hooked")
	}
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, 999, LicenseInput{}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}

	// is_valid false through an update is a block, with all its effects.
	a := f.mustActivate("CODE", "", caller("example.com"))
	f.takeHooks()
	got, err = f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{IsValid: fields.Some(false)})
	if err != nil {
		t.Fatal(err)
	}
	if got.IsValid || got.ActiveActivations != 0 || f.activation(a.ID).IsActive {
		t.Fatalf("%+v", got)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"activation.deactivated CODE blocked", "license.blocked CODE"}) {
		t.Fatal(h)
	}
}

func TestBlockFreesActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE", LicenseInput{ParallelUses: fields.Some(intp(2))})
	a := f.mustActivate("CODE", "", caller("a.example.com"))
	b := f.mustActivate("CODE", "", caller("b.example.com"))
	f.takeHooks()

	got, changed, err := f.s.Block(f.ctx, f.d.Bun, testAdmin, l.ID)
	if err != nil || !changed || got.IsValid || got.ActiveActivations != 0 || got.Status(f.now) != StatusBlocked {
		t.Fatalf("%+v %v %v", got, changed, err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		if act := f.activation(id); act.IsActive || *act.DeactivationReason != ReasonBlocked {
			t.Fatalf("%+v", act)
		}
	}
	if m := f.lastMessage(); m != "License CODE blocked via console." {
		t.Fatal(m)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"activation.deactivated CODE blocked", "activation.deactivated CODE blocked", "license.blocked CODE"}) {
		t.Fatal(h)
	}
	if _, changed, _ := f.s.Block(f.ctx, f.d.Bun, testAdmin, l.ID); changed {
		t.Fatal("blocking twice is a no-op")
	}
	got, changed, err = f.s.Unblock(f.ctx, f.d.Bun, testAdmin, l.ID)
	if err != nil || !changed || !got.IsValid || got.ActiveActivations != 0 {
		t.Fatal("unblocking restores only the flag", got, err)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"license.unblocked CODE"}) {
		t.Fatal(h)
	}
	f.mustActivate("CODE", "", caller("a.example.com"))
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, testAdmin, 999); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestDeleteLicenseTakesItsActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE", LicenseInput{})
	f.mustActivate("CODE", "", caller("a.example.com"))
	if err := f.s.DeleteLicense(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT count(*) FROM activations"); n != 0 {
		t.Fatal(n)
	}
	if _, err := Find(f.ctx, f.d.Bun, "CODE"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := f.s.DeleteLicense(f.ctx, f.d.Bun, testAdmin, l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestListLicenses(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	no := false
	cs := customers.NewService(f.clock, customers.Hooks{})
	ann, _ := cs.Create(f.ctx, f.d.Bun, testAdmin, f.set, customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	uma, _ := cs.Create(f.ctx, f.d.Bun, testAdmin, f.set, customers.CreateParams{Name: "Uma", Email: "uma@example.com", ClientID: "CUST-002", Confirmed: &no, SelfRegistered: true})
	f.license("VALID", LicenseInput{CustomerID: fields.Some(strp("cust-001"))})
	f.license("EXPIRED", LicenseInput{ExpiresAt: fields.Some(timep(f.now.Add(-time.Hour))), Email: fields.Some(strp("ANN@example.com"))})
	f.license("BLOCKED", LicenseInput{IsValid: fields.Some(false), Email: fields.Some(strp("uma@example.com"))})
	f.advance(time.Second)

	cases := []struct {
		name string
		f    LicenseFilter
		want []string
	}{
		{"all newest first", LicenseFilter{}, []string{"BLOCKED", "EXPIRED", "VALID"}},
		{"valid", LicenseFilter{Status: StatusValid}, []string{"VALID"}},
		{"expired", LicenseFilter{Status: StatusExpired}, []string{"EXPIRED"}},
		{"blocked", LicenseFilter{Status: StatusBlocked}, []string{"BLOCKED"}},
		{"search email", LicenseFilter{Search: "ann@"}, []string{"EXPIRED"}},
		{"code contains, not email", LicenseFilter{Code: "ire"}, []string{"EXPIRED"}},
		{"code with LIKE wildcards", LicenseFilter{Code: "%"}, nil},
		{"customer id", LicenseFilter{CustomerID: "CUST-001"}, []string{"VALID"}},
		{"product", LicenseFilter{ProductReferenceID: "acme"}, []string{"BLOCKED", "EXPIRED", "VALID"}},
		{"Ann's licenses: by client id and confirmed email", LicenseFilter{Customer: ann}, []string{"EXPIRED", "VALID"}},
		{"Uma's: unproven email links nothing", LicenseFilter{Customer: uma}, nil},
	}
	for _, c := range cases {
		got, total, err := ListLicenses(f.ctx, f.d.Bun, c.f, "", listing.Page{}, f.now)
		var codes []string
		for _, l := range got {
			codes = append(codes, l.LicenseCode)
		}
		if err != nil || total != len(c.want) || !slices.Equal(codes, c.want) {
			t.Errorf("%s: %v (%d, %v), want %v", c.name, codes, total, err, c.want)
		}
	}
	got, _, _ := ListLicenses(f.ctx, f.d.Bun, LicenseFilter{}, "license_code", listing.Page{PerPage: 1, Number: 2}, f.now)
	if len(got) != 1 || got[0].LicenseCode != "EXPIRED" || got[0].ProductName != "Acme CMS" {
		t.Fatalf("%+v", got)
	}

	// Deleting a customer keeps their licenses.
	if err := cs.Delete(f.ctx, f.d.Bun, testAdmin, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := ListLicenses(f.ctx, f.d.Bun, LicenseFilter{}, "", listing.Page{}, f.now); total != 3 {
		t.Fatal(total)
	}
}
