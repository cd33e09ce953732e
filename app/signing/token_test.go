package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	t0   = time.Date(2024, 2, 1, 9, 30, 0, 0, time.UTC)
	seed = bytes.Repeat([]byte{7}, ed25519.SeedSize)
)

// testKey returns a deterministic private key from one byte.
func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func testRing(t testing.TB, keys ...Key) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func retired(k Key, at time.Time) Key {
	k.Status, k.RetiredAt, k.Private = StatusRetired, &at, nil
	return k
}

// signRaw builds a token around any payload, as a forger holding key
// priv would.
func signRaw(priv ed25519.PrivateKey, payload string) string {
	signed := "v1." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return signed + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(signed)))
}

func TestKeyID(t *testing.T) {
	k := NewKey(testKey(1), t0)
	sum := sha256.Sum256(k.Public)
	if k.KID != hex.EncodeToString(sum[:])[:16] || len(k.KID) != 16 {
		t.Fatalf("kid %q", k.KID)
	}
}

func TestIssueTokenFormat(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(seed)
	r := testRing(t, NewKey(priv, t0))
	tok, err := r.IssueToken(981, "ACME-CMS", t0)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		t.Fatalf("token %q", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"aid":981,"pid":"ACME-CMS","iat":1706779800}`; string(payload) != want {
		t.Fatalf("payload %s, want %s", payload, want)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !ed25519.Verify(priv.Public().(ed25519.PublicKey), []byte("v1."+parts[1]), sig) {
		t.Fatal("signature does not verify over the ASCII bytes of v1.<payload>")
	}
	if strings.ContainsAny(tok, "=+/") {
		t.Fatalf("not unpadded base64url: %q", tok)
	}
	c, err := r.VerifyToken(tok)
	if err != nil || c.ActivationID != 981 || c.ProductRef != "ACME-CMS" || c.IssuedAt != t0.Unix() || c.Entitlements != nil {
		t.Fatalf("VerifyToken = %+v, %v", c, err)
	}
	// Entitlements follow iat; a token without them has no "ent".
	ent, err := r.IssueTokenWith(981, "ACME-CMS", TokenExtras{Entitlements: []string{"pro", "sso"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ = base64.RawURLEncoding.DecodeString(strings.Split(ent, ".")[1])
	if want := `{"aid":981,"pid":"ACME-CMS","iat":1706779800,"ent":["pro","sso"]}`; string(payload) != want {
		t.Fatalf("payload %s, want %s", payload, want)
	}
	if c, err := r.VerifyToken(ent); err != nil || strings.Join(c.Entitlements, ",") != "pro,sso" {
		t.Fatalf("VerifyToken = %+v, %v", c, err)
	}
	// A waiting expiry clock follows the entitlements (exs, exd).
	clocked, err := r.IssueTokenWith(981, "ACME-CMS", TokenExtras{Entitlements: []string{"pro"}, Clock: Clock{Start: "first_verify", Days: 30}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ = base64.RawURLEncoding.DecodeString(strings.Split(clocked, ".")[1])
	if want := `{"aid":981,"pid":"ACME-CMS","iat":1706779800,"ent":["pro"],"exs":"first_verify","exd":30}`; string(payload) != want {
		t.Fatalf("payload %s, want %s", payload, want)
	}
	if c, err := r.VerifyToken(clocked); err != nil || c.Clock != (Clock{Start: "first_verify", Days: 30}) {
		t.Fatalf("VerifyToken = %+v, %v", c, err)
	}
	// The heartbeat interval and the floating flag follow them.
	hb, err := r.IssueTokenWith(981, "ACME-CMS", TokenExtras{Entitlements: []string{"pro"}, HeartbeatInterval: 600, Floating: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ = base64.RawURLEncoding.DecodeString(strings.Split(hb, ".")[1])
	if want := `{"aid":981,"pid":"ACME-CMS","iat":1706779800,"ent":["pro"],"hb":600,"flt":true}`; string(payload) != want {
		t.Fatalf("payload %s, want %s", payload, want)
	}
	if c, err := r.VerifyToken(hb); err != nil || c.HeartbeatInterval != 600 || !c.Floating {
		t.Fatalf("VerifyToken = %+v, %v", c, err)
	}
	// Ed25519 is deterministic: the same claims give the same token.
	if again, _ := r.IssueToken(981, "ACME-CMS", t0); again != tok {
		t.Fatal("tokens differ")
	}
	if _, err := r.IssueToken(0, "ACME-CMS", t0); err == nil {
		t.Fatal("activation id 0 must be refused")
	}
}

func TestVerifyTokenRejects(t *testing.T) {
	priv := testKey(1)
	r := testRing(t, NewKey(priv, t0))
	good, _ := r.IssueToken(42, "ACME", t0)
	parts := strings.Split(good, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":                  "",
		"two parts":              "v1." + parts[1],
		"four parts":             good + ".x",
		"trailing dot":           good + ".",
		"prefix v2":              "v2" + good[2:],
		"prefix V1":              "V1" + good[2:],
		"payload changed":        "v1." + flip(parts[1], 3) + "." + parts[2],
		"signature changed":      "v1." + parts[1] + "." + flip(parts[2], 10),
		"signature truncated":    "v1." + parts[1] + "." + parts[2][:80],
		"padding":                good + "==",
		"standard alphabet":      strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/",
		"spaces":                 " " + good,
		"other key":              signRaw(testKey(2), `{"aid":42,"pid":"ACME","iat":1}`),
		"aid zero":               signRaw(priv, `{"aid":0,"pid":"ACME","iat":1}`),
		"aid negative":           signRaw(priv, `{"aid":-4,"pid":"ACME","iat":1}`),
		"aid float":              signRaw(priv, `{"aid":4.0,"pid":"ACME","iat":1}`),
		"aid exponent":           signRaw(priv, `{"aid":4e1,"pid":"ACME","iat":1}`),
		"aid string":             signRaw(priv, `{"aid":"4","pid":"ACME","iat":1}`),
		"clock without days":     signRaw(priv, `{"aid":4,"pid":"ACME","iat":1,"exs":"first_verify"}`),
		"clock days string":      signRaw(priv, `{"aid":4,"pid":"ACME","iat":1,"exs":"first_verify","exd":"3"}`),
		"aid too big":            signRaw(priv, `{"aid":9223372036854775808,"pid":"ACME","iat":1}`),
		"aid missing":            signRaw(priv, `{"pid":"ACME","iat":1}`),
		"pid number":             signRaw(priv, `{"aid":4,"pid":7,"iat":1}`),
		"pid null":               signRaw(priv, `{"aid":4,"pid":null,"iat":1}`),
		"pid missing":            signRaw(priv, `{"aid":4,"iat":1}`),
		"iat float":              signRaw(priv, `{"aid":4,"pid":"ACME","iat":1.5}`),
		"iat string":             signRaw(priv, `{"aid":4,"pid":"ACME","iat":"1"}`),
		"iat missing":            signRaw(priv, `{"aid":4,"pid":"ACME"}`),
		"payload array":          signRaw(priv, `[4,"ACME",1]`),
		"payload not json":       signRaw(priv, `aid=4`),
		"payload trailing bytes": signRaw(priv, `{"aid":4,"pid":"ACME","iat":1}x`),
		"too long":               signRaw(priv, `{"aid":4,"pid":"`+strings.Repeat("A", 1000)+`","iat":1}`),
	}
	for name, tok := range cases {
		if c, err := r.VerifyToken(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: VerifyToken(%q) = %+v, %v", name, tok, c, err)
		}
	}
	// Unknown fields and a negative iat are accepted: the signature is ours.
	for _, p := range []string{`{"aid":4,"pid":"ACME","iat":1,"x":true}`, `{"iat":-1,"pid":"","aid":4}`} {
		if _, err := r.VerifyToken(signRaw(priv, p)); err != nil {
			t.Errorf("VerifyToken(%s): %v", p, err)
		}
	}
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	old, cur := NewKey(testKey(1), t0), NewKey(testKey(2), t0.Add(time.Hour))
	oldTok, _ := testRing(t, old).IssueToken(1, "ACME", t0)

	r := testRing(t, cur, retired(old, t0.Add(time.Hour)))
	if c, err := r.VerifyToken(oldTok); err != nil || c.ActivationID != 1 {
		t.Fatalf("token of a retired key: %+v, %v", c, err)
	}
	newTok, _ := r.IssueToken(2, "ACME", t0)
	if _, err := testRing(t, old).VerifyToken(newTok); err == nil {
		t.Fatal("new tokens are signed by the new key")
	}
	if _, err := testRing(t, cur).VerifyToken(oldTok); !errors.Is(err, ErrInvalidToken) {
		t.Fatal("a deleted key verifies nothing")
	}
	// A ring with no active key verifies but does not sign.
	ro := testRing(t, retired(old, t0))
	if _, err := ro.VerifyToken(oldTok); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.IssueToken(1, "ACME", t0); !errors.Is(err, ErrNoKey) {
		t.Fatalf("IssueToken without an active key: %v", err)
	}
	if _, ok := ro.Active(); ok {
		t.Fatal("no active key")
	}
}

func TestNewKeyRingRejects(t *testing.T) {
	a, b := NewKey(testKey(1), t0), NewKey(testKey(2), t0)
	noPriv := a
	noPriv.Private = nil
	mismatched := a
	mismatched.Private = b.Private
	short := retired(a, t0)
	short.Public = short.Public[:5]
	for name, keys := range map[string][]Key{
		"two active":          {a, b},
		"active without priv": {noPriv},
		"priv of another key": {mismatched},
		"short public key":    {short},
	} {
		if _, err := NewKeyRing(keys...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPublicKeysJSON(t *testing.T) {
	cur, old := NewKey(testKey(2), t0.Add(time.Hour)), NewKey(testKey(1), t0)
	r := testRing(t, cur, retired(old, t0.Add(time.Hour)))
	b, err := json.Marshal(r.PublicKeys())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":[` +
		`{"kid":"` + cur.KID + `","alg":"ed25519","public_key":"` + base64.StdEncoding.EncodeToString(cur.Public) + `","created_at":"2024-02-01T10:30:00.000000Z","retired_at":null},` +
		`{"kid":"` + old.KID + `","alg":"ed25519","public_key":"` + base64.StdEncoding.EncodeToString(old.Public) + `","created_at":"2024-02-01T09:30:00.000000Z","retired_at":"2024-02-01T10:30:00.000000Z"}]}`
	if string(b) != want {
		t.Fatalf("public keys:\n%s\nwant\n%s", b, want)
	}
	if b, _ := json.Marshal(testRing(t).PublicKeys()); string(b) != `{"data":[]}` {
		t.Fatalf("no keys: %s", b)
	}
	for _, k := range r.Keys() {
		if k.Private != nil {
			t.Fatal("Keys leaks a private key")
		}
	}
	if k, _ := r.Active(); k.Private != nil || k.KID != cur.KID {
		t.Fatal("Active")
	}
}

func FuzzVerifyToken(f *testing.F) {
	priv := testKey(1)
	r := testRing(f, NewKey(priv, t0), retired(NewKey(testKey(2), t0), t0))
	good, _ := r.IssueToken(42, "ACME-CMS", t0)
	for _, s := range []string{
		good, good[:len(good)-1], "v1..", "v1.e30.", "v1." + strings.Repeat("A", 200) + ".x",
		signRaw(priv, `{"aid":1,"pid":"x","iat":1}`), signRaw(priv, `{"aid":1.0,"pid":"x","iat":1}`),
		signRaw(testKey(2), `{"aid":7,"pid":"old","iat":0}`), "v1.eyJhaWQiOjF9.AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := r.VerifyToken(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if c.ActivationID <= 0 {
			t.Fatalf("accepted aid %d", c.ActivationID)
		}
		// ReadToken agrees.
		if rt, err := r.ReadToken(tok, LegacyKeys{}); err != nil || rt.Format != FormatLicensor || rt.ActivationID != c.ActivationID {
			t.Fatalf("ReadToken = %+v, %v", rt, err)
		}
	})
}
