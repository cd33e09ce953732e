package releasekeys_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
)

// CheckVersion as a VersionService's check: a signed upload keeps its
// signature, a bad one refuses the upload, an edit without a new main
// file keeps it, and a new main file without a signature drops it.
func TestCheckVersionKeepsAndDropsSignatures(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	by := audit.Source{Actor: audit.System}
	set := settings.Defaults()
	set.UpdateIntegrityEnabled = true
	store, err := storage.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	versions := catalog.NewVersionService(d.Bun, store, 1<<20, nil)
	versions.Check = releasekeys.CheckVersion
	p, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, by, set, catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv := newKey(t)
	if _, err := releasekeys.Add(ctx, d.Bun, by, "Vendor", base64.StdEncoding.EncodeToString(pub), time.Now()); err != nil {
		t.Fatal(err)
	}
	mainFile := func(extra string) (*catalog.Upload, signing.Manifest) {
		b := append([]byte("PK\x03\x04release "), extra...)
		sum := sha256.Sum256(b)
		return &catalog.Upload{Name: "acme.zip", Body: bytes.NewReader(b)},
			signing.Manifest{Product: "ACME", Version: "1.0.0", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
	}
	stored := func(id int64) *signing.ReleaseSignature {
		t.Helper()
		sigs, err := releasekeys.Stored(ctx, d.Bun, id)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := sigs[id]; ok {
			return &s
		}
		return nil
	}

	up, m := mainFile("one")
	sig := signing.SignRelease(priv, m)
	v, err := versions.CreateVersion(ctx, by, set, p, catalog.VersionInput{Version: fields.Some("1.0.0"), Changelog: fields.Some(new("First release")), MainFile: up,
		Signature: sig.Value, KeyID: sig.KeyID, Manifest: sig.Manifest})
	if err != nil {
		t.Fatal(err)
	}
	if s := stored(v.ID); s == nil || s.Value != sig.Value {
		t.Fatalf("signature after a signed upload: %+v", s)
	}

	// A signature of other bytes refuses the new file; the old one stays.
	up, _ = mainFile("two")
	_, err = versions.UpdateVersion(ctx, by, set, p, v.ID, catalog.VersionInput{MainFile: up,
		Signature: sig.Value, KeyID: sig.KeyID, Manifest: sig.Manifest})
	if verr, ok := fields.As(err); !ok || !verr.Has("signature") {
		t.Fatalf("a signature of other bytes: %v", err)
	}
	if s := stored(v.ID); s == nil || s.Value != sig.Value {
		t.Fatal("a refused upload changed the stored signature")
	}

	// An edit that sends no file and no signature keeps it.
	if _, err := versions.UpdateVersion(ctx, by, set, p, v.ID, catalog.VersionInput{Summary: fields.Some(new("Fixes"))}); err != nil {
		t.Fatal(err)
	}
	if stored(v.ID) == nil {
		t.Fatal("an edit without a new file dropped the signature")
	}

	// A new main file without a signature drops it.
	up, _ = mainFile("three")
	if _, err := versions.UpdateVersion(ctx, by, set, p, v.ID, catalog.VersionInput{MainFile: up}); err != nil {
		t.Fatal(err)
	}
	if s := stored(v.ID); s != nil {
		t.Fatalf("signature kept for a new unsigned file: %+v", s)
	}
}
