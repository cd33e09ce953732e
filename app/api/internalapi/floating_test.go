package internalapi_test

import "testing"

// A product's default_floating (docs/licensing.md#floating-licenses) is
// set on create and update and read back; a license created without
// floating takes it, one created with floating keeps its own, and a
// later change of the product leaves existing licenses as they are.
func TestProductDefaultFloating(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, map[string]any{"default_floating": true, "default_parallel_uses": 3})
	if d := data(t, a.get("/api/internal/products/ACME"), 200); d["default_floating"] != true {
		t.Fatalf("product %v", d)
	}
	if d := data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "SEATS"}), 201); d["floating"] != true || d["parallel_uses"] != 3.0 {
		t.Fatalf("inherited %v", d)
	}
	if d := data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "FIXED", "floating": false}), 201); d["floating"] != false {
		t.Fatalf("overridden %v", d)
	}
	if d := data(t, a.do("PATCH", "/api/internal/products/ACME", map[string]any{"default_floating": "0"}), 200); d["default_floating"] != false {
		t.Fatalf("updated product %v", d)
	}
	if d := data(t, a.get("/api/internal/product-licenses/SEATS"), 200); d["floating"] != true {
		t.Fatalf("existing license after the product's change %v", d)
	}
	if d := data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "AFTER"}), 201); d["floating"] != false {
		t.Fatalf("after the product's change %v", d)
	}
	want(t, a.do("PATCH", "/api/internal/products/ACME", map[string]any{"default_floating": "sometimes"}), 422,
		`{"status":false,"is_active":false,"message":"The default floating field must be true or false.","errors":{"default_floating":["The default floating field must be true or false."]}}`)
}
