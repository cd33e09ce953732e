package licensing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/signing"
)

// Both forms of an activation request and a release proof read back the
// fields they were made of; the text code forgives case, dashes, spaces
// and the digits mistaken for letters, and its checksum catches a
// mistyped character.
func TestOfflineDocuments(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0).UTC()
	r := OfflineRequest{ProductRef: "ACME", LicenseCode: "CODE-1", Fingerprint: "host-7f3a9c", ClientName: "Ann", RequestedAt: at}
	code := r.Code()
	if strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567-") != "" || len(code) > 100 {
		t.Fatalf("code %q", code)
	}
	for _, doc := range []string{string(r.JSON()), code, strings.ToLower(code), " " + strings.ReplaceAll(code, "-", "") + "\n",
		strings.NewReplacer("O", "0", "I", "1", "B", "8").Replace(code)} {
		got, err := ParseOfflineRequest(doc)
		if err != nil || got != r {
			t.Fatalf("%q: %+v, %v", doc, got, err)
		}
	}
	typo := []byte(code)
	typo[7] = map[bool]byte{true: 'A', false: 'B'}[typo[7] != 'A']
	if _, err := ParseOfflineRequest(string(typo)); err == nil || !strings.Contains(err.Error(), "mistyped") || !errors.Is(err, errkind.Invalid) {
		t.Fatalf("a mistyped code: %v", err)
	}
	for _, bad := range []string{"", "{}", `{"type":"licensor.offline_activation","product_id":"ACME","license_code":"C","fingerprint":"","requested_at":1}`,
		`{"type":"licensor.offline_activation","product_id":"ACME","license_code":"C","fingerprint":"f","requested_at":0}`,
		`{"type":"licensor.offline_release","product_id":"ACME","license_code":"C","fingerprint":"f","requested_at":1}`,
		`{"type":"licensor.offline_activation","product_id":"ACME","license_code":"C","fingerprint":"` + strings.Repeat("f", 129) + `","requested_at":1}`,
	} {
		if _, err := ParseOfflineRequest(bad); err == nil {
			t.Fatalf("%q read", bad)
		}
	}

	p := SignRelease([]byte("key"), 42, "CODE-1", "host-7f3a9c", at)
	for _, doc := range []string{string(p.JSON()), p.Code()} {
		got, err := ParseReleaseProof(doc)
		if err != nil || got.ActivationID != 42 || got.LicenseCode != "CODE-1" || got.Fingerprint != "host-7f3a9c" || !got.ReleasedAt.Equal(at) || string(got.MAC) != string(p.MAC) {
			t.Fatalf("%q: %+v, %v", doc, got, err)
		}
	}
	if _, err := ParseReleaseProof(code); err == nil || !strings.Contains(err.Error(), "release proof") {
		t.Fatalf("a request read as a release proof: %v", err)
	}
	if _, err := ParseOfflineRequest(p.Code()); err == nil {
		t.Fatal("a release proof read as a request")
	}
}

