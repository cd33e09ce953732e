package external_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzExternalRequest sends arbitrary bodies and headers to every external
// endpoint through the real HTTP server: malformed input of any kind never
// produces a 5xx, and every answer is a JSON object with status and
// is_active (docs/api/conventions.md#responses, docs/api/conventions.md#error-envelope).
func FuzzExternalRequest(f *testing.F) {
	a := newAPIEnv(f)
	// Fuzzing sends thousands of requests a second; past the default limit
	// every answer would be a 429 and the handlers would go untested.
	a.SetSettings(f, map[string]string{"requests_rate_limiting_period": "1000000"})
	a.license(nil, "FUZZ-1", parallel(1000))
	tok := a.activate(modern, "FUZZ-1", "https://fuzz.example.com")
	targets := []string{
		modern.connection, modern.activate, modern.verify, modern.deactivate, modern.chk,
		legacy.connection, legacy.activate, legacy.verify, legacy.deactivate, legacy.chk,
	}
	seeds := []struct {
		target      uint8
		key         bool
		contentType string
		body        string
		url, ip     string
	}{
		{1, true, "application/json", `{"product_id":"ACME","license_code":"FUZZ-1"}`, "https://fuzz.example.com", ""},
		{2, true, "application/json", `{"product_id":"ACME","license_data":"` + tok + `"}`, "fuzz.example.com", ""},
		{3, true, "application/json", `{"product_id":"ACME","license_data":"v1.e30.AAAA"}`, "", "10.0.0.1"},
		{4, true, "application/json", `{"purchase_code":["a",{"b":null}],"product_id":1e400}`, "", ""},
		{6, true, "application/json", `{"product_id":`, "", ""},
		{7, true, "application/json", "{\"license_code\":\"\xff\xfe\"}", "", ""},
		{8, true, "application/json", `{"product_id":"ACME","license_code":"x\u0000y"}`, "", ""},
		{1, true, "application/x-www-form-urlencoded", "product_id=ACME&license_code=%ZZ&client_name[]=a&client_name[]=b", "", ""},
		{2, true, "multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"product_id\"\r\n\r\nACME\r\n--zz--\r\n", "", ""},
		{2, true, "multipart/form-data", "--zz", "", ""},
		{7, true, "", `product_id=ACME&license_file=` + strings.Repeat("a", 128) + "QUFB", "", ""},
		{0, false, "text/plain", "hello", "://", "not-an-ip"},
		{5, true, "application/json", `[]`, "http://[::1", "::ffff:1.2.3.4"},
		{9, true, "application/json", `{"product_id":"ACME","license_code":"FUZZ-1","verify_type":"envato"}`, "xn--bcher-kva.example", "fe80::1%eth0"},
		{1, true, "application/json", `{"product_id":"` + strings.Repeat("é", 200) + `","license_code":true,"client_name":12.5}`, "", ""},
		// Issue 15.8: integers past PostgreSQL's, year 0000 and year 10000.
		{1, true, "application/json", `{"product_id":"ACME","license_code":"FUZZ-1","uses":2147483648,"expires_at":"0000-01-01"}`, "", ""},
		{4, true, "application/x-www-form-urlencoded", "product_id=ACME&license_code=FUZZ-1&license_uses=99999999999&expiry_date=9999-12-31T23:59:59-23:59", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.target, s.key, s.contentType, []byte(s.body), s.url, s.ip)
	}
	base := a.listen(a.App)

	f.Fuzz(func(t *testing.T, target uint8, key bool, contentType string, body []byte, apiURL, apiIP string) {
		path := targets[int(target)%len(targets)]
		r, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.Header.Set("Content-Type", contentType)
		if key {
			r.Header.Set("X-API-KEY", a.key)
		}
		r.Header.Set("X-API-URL", apiURL)
		r.Header.Set("LB-IP", apiIP)
		res, err := httpClient.Do(r)
		if err != nil {
			t.Skip() // the client refused the request (invalid header bytes)
		}
		defer func() { _ = res.Body.Close() }()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s (%q, %q): %d %s", path, contentType, body, res.StatusCode, b)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("POST %s: not a JSON object: %d %s", path, res.StatusCode, b)
		}
		if _, ok := out["status"].(bool); !ok {
			t.Fatalf("POST %s: no status: %s", path, b)
		}
		if _, ok := out["is_active"].(bool); !ok {
			t.Fatalf("POST %s: no is_active: %s", path, b)
		}
	})
}
