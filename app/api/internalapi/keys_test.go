package internalapi_test

import (
	"strings"
	"testing"

	"github.com/licensor/licensor/app/apikeys"
)

// scopedRoutes is the path → scope map of docs/api/internal.md and docs/api/legacy.md.
var scopedRoutes = []struct{ method, path, scope string }{
	{"GET", "/api/internal/connection-check", "connection:check"},
	{"GET", "/api/internal/products", "products:list"},
	{"POST", "/api/internal/products", "products:create"},
	{"GET", "/api/internal/products/ACME", "products:read"},
	{"PUT", "/api/internal/products/ACME", "products:update"},
	{"PATCH", "/api/internal/products/ACME", "products:update"},
	{"DELETE", "/api/internal/products/ACME", "products:delete"},
	{"POST", "/api/internal/activated-products/ACME", "products:activate"},
	{"DELETE", "/api/internal/activated-products/ACME", "products:deactivate"},
	{"GET", "/api/internal/products/ACME/versions", "versions:list"},
	{"GET", "/api/internal/products/ACME/versions/1.0.0", "versions:read"},
	{"GET", "/api/internal/product-licenses", "licenses:list"},
	{"POST", "/api/internal/product-licenses", "licenses:create"},
	{"GET", "/api/internal/product-licenses/CODE", "licenses:read"},
	{"GET", "/api/internal/product-licenses/CODE/file", "licenses:read"},
	{"PUT", "/api/internal/product-licenses/CODE", "licenses:update"},
	{"PATCH", "/api/internal/product-licenses/CODE", "licenses:update"},
	{"DELETE", "/api/internal/product-licenses/CODE", "licenses:delete"},
	{"POST", "/api/internal/product-licenses/CODE/renew", "licenses:update"},
	{"POST", "/api/internal/blocked-product-licenses/CODE", "licenses:block"},
	{"DELETE", "/api/internal/blocked-product-licenses/CODE", "licenses:unblock"},
	{"GET", "/api/internal/product-activations", "activations:list"},
	{"GET", "/api/internal/product-activations/1", "activations:read"},
	{"POST", "/api/internal/activated-product-activations/1", "activations:activate"},
	{"DELETE", "/api/internal/activated-product-activations/1", "activations:deactivate"},
	{"GET", "/api/internal/customers", "customers:list"},
	{"POST", "/api/internal/customers", "customers:create"},
	{"GET", "/api/internal/customers/CUST-001", "customers:read"},
	{"PUT", "/api/internal/customers/CUST-001", "customers:update"},
	{"PATCH", "/api/internal/customers/CUST-001", "customers:update"},
	{"DELETE", "/api/internal/customers/CUST-001", "customers:delete"},
	{"POST", "/api/check_connection_int", "connection:check"},
	{"POST", "/api/add_product", "products:create"},
	{"POST", "/api/get_product", "products:read"},
	{"POST", "/api/get_products", "products:list"},
	{"POST", "/api/mark_product_active", "products:activate"},
	{"POST", "/api/mark_product_inactive", "products:deactivate"},
	{"POST", "/api/edit_or_create_version", "versions:create"},
	{"POST", "/api/create_license", "licenses:create"},
	{"POST", "/api/edit_license", "licenses:update"},
	{"POST", "/api/get_license", "licenses:read"},
	{"POST", "/api/search_license", "licenses:list"},
	{"POST", "/api/delete_license", "licenses:delete"},
	{"POST", "/api/block_license", "licenses:block"},
	{"POST", "/api/unblock_license", "licenses:unblock"},
	{"POST", "/api/deactivate_license_activations", "activations:deactivate"},
}

const (
	bodyMissingKey = `{"status":false,"is_active":false,"message":"Missing X-API-KEY key in the request."}`
	bodyInvalidKey = `{"status":false,"is_active":false,"message":"Invalid API key."}`
	bodyNoScope    = `{"status":false,"is_active":false,"message":"You are not allowed to access this endpoint."}`
)

