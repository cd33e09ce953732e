package releasekeys

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// CheckVersion is the catalog.CheckFiles of the node's VersionService: it
// checks the signed manifest sent with a version upload against the stored
// main file and keeps it with the version
// (docs/api/signing.md#release-integrity). A new main file without a
// signature drops the old one; an edit that keeps the main file and sends
// no signature changes nothing.
func CheckVersion(ctx context.Context, tx bun.IDB, set *settings.Values, p *catalog.Product, v *catalog.Version, mainChanged bool, in *catalog.VersionInput) error {
	sent := strings.TrimSpace(in.Signature+in.KeyID+in.Manifest) != ""
	if !mainChanged && !sent {
		return nil
	}
	main := v.File(catalog.FileMain)
	if main == nil {
		return nil
	}
	sig, err := CheckUpload(ctx, tx, set, in.Signature, in.KeyID, in.Manifest,
		signing.Manifest{Product: p.ReferenceID, Version: v.Version, SHA256: main.SHA256, Size: main.Size})
	if err != nil {
		return err
	}
	if sig != nil {
		return Save(ctx, tx, v.ID, *sig)
	}
	if mainChanged {
		return Remove(ctx, tx, v.ID)
	}
	return nil
}

var _ catalog.CheckFiles = CheckVersion
