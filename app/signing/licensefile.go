package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// License files (docs/api/signing.md#license-files): a signed snapshot of a license that a
// vendor's software checks offline with a published public key.
//
//	-----BEGIN LICENSOR LICENSE-----
//	<base64 of {"data":"<base64 of the license JSON>","alg":"ed25519","kid":"<key id>","sig":"<base64 signature>"}, 64 characters a line>
//	-----END LICENSOR LICENSE-----
//
// Standard base64 with padding everywhere; every line ends with "\n"; sig
// is the Ed25519 signature over the ASCII bytes of the data string.

const (
	licenseBegin   = "-----BEGIN LICENSOR LICENSE-----"
	licenseEnd     = "-----END LICENSOR LICENSE-----"
	licenseLineLen = 64
	// maxLicenseFileLen bounds the work spent on a file to check.
	maxLicenseFileLen = 1 << 20
)

var (
	// ErrInvalidLicenseFile is returned for a file that is not well formed
	// or whose signature does not verify.
	ErrInvalidLicenseFile = errors.New("signing: invalid license file")
	// ErrUnknownKey is returned for a well-formed file signed by a key that
	// is not (or no longer) published.
	ErrUnknownKey = errors.New("signing: license file signed by an unknown key")
)

// LicenseFile is the content of a license file.
type LicenseFile struct {
	LicenseCode string
	ProductRef  string // product.reference_id
	ProductName string // product.name
	// ClientID and Email are the linked customer's client id and email,
	// else the license's customer_id and email.
	ClientID     *string
	Email        *string
	Type         *string
	ExpiresAt    *time.Time
	UpdatesUntil *time.Time
	SupportUntil *time.Time
	ParallelUses *int
	Domains      []string
	IPs          []string
	// Entitlements are the license's feature names
	// (docs/licensing.md#entitlements).
	Entitlements []string
	// ExpiryStart, ExpiryDays and ExpiryStartedAt are the license's expiry
	// clock (docs/licensing.md#expiry-clock), in the file when ExpiryDays
	// is set.
	ExpiryStart     string
	ExpiryDays      *int
	ExpiryStartedAt *time.Time
	// Floating marks a floating license; Heartbeat is the license's
	// heartbeat policy, nil when none is asked
	// (docs/licensing.md#heartbeats-and-automatic-release).
	Floating  bool
	Heartbeat *HeartbeatPolicy
	// IssuedAt is when the file was made; the caller sets it (its clock).
	IssuedAt time.Time
	// Offline binds the file to one machine's offline activation
	// (docs/api/verifying.md#offline-activation); nil for a plain file.
	Offline *OfflineBinding
}

// HeartbeatPolicy is a license file's "heartbeat": the interval and
// tolerance in seconds and what a missed heartbeat does ("release" or
// "keep").
type HeartbeatPolicy struct {
	Interval  int    `json:"interval"`
	Tolerance int    `json:"tolerance"`
	Missed    string `json:"missed"`
}

// OfflineBinding is what an offline activation's license file adds: the
// activation, the machine's fingerprint, the end of its offline validity
// and the key the client signs its release proof with.
type OfflineBinding struct {
	ActivationID int64
	Fingerprint  string
	ValidUntil   time.Time
	ReleaseKey   []byte
}

