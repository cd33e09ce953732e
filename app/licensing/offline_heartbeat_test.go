package licensing

import (
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/signing"
)

// Offline activations are exempt from heartbeats
// (docs/licensing.md#offline-activations-and-heartbeats): an offline
// machine cannot send one, so its activation never gets a deadline —
// not at activation, not when the product's or the license's policy
// changes (the trigger of migration 0121), not from a verify batch — and
// the release job never frees it, even past a deadline set by hand; its
// license file asks for no heartbeats. The online activation beside it is
// released as usual. A floating license, whose seats live on heartbeats,
// cannot be activated offline.
func TestOfflineActivationsHaveNoHeartbeats(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	secret := []byte("offline heartbeat test secret")
	if _, err := signing.EnsureKey(f.ctx, f.d.Bun, secret, f.clock()); err != nil {
		t.Fatal(err)
	}
	ring, err := signing.Load(f.ctx, f.d.Bun, secret)
	if err != nil {
		t.Fatal(err)
	}
	f.heartbeatProduct(60, 30, catalog.HeartbeatRelease)
	l := f.license("OFF-HB", LicenseInput{ParallelUses: fields.Some(intp(2))})
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "ada"}, IP: "198.51.100.4"}
	activateOffline := func(code, fp string) *ActivateResult {
		t.Helper()
		res, err := f.s.ActivateOffline(f.ctx, f.d.Bun, f.set, OfflineActivateRequest{
			Request: OfflineRequest{ProductRef: "acme", LicenseCode: code, Fingerprint: fp, RequestedAt: f.clock().Add(-time.Minute)}, By: by})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	online := f.mustActivate("OFF-HB", "", caller("one.example.com"))
	res := activateOffline("OFF-HB", "machine-a")
	if res.Failure != nil || res.Activation.HeartbeatDueAt != nil || res.HeartbeatDue != nil || res.Heartbeat.On() {
		t.Fatalf("offline activation under a heartbeat policy: %+v %+v", res.Failure, res)
	}
	offline := res.Activation
	due := func(id int64) *time.Time { t.Helper(); return f.activation(id).HeartbeatDueAt }
	if due(online.ID) == nil || due(offline.ID) != nil {
		t.Fatalf("deadlines: online %v, offline %v", due(online.ID), due(offline.ID))
	}

	// Policy changes move the online deadline only.
	interval, tolerance := 120, 30
	p, err := catalog.NewService(f.clock).UpdateProduct(f.ctx, f.d.Bun, testAdmin, f.product.ID, catalog.ProductInput{
		HeartbeatInterval: fields.Some(&interval), HeartbeatTolerance: fields.Some(&tolerance)})
	if err != nil {
		t.Fatal(err)
	}
	f.product = p
	if want := online.ActivatedAt.Add(150 * time.Second); !due(online.ID).Equal(want) || due(offline.ID) != nil {
		t.Fatalf("after the product's change: online %v (want %v), offline %v", due(online.ID), want, due(offline.ID))
	}
	override := 300
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{HeartbeatInterval: fields.Some(&override)}); err != nil {
		t.Fatal(err)
	}
	if due(online.ID) == nil || due(offline.ID) != nil {
		t.Fatalf("after the license's change: online %v, offline %v", due(online.ID), due(offline.ID))
	}
	// A verify batch naming it (the code path matches activations by
	// host) records the verify, but sets no deadline.
	f.rec.Record(offline.ID, f.clock(), "203.0.113.9")
	f.flush()
	if got := f.activation(offline.ID); got.LastVerifiedAt == nil || got.HeartbeatDueAt != nil {
		t.Fatalf("after a verify batch: %+v", got)
	}

	// An hour without heartbeats: the online activation is released, the
	// offline one stays, also with a deadline set by hand.
	if _, err := f.d.Bun.NewRaw("UPDATE activations SET heartbeat_due_at = ? WHERE id = ?", f.clock(), offline.ID).Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour)
	if got := f.releaseOverdue(); got.Released != 1 || got.Kept != 0 {
		t.Fatalf("release: %+v", got)
	}
	if !f.activation(online.ID).Released() || !f.activation(offline.ID).IsActive {
		t.Fatalf("online %+v, offline %+v", f.activation(online.ID), f.activation(offline.ID))
	}

	// The offline file asks for no heartbeats; the license's plain file
	// carries its policy.
	_, file, err := OfflineLicenseFile(ring, res, nil, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	if lf, err := ring.VerifyLicenseFile(file); err != nil || lf.Heartbeat != nil {
		t.Fatalf("offline file's heartbeat %+v, %v", lf.Heartbeat, err)
	}
	_, plain, err := LicenseFile(ring, f.reload(l.ID), nil, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	if lf, err := ring.VerifyLicenseFile(plain); err != nil || lf.Heartbeat == nil || lf.Heartbeat.Interval != 300 {
		t.Fatalf("plain file's heartbeat %+v, %v", lf.Heartbeat, err)
	}

	// A floating license refuses an offline activation.
	f.license("OFF-FLOAT", LicenseInput{ParallelUses: fields.Some(intp(3)), Floating: fields.Some(true)})
	if res := activateOffline("OFF-FLOAT", "machine-b"); res.Failure == nil || *res.Failure != FailOfflineFloating {
		t.Fatalf("floating offline: %+v", res.Failure)
	}
}
