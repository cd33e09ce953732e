package releasekeys

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// versionSignature is a row of version_signatures: the signed manifest a
// version's main file was uploaded with.
type versionSignature struct {
	bun.BaseModel `bun:"table:version_signatures,alias:vs"`

	VersionID int64     `bun:"version_id,pk"`
	KeyID     string    `bun:"key_id"`
	Signature string    `bun:"signature"`
	Manifest  string    `bun:"manifest"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

func (r *versionSignature) release() signing.ReleaseSignature {
	return signing.ReleaseSignature{Algo: signing.AlgEd25519, KeyID: r.KeyID, Value: r.Signature, Manifest: r.Manifest}
}

// CheckUpload checks the signature, key_id and manifest fields sent with a
// version upload against the main file received (docs/api/signing.md#release-integrity). With
// setting update_integrity_enabled off and require_signed_releases off the
// fields are ignored (nil, nil). A failure is a *fields.Error on
// "signature" with the spec's message; success returns the signature to
// store with Save (nil when none was sent).
func CheckUpload(ctx context.Context, idb bun.IDB, set *settings.Values, signature, keyID, manifest string, upload signing.Manifest) (*signing.ReleaseSignature, error) {
	if !set.UpdateIntegrityEnabled && !set.RequireSignedReleases {
		return nil, nil
	}
	var lookupErr error
	trusted := func(id string) (ed25519.PublicKey, bool) {
		pub, ok, err := Trusted(ctx, idb, id)
		lookupErr = err
		return pub, ok
	}
	err := signing.CheckRelease(signature, keyID, manifest, set.RequireSignedReleases, trusted, upload)
	if lookupErr != nil {
		return nil, lookupErr
	}
	var rerr signing.ReleaseError
	if errors.As(err, &rerr) {
		return nil, fields.New("signature", string(rerr))
	}
	if err != nil {
		return nil, err
	}
	if nonBlank(signature, keyID, manifest) {
		return &signing.ReleaseSignature{Algo: signing.AlgEd25519, KeyID: keyID, Value: signature, Manifest: manifest}, nil
	}
	return nil, nil
}

// Save records sig as version versionID's signature, replacing any other.
func Save(ctx context.Context, idb bun.IDB, versionID int64, sig signing.ReleaseSignature) error {
	row := &versionSignature{VersionID: versionID, KeyID: sig.KeyID, Signature: sig.Value, Manifest: sig.Manifest}
	_, err := idb.NewInsert().Model(row).
		On("CONFLICT (version_id) DO UPDATE").
		Set("key_id = EXCLUDED.key_id, signature = EXCLUDED.signature, manifest = EXCLUDED.manifest, created_at = now()").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("save signature of version %d: %w", versionID, err)
	}
	return nil
}

// Remove drops version versionID's signature (its main file changed
// without a new one).
func Remove(ctx context.Context, idb bun.IDB, versionID int64) error {
	if _, err := idb.NewDelete().Model((*versionSignature)(nil)).Where("version_id = ?", versionID).Exec(ctx); err != nil {
		return fmt.Errorf("remove signature of version %d: %w", versionID, err)
	}
	return nil
}

// Stored returns the stored signatures of the given versions by version
// row id, whether or not their keys are still trusted.
func Stored(ctx context.Context, idb bun.IDB, versionIDs ...int64) (map[int64]signing.ReleaseSignature, error) {
	out := map[int64]signing.ReleaseSignature{}
	if len(versionIDs) == 0 {
		return out, nil
	}
	var rows []versionSignature
	if err := idb.NewSelect().Model(&rows).Where("vs.version_id IN (?)", bun.List(versionIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("signatures of versions %v: %w", versionIDs, err)
	}
	for i := range rows {
		out[rows[i].VersionID] = rows[i].release()
	}
	return out, nil
}

// ForUpdate returns the signature the update endpoints show for version
// versionID (docs/api/signing.md#release-integrity): only when setting
// update_integrity_enabled is on, the version is signed, and the signature
// verifies under a key that is still trusted — a revoked key's releases are
// served unsigned. nil otherwise.
func ForUpdate(ctx context.Context, idb bun.IDB, set *settings.Values, versionID int64) (*signing.ReleaseSignature, error) {
	if !set.UpdateIntegrityEnabled {
		return nil, nil
	}
	sigs, err := Stored(ctx, idb, versionID)
	if err != nil {
		return nil, err
	}
	sig, ok := sigs[versionID]
	if !ok {
		return nil, nil
	}
	pub, ok, err := Trusted(ctx, idb, sig.KeyID)
	if err != nil || !ok {
		return nil, err
	}
	if !(TrustedSet{sig.KeyID: pub}).Verify(sig) {
		return nil, nil
	}
	return &sig, nil
}

func nonBlank(ss ...string) bool {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}
