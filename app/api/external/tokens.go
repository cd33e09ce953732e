package external

import (
	"strings"
	"sync"

	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// checkedToken is what the token check found in license_data.
type checkedToken struct {
	// ok: the token is authentic and names an activation this server can
	// look up (activationID, productRef), or is a LicenseBox token (legacy)
	// whose license code and client name take the code path.
	ok           bool
	activationID int64
	productRef   string
	legacy       bool
	licenseCode  string
	clientName   string
}

// tokenChecker checks tokens before any database work (docs/api/external.md#verify step
// 1): a Licensor token by its signature, a migrated one by decrypting it
// with the keys in settings (docs/api/signing.md#migrated-tokens).
//
// An installation sends the same token on every verification, and the
// Ed25519 check is most of a verify's CPU, so authentic Licensor tokens are
// remembered with the key set that verified them. When the node's key set
// changes (a rotation or deletion, reloaded on NOTIFY) the memory is
// dropped, so a token of a deleted key stops verifying as it would
// without it. Forged tokens are never remembered: each costs a signature
// check, and no query.
//
// A License Manager token carries the activation's id in the old
// installation, found through the activation's recorded original id. The
// migration that records original ids does not exist yet, so such a token
// cannot name an activation here and reads as invalid.
type tokenChecker struct {
	ring *signing.KeyRing

	mu     sync.RWMutex
	keySet any
	known  map[string]signing.Token
}

// maxKnownTokens bounds the memory of verified tokens (about 200 bytes
// each); past it the memory starts again.
const maxKnownTokens = 50_000

func newTokenChecker(ring *signing.KeyRing) *tokenChecker {
	return &tokenChecker{ring: ring, known: map[string]signing.Token{}}
}

func (tc *tokenChecker) check(raw string, set *settings.Values) checkedToken {
	raw = strings.TrimSpace(raw)
	t, ok := tc.read(raw, set)
	if !ok {
		return checkedToken{}
	}
	switch t.Format {
	case signing.FormatLicensor:
		return checkedToken{ok: true, activationID: t.ActivationID, productRef: t.ProductRef}
	case signing.FormatLicenseBox:
		return checkedToken{ok: t.LicenseCode != "", legacy: true, licenseCode: t.LicenseCode, clientName: t.ClientName}
	}
	return checkedToken{}
}

func (tc *tokenChecker) read(raw string, set *settings.Values) (signing.Token, bool) {
	keySet := tc.ring.SetID()
	tc.mu.RLock()
	t, hit := tc.known[raw]
	hit = hit && tc.keySet == keySet
	tc.mu.RUnlock()
	if hit {
		return t, true
	}
	t, err := tc.ring.ReadToken(raw, signing.LegacyKeys{
		LicenseCipher: set.LegacyLicenseCipher,
		LicenseKey:    set.LegacyLicenseKey,
		EncryptionKey: set.LegacyEncryptionKey,
	})
	if err != nil {
		return signing.Token{}, false
	}
	if t.Format == signing.FormatLicensor {
		tc.mu.Lock()
		if tc.keySet != keySet || len(tc.known) >= maxKnownTokens {
			tc.keySet, tc.known = keySet, map[string]signing.Token{}
		}
		tc.known[raw] = t
		tc.mu.Unlock()
	}
	return t, true
}
