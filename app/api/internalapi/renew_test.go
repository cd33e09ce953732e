package internalapi_test

import (
	"context"
	"testing"
	"time"
)

// POST /api/internal/product-licenses/{license}/renew
// (docs/licensing.md#renewals): the same license, its expiry moved by the
// days given or the product's period, recorded; bad days 422;
// an unknown license 404.
func TestRenewLicenseEndpoint(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, map[string]any{"default_expiry_days": 365})
	d := data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "REN-1", "expires_at": "2099-01-01"}), 201)
	id := d["id"]
	d = data(t, a.do("POST", "/api/internal/product-licenses/REN-1/renew", map[string]any{"days": 10}), 200)
	if d["id"] != id || d["license_code"] != "REN-1" {
		t.Fatalf("%v", d)
	}
	exp, err := time.Parse(time.RFC3339, d["expires_at"].(string))
	if err != nil || exp.UTC().Format(time.DateOnly) != "2099-01-11" {
		t.Fatalf("expires_at %v", d["expires_at"])
	}
	d = data(t, a.do("POST", "/api/internal/product-licenses/REN-1/renew", nil), 200)
	if exp2, _ := time.Parse(time.RFC3339, d["expires_at"].(string)); !exp2.Equal(exp.AddDate(0, 0, 365)) {
		t.Fatalf("product period: %v", d["expires_at"])
	}
	wantStatus(t, a.do("POST", "/api/internal/product-licenses/REN-1/renew", map[string]any{"days": 0}), 422)
	wantStatus(t, a.do("POST", "/api/internal/product-licenses/REN-1/renew", map[string]any{"days": "ten"}), 422)
	wantStatus(t, a.do("POST", "/api/internal/product-licenses/NOPE/renew", map[string]any{"days": 5}), 404)
	var n int
	if err := a.env.DB.Bun.NewRaw("SELECT count(*) FROM license_renewals").Scan(context.Background(), &n); err != nil || n != 2 {
		t.Fatalf("renewals %d %v", n, err)
	}
}
