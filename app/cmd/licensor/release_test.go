package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/signing"
)

type signOutput struct {
	Signature string                   `json:"signature"`
	KeyID     string                   `json:"key_id"`
	Manifest  string                   `json:"manifest"`
	Checksum  map[string]string        `json:"checksum"`
	FileSize  int64                    `json:"file_size"`
	Object    signing.ReleaseSignature `json:"signature_object"`
}

func writeRelease(t *testing.T) (string, []byte) {
	t.Helper()
	body := []byte(strings.Repeat("release bytes\n", 1000))
	path := filepath.Join(t.TempDir(), "acme-1.2.0.zip")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, body
}

// keygen, then sign with the key file: the printed signature verifies over
// the printed manifest with the printed public key, and the manifest
// describes the file.
func TestReleaseKeygenAndSignWithKeyFile(t *testing.T) {
	file, body := writeRelease(t)
	keyPath := filepath.Join(t.TempDir(), "release.pem")
	code, out, errOut := runCLI(t, nil, "release", "keygen", "--out", keyPath)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`Public key \(trust it in Settings → Updates\): (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen output has no public key:\n%s", out)
	}
	pub, err := releasekeys.ParsePublicKey(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, nil, "release", "keygen", "--out", keyPath); code == 0 {
		t.Fatal("keygen overwrote an existing key file")
	}

	code, out, errOut = runCLI(t, nil, "release", "sign", file, "ACME-CMS", "1.2.0", "--key", keyPath, "--json")
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errOut)
	}
	var got signOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("sign --json output %q: %v", out, err)
	}
	sum := sha256.Sum256(body)
	wantManifest := "lm-manifest-v1\nproduct=ACME-CMS\nversion=1.2.0\nsha256=" + hex.EncodeToString(sum[:]) + "\nsize=14000"
	if got.Manifest != wantManifest || got.KeyID != signing.KeyID(pub) || got.FileSize != 14000 ||
		got.Checksum["value"] != hex.EncodeToString(sum[:]) || got.Object.Value != got.Signature || got.Object.Algo != "ed25519" {
		t.Fatalf("sign output = %+v", got)
	}
	sig, err := base64.StdEncoding.DecodeString(got.Signature)
	if err != nil || !ed25519.Verify(pub, []byte(got.Manifest), sig) {
		t.Fatal("the printed signature does not verify with the generated public key")
	}

	// The text form prints the manifest and the signature object.
	code, out, _ = runCLI(t, nil, "release", "sign", "--key", keyPath, file, "ACME-CMS", "1.2.0")
	if code != 0 || !strings.Contains(out, wantManifest) || !strings.Contains(out, `"key_id":"`+got.KeyID+`"`) {
		t.Fatalf("sign text output:\n%s", out)
	}
	if code, out, _ := runCLI(t, nil, "release", "sign", "--help"); code != 0 || !strings.Contains(out, "Usage: licensor release sign FILE PRODUCT VERSION") {
		t.Fatalf("--help: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, nil, "release", "sign", file, "ACME-CMS"); code != 2 {
		t.Fatalf("missing VERSION: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, nil, "release", "sign", filepath.Join(t.TempDir(), "missing.zip"), "A", "1.0", "--key", keyPath); code != 1 {
		t.Fatalf("missing file: exit %d, want 1", code)
	}
}

// Without --key the instance's active signing key signs; trusting its
// public half makes the release verify as trusted.
func TestReleaseSignWithInstanceKey(t *testing.T) {
	dsn := dbtest.NewDSN(t)
	ctx := context.Background()
	secret := "release-test-instance-secret-0123456789"
	d, err := db.Open(ctx, dsn, db.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := signing.EnsureKey(ctx, d.Bun, []byte(secret), time.Now()); err != nil {
		t.Fatal(err)
	}
	ring, err := signing.Load(ctx, d.Bun, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	active, _ := ring.Active()

	file, _ := writeRelease(t)
	env := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_DATA_DIR=" + t.TempDir(), "LICENSOR_INSTANCE_SECRET=" + secret, "LICENSOR_LOG_LEVEL=warn"}
	code, out, errOut := runCLI(t, env, "release", "sign", file, "ACME-CMS", "1.2.0", "--json")
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, errOut)
	}
	var got signOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.KeyID != active.KID {
		t.Fatalf("key id %s, want the instance key %s", got.KeyID, active.KID)
	}
	if !(releasekeys.TrustedSet{active.KID: active.Public}).Verify(got.Object) {
		t.Fatal("the instance-signed release does not verify with the instance's public key")
	}
}
