package licensing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/app/errkind"
)

// The two documents an offline machine hands over
// (docs/api/verifying.md#offline-activation): an activation request and a
// release proof. Each is a small JSON document or the same fields as a
// text code a person can type:
//
//	payload = "LOA1" or "LOR1", then each field, every one after a "\n"
//	code    = base32 (RFC 4648, no padding) of payload ‖ SHA-256(payload)[:4],
//	          in groups of five joined by "-"
//
// The four checksum bytes catch a mistyped character before anything is
// looked up. Times are Unix seconds in both forms.

const (
	offlineRequestMagic = "LOA1"
	offlineReleaseMagic = "LOR1"
	// OfflineRequestType and OfflineReleaseType are the JSON forms' type.
	OfflineRequestType = "licensor.offline_activation"
	OfflineReleaseType = "licensor.offline_release"
	// maxOfflineDocument bounds what is parsed, pasted or uploaded.
	maxOfflineDocument = 4096
	// MaxFingerprintLen bounds a machine fingerprint (bytes).
	MaxFingerprintLen = 128
	maxOfflineField   = 255
	checksumLen       = 4
	// releaseMACLen is how much of the HMAC-SHA256 a release proof carries
	// (hex, 32 characters), short enough to type.
	releaseMACLen = 16
	// releaseMACLabel starts the string a release proof's MAC covers.
	releaseMACLabel = "licensor-offline-release"
)

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// offlineDocError is an activation request or release proof that cannot
// be read: its message says why, for the form it was sent with.
type offlineDocError struct{ msg string }

func (e *offlineDocError) Error() string { return e.msg }

// Is makes it an errkind.Invalid error.
func (e *offlineDocError) Is(target error) bool { return target == errkind.Invalid }

func docError(msg string) error { return &offlineDocError{msg: msg} }

// OfflineRequest is an offline machine's activation request.
type OfflineRequest struct {
	ProductRef  string
	LicenseCode string
	Fingerprint string
	ClientName  string
	RequestedAt time.Time
}

type offlineRequestJSON struct {
	Type        string `json:"type"`
	ProductID   string `json:"product_id"`
	LicenseCode string `json:"license_code"`
	Fingerprint string `json:"fingerprint"`
	ClientName  string `json:"client_name"`
	RequestedAt int64  `json:"requested_at"`
}

// JSON is the request's JSON form.
func (r OfflineRequest) JSON() []byte {
	b, _ := json.Marshal(offlineRequestJSON{OfflineRequestType, r.ProductRef, r.LicenseCode, r.Fingerprint, r.ClientName, r.RequestedAt.Unix()})
	return b
}

// Code is the request's text code.
func (r OfflineRequest) Code() string {
	return encodeCode(offlineRequestMagic, r.ProductRef, r.LicenseCode, r.Fingerprint, r.ClientName, strconv.FormatInt(r.RequestedAt.Unix(), 10))
}

// ParseOfflineRequest reads an activation request in either form: JSON
// when it starts with "{", else a text code.
func ParseOfflineRequest(doc string) (OfflineRequest, error) {
	var r OfflineRequest
	var at int64
	doc = strings.TrimSpace(doc)
	if strings.HasPrefix(doc, "{") {
		var j offlineRequestJSON
		if err := decodeDoc(doc, &j); err != nil || j.Type != OfflineRequestType {
			return r, docError("This is not an offline activation request.")
		}
		r = OfflineRequest{ProductRef: j.ProductID, LicenseCode: j.LicenseCode, Fingerprint: j.Fingerprint, ClientName: j.ClientName}
		at = j.RequestedAt
	} else {
		f, err := decodeCode(doc, offlineRequestMagic, 5)
		if err != nil {
			return r, err
		}
		r = OfflineRequest{ProductRef: f[0], LicenseCode: f[1], Fingerprint: f[2], ClientName: f[3]}
		if at, err = strconv.ParseInt(f[4], 10, 64); err != nil {
			return r, docError("The request's time is not a number.")
		}
	}
	r.ProductRef, r.LicenseCode, r.ClientName = strings.TrimSpace(r.ProductRef), strings.TrimSpace(r.LicenseCode), strings.TrimSpace(r.ClientName)
	switch {
	case r.ProductRef == "" || r.LicenseCode == "":
		return r, docError("The request names no product or no license code.")
	case len(r.ProductRef) > maxOfflineField || len(r.LicenseCode) > maxOfflineField || len(r.ClientName) > maxOfflineField:
		return r, docError("A field of the request is too long.")
	}
	if err := checkFingerprint(r.Fingerprint); err != nil {
		return r, err
	}
	if at <= 0 {
		return r, docError("The request carries no time.")
	}
	r.RequestedAt = time.Unix(at, 0).UTC()
	return r, nil
}

// ReleaseProof is an offline machine's statement that it gave up its
// activation, made with the release key of its license file.
type ReleaseProof struct {
	ActivationID int64
	LicenseCode  string
	Fingerprint  string
	ReleasedAt   time.Time
	// MAC is the first 16 bytes of HMAC-SHA256(release key, ReleaseMessage).
	MAC []byte
}

type releaseProofJSON struct {
	Type         string `json:"type"`
	ActivationID int64  `json:"activation_id"`
	LicenseCode  string `json:"license_code"`
	Fingerprint  string `json:"fingerprint"`
	ReleasedAt   int64  `json:"released_at"`
	MAC          string `json:"mac"`
}

