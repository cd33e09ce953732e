package signing

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
)

// Tokens of a migrated installation (docs/api/signing.md#migrated-tokens). Both formats are opened
// with the keys of the old installation, entered in settings; every failure
// is ErrInvalidToken.

// LegacyKeys are the settings that open migrated tokens. Empty keys open
// nothing.
type LegacyKeys struct {
	// LicenseCipher and LicenseKey open License Manager (Laravel) tokens:
	// settings legacy_license_cipher ("aes-128-cbc", "aes-256-cbc",
	// "aes-128-gcm", "aes-256-gcm") and legacy_license_key ("base64:…" or
	// the raw string).
	LicenseCipher string
	LicenseKey    string
	// EncryptionKey opens LicenseBox (CodeIgniter) tokens: setting
	// legacy_encryption_key.
	EncryptionKey string
}

// Format tells which installation issued a token.
type Format int

const (
	FormatLicensor       Format = iota + 1 // v1.<payload>.<signature> (docs/api/signing.md#activation-tokens)
	FormatLicenseManager                   // Laravel-encrypted (docs/api/signing.md#migrated-tokens)
	FormatLicenseBox                       // CodeIgniter-encrypted (docs/api/signing.md#migrated-tokens)
)

// Token is what a license_data / license_file value says, whatever its
// format.
type Token struct {
	Format Format
	// ActivationID is the activation's id (FormatLicensor), or its id in
	// the old installation (FormatLicenseManager), found through the
	// activation's recorded original id.
	ActivationID int64
	// ProductRef and IssuedAt come with FormatLicensor.
	ProductRef string
	IssuedAt   int64
	// LicenseCode and ClientName come with FormatLicenseBox: verify,
	// deactivate and download then follow their code paths with them.
	LicenseCode string
	ClientName  string
}

// ReadToken recognises a token by its shape and opens it: a Licensor token
// is verified with the ring's keys, a migrated one decrypted with legacy.
// All of it is computation; nothing touches the database.
func (r *KeyRing) ReadToken(token string, legacy LegacyKeys) (Token, error) {
	token = strings.TrimSpace(token)
	switch {
	case strings.HasPrefix(token, tokenPrefix):
		c, err := r.VerifyToken(token)
		if err != nil {
			return Token{}, err
		}
		return Token{Format: FormatLicensor, ActivationID: c.ActivationID, ProductRef: c.ProductRef, IssuedAt: c.IssuedAt}, nil
	case len(token) > licenseBoxMACLen && isHex(token[:licenseBoxMACLen]):
		code, client, err := DecryptLicenseBoxToken(token, legacy.EncryptionKey)
		if err != nil {
			return Token{}, err
		}
		return Token{Format: FormatLicenseBox, LicenseCode: code, ClientName: client}, nil
	default:
		id, err := DecryptLicenseManagerToken(token, legacy.LicenseCipher, legacy.LicenseKey)
		if err != nil {
			return Token{}, err
		}
		return Token{Format: FormatLicenseManager, ActivationID: id}, nil
	}
}

// maxLegacyTokenLen bounds the work spent on a migrated token.
const maxLegacyTokenLen = 8192

// laravelCiphers are the ciphers of setting legacy_license_cipher.
var laravelCiphers = map[string]struct {
	keyLen int
	gcm    bool
}{
	"aes-128-cbc": {16, false},
	"aes-256-cbc": {32, false},
	"aes-128-gcm": {16, true},
	"aes-256-gcm": {32, true},
}

// LaravelKey reads a legacy_license_key value: "base64:<standard base64>"
// decodes, anything else is the raw key bytes (as Laravel's APP_KEY).
func LaravelKey(s string) ([]byte, bool) {
	if b64, ok := strings.CutPrefix(s, "base64:"); ok {
		k, err := base64.StdEncoding.DecodeString(b64)
		return k, err == nil
	}
	return []byte(s), true
}

// laravelPayload is the JSON inside a Laravel-encrypted value.
type laravelPayload struct {
	IV    string  `json:"iv"`
	Value string  `json:"value"`
	MAC   string  `json:"mac"`
	Tag   *string `json:"tag"`
}