// An offline activation follows the online rules (slots, blacklists, the
// customer's own licenses), is valid until the license expires or the
// offline validity ends, whichever is first, and yields a license file
// bound to the machine; the machine's release proof frees the slot, once.
func TestActivateAndReleaseOffline(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	secret := []byte("offline test instance secret")
	if _, err := signing.EnsureKey(f.ctx, f.d.Bun, secret, f.clock()); err != nil {
		t.Fatal(err)
	}
	ring, err := signing.Load(f.ctx, f.d.Bun, secret)
	if err != nil {
		t.Fatal(err)
	}
	owner := "client-7"
	expires := f.clock().Add(30 * 24 * time.Hour)
	f.license("OFF-1", LicenseInput{ParallelUses: fields.Some(intp(1)), CustomerID: fields.Some(&owner), ExpiresAt: fields.Some(&expires)})
	f.license("OFF-2", LicenseInput{ParallelUses: fields.Some(intp(1))})
	f.license("OFF-DOM", LicenseInput{Domains: fields.Some([]string{"example.com"})})
	cu := &customers.Customer{ClientID: owner, Email: "seven@example.com"}
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorCustomer, Name: "seven"}, IP: "198.51.100.4"}
	request := func(code, fp string) OfflineRequest {
		return OfflineRequest{ProductRef: "acme", LicenseCode: code, Fingerprint: fp, ClientName: owner, RequestedAt: f.clock().Add(-time.Hour)}
	}
	activate := func(r OfflineRequest, c *customers.Customer) *ActivateResult {
		t.Helper()
		res, err := f.s.ActivateOffline(f.ctx, f.d.Bun, f.set, OfflineActivateRequest{Request: r, Customer: c, By: by})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := activate(request("OFF-1", "machine-a"), cu)
	if res.Failure != nil {
		t.Fatalf("failure %+v", *res.Failure)
	}
	if !res.Offline.ValidUntil.Equal(expires) || res.Offline.Fingerprint != "machine-a" || res.Activation.Domain != nil {
		t.Fatalf("offline %+v", res.Offline)
	}
	if n := f.count("SELECT count(*) FROM offline_activations WHERE activation_id = ? AND fingerprint = 'machine-a' AND released_at IS NULL", res.Activation.ID); n != 1 {
		t.Fatalf("%d offline rows", n)
	}
	if m := f.lastMessage(); m != "License OFF-1 activated offline via portal for product Acme CMS on machine machine-a." {
		t.Fatalf("activity %q", m)
	}
	name, file, err := OfflineLicenseFile(ring, res, cu, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ring.VerifyLicenseFile(file)
	if err != nil || lf.Offline == nil || lf.Offline.ActivationID != res.Activation.ID || lf.Offline.Fingerprint != "machine-a" ||
		!lf.Offline.ValidUntil.Equal(expires) || *lf.ClientID != owner {
		t.Fatalf("file %s: %+v %+v, %v", name, lf, lf.Offline, err)
	}

	// The one slot is taken; another customer's license reads as invalid.
	if res := activate(request("OFF-1", "machine-b"), cu); res.Failure == nil || *res.Failure != FailParallelExhausted {
		t.Fatalf("second machine: %+v", res.Failure)
	}
	if res := activate(request("OFF-2", "machine-b"), cu); res.Failure == nil || *res.Failure != FailActivateInvalid {
		t.Fatalf("someone else's license: %+v", res.Failure)
	}
	if res := activate(request("OFF-DOM", "machine-b"), nil); res.Failure == nil || res.Failure.StatusCode != CodeDomainNotAllowed {
		t.Fatalf("a license limited to domains: %+v", res.Failure)
	}
	f.set.BlacklistedLicenseCodes = []string{"OFF-2"}
	if res := activate(request("OFF-2", "machine-b"), nil); res.Failure == nil || *res.Failure != FailCodeBlacklisted {
		t.Fatalf("blacklisted: %+v", res.Failure)
	}
	f.set.BlacklistedLicenseCodes = nil
	// Without a customer (the console) the offline validity setting bounds
	// a license that never expires.
	f.set.OfflineLicenseValidityDays = 10
	if _, err := f.d.Bun.NewRaw("UPDATE licenses SET entitlements = '{reports,api}' WHERE license_code = 'OFF-2'").Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	res2 := activate(request("OFF-2", "machine-b"), nil)
	if res2.Failure != nil || !res2.Offline.ValidUntil.Equal(f.clock().AddDate(0, 0, 10)) {
		t.Fatalf("console activation %+v %+v", res2.Failure, res2.Offline)
	}
	// The file carries the license's entitlements, as a plain file does.
	_, file2, err := OfflineLicenseFile(ring, res2, nil, f.clock())
	if lf2, verr := ring.VerifyLicenseFile(file2); err != nil || verr != nil || strings.Join(lf2.Entitlements, ",") != "reports,api" {
		t.Fatalf("entitlements of the offline file: %+v, %v %v", lf2.Entitlements, err, verr)
	}

	release := func(p ReleaseProof, c *customers.Customer) error {
		_, err := f.s.ReleaseOffline(f.ctx, f.d.Bun, OfflineReleaseRequest{Proof: p, Customer: c, By: by})
		return err
	}
	key := lf.Offline.ReleaseKey
	id := res.Activation.ID
	for name, p := range map[string]ReleaseProof{
		"another key":         SignRelease([]byte("guess"), id, "OFF-1", "machine-a", f.clock()),
		"another fingerprint": SignRelease(key, id, "OFF-1", "machine-b", f.clock()),
		"another activation":  SignRelease(key, res2.Activation.ID, "OFF-2", "machine-b", f.clock()),
		"no such activation":  SignRelease(key, id+1000, "OFF-1", "machine-a", f.clock()),
	} {
		if err := release(p, cu); !errors.Is(err, ErrReleaseInvalid) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	good := SignRelease(key, id, "OFF-1", "machine-a", f.clock())
	if err := release(good, &customers.Customer{ClientID: "someone-else"}); !errors.Is(err, ErrReleaseInvalid) {
		t.Fatalf("another customer released it: %v", err)
	}
	if err := release(good, cu); err != nil {
		t.Fatal(err)
	}
	a := f.activation(id)
	if a.IsActive || *a.DeactivationReason != ReasonClient {
		t.Fatalf("released activation %+v", a)
	}
	if m := f.lastMessage(); m != "License OFF-1 released offline via portal by machine machine-a." {
		t.Fatalf("activity %q", m)
	}
	if err := release(good, cu); !errors.Is(err, ErrAlreadyReleased) {
		t.Fatalf("released twice: %v", err)
	}
	// The slot is free again.
	if res := activate(request("OFF-1", "machine-b"), cu); res.Failure != nil {
		t.Fatalf("after the release: %+v", *res.Failure)
	}
	offline, err := OfflineOf(f.ctx, f.d.Bun, []int64{id, res2.Activation.ID})
	if err != nil || len(offline) != 2 || offline[id].ReleasedAt == nil || offline[res2.Activation.ID].ReleasedAt != nil {
		t.Fatalf("offline rows %+v, %v", offline, err)
	}
}

// A service built without the instance secret refuses offline
// activations rather than issue files it could never release.
func TestOfflineNeedsSecret(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	s := NewService(Options{Now: f.clock})
	_, err := s.ActivateOffline(f.ctx, f.d.Bun, f.set, OfflineActivateRequest{Request: OfflineRequest{ProductRef: "ACME", LicenseCode: "X", Fingerprint: "f", RequestedAt: f.clock()}})
	if !errors.Is(err, ErrNoOfflineSecret) {
		t.Fatalf("err %v", err)
	}
}
