package external_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/test/eventually"
)

func verifyFail(message, code string) string {
	return `{"status":false,"is_active":false,"message":"` + message + `","status_code":"` + code + `","data":null}`
}

const (
	bodyVerified     = `{"status":true,"is_active":true,"message":"Verified.","data":null}`
	bodyDeactivated  = `{"status":true,"is_active":true,"message":"Deactivated."}`
	msgNotAssigned   = "License is invalid or not assigned to you."
	msgDataRequired  = "License data is required."
	msgProductAbsent = "Product not found."
)

// forge changes the last character of a token's signature.
func forge(tok string) string {
	last := tok[len(tok)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return tok[:len(tok)-1] + string(repl)
}

// licenseBoxToken encrypts as a LicenseBox installation does (docs/api/signing.md#migrated-tokens).
func licenseBoxToken(t testing.TB, key, plain string) string {
	t.Helper()
	hmacKey, aesKey, err := signing.LicenseBoxKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(aesKey)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	data := []byte(plain + strings.Repeat(string(rune(pad)), pad))
	iv := make([]byte, aes.BlockSize)
	_, _ = rand.Read(iv)
	ct := make([]byte, len(data))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, data)
	b64 := base64.StdEncoding.EncodeToString(append(iv, ct...))
	mac := hmac.New(sha512.New, hmacKey)
	mac.Write([]byte(b64))
	return hex.EncodeToString(mac.Sum(nil)) + b64
}

// Every answer of docs/api/external.md#verify, token and code paths, on both path sets.
func TestVerify(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	other := a.newProduct("OTHER", "Other App")
	const lbKey = "licensebox-encryption-key"
	a.SetSettings(t, map[string]string{"blacklisted_license_codes": "BAD-*", "legacy_encryption_key": lbKey})

	for _, p := range bothPaths {
		t.Run(p.name, func(t *testing.T) {
			code := func(s string) string { return strings.ToUpper(p.name) + "-" + s }
			const host = "https://shop.example.com/app"
			gone := code("GONE")
			inactive := a.newProduct(gone, "Gone App")
			a.license(nil, code("A"), customer("Cust-1"))
			a.license(nil, code("BLOCK"))
			a.license(nil, code("EXPIRE"))
			a.license(nil, code("DEACT"))
			a.license(other, code("OTHER"))
			a.license(inactive, code("GONE"))
			activate := func(c, client, h string, prod string) string {
				t.Helper()
				r := a.call(p, p.activate, map[string]any{"product_id": prod, "license_code": c, "client_name": client}, h)
				if r.JSON["status"] != true {
					t.Fatalf("activate %s: %s", c, r.Body)
				}
				return r.str("lic_response")
			}
			tok := activate(code("A"), "cust-1", host, "ACME")
			tokBlock := activate(code("BLOCK"), "", host, "ACME")
			tokExpire := activate(code("EXPIRE"), "", host, "ACME")
			tokDeact := activate(code("DEACT"), "", host, "ACME")
			tokOther := activate(code("OTHER"), "", host, "OTHER")
			tokGone := activate(code("GONE"), "", host, gone)
			a.setProductActive(inactive, false)
			// Other nodes learn of the change by NOTIFY; wait for this one.
			eventually.True(t, notified, "the other node learns of the change", func() bool {
				return a.call(p, p.verify, map[string]any{"product_id": gone, "license_data": tokGone}, host).Body == verifyFail(msgProductAbsent, "PRODUCT_NOT_FOUND")
			})

			v := func(body map[string]any, h string, extra ...string) resp {
				t.Helper()
				return a.call(p, p.verify, body, h, extra...)
			}
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tok}, host), 200, bodyVerified)
			expect(t, v(map[string]any{"product_id": "acme", "license_data": tok, "client_name": "CUST-1"}, "shop.example.com"), 200, bodyVerified)
			expect(t, v(map[string]any{"product_id": "ACME", "license_file": tok}, host), 200, bodyVerified)
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": "", "license_file": tok}, host), 200, bodyVerified)
			// The token wins over a code.
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tok, "license_code": code("DEACT")}, host), 200, bodyVerified)

			invalid := verifyFail(msgNotAssigned, "LICENSE_INVALID")
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tok}, "https://other.example.com"), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tok}, ""), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": forge(tok)}, host), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": "garbage"}, host), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tok, "client_name": "someone else"}, host), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tokOther}, host), 200, invalid)
			// A missing product is reported before a bad token
			// (docs/api/external.md#verify step 2).
			notFound := verifyFail(msgProductAbsent, "PRODUCT_NOT_FOUND")
			expect(t, v(map[string]any{"product_id": "NOPE", "license_data": forge(tok)}, host), 200, notFound)
			expect(t, v(map[string]any{"product_id": gone, "license_data": tokGone}, host), 200, notFound)
			expect(t, v(map[string]any{"product_id": "ACME"}, host), 200, verifyFail(msgDataRequired, "LICENSE_INVALID"))
			expect(t, v(map[string]any{"product_id": "NOPE"}, host), 200, notFound)

			// Blocking deactivates the activation, yet reads as blocked.
			blocked := a.findLicense(code("BLOCK"))
			if _, _, err := a.lics.Block(context.Background(), a.DB.Bun, admin, blocked); err != nil {
				t.Fatal(err)
			}
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tokBlock}, host), 200, verifyFail("Your license is blocked.", "LICENSE_BLOCKED"))
			a.exec("UPDATE licenses SET expires_at = now() WHERE license_code = ?", code("EXPIRE"))
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tokExpire}, host), 200, verifyFail("Your license has expired.", "LICENSE_EXPIRED"))
			expect(t, a.call(p, p.deactivate, map[string]any{"product_id": "ACME", "license_data": tokDeact}, host), 200, bodyDeactivated)
			deactivated := verifyFail(msgNotAssigned, "LICENSE_DEACTIVATED")
			expect(t, v(map[string]any{"product_id": "ACME", "license_data": tokDeact}, host), 200, deactivated)

			// Code path.
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("A")}, host), 200, bodyVerified)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": strings.ToLower(code("A")), "client_name": "Cust-1"}, "http://shop.example.com"), 200, bodyVerified)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("A"), "client_name": "Cust-2"}, host), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("A")}, "https://elsewhere.example.com"), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("MISSING")}, host), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("OTHER")}, host), 200, invalid)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("DEACT")}, host), 200, deactivated)
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": code("BLOCK")}, host), 200, verifyFail("Your license is blocked.", "LICENSE_BLOCKED"))
			expect(t, v(map[string]any{"product_id": "ACME", "license_code": "bad-1"}, host), 422,
				`{"status":false,"is_active":false,"message":"The license code is blacklisted.","errors":{"license_code":["The license code is blacklisted."]}}`)
			expect(t, v(map[string]any{"license_data": tok}, host), 422,
				`{"status":false,"is_active":false,"message":"The product id field is required.","errors":{"product_id":["The product id field is required."]}}`)

			// A LicenseBox token takes the code path with its license and client.
			lb := licenseBoxToken(t, lbKey, `{"license":"`+code("A")+`","client":"Cust-1"}`)
			expect(t, v(map[string]any{"product_id": "ACME", "license_file": lb}, host), 200, bodyVerified)
			expect(t, v(map[string]any{"product_id": "ACME", "license_file": lb}, "https://elsewhere.example.com"), 200, invalid)
			lbWrong := licenseBoxToken(t, "another key", `{"license":"`+code("A")+`","client":"Cust-1"}`)
			expect(t, v(map[string]any{"product_id": "ACME", "license_file": lbWrong}, host), 200, invalid)
		})
	}
}

