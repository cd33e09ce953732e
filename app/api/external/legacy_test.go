package external_test

import (
	"testing"
)

// LicenseBox-era clients test only "status" and read any HTTP status but
// 200 as "Server returned an invalid response": on their paths every
// "nothing found" is a 200 with status false (docs/api/legacy.md), while
// the modern paths keep the statuses of docs/api/external.md.
func TestLegacyPathsAnswerNothingFoundWith200(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	empty := a.newProduct("EMPTY", "Empty CMS")
	a.addVersion(a.product, "1.2.0", day, true, false)

	cases := []struct {
		name               string
		modernPath, lbPath string
		body               map[string]any
		modernStatus       int
		modernBody, lbBody string
	}{
		{"update check, no version", "/api/external/update/check", "/api/check_update",
			map[string]any{"product_id": "EMPTY", "current_version": "1.0"}, 200,
			`{"status":true,"is_active":true,"message":"You are using the latest version.","update_available":false,"version":null}`,
			`{"status":false,"is_active":false,"message":"You have the latest version of Empty CMS.","update_available":false,"version":null}`},
		{"update check, up to date", "/api/external/update/check", "/api/check_update",
			map[string]any{"product_id": "ACME", "current_version": "1.2.0"}, 200,
			`{"status":true,"is_active":true,"message":"You are using the latest version.","update_available":false,"version":null}`,
			`{"status":false,"is_active":false,"message":"You have the latest version of Acme CMS.","update_available":false,"version":null}`},
		{"latest, unknown product", "/api/external/update/latest", "/api/latest_version",
			map[string]any{"product_id": "NOPE"}, 404,
			`{"status":false,"is_active":false,"message":"Product not found."}`, ""},
		{"latest, no version", "/api/external/update/latest", "/api/latest_version",
			map[string]any{"product_id": empty.ReferenceID}, 404,
			`{"status":false,"is_active":false,"message":"Latest version not found."}`, ""},
		{"activate, unknown product", modern.activate, legacy.activate,
			map[string]any{"product_id": "NOPE", "license_code": "X"}, 404,
			failureBody("Product not found.", "PRODUCT_NOT_FOUND"), ""},
		{"check, unknown product", modern.chk, legacy.chk,
			map[string]any{"product_id": "NOPE", "license_code": "X"}, 404,
			`{"status":false,"is_active":false,"message":"Product not found.","status_code":"PRODUCT_NOT_FOUND"}`, ""},
		{"check, no license", modern.chk, legacy.chk,
			map[string]any{"license_code": "NO-SUCH-CODE"}, 400,
			`{"status":false,"is_active":false,"message":"License is invalid.","status_code":"LICENSE_INVALID"}`, ""},
	}
	for _, c := range cases {
		expect(t, a.call(modern, c.modernPath, c.body, ""), c.modernStatus, c.modernBody)
		lb := c.lbBody
		if lb == "" {
			lb = c.modernBody // same body, status 200
		}
		r := a.call(legacy, c.lbPath, c.body, "")
		if r.StatusCode != 200 || r.Body != lb {
			t.Errorf("%s on %s: %d %s\nwant 200 %s", c.name, c.lbPath, r.StatusCode, r.Body, lb)
		}
	}

	// An update found is the same answer on both paths.
	for _, path := range []string{"/api/external/update/check", "/api/check_update"} {
		r := a.call(legacy, path, map[string]any{"product_id": "ACME", "current_version": "1.0"}, "")
		if r.StatusCode != 200 || r.JSON["status"] != true || r.str("version") != "1.2.0" || r.str("release_date") == "" {
			t.Errorf("%s with an update: %d %s", path, r.StatusCode, r.Body)
		}
	}
}

// PHP's json_encode(array()) sends "[]": an empty body, whose fields then
// come from the query string, on every path.
func TestEmptyJSONArrayIsAnEmptyBody(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	for _, p := range bothPaths {
		r := a.do(a.App, req{path: p.connection, headers: []string{p.keyHeader, a.key}, raw: "[]", contentType: "application/json"})
		expect(t, r, 200, bodyConnected)
		r = a.do(a.App, req{path: p.verify + "?product_id=ACME", headers: []string{p.keyHeader, a.key}, raw: "[]", contentType: "application/json"})
		expect(t, r, 200, verifyFail("License data is required.", "LICENSE_INVALID"))
	}
	r := a.do(a.App, req{path: "/api/check_update?product_id=ACME&current_version=1.0", headers: []string{legacy.keyHeader, a.key}, raw: " [ ] ", contentType: "application/json"})
	expect(t, r, 200, `{"status":false,"is_active":false,"message":"You have the latest version of Acme CMS.","update_available":false,"version":null}`)
}
