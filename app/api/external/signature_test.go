package external_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/signing"
)

// publicKeys fetches GET /api/external/public-keys as a client does.
func (a *apiEnv) publicKeys() func(string) (ed25519.PublicKey, bool) {
	a.t.Helper()
	r := a.do(a.App, req{method: http.MethodGet, path: "/api/external/public-keys"})
	keys := map[string]ed25519.PublicKey{}
	for _, k := range r.JSON["data"].([]any) {
		m := k.(map[string]any)
		raw, err := base64.StdEncoding.DecodeString(m["public_key"].(string))
		if err != nil {
			a.t.Fatal(err)
		}
		keys[m["kid"].(string)] = raw
	}
	return func(kid string) (ed25519.PublicKey, bool) { k, ok := keys[kid]; return k, ok }
}

// signed is r as its client checks it: the request line and host it sent.
func signed(r resp, method, path string) signing.SignedResponse {
	return signing.SignedResponse{
		Method: method, Path: path, Host: r.Request.Host,
		Signature: r.Header.Get(signing.ResponseSignatureHeader), Digest: r.Header.Get(signing.DigestHeader), Body: []byte(r.Body),
	}
}

// Every answer of an external route is signed: success and failure, modern
// and legacy paths, the pipeline's errors, public endpoints and files; a
// changed body, digest, path or host does not verify.
func TestResponsesAreSigned(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.license(nil, "SIGN-1")
	rel := a.addVersion(a.product, "1.2.0", day, true, false)
	keys := a.publicKeys()
	token := a.activate(modern, "SIGN-1", "https://one.example.com")

	cases := []struct {
		name, method, path string
		r                  resp
	}{
		{"verify", "POST", modern.verify, a.call(modern, modern.verify, map[string]any{"product_id": "ACME", "license_data": token}, "https://one.example.com")},
		{"legacy verify", "POST", legacy.verify, a.call(legacy, legacy.verify, map[string]any{"product_id": "ACME", "license_code": "SIGN-1"}, "https://one.example.com")},
		{"status false", "POST", modern.activate, a.call(modern, modern.activate, map[string]any{"product_id": "ACME", "license_code": "NOPE"}, "")},
		{"422", "POST", modern.activate, a.call(modern, modern.activate, map[string]any{}, "")},
		{"400 no key", "POST", legacy.verify, a.do(a.App, req{path: legacy.verify, json: map[string]any{}})},
		{"401 bad key", "POST", modern.chk, a.do(a.App, req{path: modern.chk, headers: []string{"X-API-KEY", "wrong"}, json: map[string]any{}})},
		{"public keys", "GET", "/api/external/public-keys", a.do(a.App, req{method: "GET", path: "/api/external/public-keys"})},
		{"file", "POST", "/api/external/update/" + rel.versionID + "/download/main", a.download(rel.versionID, "main", "https://one.example.com", map[string]any{"license_code": "SIGN-1"})},
		{"file range", "POST", "/api/external/update/" + rel.versionID + "/download/main", a.download(rel.versionID, "main", "https://one.example.com", map[string]any{"license_code": "SIGN-1"}, "Range", "bytes=0-9")},
	}
	now := time.Now()
	for _, c := range cases {
		s := signed(c.r, c.method, c.path)
		if strings.HasPrefix(c.name, "file") {
			// A file's digest is the whole file's, also for a part of it.
			s.Body = rel.main
		}
		date, err := signing.VerifyResponse(s, keys)
		if err != nil {
			t.Errorf("%s (%d %.80s): %v; headers %v", c.name, c.r.StatusCode, c.r.Body, err, c.r.Header)
			continue
		}
		if d := date.Sub(now); d < -time.Minute || d > time.Minute {
			t.Errorf("%s: signed date %v, now %v", c.name, date, now)
		}
		for what, changed := range map[string]func(*signing.SignedResponse){
			"body":   func(s *signing.SignedResponse) { s.Body = append([]byte(nil), s.Body...); s.Body[len(s.Body)/2] ^= 1 },
			"digest": func(s *signing.SignedResponse) { s.Digest = "sha-256=" + strings.Repeat("A", 43) + "=" },
			"path":   func(s *signing.SignedResponse) { s.Path += "x" },
			"host":   func(s *signing.SignedResponse) { s.Host = "evil.example.com" },
			"method": func(s *signing.SignedResponse) { s.Method = "PUT" },
		} {
			m := s
			changed(&m)
			if _, err := signing.VerifyResponse(m, keys); err == nil {
				t.Errorf("%s: changed %s still verifies", c.name, what)
			}
		}
	}
}

