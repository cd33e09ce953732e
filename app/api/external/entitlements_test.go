package external_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/test/eventually"
)

// A license's entitlements (docs/licensing.md#entitlements): the product's
// defaults at creation, in activate's data and its token and in verify's
// data on the modern path; the legacy paths answer as before; the license
// file carries them; a license without any verifies with data null.
func TestEntitlementsInActivateVerifyAndFile(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	ctx := context.Background()
	p, err := catalog.NewService(nil).CreateProduct(ctx, a.DB.Bun, admin, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some("Suite"), ReferenceID: fields.Some("SUITE"),
		Entitlements:        fields.Some([]string{"pro", "sso", "priority-support"}),
		DefaultEntitlements: fields.Some([]string{"sso", "pro"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := a.license(p, "ENT-1")
	if strings.Join(l.Entitlements, " ") != "pro sso" {
		t.Fatalf("defaults: %v", l.Entitlements)
	}
	const host = "https://shop.example.com"
	r := a.call(modern, modern.activate, map[string]any{"product_id": "SUITE", "license_code": "ENT-1"}, host)
	if r.JSON["status"] != true || !strings.Contains(r.Body, `"support_until":null,"entitlements":["pro","sso"]}`) {
		t.Fatalf("activate: %s", r.Body)
	}
	tok := r.str("lic_response")
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !strings.HasSuffix(string(payload), `,"ent":["pro","sso"]}`) {
		t.Fatalf("token payload %s", payload)
	}
	withEnt := `{"status":true,"is_active":true,"message":"Verified.","data":{"entitlements":["pro","sso"]}}`
	expect(t, a.call(modern, modern.verify, map[string]any{"product_id": "SUITE", "license_data": tok}, host), 200, withEnt)
	expect(t, a.call(modern, modern.verify, map[string]any{"product_id": "SUITE", "license_code": "ENT-1"}, host), 200, withEnt)
	expect(t, a.call(legacy, legacy.verify, map[string]any{"product_id": "SUITE", "license_data": tok}, host), 200, bodyVerified)

	// Legacy activate: the shape and the token of before.
	r = a.call(legacy, legacy.activate, map[string]any{"product_id": "SUITE", "license_code": "ENT-1"}, "https://other.example.com")
	if r.JSON["status"] != true || strings.Contains(r.Body, "entitlements") {
		t.Fatalf("legacy activate: %s", r.Body)
	}
	payload, _ = base64.RawURLEncoding.DecodeString(strings.Split(r.str("lic_response"), ".")[1])
	if strings.Contains(string(payload), "ent") {
		t.Fatalf("legacy token payload %s", payload)
	}

	// A change shows at once in verify (the activation cache is dropped).
	if _, err := a.lics.UpdateLicense(ctx, a.DB.Bun, admin, settings.Defaults(), l.ID, licensing.LicenseInput{
		Entitlements: fields.Some([]string{"PRIORITY-SUPPORT"}),
	}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, notified, "verify answers the changed entitlements", func() bool {
		return a.call(modern, modern.verify, map[string]any{"product_id": "SUITE", "license_data": tok}, host).Body ==
			`{"status":true,"is_active":true,"message":"Verified.","data":{"entitlements":["priority-support"]}}`
	})
	// A name the product does not define is refused.
	if _, err := a.lics.UpdateLicense(ctx, a.DB.Bun, admin, settings.Defaults(), l.ID, licensing.LicenseInput{
		Entitlements: fields.Some([]string{"enterprise"}),
	}); err == nil || !strings.Contains(err.Error(), "enterprise") {
		t.Fatalf("unknown entitlement: %v", err)
	}

	// The license file carries them.
	got, err := licensing.Get(ctx, a.DB.Bun, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, file, err := licensing.LicenseFile(a.Nodes[0].Signing, got, nil, got.UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := a.Nodes[0].Signing.VerifyLicenseFile(file)
	if err != nil || strings.Join(lf.Entitlements, " ") != "priority-support" {
		t.Fatalf("license file: %+v %v", lf.Entitlements, err)
	}

	// Removing a name from the product removes it from its licenses.
	if _, err := catalog.NewService(nil).UpdateProduct(ctx, a.DB.Bun, admin, p.ID, catalog.ProductInput{
		Entitlements: fields.Some([]string{"pro", "sso"}),
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := licensing.Get(ctx, a.DB.Bun, l.ID); err != nil || len(got.Entitlements) != 0 {
		t.Fatalf("after the product dropped the name: %v %v", got.Entitlements, err)
	}
	eventually.True(t, notified, "verify answers without the dropped entitlement", func() bool {
		return a.call(modern, modern.verify, map[string]any{"product_id": "SUITE", "license_data": tok}, host).Body == bodyVerified
	})
}
