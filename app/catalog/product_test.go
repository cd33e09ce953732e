package catalog

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/settings"
)

var api = audit.Source{Actor: audit.Actor{Type: audit.ActorAPIKey, Name: "shop"}, IP: "203.0.113.1"}

func intp(n int) *int       { return &n }
func strp(s string) *string { return &s }
func newService() *Service {
	return NewService(func() time.Time { return time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC) })
}
func withFormat(f string) *settings.Values {
	v := settings.Defaults()
	v.ProductUniqueIDFormat = f
	return v
}

func TestCreateProductDefaultsAndGeneratedReference(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	formats := map[string]*regexp.Regexp{
		"hex8":  regexp.MustCompile(`^[0-9A-F]{8}$`),
		"hex16": regexp.MustCompile(`^[0-9A-F]{16}$`),
		"uuid":  regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`),
		"ulid":  regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`),
	}
	for format, re := range formats {
		p, err := s.CreateProduct(ctx, d.Bun, api, withFormat(format), ProductInput{Name: fields.Some("Acme " + format)})
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(p.ReferenceID) {
			t.Errorf("%s: reference id %q", format, p.ReferenceID)
		}
		if !p.IsActive || !p.ServeLatestUpdates || p.LicenseUpdate || p.DefaultUses != nil {
			t.Errorf("%s: defaults %+v", format, p)
		}
	}
	p, err := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{
		Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME-CMS"),
		LicenseUpdate: fields.Some(true), DefaultParallelUses: fields.Some(intp(1)),
		DefaultUpdatesUntilDays: fields.Some(intp(365)), Description: fields.Some(strp("")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.ReferenceID != "ACME-CMS" || !p.LicenseUpdate || *p.DefaultParallelUses != 1 || p.Description != nil {
		t.Fatalf("%+v", p)
	}
	var msg string
	if err := d.Bun.NewRaw("SELECT message FROM activity_log ORDER BY id DESC LIMIT 1").Scan(ctx, &msg); err != nil || msg != "Product Acme CMS created via API." {
		t.Fatal(msg, err)
	}
	for _, ref := range []string{"acme-cms", "ACME-CMS"} {
		if got, err := ByRef(ctx, d.Bun, ref); err != nil || got.ID != p.ID {
			t.Fatalf("ByRef(%s): %v", ref, err)
		}
	}
	if got, err := Find(ctx, d.Bun, "1"); err != nil || got.ID != 1 {
		t.Fatalf("Find by id: %v", err)
	}
}

func TestProductValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	set := settings.Defaults()
	if _, err := s.CreateProduct(ctx, d.Bun, api, set, ProductInput{Name: fields.Some("Acme"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in          ProductInput
		field, want string
	}{
		{ProductInput{}, "name", "The name field is required."},
		{ProductInput{Name: fields.Some(strings.Repeat("n", 256))}, "name", "The name field must not be greater than 255 characters."},
		{ProductInput{Name: fields.Some("X"), ReferenceID: fields.Some("has space")}, "reference_id", "The reference id field format is invalid."},
		{ProductInput{Name: fields.Some("X"), ReferenceID: fields.Some(strings.Repeat("R", 51))}, "reference_id", "The reference id field must not be greater than 50 characters."},
		{ProductInput{Name: fields.Some("X"), ReferenceID: fields.Some("acme")}, "reference_id", "The reference id has already been taken."},
		{ProductInput{Name: fields.Some("X"), DefaultUses: fields.Some(intp(-1))}, "default_uses", "The default uses field must be at least 0."},
		{ProductInput{Name: fields.Some("X"), EnvatoID: fields.Some(strp(strings.Repeat("1", 101)))}, "envato_id", "The envato id field must not be greater than 100 characters."},
		{ProductInput{Name: fields.Some("X"), DefaultLicenseType: fields.Some(strp(strings.Repeat("t", 101)))}, "default_license_type", "The default license type field must not be greater than 100 characters."},
	}
	for _, c := range cases {
		_, err := s.CreateProduct(ctx, d.Bun, api, set, c.in)
		verr, ok := fields.As(err)
		if !ok || verr.Map()[c.field] != c.want {
			t.Errorf("got %v, want %s: %q", err, c.field, c.want)
		}
	}
}

func TestUpdateActivateDeleteProduct(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	p, _ := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some("Acme"), ReferenceID: fields.Some("ACME"),
		DefaultUses: fields.Some(intp(3)), EnvatoID: fields.Some(strp("123"))})

	_, err := s.UpdateProduct(ctx, d.Bun, api, p.ID, ProductInput{ReferenceID: fields.Some("OTHER")})
	if verr, ok := fields.As(err); !ok || verr.First() != "The reference id cannot be changed." {
		t.Fatal(err)
	}
	got, err := s.UpdateProduct(ctx, d.Bun, api, p.ID, ProductInput{
		ReferenceID: fields.Some("acme"), Name: fields.Some("Acme 2"), DefaultUses: fields.Some[*int](nil), EnvatoID: fields.Some(strp("")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme 2" || got.DefaultUses != nil || got.EnvatoID != nil || got.ReferenceID != "ACME" {
		t.Fatalf("%+v", got)
	}
	if _, err := s.UpdateProduct(ctx, d.Bun, api, 999, ProductInput{}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}

	_, changed, err := s.SetProductActive(ctx, d.Bun, api, p.ID, false)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	q, changed, err := s.SetProductActive(ctx, d.Bun, api, p.ID, false)
	if err != nil || changed || q.IsActive {
		t.Fatal("deactivating twice is a no-op", changed, err)
	}

	// Delete cascades to versions, licenses and activations.
	mustExec(t, d, `INSERT INTO product_versions (product_id, version_id, version) VALUES (?, 'V1', '1.0.0')`, p.ID)
	mustExec(t, d, `INSERT INTO licenses (id, product_id, license_code) VALUES (10, ?, 'CODE')`, p.ID)
	mustExec(t, d, `INSERT INTO activations (license_id, product_id, license_code) VALUES (10, ?, 'CODE')`, p.ID)
	im, err := DeleteImpact(ctx, d.Bun, p.ID)
	if err != nil || im != (Impact{Versions: 1, Licenses: 1, Activations: 1}) {
		t.Fatal(im, err)
	}
	if err := s.DeleteProduct(ctx, d.Bun, api, p.ID); err != nil {
		t.Fatal(err)
	}
	im, _ = DeleteImpact(ctx, d.Bun, p.ID)
	if im != (Impact{}) {
		t.Fatalf("left behind: %+v", im)
	}
	if err := s.DeleteProduct(ctx, d.Bun, api, p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	var msgs []string
	_ = d.Bun.NewRaw("SELECT message FROM activity_log ORDER BY id").Scan(ctx, &msgs)
	want := []string{"Product Acme created via API.", "Product Acme 2 updated via API.", "Product Acme 2 deactivated via API.", "Product Acme 2 deleted via API."}
	if !slices.Equal(msgs, want) {
		t.Fatalf("log %q", msgs)
	}
}

func TestListProducts(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	for _, n := range []string{"Beta", "Alpha", "Gamma"} {
		if _, err := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some(n), ReferenceID: fields.Some("REF-" + n)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.SetProductActive(ctx, d.Bun, api, 3, false); err != nil {
		t.Fatal(err)
	}
	no := false
	cases := []struct {
		f    ProductFilter
		sort string
		want []string
	}{
		{ProductFilter{}, "", []string{"Gamma", "Alpha", "Beta"}},
		{ProductFilter{}, "name", []string{"Alpha", "Beta", "Gamma"}},
		{ProductFilter{}, "-reference_id", []string{"Gamma", "Beta", "Alpha"}},
		{ProductFilter{Search: "ref-al"}, "", []string{"Alpha"}},
		{ProductFilter{IsActive: &no}, "", []string{"Gamma"}},
	}
	for _, c := range cases {
		got, total, err := ListProducts(ctx, d.Bun, c.f, c.sort, listing.Page{})
		var names []string
		for _, p := range got {
			names = append(names, p.Name)
		}
		if err != nil || total != len(c.want) || !slices.Equal(names, c.want) {
			t.Errorf("%+v %q: %v %d %v", c.f, c.sort, names, total, err)
		}
	}
}

func mustExec(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.Bun.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatal(err)
	}
}