// A nonce sent as the X-Licensor-Nonce header or as a nonce field (JSON,
// form, query) comes back as the body's last key, inside the signature.
func TestNonceIsEchoedInsideTheSignature(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.license(nil, "NONCE-1")
	keys := a.publicKeys()
	body := map[string]any{"product_id": "ACME", "license_code": "NONCE-1"}
	withNonce := map[string]any{"product_id": "ACME", "license_code": "NONCE-1", "nonce": "in-json"}
	form := url.Values{"product_id": {"ACME"}, "license_code": {"NONCE-1"}, "nonce": {"in form"}}
	cases := []struct {
		nonce, path string
		r           resp
	}{
		{"from-header", modern.chk, a.call(modern, modern.chk, body, "", "X-Licensor-Nonce", "from-header")},
		{"in-json", modern.chk, a.call(modern, modern.chk, withNonce, "")},
		{"in form", legacy.chk, a.do(a.App, req{path: legacy.chk, headers: []string{"LB-API-KEY", a.key}, form: form})},
		{"in query", modern.chk + "?nonce=in+query", a.call(modern, modern.chk+"?nonce=in+query", body, "")},
		{`"quoted" <html>`, modern.chk, a.call(modern, modern.chk, map[string]any{}, "", "X-Licensor-Nonce", `"quoted" <html>`)},
		{"error", modern.chk, a.do(a.App, req{path: modern.chk, json: map[string]any{}, headers: []string{"X-Licensor-Nonce", "error"}})},
		// The header wins over the field; sent empty, it is absent.
		{"header-wins", modern.chk, a.call(modern, modern.chk, withNonce, "", "X-Licensor-Nonce", "header-wins")},
		{"in-json", modern.chk, a.call(modern, modern.chk, withNonce, "", "X-Licensor-Nonce", "")},
		{"legacy-header", legacy.chk, a.do(a.App, req{path: legacy.chk, headers: []string{"LB-API-KEY", a.key, "X-Licensor-Nonce", "legacy-header"}, form: form})},
		{"verify", modern.verify, a.call(modern, modern.verify, body, "", "X-Licensor-Nonce", "verify")},
	}
	for _, c := range cases {
		if c.r.JSON["nonce"] != c.nonce || !strings.HasSuffix(c.r.Body, `}`) {
			t.Errorf("nonce %q: body %s", c.nonce, c.r.Body)
		}
		path, _, _ := strings.Cut(c.path, "?")
		if _, err := signing.VerifyResponse(signed(c.r, "POST", path), keys); err != nil {
			t.Errorf("nonce %q: %v", c.nonce, err)
		}
	}
	// A route without the pipeline's guard reads the header itself.
	pub := a.do(a.App, req{method: http.MethodGet, path: "/api/external/public-keys", headers: []string{"X-Licensor-Nonce", "public"}})
	if pub.JSON["nonce"] != "public" {
		t.Errorf("public keys: body %s", pub.Body)
	}
	if _, err := signing.VerifyResponse(signed(pub, "GET", "/api/external/public-keys"), keys); err != nil {
		t.Errorf("public keys: %v", err)
	}
	// An answer without the nonce it was asked for is the client's to refuse:
	// a replayed answer carries another or none.
	plain := a.call(modern, modern.chk, body, "")
	if _, ok := plain.JSON["nonce"]; ok {
		t.Fatalf("nonce without asking: %s", plain.Body)
	}
}

// sign_api_responses off: answers are as they were before signing.
func TestSigningCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.license(nil, "OFF-1")
	a.SetSettings(t, map[string]string{"sign_api_responses": "false"})
	r := a.call(modern, modern.chk, map[string]any{"product_id": "ACME", "license_code": "OFF-1"}, "", "X-Licensor-Nonce", "n")
	if r.StatusCode != 200 || r.Header.Get(signing.ResponseSignatureHeader) != "" || r.Header.Get(signing.DigestHeader) != "" {
		t.Fatalf("signed while off: %d %v", r.StatusCode, r.Header)
	}
	if _, ok := r.JSON["nonce"]; ok {
		t.Fatalf("nonce echoed while off: %s", r.Body)
	}
}
