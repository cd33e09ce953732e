package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func sampleLicense() LicenseFile {
	return LicenseFile{
		LicenseCode: "6F1C2A9E-0001", ProductRef: "ACME-CMS", ProductName: "Acme <CMS> & Co",
		ClientID: ptr("CUST-001"), Email: ptr("ann@example.com"), Type: ptr("perpetual"),
		UpdatesUntil: ptr(time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)),
		ParallelUses: ptr(1), Domains: []string{"example.com"}, Entitlements: []string{"pro", "sso"},
		Floating: true, Heartbeat: &HeartbeatPolicy{Interval: 600, Tolerance: 60, Missed: "release"},
		IssuedAt: time.Date(2024, 2, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
	}
}

func TestSignLicenseFileFormat(t *testing.T) {
	key := NewKey(testKey(1), t0)
	r := testRing(t, key)
	file, err := r.SignLicenseFile(sampleLicense())
	if err != nil {
		t.Fatal(err)
	}
	s := string(file)
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\r") {
		t.Fatal("lines end with \\n")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if lines[0] != "-----BEGIN LICENSOR LICENSE-----" || lines[len(lines)-1] != "-----END LICENSOR LICENSE-----" {
		t.Fatalf("armour: %q", s)
	}
	body := lines[1 : len(lines)-1]
	for i, l := range body {
		if len(l) > 64 || (i < len(body)-1 && len(l) != 64) {
			t.Fatalf("line %d has %d characters", i, len(l))
		}
	}
	// Check it the way a vendor would, with nothing but the standard library.
	raw, err := base64.StdEncoding.DecodeString(strings.Join(body, ""))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), `{"data":"`) || env["alg"] != "ed25519" || env["kid"] != key.KID {
		t.Fatalf("envelope %s", raw)
	}
	sig, _ := base64.StdEncoding.DecodeString(env["sig"])
	if !ed25519.Verify(key.Public, []byte(env["data"]), sig) {
		t.Fatal("sig does not verify over data")
	}
	data, _ := base64.StdEncoding.DecodeString(env["data"])
	want := `{"license_code":"6F1C2A9E-0001","product":{"reference_id":"ACME-CMS","name":"Acme <CMS> & Co"},` +
		`"customer":{"client_id":"CUST-001","email":"ann@example.com"},"type":"perpetual",` +
		`"expires_at":null,"updates_until":"2025-01-15T00:00:00.000000Z","support_until":null,` +
		`"parallel_uses":1,"domains":["example.com"],"ips":[],"entitlements":["pro","sso"],` +
		`"floating":true,"heartbeat":{"interval":600,"tolerance":60,"missed":"release"},"issued_at":"2024-02-01T08:30:00.000000Z"}`
	if string(data) != want {
		t.Fatalf("license JSON\n%s\nwant\n%s", data, want)
	}
}

func TestVerifyLicenseFile(t *testing.T) {
	old, cur := NewKey(testKey(1), t0), NewKey(testKey(2), t0)
	oldFile, _ := testRing(t, old).SignLicenseFile(sampleLicense())
	r := testRing(t, cur, retired(old, t0))
	file, _ := r.SignLicenseFile(LicenseFile{LicenseCode: "X", ProductRef: "P", ProductName: "N", IssuedAt: t0})

	got, err := r.VerifyLicenseFile(oldFile)
	want := sampleLicense()
	want.IssuedAt = want.IssuedAt.UTC()
	want.IPs = []string{}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("VerifyLicenseFile = %+v, %v\nwant %+v", got, err, want)
	}
	got, err = r.VerifyLicenseFile([]byte(strings.ReplaceAll(string(file), "\n", "\r\n") + "\r\n"))
	if err != nil || got.LicenseCode != "X" || got.ClientID != nil || got.ParallelUses != nil || len(got.Domains) != 0 {
		t.Fatalf("CRLF file: %+v, %v", got, err)
	}

	lines := strings.Split(string(file), "\n")
	tampered := func(f func(env map[string]string)) []byte {
		raw, _ := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-2], ""))
		var env map[string]string
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		f(env)
		b, _ := json.Marshal(env)
		return []byte(lines[0] + "\n" + base64.StdEncoding.EncodeToString(b) + "\n" + lines[len(lines)-2] + "\n")
	}
	if _, err := r.VerifyLicenseFile(tampered(func(map[string]string) {})); err != nil {
		t.Fatalf("re-wrapped untouched file: %v", err)
	}
	otherData := base64.StdEncoding.EncodeToString([]byte(`{"license_code":"Y","issued_at":"2024-02-01T08:30:00.000000Z"}`))
	invalid := map[string][]byte{
		"empty":          nil,
		"no armour":      []byte(strings.Join(lines[1:len(lines)-2], "")),
		"no end":         []byte(strings.Join(lines[:len(lines)-2], "\n")),
		"bad base64":     []byte(lines[0] + "\n!!!!\n" + lines[len(lines)-2] + "\n"),
		"data changed":   tampered(func(e map[string]string) { e["data"] = otherData }),
		"sig changed":    tampered(func(e map[string]string) { e["sig"] = base64.StdEncoding.EncodeToString(make([]byte, 64)) }),
		"sig short":      tampered(func(e map[string]string) { e["sig"] = "AAAA" }),
		"alg changed":    tampered(func(e map[string]string) { e["alg"] = "none" }),
		"kid of another": tampered(func(e map[string]string) { e["kid"] = old.KID }),
		"line changed":   []byte(strings.Replace(string(file), lines[2], strings.Repeat("A", len(lines[2])), 1)),
	}
	for name, f := range invalid {
		if _, err := r.VerifyLicenseFile(f); !errors.Is(err, ErrInvalidLicenseFile) {
			t.Errorf("%s: %v, want ErrInvalidLicenseFile", name, err)
		}
	}
	if _, err := testRing(t, cur).VerifyLicenseFile(oldFile); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("deleted key: %v, want ErrUnknownKey", err)
	}
	// The offline check with a key list, as published.
	pub := map[string]ed25519.PublicKey{}
	for _, k := range r.PublicKeys().Data {
		b, _ := base64.StdEncoding.DecodeString(k.PublicKey)
		pub[k.KID] = b
	}
	if _, err := VerifyLicenseFile(oldFile, func(kid string) (ed25519.PublicKey, bool) { k, ok := pub[kid]; return k, ok }); err != nil {
		t.Fatalf("offline check: %v", err)
	}
	if _, err := r.SignLicenseFile(LicenseFile{LicenseCode: "X"}); err == nil {
		t.Fatal("issued_at is required")
	}
	if _, err := testRing(t, retired(old, t0)).SignLicenseFile(sampleLicense()); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no active key: %v", err)
	}
}

