package external_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/resources"
	"github.com/licensor/licensor/app/settings"
)

// A license 2 days past expiry of a product with grace_days 7 verifies with
// LICENSE_IN_GRACE on the modern path, by token and by code; the legacy
// path answers LICENSE_EXPIRED as before; past the grace period, both do
// (docs/api/external.md#grace-period).
func TestVerifyGracePeriod(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	seven := 7
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), a.DB.Bun, admin, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some("Graceful"), ReferenceID: fields.Some("GRACEFUL"), GraceDays: fields.Some(&seven),
	})
	if err != nil {
		t.Fatal(err)
	}
	const host = "https://shop.example.com"
	a.license(p, "GRACE-1")
	r := a.call(modern, modern.activate, map[string]any{"product_id": "GRACEFUL", "license_code": "GRACE-1"}, host)
	if r.JSON["status"] != true {
		t.Fatalf("activate: %s", r.Body)
	}
	tok := r.str("lic_response")

	// Dates relative to the database's clock, which the server's follows.
	var expires time.Time
	if err := a.DB.Bun.NewRaw("UPDATE licenses SET expires_at = date_trunc('second', now()) - interval '2 days' WHERE license_code = 'GRACE-1' RETURNING expires_at").
		Scan(context.Background(), &expires); err != nil {
		t.Fatal(err)
	}
	inGrace := `{"status":true,"is_active":true,"message":"Your license has expired. It keeps working during its grace period; please renew it.",` +
		`"status_code":"LICENSE_IN_GRACE","grace_until":"` + resources.Timestamp(expires.AddDate(0, 0, 7)) + `","data":null}`
	expired := verifyFail("Your license has expired.", "LICENSE_EXPIRED")
	for _, body := range []map[string]any{
		{"product_id": "GRACEFUL", "license_data": tok},
		{"product_id": "GRACEFUL", "license_code": "GRACE-1"},
	} {
		expect(t, a.call(modern, modern.verify, body, host), 200, inGrace)
		expect(t, a.call(legacy, legacy.verify, body, host), 200, expired)
	}

	a.exec("UPDATE licenses SET expires_at = now() - interval '7 days' WHERE license_code = 'GRACE-1'")
	for _, body := range []map[string]any{
		{"product_id": "GRACEFUL", "license_data": tok},
		{"product_id": "GRACEFUL", "license_code": "GRACE-1"},
	} {
		expect(t, a.call(modern, modern.verify, body, host), 200, expired)
		expect(t, a.call(legacy, legacy.verify, body, host), 200, expired)
	}
}
