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

// Activation tokens (docs/api/signing.md#activation-tokens):
//
//	v1.<payload>.<signature>
//	payload   = base64url, no padding, of {"aid":<activation id>,"pid":"<product reference id>","iat":<unix seconds>}
//	            with "ent":[<entitlement>,…] after iat when the license carried entitlements at activation,
//	            and "exs":"<expiry start>","exd":<expiry days> after that when its expiry clock was waiting,
//	            then "hb":<heartbeat interval in seconds> when heartbeats are asked and "flt":true for a floating seat
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
	// Entitlements ("ent") are the license's at activation
	// (docs/licensing.md#entitlements); verify answers the current ones.
	Entitlements []string
	// Clock ("exs", "exd") is the license's expiry clock when it had not
	// started at activation (docs/licensing.md#expiry-clock).
	Clock Clock
	// HeartbeatInterval ("hb") is the heartbeat interval in seconds the
	// activation was given (0: none asked) and Floating ("flt") marks a
	// floating seat (docs/licensing.md#heartbeats-and-automatic-release).
	HeartbeatInterval int
	Floating          bool
}

// Clock is an expiry clock that has yet to start: when it starts
// (first_verify, first_activation, creation) and how many days it runs.
// The zero Clock is none.
type Clock struct {
	Start string
	Days  int
}

// DaysOrNil is Days, nil for the zero Clock.
func (c Clock) DaysOrNil() *int {
	if c.Start == "" {
		return nil
	}
	return &c.Days
}

// TokenExtras are what a modern activation signs into its token beside
// the activation: the license's entitlements and waiting expiry clock.
type TokenExtras struct {
	Entitlements []string
	Clock        Clock
	// HeartbeatInterval and Floating: as Claims'.
	HeartbeatInterval int
	Floating          bool
}

// tokenPayload is the payload JSON; field order is the wire order.
type tokenPayload struct {
	AID int64    `json:"aid"`
	PID string   `json:"pid"`
	IAT int64    `json:"iat"`
	Ent []string `json:"ent,omitempty"`
	EXS string   `json:"exs,omitempty"`
	EXD int      `json:"exd,omitempty"`
	HB  int      `json:"hb,omitempty"`
	FLT bool     `json:"flt,omitempty"`
}

// IssueToken signs a token for activation activationID of the product with
// reference id productRef, issued at now, with the active key.
func (r *KeyRing) IssueToken(activationID int64, productRef string, now time.Time) (string, error) {
	return r.IssueTokenWith(activationID, productRef, TokenExtras{}, now)
}

// IssueTokenWith is IssueToken naming the license's entitlements ("ent",
// absent when there are none) and waiting expiry clock ("exs" and "exd",
// absent when none) in the token.
func (r *KeyRing) IssueTokenWith(activationID int64, productRef string, extras TokenExtras, now time.Time) (string, error) {
	k := r.set.Load().active
	if k == nil {
		return "", ErrNoKey
	}
	if activationID <= 0 {
		return "", fmt.Errorf("signing: activation id %d is not positive", activationID)
	}
	payload, err := marshalCompact(tokenPayload{AID: activationID, PID: productRef, IAT: now.Unix(), Ent: extras.Entitlements, EXS: extras.Clock.Start, EXD: extras.Clock.Days,
		HB: extras.HeartbeatInterval, FLT: extras.Floating})
	if err != nil {
		return "", err
	}
	signed := tokenPrefix + b64url.EncodeToString(payload)
	sig := ed25519.Sign(k.Private, []byte(signed))
	return signed + "." + b64url.EncodeToString(sig), nil
}

// VerifyToken checks a token (docs/api/signing.md#activation-tokens) without touching the database:
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
		Ent json.RawMessage `json:"ent"`
		EXS json.RawMessage `json:"exs"`
		EXD json.RawMessage `json:"exd"`
		HB  json.RawMessage `json:"hb"`
		FLT json.RawMessage `json:"flt"`
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
	var ent []string
	if len(raw.Ent) > 0 && (raw.Ent[0] != '[' || json.Unmarshal(raw.Ent, &ent) != nil) {
		return Claims{}, false
	}
	var clock Clock
	if len(raw.EXS) > 0 || len(raw.EXD) > 0 {
		days, err := strconv.Atoi(string(raw.EXD))
		if err != nil || days <= 0 || len(raw.EXS) == 0 || raw.EXS[0] != '"' || json.Unmarshal(raw.EXS, &clock.Start) != nil || clock.Start == "" {
			return Claims{}, false
		}
		clock.Days = days
	}
	var hb int64
	if len(raw.HB) > 0 {
		if hb, err = strconv.ParseInt(string(raw.HB), 10, 32); err != nil || hb < 0 {
			return Claims{}, false
		}
	}
	var flt bool
	if len(raw.FLT) > 0 && json.Unmarshal(raw.FLT, &flt) != nil {
		return Claims{}, false
	}
	return Claims{ActivationID: aid, ProductRef: pid, IssuedAt: iat, Entitlements: ent, Clock: clock, HeartbeatInterval: int(hb), Floating: flt}, true
}
