package signing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Signed API responses (docs/api/verifying.md#signed-responses). Every
// external API answer carries
//
//	Digest: sha-256=<base64 of SHA-256 of the body>
//	Licensor-Signature: keyid="<key id>", algorithm="ed25519", date="<IMF-fixdate>", signature="<base64>"
//
// and the signature is Ed25519 over the four lines (LF between them, none
// after the last)
//
//	(request-target): <method, lower case> <path as requested, without the query>
//	host: <the request's Host header>
//	date: <the date parameter>
//	digest: sha-256=<base64 of SHA-256 of the body>
//
// The date is the server's time to the second. It is a parameter of the
// signature rather than the Date header because the HTTP server writes
// Date itself from a clock of its own refreshed once a second, so the two
// can be a second apart.

const (
	// ResponseSignatureHeader carries a response's signature.
	ResponseSignatureHeader = "Licensor-Signature"
	// DigestHeader carries SHA-256 of a response's body.
	DigestHeader = "Digest"
	// digestPrefix starts the Digest header's value.
	digestPrefix = "sha-256="
)

// ErrBadResponseSignature is any signed response that does not verify:
// no or a malformed signature header, an unknown key, a digest that is not
// the body's, or a signature that is not the key's.
var ErrBadResponseSignature = errors.New("signing: response signature does not verify")

// AppendDigest appends the Digest header's value for a body whose SHA-256
// is sum.
func AppendDigest(dst []byte, sum *[sha256.Size]byte) []byte {
	dst = append(dst, digestPrefix...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// AppendResponseSigningString appends the string a response signature
// covers. method is lower-cased here; digest is the Digest header's value.
func AppendResponseSigningString(dst []byte, method, path, host, date, digest []byte) []byte {
	dst = append(dst, "(request-target): "...)
	for _, b := range method {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	dst = append(dst, ' ')
	dst = append(dst, path...)
	dst = append(dst, "\nhost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\ndate: "...)
	dst = append(dst, date...)
	dst = append(dst, "\ndigest: "...)
	return append(dst, digest...)
}

// SignResponse signs a response's signing string (see
// AppendResponseSigningString) with the active key and returns the
// Licensor-Signature header's value for date.
func (r *KeyRing) SignResponse(signingString []byte, date string) (string, error) {
	k := r.set.Load().active
	if k == nil {
		return "", ErrNoKey
	}
	sig := ed25519.Sign(k.Private, signingString)
	var b strings.Builder
	b.Grow(len(k.KID) + len(date) + 150)
	b.WriteString(`keyid="`)
	b.WriteString(k.KID)
	b.WriteString(`", algorithm="ed25519", date="`)
	b.WriteString(date)
	b.WriteString(`", signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(sig))
	b.WriteString(`"`)
	return b.String(), nil
}

// ResponseDate formats t as the date parameter: an HTTP date (IMF-fixdate)
// to the second.
func ResponseDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// SignedResponse is what a client has of an answer to check it.
type SignedResponse struct {
	// Method, Path and Host of the request as it was sent.
	Method, Path, Host string
	// Signature and Digest are the response's Licensor-Signature and
	// Digest headers.
	Signature, Digest string
	Body              []byte
}

// VerifyResponse checks a signed response as a client does
// (docs/api/verifying.md#signed-responses) with the public key of its key
// id, and returns the signed date.
func VerifyResponse(resp SignedResponse, publicKey func(kid string) (ed25519.PublicKey, bool)) (time.Time, error) {
	params := ParseSignatureParams(resp.Signature)
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil || len(sig) != ed25519.SignatureSize || params["algorithm"] != AlgEd25519 {
		return time.Time{}, ErrBadResponseSignature
	}
	date, err := http.ParseTime(params["date"])
	if err != nil {
		return time.Time{}, ErrBadResponseSignature
	}
	sum := sha256.Sum256(resp.Body)
	digest := AppendDigest(nil, &sum)
	// The Digest header is informative: what is signed is the body's own
	// digest, so a header left alone beside a changed body proves nothing.
	// The digest is of a public body, but comparing it in constant time costs
	// nothing and keeps test/secretcmp's rule without an exception.
	if subtle.ConstantTimeCompare([]byte(resp.Digest), digest) != 1 {
		return time.Time{}, ErrBadResponseSignature
	}
	pub, ok := publicKey(params["keyid"])
	if !ok || len(pub) != ed25519.PublicKeySize {
		return time.Time{}, ErrBadResponseSignature
	}
	msg := AppendResponseSigningString(nil, []byte(resp.Method), []byte(resp.Path), []byte(strings.ToLower(resp.Host)), []byte(params["date"]), digest)
	if !ed25519.Verify(pub, msg, sig) {
		return time.Time{}, ErrBadResponseSignature
	}
	return date, nil
}

// ParseSignatureParams reads a Licensor-Signature value: name="value"
// pairs separated by commas (the date holds a comma of its own, inside its
// quotes). It stops at the first malformed part.
func ParseSignatureParams(header string) map[string]string {
	out := make(map[string]string, 4)
	s := header
	for {
		s = strings.TrimLeft(s, " \t,")
		name, rest, ok := strings.Cut(s, "=")
		if !ok || !strings.HasPrefix(rest, `"`) {
			return out
		}
		value, after, ok := strings.Cut(rest[1:], `"`)
		if !ok {
			return out
		}
		out[strings.ToLower(strings.TrimSpace(name))] = value
		s = after
	}
}

// PublicKey returns the ring's public key with id kid (retired keys
// included), for checking what the ring signed.
func (r *KeyRing) PublicKey(kid string) (ed25519.PublicKey, bool) {
	k, ok := r.set.Load().byKID[kid]
	if !ok {
		return nil, false
	}
	return k.Public, true
}