// With verify_license_ip on, verification must come from the activation's
// IP.
func TestVerifyIPPinning(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.license(nil, "PIN")
	tok := a.activate(modern, "PIN", "https://shop.example.com")
	a.SetSettings(t, map[string]string{"verify_license_ip": "true"})
	body := map[string]any{"product_id": "ACME", "license_data": tok}
	expect(t, a.call(modern, modern.verify, body, "https://shop.example.com"), 200, bodyVerified)
	expect(t, a.call(modern, modern.verify, body, "https://shop.example.com", "X-API-IP", "192.0.2.1"), 200, verifyFail(msgNotAssigned, "LICENSE_INVALID"))
}

// Every answer of docs/api/external.md#deactivate on both path sets.
func TestDeactivate(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	for _, p := range bothPaths {
		t.Run(p.name, func(t *testing.T) {
			code := func(s string) string { return strings.ToUpper(p.name) + "-" + s }
			const host = "https://shop.example.com"
			gone := code("GONE")
			inactive := a.newProduct(gone, "Gone App")
			a.license(nil, code("A"))
			a.license(nil, code("B"))
			a.license(nil, code("EXP"))
			a.license(inactive, code("GONE"))
			tok := a.activate(p, code("A"), host)
			tokExp := a.activate(p, code("EXP"), host)
			a.activate(p, code("B"), host)
			a.activate(p, code("B"), "https://second.example.com")
			r := a.call(p, p.activate, map[string]any{"product_id": gone, "license_code": code("GONE")}, host)
			tokGone := r.str("lic_response")
			a.setProductActive(inactive, false)

			d := func(body map[string]any, h string) resp {
				t.Helper()
				return a.call(p, p.deactivate, body, h)
			}
			fail := func(message, statusCode string) string {
				return `{"status":false,"is_active":false,"message":"` + message + `","status_code":"` + statusCode + `"}`
			}
			expect(t, d(map[string]any{"product_id": "NOPE", "license_data": tok}, host), 200, fail(msgProductAbsent, "PRODUCT_NOT_FOUND"))
			expect(t, d(map[string]any{"product_id": "ACME"}, host), 200, fail(msgDataRequired, "LICENSE_INVALID"))
			expect(t, d(map[string]any{"product_id": "ACME", "license_data": forge(tok)}, host), 200, fail(msgNotAssigned, "LICENSE_INVALID"))
			expect(t, d(map[string]any{"product_id": "ACME", "license_data": tok}, "https://other.example.com"), 200, fail(msgNotAssigned, "LICENSE_INVALID"))
			expect(t, d(map[string]any{"product_id": "ACME", "license_data": tok}, host), 200, bodyDeactivated)
			expect(t, d(map[string]any{"product_id": "ACME", "license_data": tok}, host), 200, fail(msgNotAssigned, "LICENSE_DEACTIVATED"))
			// Expired licenses and inactive products still free their slots.
			a.exec("UPDATE licenses SET expires_at = now() - interval '1 day' WHERE license_code = ?", code("EXP"))
			expect(t, d(map[string]any{"product_id": "ACME", "license_file": tokExp}, host), 200, bodyDeactivated)
			expect(t, d(map[string]any{"product_id": gone, "license_data": tokGone}, host), 200, bodyDeactivated)
			// Code path: the activation on the caller's host only.
			expect(t, d(map[string]any{"product_id": "ACME", "license_code": code("B")}, "https://third.example.com"), 200, fail(msgNotAssigned, "LICENSE_INVALID"))
			expect(t, d(map[string]any{"product_id": "ACME", "license_code": code("B")}, host), 200, bodyDeactivated)
			expect(t, d(map[string]any{"product_id": "ACME", "license_code": code("B")}, host), 200, fail(msgNotAssigned, "LICENSE_INVALID"))
			var active int
			if err := a.DB.Bun.NewRaw("SELECT count(*) FROM activations WHERE license_code = ? AND is_active", code("B")).Scan(context.Background(), &active); err != nil || active != 1 {
				t.Fatalf("active activations of B: %d %v", active, err)
			}
		})
	}
}

