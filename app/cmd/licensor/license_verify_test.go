package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// An offline activation's license file passes `license verify` with the
// instance's keys (from the database) or keys given, for its own machine
// only; a changed file, another key, a file from the future or past its
// offline validity, and a plain file asked for a machine are refused.
func TestLicenseVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := dbtest.NewDSN(t)
	d, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	secret := []byte("license verify test secret")
	if _, err := signing.EnsureKey(ctx, d.Bun, secret, time.Now()); err != nil {
		t.Fatal(err)
	}
	ring, err := signing.Load(ctx, d.Bun, secret)
	if err != nil {
		t.Fatal(err)
	}
	set, by := settings.Defaults(), audit.Source{Actor: audit.System}
	if _, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, by, set, catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	lic := licensing.NewService(licensing.Options{OfflineSecret: secret})
	if _, err := lic.CreateLicense(ctx, d.Bun, by, set, licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some("VERIFY-1")}); err != nil {
		t.Fatal(err)
	}
	res, err := lic.ActivateOffline(ctx, d.Bun, set, licensing.OfflineActivateRequest{By: by,
		Request: licensing.OfflineRequest{ProductRef: "ACME", LicenseCode: "VERIFY-1", Fingerprint: "machine-a", RequestedAt: time.Now()}})
	if err != nil || res.Failure != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	_, file, err := licensing.OfflineLicenseFile(ring, res, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	path := write("offline.lic", file)
	env := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_DATA_DIR=" + t.TempDir(), "LICENSOR_LOG_LEVEL=warn"}

	code, out, errOut := runCLI(t, env, "license", "verify", path, "--fingerprint", "machine-a")
	if code != 0 || !strings.Contains(out, "License code:  VERIFY-1") || !strings.Contains(out, `machine "machine-a"`) || !strings.HasSuffix(out, "OK\n") {
		t.Fatalf("own machine: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "license", "verify", path, "--fingerprint", "machine-b"); code != 1 || !strings.Contains(out, `REFUSED: it is bound to machine "machine-a", not "machine-b".`) {
		t.Fatalf("another machine: exit %d\n%s", code, out)
	}

	// Keys given: the published JSON, a key as base64; another key refuses.
	keysJSON, _ := json.Marshal(ring.PublicKeys())
	active, _ := ring.Active()
	for _, k := range []string{write("keys.json", keysJSON), base64.StdEncoding.EncodeToString(active.Public)} {
		if code, out, errOut := runCLI(t, nil, "license", "verify", path, "--key", k, "--fingerprint", "machine-a"); code != 0 {
			t.Fatalf("--key %s: exit %d\n%s%s", k, code, out, errOut)
		}
	}
	other := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	if code, out, _ := runCLI(t, nil, "license", "verify", path, "--key", base64.StdEncoding.EncodeToString(other)); code != 1 || !strings.Contains(out, "not one of the keys trusted") {
		t.Fatalf("another key: exit %d\n%s", code, out)
	}

	// A changed character of the signed data.
	lines := strings.Split(string(file), "\n")
	b := []byte(lines[1])
	b[10] ^= 'A' ^ 'B'
	lines[1] = string(b)
	if code, out, _ := runCLI(t, env, "license", "verify", write("tampered.lic", []byte(strings.Join(lines, "\n")))); code != 1 || !strings.Contains(out, "REFUSED") {
		t.Fatalf("tampered: exit %d\n%s", code, out)
	}

	sign := func(l signing.LicenseFile) string {
		f, err := ring.SignLicenseFile(l)
		if err != nil {
			t.Fatal(err)
		}
		return write(l.LicenseCode+".lic", f)
	}
	now := time.Now()
	binding := func(until time.Time) *signing.OfflineBinding {
		return &signing.OfflineBinding{ActivationID: 1, Fingerprint: "machine-a", ValidUntil: until, ReleaseKey: []byte{1}}
	}
	for name, tc := range map[string]struct {
		path, fingerprint, want string
	}{
		"from the future":            {sign(signing.LicenseFile{LicenseCode: "F", IssuedAt: now.Add(time.Hour), Offline: binding(now.Add(48 * time.Hour))}), "machine-a", "in this machine's future"},
		"past its validity":          {sign(signing.LicenseFile{LicenseCode: "V", IssuedAt: now.Add(-48 * time.Hour), Offline: binding(now.Add(-time.Hour))}), "machine-a", "offline validity ended"},
		"expired":                    {sign(signing.LicenseFile{LicenseCode: "E", IssuedAt: now.Add(-48 * time.Hour), ExpiresAt: ptrTime(now.Add(-time.Hour))}), "", "the license expired"},
		"plain, asked for a machine": {sign(signing.LicenseFile{LicenseCode: "P", IssuedAt: now}), "machine-a", "not bound to a machine"},
	} {
		args := []string{"license", "verify", tc.path, "--key", base64.StdEncoding.EncodeToString(active.Public)}
		if tc.fingerprint != "" {
			args = append(args, "--fingerprint", tc.fingerprint)
		}
		if code, out, _ := runCLI(t, nil, args...); code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d\n%s", name, code, out)
		}
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