// DecryptLicenseManagerToken opens a token issued by License Manager
// (Laravel's Crypt::encrypt of a serialized array) and returns the "id" it
// holds: the activation's id in the old installation.
//
//	token = base64({"iv":<b64>,"value":<b64>,"mac":<hex>,"tag":<b64>})
//	CBC: 16-byte IV; mac = hex(HMAC-SHA256(key, iv ‖ value)) over the two
//	     base64 strings as they appear, compared in constant time; tag
//	     empty; value is AES-CBC with PKCS#7 padding.
//	GCM: 12-byte IV; mac empty (not checked, as Laravel does not); tag is
//	     the 16-byte tag; no additional data.
//	plaintext = PHP serialize() of an array with "id".
func DecryptLicenseManagerToken(token, cipherName, key string) (int64, error) {
	spec, ok := laravelCiphers[strings.ToLower(cipherName)]
	k, keyOK := LaravelKey(key)
	if !ok || !keyOK || len(k) != spec.keyLen || len(token) > maxLegacyTokenLen {
		return 0, ErrInvalidToken
	}
	raw, err := decodeStdBase64(strings.TrimSpace(token))
	if err != nil {
		return 0, ErrInvalidToken
	}
	var p laravelPayload
	if err := json.Unmarshal(raw, &p); err != nil || p.IV == "" || p.Value == "" {
		return 0, ErrInvalidToken
	}
	iv, err1 := base64.StdEncoding.DecodeString(p.IV)
	ct, err2 := base64.StdEncoding.DecodeString(p.Value)
	if err1 != nil || err2 != nil {
		return 0, ErrInvalidToken
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return 0, ErrInvalidToken
	}
	var plain []byte
	if spec.gcm {
		if p.Tag == nil {
			return 0, ErrInvalidToken
		}
		tag, err := base64.StdEncoding.DecodeString(*p.Tag)
		if err != nil || len(iv) != 12 || len(tag) != 16 {
			return 0, ErrInvalidToken
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return 0, ErrInvalidToken
		}
		if plain, err = gcm.Open(nil, iv, append(ct, tag...), nil); err != nil {
			return 0, ErrInvalidToken
		}
	} else {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(p.IV))
		mac.Write([]byte(p.Value))
		want := hex.EncodeToString(mac.Sum(nil))
		if len(iv) != aes.BlockSize || (p.Tag != nil && *p.Tag != "") || !hmac.Equal([]byte(p.MAC), []byte(want)) {
			return 0, ErrInvalidToken
		}
		if plain, ok = decryptCBC(block, iv, ct); !ok {
			return 0, ErrInvalidToken
		}
	}
	v, ok := phpUnserialize(plain)
	if !ok {
		return 0, ErrInvalidToken
	}
	arr, _ := v.(map[string]any)
	id, ok := positiveInt(arr["id"])
	if !ok {
		return 0, ErrInvalidToken
	}
	return id, nil
}

// licenseBoxMACLen is the hex HMAC-SHA512 that leads a LicenseBox token.
const licenseBoxMACLen = 128

// LicenseBoxKeys derives the keys CodeIgniter 3's Encryption library uses
// from a LicenseBox encryption key string: HKDF-SHA512 with an all-zero
// 64-byte salt; the HMAC key is 64 bytes with info "authentication", the
// encryption key as many bytes as the key string is long with info
// "encryption", of which AES-128 uses the first 16 (zero-padded, as
// OpenSSL does, when the key string is shorter).
func LicenseBoxKeys(key string) (hmacKey, aesKey []byte, err error) {
	salt := make([]byte, sha512.Size)
	hmacKey, err = hkdf.Key(sha512.New, []byte(key), salt, "authentication", sha512.Size)
	if err != nil {
		return nil, nil, err
	}
	enc, err := hkdf.Key(sha512.New, []byte(key), salt, "encryption", len(key))
	if err != nil {
		return nil, nil, err
	}
	aesKey = make([]byte, 16)
	copy(aesKey, enc)
	return hmacKey, aesKey, nil
}

// DecryptLicenseBoxToken opens a token issued by LicenseBox (CodeIgniter 3
// Encryption, AES-128-CBC with HMAC-SHA512) and returns the license code
// and client name it holds.
//
//	token     = hex(HMAC-SHA512(hmac key, b64)) (128 characters) ‖ b64
//	b64       = base64(IV (16 bytes) ‖ AES-128-CBC ciphertext, PKCS#7)
//	plaintext = JSON with "license" and "client" (or "customer_id")
func DecryptLicenseBoxToken(token, key string) (licenseCode, clientName string, err error) {
	token = strings.TrimSpace(token)
	if key == "" || len(token) <= licenseBoxMACLen || len(token) > maxLegacyTokenLen {
		return "", "", ErrInvalidToken
	}
	sent, err := hex.DecodeString(token[:licenseBoxMACLen])
	if err != nil {
		return "", "", ErrInvalidToken
	}
	hmacKey, aesKey, err := LicenseBoxKeys(key)
	if err != nil {
		return "", "", ErrInvalidToken
	}
	b64 := token[licenseBoxMACLen:]
	mac := hmac.New(sha512.New, hmacKey)
	mac.Write([]byte(b64))
	if !hmac.Equal(sent, mac.Sum(nil)) {
		return "", "", ErrInvalidToken
	}
	raw, err := decodeStdBase64(b64)
	if err != nil || len(raw) < 2*aes.BlockSize {
		return "", "", ErrInvalidToken
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return "", "", ErrInvalidToken
	}
	plain, ok := decryptCBC(block, raw[:aes.BlockSize], raw[aes.BlockSize:])
	if !ok {
		return "", "", ErrInvalidToken
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return "", "", ErrInvalidToken
	}
	licenseCode = scalarText(data["license"])
	clientName = scalarText(data["client"])
	if clientName == "" {
		clientName = scalarText(data["customer_id"])
	}
	if licenseCode == "" {
		return "", "", ErrInvalidToken
	}
	return licenseCode, clientName, nil
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	}
	return ""
}

