package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Activation tokens (api.md §7.1):
//
//	v1.<payload>.<signature>
//	payload   = base64url, no padding, of {"aid":<activation id>,"pid":"<product reference id>","iat":<unix seconds>}
//	signature = base64url, no padding, of the Ed25519 signature over the ASCII bytes "v1.<payload>"
//
// Clients treat the token as opaque. It never expires by itself: the
// activation's state decides.

// ErrInvalidToken is returned for any token that is not authentic or not
// well formed; callers answer "invalid" without saying which.
var ErrInvalidToken = errors.New("signing: invalid token")

const (
	tokenPrefix = "v1."
	// maxTokenLen bounds the work spent on a token: a real one is about
	// 150 characters.
	maxTokenLen = 1024
)

var b64url = base64.RawURLEncoding.Strict()

// Claims are what an activation token says.
type Claims struct {
	ActivationID int64  // "aid"
	ProductRef   string // "pid"
	IssuedAt     int64  // "iat", Unix seconds
}

// tokenPayload is the payload JSON; field order is the wire order.
type tokenPayload struct {
	AID int64  `json:"aid"`
	PID string `json:"pid"`
	IAT int64  `json:"iat"`
}

// IssueToken signs a token for activation activationID of the product with
// reference id productRef, issued at now, with the active key.
func (r *KeyRing) IssueToken(activationID int64, productRef string, now time.Time) (string, error) {
	k := r.set.Load().active
	if k == nil {
		return "", ErrNoKey
	}
	if activationID <= 0 {
		return "", fmt.Errorf("signing: activation id %d is not positive", activationID)
	}
	payload, err := marshalCompact(tokenPayload{AID: activationID, PID: productRef, IAT: now.Unix()})
	if err != nil {
		return "", err
	}
	signed := tokenPrefix + b64url.EncodeToString(payload)
	sig := ed25519.Sign(k.Private, []byte(signed))
	return signed + "." + b64url.EncodeToString(sig), nil
}

// VerifyToken checks a token (api.md §7.1) without touching the database:
// exactly three dot-separated parts, prefix "v1", canonical base64url
// without padding, a payload with a positive integer "aid", a string "pid"
// and an integer "iat", and a signature that verifies under the active key
// or, failing that, a retired key (newest first). Anything else is
// ErrInvalidToken.
func (r *KeyRing) VerifyToken(token string) (Claims, error) {
	if len(token) > maxTokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return Claims{}, ErrInvalidToken
	}
	payloadB64, sigB64, ok := strings.Cut(token[len(tokenPrefix):], ".")
	if !ok || strings.Contains(sigB64, ".") {
		return Claims{}, ErrInvalidToken
	}
	payload, err := b64url.DecodeString(payloadB64)
	if err != nil {
		return Claims{}, ErrInvalidToken
	}
	sig, err := b64url.DecodeString(sigB64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Claims{}, ErrInvalidToken
	}
	c, ok := parsePayload(payload)
	if !ok {
		return Claims{}, ErrInvalidToken
	}
	signed := []byte(token[:len(tokenPrefix)+len(payloadB64)])
	for _, k := range r.set.Load().keys {
		if ed25519.Verify(k.Public, signed, sig) {
			return c, nil
		}
	}
	return Claims{}, ErrInvalidToken
}

// parsePayload reads {"aid":…,"pid":…,"iat":…} strictly: integers must be
// written as integers (no fraction, no exponent), and the object must be
// all there is.
func parsePayload(b []byte) (Claims, bool) {
	var raw struct {
		AID json.RawMessage `json:"aid"`
		PID json.RawMessage `json:"pid"`
		IAT json.RawMessage `json:"iat"`
	}
	if !json.Valid(b) || json.Unmarshal(b, &raw) != nil {
		return Claims{}, false
	}
	aid, err := strconv.ParseInt(string(raw.AID), 10, 64)
	if err != nil || aid <= 0 {
		return Claims{}, false
	}
	iat, err := strconv.ParseInt(string(raw.IAT), 10, 64)
	if err != nil {
		return Claims{}, false
	}
	var pid string
	if len(raw.PID) == 0 || raw.PID[0] != '"' || json.Unmarshal(raw.PID, &pid) != nil {
		return Claims{}, false
	}
	return Claims{ActivationID: aid, ProductRef: pid, IssuedAt: iat}, true
}