func FuzzVerifyLicenseFile(f *testing.F) {
	r := testRing(f, NewKey(testKey(1), t0))
	good, _ := r.SignLicenseFile(sampleLicense())
	f.Add(good)
	f.Add([]byte(strings.ReplaceAll(string(good), "\n", "\r\n")))
	f.Add([]byte("-----BEGIN LICENSOR LICENSE-----\ne30=\n-----END LICENSOR LICENSE-----\n"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, file []byte) {
		l, err := r.VerifyLicenseFile(file)
		if err != nil {
			if !errors.Is(err, ErrInvalidLicenseFile) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("error %v", err)
			}
			return
		}
		// Whatever verifies was signed by the key: it signs back to a file
		// that verifies to the same content.
		again, err := r.SignLicenseFile(l)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := r.VerifyLicenseFile(again)
		if err != nil || !reflect.DeepEqual(l, l2) {
			t.Fatalf("round trip: %+v / %+v, %v", l, l2, err)
		}
	})
}

// An offline activation's file carries its binding after issued_at, and a
// plain file none: existing files keep their exact bytes.
func TestLicenseFileOfflineBinding(t *testing.T) {
	key := NewKey(testKey(1), t0)
	r := testRing(t, key)
	l := sampleLicense()
	l.Offline = &OfflineBinding{ActivationID: 42, Fingerprint: "host-7f3a", ValidUntil: l.IssuedAt.Add(366 * 24 * time.Hour).UTC(), ReleaseKey: []byte{1, 2, 3}}
	file, err := r.SignLicenseFile(l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.VerifyLicenseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.Offline == nil || !reflect.DeepEqual(*got.Offline, *l.Offline) {
		t.Fatalf("binding %+v, want %+v", got.Offline, l.Offline)
	}
	raw := licenseData(t, file)
	if !strings.HasSuffix(raw, `"issued_at":"2024-02-01T08:30:00.000000Z","activation_id":42,"fingerprint":"host-7f3a","valid_until":"2025-02-01T08:30:00.000000Z","release_key":"AQID"}`) {
		t.Fatalf("license JSON %s", raw)
	}
	plain, _ := r.SignLicenseFile(sampleLicense())
	if got, _ := r.VerifyLicenseFile(plain); got.Offline != nil || strings.Contains(licenseData(t, plain), "fingerprint") {
		t.Fatal("a plain file carries an offline binding")
	}
	l.Offline = &OfflineBinding{ActivationID: 42, Fingerprint: "host-7f3a"}
	if _, err := r.SignLicenseFile(l); err == nil {
		t.Fatal("an incomplete binding was signed")
	}
}

// licenseData is the license JSON inside a file.
func licenseData(t *testing.T, file []byte) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	raw, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	data, err := base64.StdEncoding.DecodeString(env["data"])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A license with an expiry clock carries it after its entitlements
// (docs/licensing.md#expiry-clock), and reads back.
func TestLicenseFileExpiryClock(t *testing.T) {
	r := testRing(t, NewKey(testKey(1), t0))
	days := 30
	lf := LicenseFile{LicenseCode: "X", ProductRef: "P", ProductName: "N", IssuedAt: t0, ExpiryStart: "first_verify", ExpiryDays: &days}
	file, err := r.SignLicenseFile(lf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.VerifyLicenseFile(file)
	if err != nil || got.ExpiryStart != "first_verify" || got.ExpiryDays == nil || *got.ExpiryDays != 30 || got.ExpiryStartedAt != nil {
		t.Fatalf("waiting clock: %+v, %v", got, err)
	}
	started := t0.Add(time.Hour)
	lf.ExpiryStartedAt = &started
	file, _ = r.SignLicenseFile(lf)
	lines := strings.Split(string(file), "\n")
	raw, _ := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-2], ""))
	var env map[string]string
	_ = json.Unmarshal(raw, &env)
	data, _ := base64.StdEncoding.DecodeString(env["data"])
	if !strings.Contains(string(data), `"entitlements":[],"expiry_start":"first_verify","expiry_days":30,"expiry_started_at":"`) {
		t.Fatalf("license JSON %s", data)
	}
	if got, err := r.VerifyLicenseFile(file); err != nil || got.ExpiryStartedAt == nil || !got.ExpiryStartedAt.Equal(started) {
		t.Fatalf("started clock: %+v, %v", got, err)
	}
}
