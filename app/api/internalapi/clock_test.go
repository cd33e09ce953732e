package internalapi_test

import (
	"testing"
)

// expiry_start and default_expiry_start (docs/licensing.md#expiry-clock):
// the product's default on create, creation starting the clock at once,
// an update changing it, an unknown value refused with the field's
// message.
func TestLicenseExpiryStartFields(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, map[string]any{"default_expiry_days": 30, "default_expiry_start": "first_verify"})
	if d := data(t, a.get("/api/internal/products/ACME"), 200); d["default_expiry_start"] != "first_verify" {
		t.Fatalf("product: %v", d)
	}
	d := data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "CLK-1"}), 201)
	if d["expiry_start"] != "first_verify" || d["expiry_days"] != float64(30) || d["expires_at"] != nil || d["expiry_started_at"] != nil {
		t.Fatalf("defaults: %v", d)
	}
	d = data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "CLK-2", "expiry_start": "creation"}), 201)
	if d["expiry_start"] != "creation" || d["expires_at"] == nil || d["expiry_started_at"] != d["created_at"] {
		t.Fatalf("creation: %v", d)
	}
	d = data(t, a.do("PATCH", "/api/internal/product-licenses/CLK-1", map[string]any{"expiry_start": "first_activation"}), 200)
	if d["expiry_start"] != "first_activation" || d["expires_at"] != nil {
		t.Fatalf("update: %v", d)
	}
	want(t, a.do("PATCH", "/api/internal/product-licenses/CLK-1", map[string]any{"expiry_start": "later"}), 422,
		`{"status":false,"is_active":false,"message":"The selected expiry start is invalid. Use creation, first_activation or first_verify.","errors":{"expiry_start":["The selected expiry start is invalid. Use creation, first_activation or first_verify."]}}`)
	want(t, a.do("PATCH", "/api/internal/products/ACME", map[string]any{"default_expiry_start": "sometime"}), 422,
		`{"status":false,"is_active":false,"message":"The selected default expiry start is invalid. Use creation, first_activation or first_verify.","errors":{"default_expiry_start":["The selected default expiry start is invalid. Use creation, first_activation or first_verify."]}}`)
}
