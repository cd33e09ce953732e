package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"strings"
)

// Release integrity (docs/api/signing.md#release-integrity): a vendor signs a manifest of each
// upload with an Ed25519 release key whose public half is registered as
// trusted. This file holds the pure part: the manifest, signing it, and
// checking an upload's signature; the trusted keys and the upload flow
// belong to their owners.

// ManifestHeader is the first line of a release manifest.
const ManifestHeader = "lm-manifest-v1"

// Manifest describes one uploaded main file.
type Manifest struct {
	Product string // reference id
	Version string
	SHA256  string // lowercase hex of the main file
	Size    int64  // bytes
}

// String is the signed text: LF line ends, no trailing newline.
func (m Manifest) String() string {
	return ManifestHeader + "\nproduct=" + m.Product + "\nversion=" + m.Version +
		"\nsha256=" + m.SHA256 + "\nsize=" + strconv.FormatInt(m.Size, 10)
}

// ParseManifest reads a manifest written exactly as String writes it.
func ParseManifest(s string) (Manifest, bool) {
	lines := strings.Split(s, "\n")
	if len(lines) != 5 || lines[0] != ManifestHeader {
		return Manifest{}, false
	}
	var m Manifest
	for i, key := range []string{"product", "version", "sha256", "size"} {
		v, ok := strings.CutPrefix(lines[i+1], key+"=")
		if !ok || v == "" || strings.ContainsAny(v, "\r") {
			return Manifest{}, false
		}
		switch key {
		case "product":
			m.Product = v
		case "version":
			m.Version = v
		case "sha256":
			m.SHA256 = v
		case "size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
				return Manifest{}, false
			}
			m.Size = n
		}
	}
	return m, true
}

// ReleaseSignature is the "signature" object of update responses:
// {"algo":"ed25519","key_id":…,"value":<base64 signature>,"manifest":…}.
type ReleaseSignature struct {
	Algo     string `json:"algo"`
	KeyID    string `json:"key_id"`
	Value    string `json:"value"`
	Manifest string `json:"manifest"`
}

// SignRelease signs m with a release key (`licensor release sign`).
func SignRelease(priv ed25519.PrivateKey, m Manifest) ReleaseSignature {
	text := m.String()
	return ReleaseSignature{
		Algo:     AlgEd25519,
		KeyID:    KeyID(priv.Public().(ed25519.PublicKey)),
		Value:    base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(text))),
		Manifest: text,
	}
}

// ReleaseError is an upload failure whose text is the 422 message on the
// "signature" field (docs/api/signing.md#release-integrity).
type ReleaseError string

func (e ReleaseError) Error() string { return string(e) }

const (
	ErrReleaseIncomplete   ReleaseError = "A signature, key ID and manifest must all be provided together"
	ErrReleaseUntrusted    ReleaseError = "That signing key is not trusted, or has been revoked"
	ErrReleaseBadSignature ReleaseError = "The signature does not match the manifest"
	ErrReleaseMismatch     ReleaseError = "The signed manifest does not describe the uploaded file"
	ErrReleaseUnhashed     ReleaseError = "The uploaded file could not be hashed"
	ErrReleaseRequired     ReleaseError = "A signed manifest is required for uploads."
)

// CheckRelease checks the signature, key_id and manifest fields of an
// upload against the file actually received: all three or none (none is
// nil unless required, setting require_signed_releases); the key must be
// trusted (trusted looks it up by key id, revoked keys are not found); the
// signature must verify over the manifest text; and the manifest must
// name the product (ignoring case), version (ignoring case), SHA-256 and
// size of the upload.
func CheckRelease(signature, keyID, manifest string, required bool, trusted func(keyID string) (ed25519.PublicKey, bool), upload Manifest) error {
	switch n := nonEmpty(signature, keyID, manifest); {
	case n == 0 && required:
		return ErrReleaseRequired
	case n == 0:
		return nil
	case n != 3:
		return ErrReleaseIncomplete
	}
	pub, ok := trusted(keyID)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return ErrReleaseUntrusted
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, []byte(manifest), sig) {
		return ErrReleaseBadSignature
	}
	m, ok := ParseManifest(manifest)
	if !ok || !strings.EqualFold(m.Product, upload.Product) || !strings.EqualFold(m.Version, upload.Version) ||
		!strings.EqualFold(m.SHA256, upload.SHA256) || m.Size != upload.Size {
		return ErrReleaseMismatch
	}
	return nil
}

func nonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			n++
		}
	}
	return n
}

// SignRelease signs m with the ring's active key (`licensor release sign`
// without --key: the instance's own signing key as the release key).
func (r *KeyRing) SignRelease(m Manifest) (ReleaseSignature, error) {
	s := r.set.Load()
	if s.active == nil || len(s.active.Private) != ed25519.PrivateKeySize {
		return ReleaseSignature{}, ErrNoKey
	}
	return SignRelease(s.active.Private, m), nil
}