// Every answer of docs/api/external.md#license-check on both path sets.
func TestLicenseCheck(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	other := a.newProduct("OTHER", "Other App")
	a.SetSettings(t, map[string]string{"blacklisted_license_codes": "BAD-*"})
	for _, p := range bothPaths {
		t.Run(p.name, func(t *testing.T) {
			code := func(s string) string { return strings.ToUpper(p.name) + "-" + s }
			a.license(nil, code("A"), parallel(2), uses(5), customer("Cust-1"))
			a.license(nil, code("BLOCK"))
			a.license(nil, code("EXP"))
			a.license(other, code("OTHER"))
			if r := a.call(p, p.activate, map[string]any{"product_id": "ACME", "license_code": code("A"), "client_name": "Cust-1"}, ""); r.JSON["status"] != true {
				t.Fatal(r.Body)
			}
			blocked := a.findLicense(code("BLOCK"))
			if _, _, err := a.lics.Block(context.Background(), a.DB.Bun, admin, blocked); err != nil {
				t.Fatal(err)
			}
			a.exec("UPDATE licenses SET expires_at = '2024-01-15 00:00:00+00', updates_until = '2025-01-15 00:00:00+00' WHERE license_code = ?", code("EXP"))
			a.exec("UPDATE licenses SET type = 'perpetual' WHERE license_code = ?", code("A"))

			chk := func(body map[string]any) resp {
				t.Helper()
				return a.call(p, p.chk, body, "")
			}
			data := func(c, status, expires, updates string, usesLeft, parallelLeft, active string) string {
				typ := "null"
				if c == code("A") {
					typ = `"perpetual"`
				}
				uses, par := "null", "null"
				if c == code("A") {
					uses, par = "5", "2"
				}
				return `{"license_code":"` + c + `","product_id":"ACME","product_name":"Acme CMS","type":` + typ + `,"status":"` + status +
					`","expires_at":` + expires + `,"updates_until":` + updates + `,"support_until":null,"uses":` + uses + `,"uses_left":` + usesLeft +
					`,"parallel_uses":` + par + `,"parallel_uses_left":` + parallelLeft + `,"active_activations":` + active + `}`
			}
			okA := `{"status":true,"is_active":true,"message":"Verified.","data":` + data(code("A"), "valid", "null", "null", "4", "1", "1") + `}`
			expect(t, chk(map[string]any{"license_code": code("A")}), 200, okA)
			expect(t, chk(map[string]any{"purchase_code": strings.ToLower(code("A")), "product_id": "acme"}), 200, okA)
			expect(t, chk(map[string]any{"license_code": code("A"), "purchase_code": "whatever"}), 200, okA)
			expect(t, chk(map[string]any{"license_code": code("BLOCK")}), 200,
				`{"status":false,"is_active":false,"message":"Your license is blocked.","status_code":"LICENSE_BLOCKED","data":`+data(code("BLOCK"), "blocked", "null", "null", "null", "null", "0")+`}`)
			expect(t, chk(map[string]any{"license_code": code("EXP")}), 200,
				`{"status":false,"is_active":false,"message":"Your license has expired.","status_code":"LICENSE_EXPIRED","data":`+
					data(code("EXP"), "expired", `"2024-01-15T00:00:00.000000Z"`, `"2025-01-15T00:00:00.000000Z"`, "null", "null", "0")+`}`)
			invalid := `{"status":false,"is_active":false,"message":"License is invalid.","status_code":"LICENSE_INVALID"}`
			// Nothing found is a 200 on the legacy path (docs/api/legacy.md).
			noLicense, noProduct := 400, 404
			if p.name == "legacy" {
				noLicense, noProduct = 200, 200
			}
			expect(t, chk(map[string]any{"license_code": code("MISSING")}), noLicense, invalid)
			expect(t, chk(map[string]any{"license_code": code("OTHER"), "product_id": "ACME"}), noLicense, invalid)
			expect(t, chk(map[string]any{"license_code": code("A"), "product_id": "NOPE"}), noProduct,
				`{"status":false,"is_active":false,"message":"Product not found.","status_code":"PRODUCT_NOT_FOUND"}`)
			expect(t, chk(map[string]any{"product_id": "ACME"}), 422,
				`{"status":false,"is_active":false,"message":"The license code field is required when purchase code is not present.","errors":{"license_code":["The license code field is required when purchase code is not present."]}}`)
			expect(t, chk(map[string]any{"purchase_code": "bad-9"}), 422,
				`{"status":false,"is_active":false,"message":"The license code is blacklisted.","errors":{"license_code":["The license code is blacklisted."]}}`)
			// No personal data.
			if r := chk(map[string]any{"license_code": code("A")}); strings.Contains(r.Body, "Cust-1") {
				t.Errorf("license check leaks the customer: %s", r.Body)
			}
		})
	}
}