// ReleaseMessage is what a release proof's MAC covers, lines joined by
// "\n": the label, the activation id, the license code, the fingerprint
// and the release time in Unix seconds.
func ReleaseMessage(activationID int64, licenseCode, fingerprint string, releasedAt time.Time) []byte {
	return []byte(strings.Join([]string{releaseMACLabel, strconv.FormatInt(activationID, 10), licenseCode, fingerprint,
		strconv.FormatInt(releasedAt.Unix(), 10)}, "\n"))
}

// SignRelease makes the release proof of a license file's binding, as a
// client does.
func SignRelease(releaseKey []byte, activationID int64, licenseCode, fingerprint string, releasedAt time.Time) ReleaseProof {
	m := hmac.New(sha256.New, releaseKey)
	m.Write(ReleaseMessage(activationID, licenseCode, fingerprint, releasedAt))
	return ReleaseProof{ActivationID: activationID, LicenseCode: licenseCode, Fingerprint: fingerprint,
		ReleasedAt: releasedAt.Truncate(time.Second).UTC(), MAC: m.Sum(nil)[:releaseMACLen]}
}

// JSON is the proof's JSON form.
func (p ReleaseProof) JSON() []byte {
	b, _ := json.Marshal(releaseProofJSON{OfflineReleaseType, p.ActivationID, p.LicenseCode, p.Fingerprint, p.ReleasedAt.Unix(), hex.EncodeToString(p.MAC)})
	return b
}

// Code is the proof's text code.
func (p ReleaseProof) Code() string {
	return encodeCode(offlineReleaseMagic, strconv.FormatInt(p.ActivationID, 10), p.LicenseCode, p.Fingerprint,
		strconv.FormatInt(p.ReleasedAt.Unix(), 10), hex.EncodeToString(p.MAC))
}

// ParseReleaseProof reads a release proof in either form.
func ParseReleaseProof(doc string) (ReleaseProof, error) {
	var p ReleaseProof
	var at int64
	var mac string
	doc = strings.TrimSpace(doc)
	if strings.HasPrefix(doc, "{") {
		var j releaseProofJSON
		if err := decodeDoc(doc, &j); err != nil || j.Type != OfflineReleaseType {
			return p, docError("This is not an offline release proof.")
		}
		p = ReleaseProof{ActivationID: j.ActivationID, LicenseCode: j.LicenseCode, Fingerprint: j.Fingerprint}
		at, mac = j.ReleasedAt, j.MAC
	} else {
		f, err := decodeCode(doc, offlineReleaseMagic, 5)
		if err != nil {
			return p, err
		}
		p = ReleaseProof{LicenseCode: f[1], Fingerprint: f[2]}
		var err1, err2 error
		p.ActivationID, err1 = strconv.ParseInt(f[0], 10, 64)
		at, err2 = strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return p, docError("This is not an offline release proof.")
		}
		mac = f[4]
	}
	var err error
	p.MAC, err = hex.DecodeString(mac)
	switch {
	case p.ActivationID <= 0 || p.LicenseCode == "" || at <= 0 || err != nil || len(p.MAC) != releaseMACLen:
		return p, docError("This is not an offline release proof.")
	}
	if err := checkFingerprint(p.Fingerprint); err != nil {
		return p, err
	}
	p.ReleasedAt = time.Unix(at, 0).UTC()
	return p, nil
}

func checkFingerprint(fp string) error {
	if fp == "" || len(fp) > MaxFingerprintLen || !utf8.ValidString(fp) || strings.ContainsAny(fp, "\n\r") {
		return docError("The machine fingerprint is missing, longer than 128 bytes or holds a line break.")
	}
	return nil
}

func decodeDoc(doc string, v any) error {
	if len(doc) > maxOfflineDocument {
		return docError("too long")
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	return dec.Decode(v)
}

func encodeCode(magic string, fields ...string) string {
	payload := []byte(magic + "\n" + strings.Join(fields, "\n"))
	sum := sha256.Sum256(payload)
	raw := codeEncoding.EncodeToString(append(payload, sum[:checksumLen]...))
	var b strings.Builder
	for i := 0; i < len(raw); i += 5 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(raw[i:min(i+5, len(raw))])
	}
	return b.String()
}

// decodeCode reads a text code: case, spaces, line breaks and dashes do
// not matter, and the digits 0, 1 and 8 (not in the alphabet) are read as
// the letters O, I and B they are mistaken for.
func decodeCode(doc, magic string, n int) ([]string, error) {
	if len(doc) > 2*maxOfflineDocument {
		return nil, docError("The code is too long.")
	}
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\n' || r == '\r' || r == '\t':
			return -1
		case r == '0':
			return 'O'
		case r == '1':
			return 'I'
		case r == '8':
			return 'B'
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, doc)
	raw, err := codeEncoding.DecodeString(clean)
	if err != nil || len(raw) <= checksumLen {
		return nil, docError("This is not a code Licensor made sense of: check for a missing or extra character.")
	}
	payload, sum := raw[:len(raw)-checksumLen], raw[len(raw)-checksumLen:]
	want := sha256.Sum256(payload)
	if !bytes.Equal(sum, want[:checksumLen]) {
		return nil, docError("The code's checksum does not match: a character was mistyped.")
	}
	f := strings.Split(string(payload), "\n")
	if len(f) != n+1 || f[0] != magic {
		if magic == offlineRequestMagic {
			return nil, docError("This is not an offline activation request.")
		}
		return nil, docError("This is not an offline release proof.")
	}
	return f[1:], nil
}
