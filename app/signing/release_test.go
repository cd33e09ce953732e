package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"
)

func TestManifest(t *testing.T) {
	m := Manifest{Product: "ACME-CMS", Version: "1.2.0", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 300000}
	want := "lm-manifest-v1\nproduct=ACME-CMS\nversion=1.2.0\nsha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\nsize=300000"
	if m.String() != want {
		t.Fatalf("manifest %q", m.String())
	}
	if got, ok := ParseManifest(want); !ok || got != m {
		t.Fatalf("ParseManifest = %+v, %v", got, ok)
	}
	for _, bad := range []string{
		want + "\n", "\n" + want, "lm-manifest-v2" + want[14:], want[:len(want)-6] + "size=-1", want[:len(want)-6] + "size=01",
		"lm-manifest-v1\nversion=1.2.0\nproduct=ACME-CMS\nsha256=x\nsize=1", "lm-manifest-v1\r\nproduct=A\r\nversion=1\r\nsha256=x\r\nsize=1",
	} {
		if _, ok := ParseManifest(bad); ok {
			t.Errorf("ParseManifest(%q) accepted", bad)
		}
	}
}

func TestCheckRelease(t *testing.T) {
	releaseKey := testKey(9)
	upload := Manifest{Product: "ACME-CMS", Version: "1.2.0", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 300000}
	sig := SignRelease(releaseKey, upload)
	if sig.Algo != "ed25519" || sig.KeyID != KeyID(releaseKey.Public().(ed25519.PublicKey)) || sig.Manifest != upload.String() {
		t.Fatalf("signature %+v", sig)
	}
	if b, _ := json.Marshal(sig); string(b)[:17] != `{"algo":"ed25519"` {
		t.Fatalf("json %s", b)
	}
	trusted := func(kid string) (ed25519.PublicKey, bool) {
		if kid == sig.KeyID {
			return releaseKey.Public().(ed25519.PublicKey), true
		}
		return nil, false
	}
	other := SignRelease(testKey(8), upload)
	otherFile := upload
	otherFile.Size++
	cases := []struct {
		name                     string
		signature, kid, manifest string
		required                 bool
		upload                   Manifest
		want                     error
	}{
		{"signed", sig.Value, sig.KeyID, sig.Manifest, true, upload, nil},
		{"case of product and version", sig.Value, sig.KeyID, sig.Manifest, false,
			Manifest{Product: "acme-cms", Version: "1.2.0", SHA256: upload.SHA256, Size: upload.Size}, nil},
		{"unsigned", "", "", "", false, upload, nil},
		{"unsigned but required", "", "", "", true, upload, ErrReleaseRequired},
		{"missing manifest", sig.Value, sig.KeyID, "", false, upload, ErrReleaseIncomplete},
		{"missing key id", sig.Value, " ", sig.Manifest, false, upload, ErrReleaseIncomplete},
		{"untrusted key", other.Value, other.KeyID, other.Manifest, false, upload, ErrReleaseUntrusted},
		{"signature of another key", other.Value, sig.KeyID, sig.Manifest, false, upload, ErrReleaseBadSignature},
		{"signature not base64", "%%%", sig.KeyID, sig.Manifest, false, upload, ErrReleaseBadSignature},
		{"manifest changed", sig.Value, sig.KeyID, otherFile.String(), false, otherFile, ErrReleaseBadSignature},
		{"other file", sig.Value, sig.KeyID, sig.Manifest, false, otherFile, ErrReleaseMismatch},
		{"signed garbage", base64.StdEncoding.EncodeToString(ed25519.Sign(releaseKey, []byte("hello"))), sig.KeyID, "hello", false, upload, ErrReleaseMismatch},
	}
	for _, c := range cases {
		if err := CheckRelease(c.signature, c.kid, c.manifest, c.required, trusted, c.upload); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
