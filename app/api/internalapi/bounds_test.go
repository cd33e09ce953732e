package internalapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/licensing"
)

// unprocessable checks a 422 whose errors name field with message.
func unprocessable(t *testing.T, a *api, method, path string, body any, field, message string) {
	t.Helper()
	r := a.do(method, path, body)
	m := wantStatus(t, r, 422)
	errs, _ := m["errors"].(map[string]any)
	got, _ := errs[field].([]any)
	if len(got) == 0 || got[0] != message {
		t.Fatalf("%s %s %v: want %s: %q, got %s", method, path, body, field, message, r.Body)
	}
}

// TestDayCountsAndDatesBounded replays issue 15.6: a day count past
// 36,500 (106,752 stored expires_at 1734-08-27) and a date outside
// 1970–9999 are refused with a 422 naming the field; day counts are
// calendar days; a count stored before the bound cannot wrap the expiry.
func TestDayCountsAndDatesBounded(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	for _, f := range []string{"default_expiry_days", "default_updates_until_days", "default_support_until_days"} {
		unprocessable(t, a, "POST", "/api/internal/products", map[string]any{"name": "Wrap", f: 106752}, f,
			"The "+strings.ReplaceAll(f, "_", " ")+" field must not be greater than 36500.")
		unprocessable(t, a, "PATCH", "/api/internal/products/ACME", map[string]any{f: 36501}, f,
			"The "+strings.ReplaceAll(f, "_", " ")+" field must not be greater than 36500.")
	}
	unprocessable(t, a, "POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "expiry_days": 106752}, "expiry_days",
		"The expiry days field must not be greater than 36500.")
	for _, f := range []string{"expires_at", "updates_until", "support_until"} {
		for _, d := range []string{"0000-01-01", "1969-12-31", "9999-12-31T23:59:59-23:59", "10000-01-01"} {
			r := a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", f: d})
			if r.StatusCode != 422 || !strings.Contains(r.Body, `"`+f+`"`) {
				t.Fatalf("%s %s: %d %s", f, d, r.StatusCode, r.Body)
			}
		}
	}
	// The bounds themselves are accepted.
	data(t, a.do("PATCH", "/api/internal/products/ACME", map[string]any{"default_updates_until_days": 36500, "default_expiry_days": 36500}), 200)
	d := data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "EDGE", "support_until": "9999-12-31T23:59:59Z"}), 201)
	if d["support_until"] != "9999-12-31T23:59:59.000000Z" || d["expiry_days"] != 36500.0 {
		t.Fatalf("%v", d)
	}
	// Calendar days: 36,500 days from now, not 36,500 × 24 hours.
	updates, err := time.Parse(time.RFC3339, d["updates_until"].(string))
	if err != nil || updates.Year() < time.Now().Year()+99 {
		t.Fatalf("updates_until %v", d["updates_until"])
	}

	// A count stored before the bound existed expires within the bound,
	// never in the past.
	a.exec("UPDATE licenses SET expiry_days = 106752 WHERE license_code = 'EDGE'")
	a.activate(t, "EDGE", "edge.example.com")
	l, err := licensing.ByCode(context.Background(), a.env.DB.Bun, "EDGE")
	if err != nil {
		t.Fatal(err)
	}
	if l.ExpiresAt == nil || !l.ExpiresAt.After(time.Now().AddDate(99, 0, 0)) || l.ExpiresAt.After(time.Now().AddDate(0, 0, 36501)) {
		t.Fatalf("expires_at %v", l.ExpiresAt)
	}
}

// TestOversizedIntegersAndHostilePaths replays issue 15.8: integers past
// PostgreSQL's integer in every count field, year-0000 dates and a NUL in
// a path parameter answered 500. Each is now a 422 naming the field (the
// legacy calls: their 200 with the message), or a 404.
func TestOversizedIntegersAndHostilePaths(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	const big = 2147483648
	tooBig := func(f string) string {
		return "The " + strings.ReplaceAll(f, "_", " ") + " field must not be greater than 2147483647."
	}
	for _, f := range []string{"default_uses", "default_parallel_uses"} {
		unprocessable(t, a, "POST", "/api/internal/products", map[string]any{"name": "Big", f: big}, f, tooBig(f))
		unprocessable(t, a, "PATCH", "/api/internal/products/ACME", map[string]any{f: "99999999999"}, f, tooBig(f))
	}
	for _, f := range []string{"uses", "parallel_uses", "expiry_days"} {
		unprocessable(t, a, "POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", f: big}, f, tooBig(f))
	}
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "BIG-1"}), 201)
	unprocessable(t, a, "PATCH", "/api/internal/product-licenses/BIG-1", map[string]any{"uses": big}, "uses", tooBig("uses"))
	unprocessable(t, a, "PATCH", "/api/internal/product-licenses/BIG-1", map[string]any{"expires_at": "0000-01-01"}, "expires_at",
		"The expires at field must be a date between 1970-01-01 and 9999-12-31.")
	unprocessable(t, a, "POST", "/api/internal/products/ACME/download-tokens", map[string]any{"max_downloads": big}, "max_downloads", tooBig("max_downloads"))
	unprocessable(t, a, "POST", "/api/internal/products/ACME/download-tokens", map[string]any{"expires_at": "0000-01-01"}, "expires_at",
		"The expires at field must be a date between 1970-01-01 and 9999-12-31.")

	for _, path := range []string{"/api/internal/products/ACME%00", "/api/internal/product-licenses/BIG-1%00", "/api/internal/customers/x%00y",
		"/api/internal/products/ACME%00/versions", "/api/internal/product-activations/1%00"} {
		if r := a.get(path); r.StatusCode != 404 {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Body)
		}
	}

	// Informational finding: 20,000 domains on one license were accepted.
	many := make([]string, 1001)
	for i := range many {
		many[i] = "d" + itoa(i) + ".example.com"
	}
	unprocessable(t, a, "PATCH", "/api/internal/product-licenses/BIG-1", map[string]any{"domains": many}, "domains",
		"The domains field must not have more than 1000 items.")
	data(t, a.do("PATCH", "/api/internal/product-licenses/BIG-1", map[string]any{"domains": many[:1000]}), 200)

	l := legacyClient{a: a, prefix: "/api", form: true}
	l.want("create_license", map[string]string{"product_id": "ACME", "license_uses": "2147483648"}, 200,
		`{"status":false,"is_active":false,"message":"The license uses field must not be greater than 2147483647."}`)
	l.want("edit_license", map[string]string{"license_code": "BIG-1", "expiry_date": "0000-01-01"}, 200,
		`{"status":false,"is_active":false,"message":"The expiry date field must be a date between 1970-01-01 and 9999-12-31."}`)
}