func (a *apiEnv) findLicense(code string) int64 {
	a.t.Helper()
	var id int64
	if err := a.DB.Bun.NewRaw("SELECT id FROM licenses WHERE license_code = ?", code).Scan(context.Background(), &id); err != nil {
		a.t.Fatal(err)
	}
	return id
}

// Tokens keep verifying after a key rotation (the retired key verifies),
// and stop once the key that signed them is deleted, on every node: the
// memory of verified tokens follows the node's key set.
func TestVerifyAcrossKeyRotationAndDeletion(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.NewApp(t)
	a.license(nil, "ROT")
	const host = "https://shop.example.com"
	tok := a.activate(modern, "ROT", host)
	body := map[string]any{"product_id": "ACME", "license_data": tok}
	verify := func(node int) string {
		return a.do(a.Nodes[node].App, req{path: modern.verify, headers: []string{"X-API-KEY", a.key, "X-API-URL", host}, json: body}).Body
	}
	for i := range 2 {
		if got := verify(i); got != bodyVerified {
			t.Fatalf("node %d before rotation: %s", i, got)
		}
	}
	ctx := context.Background()
	old, _ := a.Nodes[0].Signing.Active()
	if _, err := signing.Rotate(ctx, a.DB.Bun, []byte(servertest.InstanceSecret), time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		eventually.True(t, notified, "the other node learns of the change", func() bool { k, _ := a.Nodes[i].Signing.Active(); return k.KID != old.KID })
		if got := verify(i); got != bodyVerified {
			t.Fatalf("node %d after rotation: %s", i, got)
		}
	}
	if err := signing.Delete(ctx, a.DB.Bun, old.KID); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		eventually.True(t, notified, "the other node learns of the change", func() bool { return verify(i) == verifyFail(msgNotAssigned, "LICENSE_INVALID") })
	}
	// New activations are signed with the new key.
	a.license(nil, "ROT-2")
	tok2 := a.activate(legacy, "ROT-2", host)
	expect(t, a.call(legacy, legacy.verify, map[string]any{"product_id": "ACME", "license_data": tok2}, host), 200, bodyVerified)
}
