package signing

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// laravelEncrypt encrypts plaintext as Laravel's Encrypter does (the
// serialized value is passed in), with a fixed IV so vectors are stable.
// mutate may change the payload before it is encoded.
func laravelEncrypt(t testing.TB, cipherName string, key []byte, plaintext string, mutate func(*laravelPayload)) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	var p laravelPayload
	empty := ""
	p.Tag = &empty
	if strings.HasSuffix(cipherName, "gcm") {
		iv := bytes.Repeat([]byte{9}, 12)
		gcm, _ := cipher.NewGCM(block)
		sealed := gcm.Seal(nil, iv, []byte(plaintext), nil)
		tag := base64.StdEncoding.EncodeToString(sealed[len(sealed)-16:])
		p.IV, p.Value, p.Tag = base64.StdEncoding.EncodeToString(iv), base64.StdEncoding.EncodeToString(sealed[:len(sealed)-16]), &tag
	} else {
		iv := bytes.Repeat([]byte{9}, 16)
		p.IV, p.Value = base64.StdEncoding.EncodeToString(iv), base64.StdEncoding.EncodeToString(encryptCBC(block, iv, []byte(plaintext)))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(p.IV + p.Value))
		p.MAC = hex.EncodeToString(mac.Sum(nil))
	}
	if mutate != nil {
		mutate(&p)
	}
	b, _ := json.Marshal(p)
	return base64.StdEncoding.EncodeToString(b)
}

// licenseBoxEncrypt encrypts plaintext as CodeIgniter 3 does for
// LicenseBox, with a fixed IV.
func licenseBoxEncrypt(t testing.TB, key, plaintext string) string {
	t.Helper()
	hmacKey, aesKey, err := LicenseBoxKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(aesKey)
	iv := bytes.Repeat([]byte{5}, 16)
	b64 := base64.StdEncoding.EncodeToString(append(iv, encryptCBC(block, iv, []byte(plaintext))...))
	mac := hmac.New(sha512.New, hmacKey)
	mac.Write([]byte(b64))
	return hex.EncodeToString(mac.Sum(nil)) + b64
}

func encryptCBC(block cipher.Block, iv, plain []byte) []byte {
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(n)}, n)...)
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, padded)
	return out
}

const serializedID = `a:2:{s:2:"id";i:123;s:13:"activation_id";i:123;}`

