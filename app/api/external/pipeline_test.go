package external_test

import (
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
)

const (
	bodyMissingKey   = `{"status":false,"is_active":false,"message":"Missing X-API-KEY key in the request."}`
	bodyInvalidKey   = `{"status":false,"is_active":false,"message":"Invalid API key."}`
	bodyScope        = `{"status":false,"is_active":false,"message":"You are not allowed to access this endpoint."}`
	bodyInvalidIP    = `{"status":false,"is_active":false,"message":"The X-API-IP header must be a valid IP address."}`
	bodyBlacklistIP  = `{"status":false,"is_active":false,"message":"Your IP address is blacklisted."}`
	bodyInvalidURL   = `{"status":false,"is_active":false,"message":"The X-API-URL header must be a valid URL."}`
	bodyBlacklistURL = `{"status":false,"is_active":false,"message":"Your domain is blacklisted."}`
	bodyUnreadable   = `{"status":false,"is_active":false,"message":"The request body could not be read."}`
	bodyTooLarge     = `{"status":false,"is_active":false,"message":"The request body is too large."}`
	bodyConnected    = `{"status":true,"is_active":true,"message":"Connection established."}`
)

// The checks of docs/api/authentication.md#request-pipeline in their order, on
// modern and legacy paths with modern and legacy headers: the first failing
// step answers.
func TestPipelineOrder(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.SetSettings(t, map[string]string{
		"blacklisted_ips":     "203.0.113.0/24\n198.51.100.7",
		"blacklisted_domains": "*.evil.test\nbad.example.com",
	})
	internal := a.newKey(apikeys.CreateParams{Name: "shop", Type: apikeys.TypeInternal})
	verifyOnly := a.newKey(apikeys.CreateParams{Name: "verify only", Type: apikeys.TypeExternal, Scopes: []string{"license:verify"}})
	special := a.newKey(apikeys.CreateParams{Name: "special", Type: apikeys.TypeExternal, Scopes: []string{"license:verify"}, Special: true})
	revoked := a.newKey(apikeys.CreateParams{Name: "revoked", Type: apikeys.TypeExternal})
	a.exec("UPDATE api_keys SET revoked = true WHERE name = 'revoked'")
	exp := time.Now().Add(time.Hour)
	expired := a.newKey(apikeys.CreateParams{Name: "expired", Type: apikeys.TypeExternal, ExpiresAt: &exp})
	a.exec("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE name = 'expired'")
	activateBody := `{"product_id":"ACME","license_code":"NOPE"}`
	huge := `{"product_id":"` + strings.Repeat("x", 1<<20) + `"}`

	for _, p := range bothPaths {
		t.Run(p.name, func(t *testing.T) {
			key, url, ip := p.keyHeader, p.urlHeader, p.ipHeader
			cases := []struct {
				name    string
				path    string
				headers []string
				body    string
				status  int
				want    string
			}{
				{"no key", p.connection, nil, "", 400, bodyMissingKey},
				{"empty key", p.connection, []string{key, ""}, "", 400, bodyMissingKey},
				{"no key beats a bad body", p.activate, nil, "{", 400, bodyMissingKey},
				{"unknown key", p.connection, []string{key, "nope"}, "", 401, bodyInvalidKey},
				{"internal key", p.connection, []string{key, internal}, "", 401, bodyInvalidKey},
				{"revoked key", p.connection, []string{key, revoked}, "", 401, bodyInvalidKey},
				{"expired key", p.connection, []string{key, expired}, "", 401, bodyInvalidKey},
				{"bad key beats blacklisted IP", p.connection, []string{key, "nope", ip, "203.0.113.9"}, "", 401, bodyInvalidKey},
				{"missing scope", p.activate, []string{key, verifyOnly}, activateBody, 403, bodyScope},
				{"scope beats blacklisted IP", p.activate, []string{key, verifyOnly, ip, "203.0.113.9"}, activateBody, 403, bodyScope},
				{"special key skips scopes", p.connection, []string{key, special}, "", 200, bodyConnected},
				{"invalid IP", p.connection, []string{key, a.key, ip, "10.0.0.300"}, "", 400, bodyInvalidIP},
				{"blacklisted IP", p.connection, []string{key, a.key, ip, "203.0.113.9"}, "", 403, bodyBlacklistIP},
				{"blacklisted IP, mapped form", p.connection, []string{key, a.key, ip, "::ffff:198.51.100.7"}, "", 403, bodyBlacklistIP},
				{"special key still blacklisted", p.connection, []string{key, special, ip, "203.0.113.9"}, "", 403, bodyBlacklistIP},
				{"IP beats URL", p.connection, []string{key, a.key, ip, "203.0.113.9", url, "http://"}, "", 403, bodyBlacklistIP},
				{"invalid URL", p.connection, []string{key, a.key, url, "http://"}, "", 400, bodyInvalidURL},
				{"invalid URL host", p.connection, []string{key, a.key, url, "https://exa mple.com/"}, "", 400, bodyInvalidURL},
				{"blacklisted domain", p.connection, []string{key, a.key, url, "https://shop.evil.test/app?x=1"}, "", 403, bodyBlacklistURL},
				{"blacklisted domain, www variant", p.connection, []string{key, a.key, url, "WWW.Bad.Example.com:8443"}, "", 403, bodyBlacklistURL},
				{"allowed domain", p.connection, []string{key, a.key, url, "https://good.example.com/"}, "", 200, bodyConnected},
				{"malformed JSON", p.activate, []string{key, a.key, "Content-Type", "application/json"}, `{"product_id":`, 400, bodyUnreadable},
				{"JSON array", p.activate, []string{key, a.key, "Content-Type", "application/json"}, `["ACME"]`, 400, bodyUnreadable},
				{"invalid UTF-8", p.activate, []string{key, a.key, "Content-Type", "application/json"}, "{\"product_id\":\"\xff\"}", 400, bodyUnreadable},
				{"broken multipart", p.activate, []string{key, a.key, "Content-Type", "multipart/form-data; boundary=x"}, "--x\r\nbroken", 400, bodyUnreadable},
				{"body too large", p.activate, []string{key, a.key, "Content-Type", "application/json"}, huge, 413, bodyTooLarge},
				{"validation", p.activate, []string{key, a.key, "Content-Type", "application/json"}, `{"client_name":"x"}`, 422,
					`{"status":false,"is_active":false,"message":"The product id field is required. (and 1 more error)","errors":{"product_id":["The product id field is required."],"license_code":["The license code field is required."]}}`},
				{"validation, more errors", p.activate, []string{key, a.key, "Content-Type", "application/json"},
					`{"product_id":"` + strings.Repeat("p", 101) + `","license_code":{"a":1},"client_name":["x"],"verify_type":"paypal"}`, 422,
					`{"status":false,"is_active":false,"message":"The product id field must not be greater than 100 characters. (and 3 more errors)","errors":{"product_id":["The product id field must not be greater than 100 characters."],"license_code":["The license code field must be a string."],"client_name":["The client name field must be a string."],"verify_type":["The selected verify type is invalid."]}}`},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := a.do(a.App, req{path: tc.path, headers: tc.headers, raw: tc.body})
					expect(t, r, tc.status, tc.want)
				})
			}
		})
	}
}