// licenseJSON is the license JSON of docs/api/signing.md#license-files, fields in wire order.
type licenseJSON struct {
	LicenseCode string `json:"license_code"`
	Product     struct {
		ReferenceID string `json:"reference_id"`
		Name        string `json:"name"`
	} `json:"product"`
	Customer struct {
		ClientID *string `json:"client_id"`
		Email    *string `json:"email"`
	} `json:"customer"`
	Type         *string  `json:"type"`
	ExpiresAt    *string  `json:"expires_at"`
	UpdatesUntil *string  `json:"updates_until"`
	SupportUntil *string  `json:"support_until"`
	ParallelUses *int     `json:"parallel_uses"`
	Domains      []string `json:"domains"`
	IPs          []string `json:"ips"`
	Entitlements []string `json:"entitlements"`
	// The expiry clock's fields, present when the license has one.
	ExpiryStart     string           `json:"expiry_start,omitempty"`
	ExpiryDays      *int             `json:"expiry_days,omitempty"`
	ExpiryStartedAt *string          `json:"expiry_started_at,omitempty"`
	Floating        bool             `json:"floating"`
	Heartbeat       *HeartbeatPolicy `json:"heartbeat"`
	IssuedAt        string           `json:"issued_at"`
	// Offline activation's fields, absent from a plain file.
	ActivationID int64  `json:"activation_id,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	ValidUntil   string `json:"valid_until,omitempty"`
	ReleaseKey   string `json:"release_key,omitempty"`
}

// licenseEnvelope is the signed wrapper, fields in wire order.
type licenseEnvelope struct {
	Data string `json:"data"`
	Alg  string `json:"alg"`
	KID  string `json:"kid"`
	Sig  string `json:"sig"`
}

// SignLicenseFile builds and signs a license file with the active key.
func (r *KeyRing) SignLicenseFile(l LicenseFile) ([]byte, error) {
	k := r.set.Load().active
	if k == nil {
		return nil, ErrNoKey
	}
	if l.IssuedAt.IsZero() {
		return nil, errors.New("signing: license file without issued_at")
	}
	var j licenseJSON
	j.LicenseCode = l.LicenseCode
	j.Product.ReferenceID, j.Product.Name = l.ProductRef, l.ProductName
	j.Customer.ClientID, j.Customer.Email = l.ClientID, l.Email
	j.Type, j.ParallelUses = l.Type, l.ParallelUses
	j.ExpiresAt, j.UpdatesUntil, j.SupportUntil = timestampPtr(l.ExpiresAt), timestampPtr(l.UpdatesUntil), timestampPtr(l.SupportUntil)
	j.Domains, j.IPs, j.Entitlements = nonNil(l.Domains), nonNil(l.IPs), nonNil(l.Entitlements)
	if l.ExpiryDays != nil {
		j.ExpiryStart, j.ExpiryDays, j.ExpiryStartedAt = l.ExpiryStart, l.ExpiryDays, timestampPtr(l.ExpiryStartedAt)
	}
	j.Floating, j.Heartbeat = l.Floating, l.Heartbeat
	j.IssuedAt = timestamp(l.IssuedAt)
	if o := l.Offline; o != nil {
		if o.ActivationID <= 0 || o.Fingerprint == "" || o.ValidUntil.IsZero() || len(o.ReleaseKey) == 0 {
			return nil, errors.New("signing: incomplete offline binding")
		}
		j.ActivationID, j.Fingerprint = o.ActivationID, o.Fingerprint
		j.ValidUntil, j.ReleaseKey = timestamp(o.ValidUntil), base64.StdEncoding.EncodeToString(o.ReleaseKey)
	}
	body, err := marshalCompact(j)
	if err != nil {
		return nil, err
	}
	data := base64.StdEncoding.EncodeToString(body)
	sig := ed25519.Sign(k.Private, []byte(data))
	env, err := marshalCompact(licenseEnvelope{Data: data, Alg: AlgEd25519, KID: k.KID, Sig: base64.StdEncoding.EncodeToString(sig)})
	if err != nil {
		return nil, err
	}
	armoured := base64.StdEncoding.EncodeToString(env)
	var out bytes.Buffer
	out.WriteString(licenseBegin + "\n")
	for len(armoured) > 0 {
		n := min(licenseLineLen, len(armoured))
		out.WriteString(armoured[:n] + "\n")
		armoured = armoured[n:]
	}
	out.WriteString(licenseEnd + "\n")
	return out.Bytes(), nil
}

// VerifyLicenseFile checks a license file against the ring's keys.
func (r *KeyRing) VerifyLicenseFile(file []byte) (LicenseFile, error) {
	s := r.set.Load()
	return VerifyLicenseFile(file, func(kid string) (ed25519.PublicKey, bool) {
		k, ok := s.byKID[kid]
		if !ok {
			return nil, false
		}
		return k.Public, true
	})
}

// VerifyLicenseFile checks a license file as a vendor's software does
// offline (docs/api/signing.md#license-files): drop the armour lines, base64-decode, find the
// public key by kid with publicKey (from GET /api/external/public-keys),
// verify sig over data, then decode data. Line ends may be "\n" or "\r\n".
func VerifyLicenseFile(file []byte, publicKey func(kid string) (ed25519.PublicKey, bool)) (LicenseFile, error) {
	if len(file) > maxLicenseFileLen {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(file), "\r\n", "\n")), "\n")
	if len(lines) < 3 || strings.TrimSpace(lines[0]) != licenseBegin || strings.TrimSpace(lines[len(lines)-1]) != licenseEnd {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	var armoured strings.Builder
	for _, l := range lines[1 : len(lines)-1] {
		armoured.WriteString(strings.TrimSpace(l))
	}
	raw, err := base64.StdEncoding.DecodeString(armoured.String())
	if err != nil {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	var env licenseEnvelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Alg != AlgEd25519 {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	sig, err := base64.StdEncoding.DecodeString(env.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	pub, ok := publicKey(env.KID)
	if !ok {
		return LicenseFile{}, ErrUnknownKey
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, []byte(env.Data), sig) {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	body, err := base64.StdEncoding.DecodeString(env.Data)
	if err != nil {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	var j licenseJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	l := LicenseFile{
		LicenseCode: j.LicenseCode, ProductRef: j.Product.ReferenceID, ProductName: j.Product.Name,
		ClientID: j.Customer.ClientID, Email: j.Customer.Email, Type: j.Type, ParallelUses: j.ParallelUses,
		Domains: nonNil(j.Domains), IPs: nonNil(j.IPs), Entitlements: nonNil(j.Entitlements),
		ExpiryStart: j.ExpiryStart, ExpiryDays: j.ExpiryDays,
		Floating: j.Floating, Heartbeat: j.Heartbeat,
	}
	var okTimes bool
	l.IssuedAt, okTimes = parseTimestamp(j.IssuedAt)
	for _, t := range []struct {
		in  *string
		out **time.Time
	}{{j.ExpiresAt, &l.ExpiresAt}, {j.UpdatesUntil, &l.UpdatesUntil}, {j.SupportUntil, &l.SupportUntil}, {j.ExpiryStartedAt, &l.ExpiryStartedAt}} {
		if t.in == nil {
			continue
		}
		v, ok := parseTimestamp(*t.in)
		okTimes = okTimes && ok
		*t.out = &v
	}
	if j.ActivationID != 0 || j.Fingerprint != "" || j.ValidUntil != "" || j.ReleaseKey != "" {
		o := &OfflineBinding{ActivationID: j.ActivationID, Fingerprint: j.Fingerprint}
		var ok bool
		o.ValidUntil, ok = parseTimestamp(j.ValidUntil)
		okTimes = okTimes && ok
		o.ReleaseKey, err = base64.StdEncoding.DecodeString(j.ReleaseKey)
		if err != nil || len(o.ReleaseKey) == 0 || o.ActivationID <= 0 || o.Fingerprint == "" {
			return LicenseFile{}, ErrInvalidLicenseFile
		}
		l.Offline = o
	}
	if !okTimes {
		return LicenseFile{}, ErrInvalidLicenseFile
	}
	return l, nil
}

func timestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// marshalCompact is json.Marshal without HTML escaping, so "<", ">" and
// "&" in names stay as they are.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