func TestDecryptLicenseManagerToken(t *testing.T) {
	k16, k32 := bytes.Repeat([]byte("k"), 16), bytes.Repeat([]byte("K"), 32)
	b64 := func(k []byte) string { return "base64:" + base64.StdEncoding.EncodeToString(k) }
	cases := []struct {
		name, cipher, key, token string
		want                     int64
	}{
		{"aes-128-cbc", "aes-128-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 123},
		{"aes-256-cbc", "aes-256-cbc", b64(k32), laravelEncrypt(t, "aes-256-cbc", k32, serializedID, nil), 123},
		{"aes-128-gcm", "aes-128-gcm", b64(k16), laravelEncrypt(t, "aes-128-gcm", k16, serializedID, nil), 123},
		{"aes-256-gcm", "AES-256-GCM", b64(k32), laravelEncrypt(t, "aes-256-gcm", k32, serializedID, nil), 123},
		{"raw key", "aes-128-cbc", string(k16), laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 123},
		{"id as string", "aes-128-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, `a:1:{s:2:"id";s:2:"77";}`, nil), 77},
		{"older payload without tag", "aes-128-cbc", b64(k16),
			laravelEncrypt(t, "aes-128-cbc", k16, serializedID, func(p *laravelPayload) { p.Tag = nil }), 123},
		{"unpadded outer base64", "aes-128-cbc", b64(k16),
			strings.TrimRight(laravelEncrypt(t, "aes-128-cbc", k16, `a:1:{s:2:"id";i:5;}`, nil), "="), 5},
		// failures
		{"wrong key", "aes-128-cbc", b64(bytes.Repeat([]byte("x"), 16)), laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 0},
		{"wrong cipher", "aes-256-cbc", b64(k32), laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 0},
		{"key length does not fit the cipher", "aes-256-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 0},
		{"unknown cipher", "des", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 0},
		{"no key", "aes-128-cbc", "", laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), 0},
		{"bad mac", "aes-128-cbc", b64(k16),
			laravelEncrypt(t, "aes-128-cbc", k16, serializedID, func(p *laravelPayload) { p.MAC = strings.Repeat("0", 64) }), 0},
		{"uppercase mac", "aes-128-cbc", b64(k16),
			laravelEncrypt(t, "aes-128-cbc", k16, serializedID, func(p *laravelPayload) { p.MAC = strings.ToUpper(p.MAC) }), 0},
		{"tag on cbc", "aes-128-cbc", b64(k16),
			laravelEncrypt(t, "aes-128-cbc", k16, serializedID, func(p *laravelPayload) { s := "AAAA"; p.Tag = &s }), 0},
		{"gcm without tag", "aes-128-gcm", b64(k16),
			laravelEncrypt(t, "aes-128-gcm", k16, serializedID, func(p *laravelPayload) { p.Tag = nil }), 0},
		{"gcm bad tag", "aes-128-gcm", b64(k16),
			laravelEncrypt(t, "aes-128-gcm", k16, serializedID, func(p *laravelPayload) { s := base64.StdEncoding.EncodeToString(make([]byte, 16)); p.Tag = &s }), 0},
		{"cbc value changed", "aes-128-cbc", b64(k16),
			laravelEncrypt(t, "aes-128-cbc", k16, serializedID, func(p *laravelPayload) { p.Value = "A" + p.Value[1:] }), 0},
		{"short iv", "aes-128-cbc", b64(k16),
			laravelEncrypt(t, "aes-128-cbc", k16, serializedID, func(p *laravelPayload) { p.IV = base64.StdEncoding.EncodeToString(make([]byte, 8)) }), 0},
		{"no id", "aes-128-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, `a:1:{s:13:"activation_id";i:1;}`, nil), 0},
		{"id zero", "aes-128-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, `a:1:{s:2:"id";i:0;}`, nil), 0},
		{"not an array", "aes-128-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, `i:123;`, nil), 0},
		{"not serialized", "aes-128-cbc", b64(k16), laravelEncrypt(t, "aes-128-cbc", k16, `{"id":123}`, nil), 0},
		{"not base64", "aes-128-cbc", b64(k16), "%%%", 0},
		{"not json", "aes-128-cbc", b64(k16), base64.StdEncoding.EncodeToString([]byte("hello")), 0},
		{"empty", "aes-128-cbc", b64(k16), "", 0},
	}
	for _, c := range cases {
		id, err := DecryptLicenseManagerToken(c.token, c.cipher, c.key)
		if c.want == 0 {
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: = %d, %v; want ErrInvalidToken", c.name, id, err)
			}
			continue
		}
		if err != nil || id != c.want {
			t.Errorf("%s: = %d, %v; want %d", c.name, id, err, c.want)
		}
	}
}

func TestDecryptLicenseBoxToken(t *testing.T) {
	const key = "licensebox-encryption-key"
	good := licenseBoxEncrypt(t, key, `{"license":"6F1C-2A9E","client":"Ann Lee"}`)
	cases := []struct {
		name, key, token     string
		wantCode, wantClient string
	}{
		{"valid", key, good, "6F1C-2A9E", "Ann Lee"},
		{"uppercase hmac", key, strings.ToUpper(good[:128]) + good[128:], "6F1C-2A9E", "Ann Lee"},
		{"customer_id", key, licenseBoxEncrypt(t, key, `{"license":"X1","customer_id":"CUST-9"}`), "X1", "CUST-9"},
		{"no client", key, licenseBoxEncrypt(t, key, `{"license":"X1"}`), "X1", ""},
		{"number values", key, licenseBoxEncrypt(t, key, `{"license":12345,"client":678}`), "12345", "678"},
		{"short key", "abc", licenseBoxEncrypt(t, "abc", `{"license":"S","client":"c"}`), "S", "c"},
		{"long key", strings.Repeat("long", 20), licenseBoxEncrypt(t, strings.Repeat("long", 20), `{"license":"L","client":"c"}`), "L", "c"},
		{"wrong key", "another key", good, "", ""},
		{"no key", "", good, "", ""},
		{"hmac changed", key, "0" + good[1:], "", ""},
		{"ciphertext changed", key, good[:140] + "A" + good[141:], "", ""},
		{"only hmac", key, good[:128], "", ""},
		{"not hex", key, "z" + good[1:], "", ""},
		{"no license", key, licenseBoxEncrypt(t, key, `{"client":"c"}`), "", ""},
		{"not json", key, licenseBoxEncrypt(t, key, `license=X`), "", ""},
		{"json array", key, licenseBoxEncrypt(t, key, `["X"]`), "", ""},
	}
	for _, c := range cases {
		code, client, err := DecryptLicenseBoxToken(c.token, c.key)
		if c.wantCode == "" {
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: = %q, %q, %v; want ErrInvalidToken", c.name, code, client, err)
			}
			continue
		}
		if err != nil || code != c.wantCode || client != c.wantClient {
			t.Errorf("%s: = %q, %q, %v; want %q, %q", c.name, code, client, err, c.wantCode, c.wantClient)
		}
	}
}

// TestLegacyTokensFromPHP opens tokens that PHP's OpenSSL encrypted the way
// Laravel and CodeIgniter 3 do (testdata/legacy_tokens.php).
func TestLegacyTokensFromPHP(t *testing.T) {
	f, err := os.Open("testdata/legacy_tokens.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r := testRing(t, NewKey(testKey(1), t0))
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var v struct {
			Kind, Cipher, Key, Token, License, Client string
			ID                                        int64
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		n++
		switch v.Kind {
		case "laravel":
			got, err := r.ReadToken(v.Token, LegacyKeys{LicenseCipher: v.Cipher, LicenseKey: v.Key})
			if err != nil || got != (Token{Format: FormatLicenseManager, ActivationID: v.ID}) {
				t.Errorf("%s key %q: %+v, %v; want id %d", v.Cipher, v.Key, got, err, v.ID)
			}
		case "licensebox":
			got, err := r.ReadToken(v.Token, LegacyKeys{EncryptionKey: v.Key})
			if err != nil || got != (Token{Format: FormatLicenseBox, LicenseCode: v.License, ClientName: v.Client}) {
				t.Errorf("LicenseBox key %q: %+v, %v; want %q %q", v.Key, got, err, v.License, v.Client)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d vectors", n)
	}
}

func TestReadToken(t *testing.T) {
	r := testRing(t, NewKey(testKey(1), t0))
	k16 := bytes.Repeat([]byte("k"), 16)
	legacy := LegacyKeys{LicenseCipher: "aes-128-cbc", LicenseKey: string(k16), EncryptionKey: "lb-key"}
	v1, _ := r.IssueToken(9, "ACME", t0)
	cases := []struct {
		name, token string
		want        Token
	}{
		{"licensor", v1, Token{Format: FormatLicensor, ActivationID: 9, ProductRef: "ACME", IssuedAt: t0.Unix()}},
		{"licensor with spaces", " " + v1 + "\n", Token{Format: FormatLicensor, ActivationID: 9, ProductRef: "ACME", IssuedAt: t0.Unix()}},
		{"license manager", laravelEncrypt(t, "aes-128-cbc", k16, serializedID, nil), Token{Format: FormatLicenseManager, ActivationID: 123}},
		{"licensebox", licenseBoxEncrypt(t, "lb-key", `{"license":"C","client":"N"}`), Token{Format: FormatLicenseBox, LicenseCode: "C", ClientName: "N"}},
		{"garbage", "hello", Token{}},
		{"empty", "", Token{}},
		{"licensor forged", v1[:len(v1)-2] + "AA", Token{}},
	}
	for _, c := range cases {
		got, err := r.ReadToken(c.token, legacy)
		if c.want.Format == 0 {
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: %+v, %v; want ErrInvalidToken", c.name, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	// Without legacy keys configured, migrated tokens read as invalid.
	if _, err := r.ReadToken(cases[2].token, LegacyKeys{}); !errors.Is(err, ErrInvalidToken) {
		t.Error("License Manager token without keys")
	}
	if _, err := r.ReadToken(cases[3].token, LegacyKeys{}); !errors.Is(err, ErrInvalidToken) {
		t.Error("LicenseBox token without keys")
	}
}

func TestPHPUnserialize(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{serializedID, map[string]any{"id": int64(123), "activation_id": int64(123)}},
		{`i:-5;`, int64(-5)},
		{`s:4:"héj";`, "héj"}, // lengths are bytes
		{`s:3:"héj";`, "ERR"},
		{`s:0:"";`, ""},
		{`s:3:"a"b";`, `a"b`},
		{`b:1;`, true},
		{`b:0;`, false},
		{`N;`, nil},
		{`d:1.5;`, 1.5},
		{`a:0:{}`, map[string]any{}},
		{`a:2:{i:0;s:1:"x";i:1;a:1:{s:1:"k";N;}}`, map[string]any{"0": "x", "1": map[string]any{"k": nil}}},
		// malformed
		{``, "ERR"}, {`i:5`, "ERR"}, {`i:x;`, "ERR"}, {`s:5:"abc";`, "ERR"}, {`s:-1:"";`, "ERR"},
		{`s:1:"ab";`, "ERR"}, {`a:1:{i:0;}`, "ERR"}, {`a:2:{i:0;i:0;}`, "ERR"}, {`a:1:{i:0;i:0;`, "ERR"},
		{`a:1:{d:1.5;i:0;}`, "ERR"}, {`b:2;`, "ERR"}, {`O:8:"stdClass":0:{}`, "ERR"}, {`i:5;i:6;`, "ERR"},
		{`a:99999999:{}`, "ERR"}, {`N`, "ERR"}, {strings.Repeat(`a:1:{i:0;`, 40) + `N;` + strings.Repeat(`}`, 40), "ERR"},
	}
	for _, c := range cases {
		got, ok := phpUnserialize([]byte(c.in))
		if c.want == "ERR" {
			if ok {
				t.Errorf("phpUnserialize(%q) = %#v, want failure", c.in, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("phpUnserialize(%q) = %#v, %v; want %#v", c.in, got, ok, c.want)
		}
	}
}

func FuzzReadToken(f *testing.F) {
	k16 := bytes.Repeat([]byte("k"), 16)
	legacy := LegacyKeys{LicenseCipher: "aes-128-cbc", LicenseKey: string(k16), EncryptionKey: "lb-key"}
	r := testRing(f, NewKey(testKey(1), t0))
	v1, _ := r.IssueToken(9, "ACME", t0)
	for _, s := range []string{
		v1, laravelEncrypt(f, "aes-128-cbc", k16, serializedID, nil),
		laravelEncrypt(f, "aes-128-cbc", k16, `a:1:{s:2:"id";a:1:{i:0;N;}}`, nil),
		licenseBoxEncrypt(f, "lb-key", `{"license":"C","client":"N"}`),
		base64.StdEncoding.EncodeToString([]byte(`{"iv":"","value":"","mac":"","tag":""}`)),
		strings.Repeat("a", 128) + "AAAA", "x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := r.ReadToken(tok, legacy)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v", err)
			}
			return
		}
		switch got.Format {
		case FormatLicensor, FormatLicenseManager:
			if got.ActivationID <= 0 {
				t.Fatalf("%+v", got)
			}
		case FormatLicenseBox:
			if got.LicenseCode == "" {
				t.Fatalf("%+v", got)
			}
		default:
			t.Fatalf("format %d", got.Format)
		}
	})
}

func FuzzPHPUnserialize(f *testing.F) {
	for _, s := range []string{serializedID, `a:1:{i:0;a:1:{i:0;s:1:"x";}}`, `s:3:"abc";`, `d:-1.5E+3;`, `N;`, `b:1;`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		phpUnserialize(b) // must not panic or run away
	})
}
