package external

import (
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

// readToken checks a token before any database work (api.md §4.4 step 1):
// a Licensor token by its signature, a migrated one by decrypting it with
// the keys in settings (§7.2).
//
// A License Manager token carries the activation's id in the old
// installation, found through the activation's recorded original id. The
// migration that records original ids does not exist yet, so such a token
// cannot name an activation here and reads as invalid.
func readToken(ring *signing.KeyRing, raw string, set *settings.Values) checkedToken {
	t, err := ring.ReadToken(raw, signing.LegacyKeys{
		LicenseCipher: set.LegacyLicenseCipher,
		LicenseKey:    set.LegacyLicenseKey,
		EncryptionKey: set.LegacyEncryptionKey,
	})
	if err != nil {
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