// The modern header wins; the legacy alias is read when it is absent or
// empty, on any path.
func TestHeaderAliases(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	for _, path := range []string{modern.connection, legacy.connection} {
		for _, h := range [][]string{
			{"X-API-KEY", a.key},
			{"LB-API-KEY", a.key},
			{"X-API-KEY", "", "LB-API-KEY", a.key},
			{"X-API-KEY", a.key, "LB-API-KEY", "wrong"},
			{"X-API-KEY", a.key, "X-API-URL", "https://ok.example.com", "LB-URL", "http://"},
		} {
			r := a.do(a.App, req{method: "GET", path: path, headers: h})
			expect(t, r, 200, bodyConnected)
		}
		r := a.do(a.App, req{method: "GET", path: path, headers: []string{"X-API-KEY", "wrong", "LB-API-KEY", a.key}})
		expect(t, r, 401, bodyInvalidKey)
		r = a.do(a.App, req{method: "GET", path: path, headers: []string{"X-API-KEY", a.key, "LB-IP", "nope"}})
		expect(t, r, 400, bodyInvalidIP)
	}
}

func TestRoutesAndMethods(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	k := []string{"X-API-KEY", a.key}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/external/connection-check", 200, bodyConnected},
		{"POST", "/api/external/connection-check/", 200, bodyConnected},
		{"GET", "/api/check_connection_ext/", 200, bodyConnected},
		{"POST", "/api/check_connection_ext", 200, bodyConnected},
		{"GET", "/api/external/license/activate", 405, `{"status":false,"is_active":false,"message":"Method not allowed."}`},
		{"GET", "/api/activate_license", 405, `{"status":false,"is_active":false,"message":"Method not allowed."}`},
		{"POST", "/api/external/license/nope", 404, `{"status":false,"is_active":false,"message":"Not found."}`},
		{"POST", "/api/external/license/activate/", 422, ""},
		{"POST", "/api/verify_license/", 422, ""},
	} {
		r := a.do(a.App, req{method: tc.method, path: tc.path, headers: k})
		if r.StatusCode != tc.status || (tc.body != "" && r.Body != tc.body) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.StatusCode, r.Body)
		}
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no X-Request-Id", tc.method, tc.path)
		}
		if tc.status == 200 && r.Header.Get("X-RateLimit-Limit") != "3000" {
			t.Errorf("%s %s: X-RateLimit-Limit %q", tc.method, tc.path, r.Header.Get("X-RateLimit-Limit"))
		}
	}
}