// decodeStdBase64 accepts standard base64 with or without padding.
func decodeStdBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") || len(s)%4 == 0 {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// decryptCBC decrypts AES-CBC and removes PKCS#7 padding, checking it.
func decryptCBC(block cipher.Block, iv, ct []byte) ([]byte, bool) {
	if len(iv) != aes.BlockSize || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, false
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, false
		}
	}
	return plain[:len(plain)-n], true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s)%2 == 0
}

// positiveInt reads an id that PHP serialized as an integer or a string
// of digits.
func positiveInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, x > 0
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == x
	}
	return 0, false
}

// phpUnserialize reads the subset of PHP's serialize() format that License
// Manager tokens hold: integers i:<n>; strings s:<len>:"…"; arrays
// a:<count>:{key value …} (keys as strings, integer keys in decimal), and
// for robustness booleans b:0;/b:1;, null N; and floats d:<x>;. The whole
// input must be one value.
func phpUnserialize(b []byte) (any, bool) {
	p := phpParser{b: b}
	v, ok := p.value(0)
	return v, ok && p.i == len(p.b)
}

type phpParser struct {
	b []byte
	i int
}

// maxPHPDepth bounds nesting; tokens hold one flat array.
const maxPHPDepth = 16

func (p *phpParser) value(depth int) (any, bool) {
	if depth > maxPHPDepth || p.i+1 >= len(p.b) {
		return nil, false
	}
	kind := p.b[p.i]
	if kind == 'N' {
		if p.b[p.i+1] != ';' {
			return nil, false
		}
		p.i += 2
		return nil, true
	}
	if p.b[p.i+1] != ':' {
		return nil, false
	}
	p.i += 2
	switch kind {
	case 'i':
		n, ok := p.until(';')
		if !ok {
			return nil, false
		}
		v, err := strconv.ParseInt(n, 10, 64)
		return v, err == nil
	case 'b':
		n, ok := p.until(';')
		return n == "1", ok && (n == "0" || n == "1")
	case 'd':
		n, ok := p.until(';')
		f, err := strconv.ParseFloat(n, 64) // also INF, -INF, NAN
		return f, ok && err == nil
	case 's':
		s, ok := p.str()
		return s, ok
	case 'a':
		return p.array(depth)
	}
	return nil, false
}

// until reads up to the byte end and skips it.
func (p *phpParser) until(end byte) (string, bool) {
	j := bytes.IndexByte(p.b[p.i:], end)
	if j < 0 {
		return "", false
	}
	s := string(p.b[p.i : p.i+j])
	p.i += j + 1
	return s, true
}

// str reads <len>:"<bytes>"; after "s:".
func (p *phpParser) str() (string, bool) {
	l, ok := p.until(':')
	n, err := strconv.Atoi(l)
	if !ok || err != nil || n < 0 || p.i+n+3 > len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	s := string(p.b[p.i+1 : p.i+1+n])
	p.i += 1 + n
	if p.b[p.i] != '"' || p.b[p.i+1] != ';' {
		return "", false
	}
	p.i += 2
	return s, true
}

// array reads <count>:{…} after "a:".
func (p *phpParser) array(depth int) (any, bool) {
	c, ok := p.until(':')
	n, err := strconv.Atoi(c)
	// Each entry takes at least 6 bytes ("i:0;N;"), which bounds count
	// by the input instead of trusting it.
	if !ok || err != nil || n < 0 || n > (len(p.b)-p.i)/6 || p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, false
	}
	p.i++
	m := make(map[string]any, n)
	for range n {
		k, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		var key string
		switch x := k.(type) {
		case int64:
			key = strconv.FormatInt(x, 10)
		case string:
			key = x
		default:
			return nil, false
		}
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[key] = v
	}
	if p.i >= len(p.b) || p.b[p.i] != '}' {
		return nil, false
	}
	p.i++
	return m, true
}
