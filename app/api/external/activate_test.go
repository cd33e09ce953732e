package external_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
)

func failureBody(message, code string) string {
	return `{"status":false,"is_active":false,"message":"` + message + `","status_code":"` + code + `","lic_response":null,"data":null}`
}

// Every answer of docs/api/external.md#activate, on modern and legacy paths.
func TestActivate(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	other := a.newProduct("OTHER", "Other App")
	inactive := a.newProduct("GONE", "Gone App")
	a.setProductActive(inactive, false)
	a.SetSettings(t, map[string]string{
		"blacklisted_license_codes": "BAD-*",
		"blacklisted_buyer_names":   "*mallory*",
	})

	for _, p := range bothPaths {
		t.Run(p.name, func(t *testing.T) {
			code := func(s string) string { return strings.ToUpper(p.name) + "-" + s }
			a.license(nil, code("FREE"))
			a.license(other, code("OTHER"))
			a.license(nil, code("CUST"), customer("Cust-001"))
			blocked := a.license(nil, code("BLOCKED"))
			if _, _, err := a.lics.Block(context.Background(), a.DB.Bun, admin, blocked.ID); err != nil {
				t.Fatal(err)
			}
			a.license(nil, code("EXPIRED"))
			a.exec("UPDATE licenses SET expires_at = now() - interval '1 second' WHERE license_code = ?", code("EXPIRED"))
			a.license(nil, code("ONCE"), uses(1))
			a.license(nil, code("TWO"), parallel(2))
			a.license(nil, code("ZERO"), parallel(0))
			a.license(nil, code("DOMAINS"), domains("shop.example.com", "*.example.org"))
			a.license(nil, code("IPS"), ips("10.0.0.0/24", "192.0.2.7"))

			act := func(body map[string]any, host string, extra ...string) resp {
				t.Helper()
				return a.call(p, p.activate, body, host, extra...)
			}
			ok := func(r resp) {
				t.Helper()
				tok := r.str("lic_response")
				want := `{"status":true,"is_active":true,"message":"Activated.","lic_response":"` + tok +
					`","data":{"license_data":"` + tok + `","expires_at":null,"updates_until":null,"support_until":null}}`
				expect(t, r, 200, want)
				if !strings.HasPrefix(tok, "v1.") {
					t.Fatalf("token %q", tok)
				}
			}
			fail := func(r resp, status int, message, statusCode string) {
				t.Helper()
				expect(t, r, status, failureBody(message, statusCode))
			}
			const (
				invalid  = "Your license code is invalid."
				notFound = "Product not found."
			)

			ok(act(map[string]any{"product_id": "ACME", "license_code": code("FREE")}, "https://a.example.com"))
			// Codes and product ids ignore case; verify_type non_envato is the default.
			ok(act(map[string]any{"product_id": "acme", "license_code": strings.ToLower(code("FREE")), "verify_type": "non_envato"}, ""))

			// LicenseBox-era clients read any status but 200 as "invalid
			// response": their path answers an unknown product with a 200.
			productStatus := map[string]int{"modern": 404, "legacy": 200}[p.name]
			fail(act(map[string]any{"product_id": "NOPE", "license_code": code("FREE")}, ""), productStatus, notFound, "PRODUCT_NOT_FOUND")
			fail(act(map[string]any{"product_id": "GONE", "license_code": code("FREE")}, ""), productStatus, notFound, "PRODUCT_NOT_FOUND")
			// a
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("MISSING")}, ""), 200, invalid, "LICENSE_INVALID")
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("OTHER")}, ""), 200, invalid, "LICENSE_INVALID")
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("CUST")}, ""), 200, invalid, "LICENSE_INVALID")
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("CUST"), "client_name": "Cust-002"}, ""), 200, invalid, "LICENSE_INVALID")
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("CUST"), "client_name": " cust-001 "}, ""))
			// No marketplace plugin exists: envato and gumroad fall through
			// to the local license.
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("MISSING"), "verify_type": "envato"}, ""), 200, invalid, "LICENSE_INVALID")
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("FREE"), "verify_type": "gumroad"}, ""))
			// b, c, d
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("BLOCKED")}, ""), 200, "Your license is blocked.", "LICENSE_BLOCKED")
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("EXPIRED")}, ""), 200, "Your license has expired.", "LICENSE_EXPIRED")
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("ONCE")}, ""))
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("ONCE")}, ""), 200, "Your license has reached the maximum number of uses.", "LICENSE_USES_EXHAUSTED")
			// e: the third activation of a license with two parallel uses.
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("TWO")}, "https://one.example.com"))
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("TWO")}, "https://two.example.com"))
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("TWO")}, "https://three.example.com"), 200,
				"Your license has reached the maximum number of parallel uses.", "ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES")
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("ZERO")}, ""), 200,
				"Your license has reached the maximum number of parallel uses.", "ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES")
			// f
			domainsMsg := "This license can only be used for the following domain(s): shop.example.com, *.example.org."
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("DOMAINS")}, ""), 200, domainsMsg, "DOMAIN_NOT_ALLOWED")
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("DOMAINS")}, "https://example.org/"), 200, domainsMsg, "DOMAIN_NOT_ALLOWED")
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("DOMAINS")}, "https://www.Shop.example.com/app/public/?x=1"))
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("DOMAINS")}, "a.b.example.org"))
			// g: the caller IP is X-API-IP, else the peer (127.0.0.1 here).
			fail(act(map[string]any{"product_id": "ACME", "license_code": code("IPS")}, ""), 200, "Your license is not valid for this IP.", "IP_NOT_ALLOWED")
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("IPS")}, "", p.ipHeader, "10.0.0.99"))
			ok(act(map[string]any{"product_id": "ACME", "license_code": code("IPS")}, "", p.ipHeader, "::ffff:192.0.2.7"))

			// Blacklisted codes and buyers are 422s on their fields.
			r := act(map[string]any{"product_id": "ACME", "license_code": "bad-123", "client_name": "Mallory Inc"}, "")
			expect(t, r, 422, `{"status":false,"is_active":false,"message":"The license code is blacklisted. (and 1 more error)","errors":{"license_code":["The license code is blacklisted."],"client_name":["The client name is blacklisted."]}}`)
			r = act(map[string]any{"product_id": "ACME", "license_code": code("FREE"), "verify_type": "paypal"}, "")
			expect(t, r, 422, `{"status":false,"is_active":false,"message":"The selected verify type is invalid.","errors":{"verify_type":["The selected verify type is invalid."]}}`)
		})
	}

	// Failed attempts are recorded (setting on by default), with their
	// reason; validation, blacklist and product failures are not.
	var failed []string
	if err := a.DB.Bun.NewRaw("SELECT failure_reason FROM activations WHERE NOT is_valid AND license_code LIKE 'MODERN-%' ORDER BY id").Scan(context.Background(), &failed); err != nil {
		t.Fatal(err)
	}
	want := "LICENSE_INVALID LICENSE_INVALID LICENSE_INVALID LICENSE_INVALID LICENSE_INVALID LICENSE_BLOCKED LICENSE_EXPIRED LICENSE_USES_EXHAUSTED " +
		"ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES DOMAIN_NOT_ALLOWED DOMAIN_NOT_ALLOWED IP_NOT_ALLOWED"
	if got := strings.Join(failed, " "); got != want {
		t.Errorf("failed attempts recorded:\n%s\nwant\n%s", got, want)
	}
}