// TestEveryRouteChecksKeyAndScope: each endpoint refuses a missing key
// (400), an external key (401) and an internal key without its scope
// (403), before it looks at the path or the body; the key holding only
// that scope, and a special key holding none of it, get past the check.
func TestEveryRouteChecksKeyAndScope(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	only := map[string]string{}
	for _, r := range scopedRoutes {
		if only[r.scope] == "" {
			only[r.scope] = a.key(apikeys.CreateParams{Name: "only " + r.scope, Type: apikeys.TypeInternal, Scopes: []string{r.scope}})
		}
	}
	for _, r := range scopedRoutes {
		other := only["customers:delete"]
		if r.scope == "customers:delete" {
			other = only["connection:check"]
		}
		for _, prefix := range legacyPrefixes(r.path) {
			path := prefix + strings.TrimPrefix(r.path, "/api")
			want(t, a.do(r.method, path, "{}", "X-API-KEY", ""), 400, bodyMissingKey)
			want(t, a.do(r.method, path, "{}", "X-API-KEY", a.external), 401, bodyInvalidKey)
			want(t, a.do(r.method, path, "{}", "X-API-KEY", "no-such-key"), 401, bodyInvalidKey)
			want(t, a.do(r.method, path, "{}", "X-API-KEY", other), 403, bodyNoScope)
			for _, key := range []string{only[r.scope], a.special} {
				if got := a.do(r.method, path, "{}", "X-API-KEY", key); got.StatusCode == 401 || got.StatusCode == 403 || got.StatusCode >= 500 {
					t.Errorf("%s %s with its scope: %d %s", r.method, path, got.StatusCode, got.Body)
				}
			}
		}
	}
	// The legacy header name works too.
	want(t, a.do("GET", "/api/internal/connection-check", nil, "X-API-KEY", "", "LB-API-KEY", a.full), 200,
		`{"status":true,"is_active":true,"message":"Connection established."}`)
}

// legacyPrefixes: the legacy calls are served under /api and /api_internal.
func legacyPrefixes(path string) []string {
	if strings.HasPrefix(path, "/api/internal/") {
		return []string{"/api"}
	}
	return []string{"/api", "/api_internal"}
}

func TestConnectionCheckAndRouting(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, path := range []string{"/api/internal/connection-check", "/api/internal/connection-check/"} {
		want(t, a.get(path), 200, `{"status":true,"is_active":true,"message":"Connection established."}`)
	}
	want(t, a.get("/api/internal/connection-check", "X-API-KEY", a.special), 200, `{"status":true,"is_active":true,"message":"Connection established."}`)
	want(t, a.get("/api/internal/nothing-here"), 404, `{"status":false,"is_active":false,"message":"Not found."}`)
	want(t, a.do("POST", "/api/internal/connection-check", nil), 405, `{"status":false,"is_active":false,"message":"Method not allowed."}`)
	want(t, a.get("/api/get_product"), 405, `{"status":false,"is_active":false,"message":"Method not allowed."}`)
	want(t, a.get("/api/internal/connection-check", "X-API-IP", "not-an-ip"), 400, `{"status":false,"is_active":false,"message":"The X-API-IP header must be a valid IP address."}`)
}

// TestMalformedBodies: unreadable bodies are 400, never 5xx.
func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "CODE"}), 201)
	data(t, a.do("POST", "/api/internal/customers", map[string]any{"name": "Ann", "email": "ann@example.com", "client_id": "CUST-001"}), 201)
	const unreadable = `{"status":false,"is_active":false,"message":"The request body could not be read."}`
	for _, body := range []string{`{"name":`, `[1,2]`, `"text"`, `{"name":"a"} trailing`, "{\"name\":\"\xff\"}", `{"name":"a\u0000b"}`} {
		for _, call := range []struct{ method, path string }{
			{"POST", "/api/internal/products"}, {"PATCH", "/api/internal/products/ACME"},
			{"POST", "/api/internal/product-licenses"}, {"PUT", "/api/internal/product-licenses/CODE"},
			{"POST", "/api/internal/customers"}, {"PATCH", "/api/internal/customers/CUST-001"},
			{"POST", "/api/add_product"}, {"POST", "/api_internal/create_license"}, {"POST", "/api/edit_license"},
		} {
			want(t, a.do(call.method, call.path, body), 400, unreadable)
		}
	}
	// Values of the wrong JSON type are validation failures, not crashes.
	want(t, a.do("POST", "/api/internal/products", `{"name":{"a":1},"default_uses":[1]}`), 422,
		`{"status":false,"is_active":false,"message":"The name field must be a string. (and 1 more error)","errors":{"name":["The name field must be a string."],"default_uses":["The default uses field must be an integer."]}}`)
	// SQL-looking path references find nothing and change nothing.
	for path, msg := range map[string]string{
		"/api/internal/products/x%27%20OR%20%271%27%3D%271":                 "Product not found.",
		"/api/internal/product-licenses/x%27%3B%20DELETE%20FROM%20licenses": "Product license not found.",
		"/api/internal/customers/%27%20OR%201%3D1%20--":                     "Customer not found.",
		"/api/internal/product-activations/1%20OR%201%3D1":                  "Product activation not found.",
	} {
		want(t, a.get(path), 404, `{"status":false,"is_active":false,"message":"`+msg+`"}`)
	}
	data(t, a.get("/api/internal/product-licenses/CODE"), 200)
	// A path resource is resolved before the body is read
	// (docs/api/authentication.md#request-pipeline step 10).
	want(t, a.do("PATCH", "/api/internal/products/NOPE", `{"name":`), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
}
