package releasekeys_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestParsePublicKeyForms(t *testing.T) {
	pub, _ := newKey(t)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]string{
		"base64":     base64.StdEncoding.EncodeToString(pub),
		"raw base64": base64.RawURLEncoding.EncodeToString(pub),
		"hex":        hex.EncodeToString(pub),
		"pem":        string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}
	for name, text := range forms {
		got, err := releasekeys.ParsePublicKey("  " + text + "\n")
		if err != nil || !pub.Equal(got) {
			t.Errorf("%s: got %x, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "abc", base64.StdEncoding.EncodeToString(pub[:31]), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"} {
		if _, err := releasekeys.ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func TestAddRevokeTrusted(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	by := audit.Source{Actor: audit.System}
	now := time.Now()
	pub, _ := newKey(t)

	_, err := releasekeys.Add(ctx, d.Bun, by, "", "nonsense", now)
	verr, ok := fields.As(err)
	if !ok || verr.Map()["name"] == "" || verr.Map()["public_key"] == "" {
		t.Fatalf("Add(bad) = %v; want name and public_key messages", err)
	}
	k, err := releasekeys.Add(ctx, d.Bun, by, " Release 2025 ", base64.StdEncoding.EncodeToString(pub), now)
	if err != nil || k.Name != "Release 2025" || k.KeyID != signing.KeyID(pub) {
		t.Fatalf("Add = %+v, %v", k, err)
	}
	if _, err := releasekeys.Add(ctx, d.Bun, by, "Again", hex.EncodeToString(pub), now); err == nil {
		t.Fatal("the same key was added twice")
	} else if verr, ok := fields.As(err); !ok || verr.Map()["public_key"] == "" {
		t.Fatalf("duplicate = %v", err)
	}
	got, ok, err := releasekeys.Trusted(ctx, d.Bun, k.KeyID)
	if err != nil || !ok || !pub.Equal(ed25519.PublicKey(got)) {
		t.Fatalf("Trusted = %x, %v, %v", got, ok, err)
	}

	if _, err := releasekeys.Revoke(ctx, d.Bun, by, k.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := releasekeys.Revoke(ctx, d.Bun, by, k.ID, now); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := releasekeys.Revoke(ctx, d.Bun, by, 99999, now); !errors.Is(err, releasekeys.ErrNotFound) {
		t.Fatalf("Revoke(missing) = %v", err)
	}
	if _, ok, _ := releasekeys.Trusted(ctx, d.Bun, k.KeyID); ok {
		t.Fatal("a revoked key is still trusted")
	}
	list, err := releasekeys.List(ctx, d.Bun)
	if err != nil || len(list) != 1 || !list[0].Revoked() {
		t.Fatalf("List = %+v, %v", list, err)
	}
	var msgs []string
	err = d.Bun.NewSelect().TableExpr("activity_log").Column("message").
		Where("subject_type = ?", releasekeys.SubjectReleaseKey).Order("id").Scan(ctx, &msgs)
	if err != nil || len(msgs) != 2 ||
		msgs[0] != "Release key Release 2025 ("+k.KeyID+") trusted by the system." ||
		msgs[1] != "Release key Release 2025 ("+k.KeyID+") revoked by the system." {
		t.Fatalf("activity = %q, %v", msgs, err)
	}
}

// A release signed offline with a trusted key verifies on upload, is
// stored, and is what the update endpoints show; once the key is revoked
// the release is served unsigned.
func TestSignedReleaseVerifiesWithTrustedKey(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	by := audit.Source{Actor: audit.System}
	now := time.Now()
	pub, priv := newKey(t)
	_, otherPriv := newKey(t)
	k, err := releasekeys.Add(ctx, d.Bun, by, "Vendor", base64.StdEncoding.EncodeToString(pub), now)
	if err != nil {
		t.Fatal(err)
	}
	var versionID int64
	err = d.Bun.QueryRowContext(ctx, `WITH p AS (INSERT INTO products (name, reference_id) VALUES ('Acme', 'ACME') RETURNING id)
		INSERT INTO product_versions (product_id, version_id, version) SELECT id, 'V1', '1.0.0' FROM p RETURNING id`).Scan(&versionID)
	if err != nil {
		t.Fatal(err)
	}

	upload := signing.Manifest{Product: "ACME", Version: "1.0.0", SHA256: hex.EncodeToString(make([]byte, 32)), Size: 42}
	good := signing.SignRelease(priv, upload)
	set := settings.Defaults()
	set.UpdateIntegrityEnabled = true

	cases := []struct {
		name                 string
		signature, keyID, mf string
		required             bool
		want                 string
	}{
		{"none, optional", "", "", "", false, ""},
		{"none, required", "", "", "", true, "A signed manifest is required for uploads."},
		{"partial", good.Value, "", good.Manifest, false, "A signature, key ID and manifest must all be provided together"},
		{"untrusted key", signing.SignRelease(otherPriv, upload).Value, signing.KeyID(otherPriv.Public().(ed25519.PublicKey)), good.Manifest, false, "That signing key is not trusted, or has been revoked"},
		{"bad signature", signing.SignRelease(otherPriv, upload).Value, good.KeyID, good.Manifest, false, "The signature does not match the manifest"},
		{"other file", signing.SignRelease(priv, signing.Manifest{Product: "ACME", Version: "1.0.0", SHA256: upload.SHA256, Size: 43}).Value, good.KeyID,
			signing.Manifest{Product: "ACME", Version: "1.0.0", SHA256: upload.SHA256, Size: 43}.String(), false, "The signed manifest does not describe the uploaded file"},
		{"good", good.Value, good.KeyID, good.Manifest, true, ""},
	}
	for _, tc := range cases {
		s := *set
		s.RequireSignedReleases = tc.required
		sig, err := releasekeys.CheckUpload(ctx, d.Bun, &s, tc.signature, tc.keyID, tc.mf, upload)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		verr, ok := fields.As(err)
		if !ok || verr.Map()["signature"] != tc.want || sig != nil {
			t.Errorf("%s: %v; want %q on signature", tc.name, err, tc.want)
		}
	}
	// With release integrity off, the fields are not looked at.
	if sig, err := releasekeys.CheckUpload(ctx, d.Bun, settings.Defaults(), "x", "", "", upload); err != nil || sig != nil {
		t.Fatalf("integrity off: %v, %v", sig, err)
	}

	sig, err := releasekeys.CheckUpload(ctx, d.Bun, set, good.Value, good.KeyID, good.Manifest, upload)
	if err != nil || sig == nil {
		t.Fatal(sig, err)
	}
	if err := releasekeys.Save(ctx, d.Bun, versionID, *sig); err != nil {
		t.Fatal(err)
	}
	shown, err := releasekeys.ForUpdate(ctx, d.Bun, set, versionID)
	if err != nil || shown == nil || *shown != good {
		t.Fatalf("ForUpdate = %+v, %v; want %+v", shown, err, good)
	}
	// The published key verifies what is shown, as a client would check it.
	raw, _ := base64.StdEncoding.DecodeString(shown.Value)
	if !ed25519.Verify(pub, []byte(shown.Manifest), raw) || shown.KeyID != signing.KeyID(pub) {
		t.Fatal("the shown signature does not verify under the trusted key")
	}
	if shown, _ := releasekeys.ForUpdate(ctx, d.Bun, settings.Defaults(), versionID); shown != nil {
		t.Fatal("signature shown with release integrity off")
	}
	if _, err := releasekeys.Revoke(ctx, d.Bun, by, k.ID, now); err != nil {
		t.Fatal(err)
	}
	if shown, err := releasekeys.ForUpdate(ctx, d.Bun, set, versionID); err != nil || shown != nil {
		t.Fatalf("after revocation ForUpdate = %+v, %v; want none", shown, err)
	}
	if err := releasekeys.Remove(ctx, d.Bun, versionID); err != nil {
		t.Fatal(err)
	}
	if m, err := releasekeys.Stored(ctx, d.Bun, versionID); err != nil || len(m) != 0 {
		t.Fatalf("Stored after Remove = %v, %v", m, err)
	}
}