// LicenseBox-era clients post forms, and fields may come in the query
// string; the answer is the same.
func TestActivateFormsAndQuery(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	for i, p := range bothPaths {
		codes := []string{p.name + "-FORM", p.name + "-MULTI", p.name + "-QUERY"}
		for _, c := range codes {
			a.license(nil, c)
		}
		h := []string{p.keyHeader, a.key, p.urlHeader, "https://shop.example.com"}
		r := a.do(a.App, req{path: p.activate, headers: h, form: url.Values{"product_id": {"ACME"}, "license_code": {codes[0]}, "time_based_check": {"1"}}})
		if r.StatusCode != 200 || r.JSON["status"] != true {
			t.Fatalf("%d form: %d %s", i, r.StatusCode, r.Body)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("product_id", "ACME")
		_ = mw.WriteField("license_code", codes[1])
		_ = mw.Close()
		r = a.do(a.App, req{path: p.activate, headers: h, raw: buf.String(), contentType: mw.FormDataContentType()})
		if r.StatusCode != 200 || r.JSON["status"] != true {
			t.Fatalf("%d multipart: %d %s", i, r.StatusCode, r.Body)
		}
		r = a.do(a.App, req{path: p.activate + "?product_id=ACME&license_code=" + codes[2], headers: h})
		if r.StatusCode != 200 || r.JSON["status"] != true {
			t.Fatalf("%d query: %d %s", i, r.StatusCode, r.Body)
		}
	}
}

// An unexpected error answers activate's own 500 message.
func TestActivateUnexpectedError(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.license(nil, "BROKEN")
	a.exec("ALTER TABLE activations RENAME TO activations_away")
	for _, p := range bothPaths {
		r := a.call(p, p.activate, map[string]any{"product_id": "ACME", "license_code": "BROKEN"}, "")
		expect(t, r, 500, `{"status":false,"is_active":false,"message":"Could not activate the license. Please contact the support team.","lic_response":null,"data":null}`)
	}
}
