package licensing

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/migrations"
)

func (f *licFixture) markActive(id int64) *Activation {
	f.t.Helper()
	a, changed, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, testAdmin, id)
	if err != nil || !changed {
		f.t.Fatalf("mark %d active: changed %v, %v", id, changed, err)
	}
	return a
}

// An activation an admin makes active again (console, internal API and
// the Undo of a block all call MarkActivationActive) is under its
// license's heartbeat policy again from that moment
// (docs/licensing.md#re-activation-and-heartbeats): deadline now +
// interval + tolerance, whatever it had before — none after a release, a
// stale one after an admin's deactivation — and a policy change later
// counts from the re-activation, not from a heartbeat sent before it. A
// client that stays silent is released again; one that heartbeats stays.
// An offline activation stays exempt.
func TestReactivationRestartsHeartbeats(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.heartbeatProduct(60, 30, catalog.HeartbeatRelease)
	f.license("RE-HB", LicenseInput{ParallelUses: fields.Some(intp(3))})
	released := f.mustActivate("RE-HB", "", caller("one.example.com"))
	freed := f.mustActivate("RE-HB", "", caller("two.example.com"))
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "ada"}, IP: "198.51.100.4"}
	res, err := f.s.ActivateOffline(f.ctx, f.d.Bun, f.set, OfflineActivateRequest{
		Request: OfflineRequest{ProductRef: "acme", LicenseCode: "RE-HB", Fingerprint: "machine-a", RequestedAt: f.clock().Add(-time.Minute)}, By: by})
	if err != nil || res.Failure != nil {
		t.Fatalf("offline: %+v, %v", res, err)
	}
	offline := res.Activation

	// One heartbeat each, then silence: "released" is released by the job;
	// "freed" and the offline one are deactivated by an admin first, which
	// leaves "freed" its deadline.
	f.advance(50 * time.Second)
	f.heartbeat(released, caller("one.example.com"))
	f.heartbeat(freed, caller("two.example.com"))
	f.flush()
	beat := f.clock()
	for _, id := range []int64{freed.ID, offline.ID} {
		if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, id, ReasonAdmin); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(10 * time.Minute)
	if r := f.releaseOverdue(); r.Released != 1 {
		t.Fatalf("release: %+v", r)
	}
	if !f.activation(released.ID).Released() {
		t.Fatalf("not released: %+v", f.activation(released.ID))
	}

	// Re-activated: the policy applies from now.
	now := f.clock()
	for _, id := range []int64{released.ID, freed.ID} {
		a := f.markActive(id)
		got := f.activation(id)
		if a.HeartbeatDueAt == nil || !a.HeartbeatDueAt.Equal(now.Add(90*time.Second)) ||
			got.HeartbeatDueAt == nil || !got.HeartbeatDueAt.Equal(now.Add(90*time.Second)) ||
			got.ReactivatedAt == nil || !got.ReactivatedAt.Equal(now) || got.HeartbeatMissedAt != nil || !got.LastSignOfLife().Equal(now) {
			t.Fatalf("re-activated %d: returned due %v, stored %+v", id, a.HeartbeatDueAt, got)
		}
	}
	f.markActive(offline.ID)
	if got := f.activation(offline.ID); got.HeartbeatDueAt != nil || !got.IsActive {
		t.Fatalf("offline re-activated with a deadline: %+v", got)
	}
	if r := f.releaseOverdue(); r.Released != 0 || r.Kept != 0 {
		t.Fatalf("released at once after re-activation (stale deadline): %+v", r)
	}

	// A policy change counts from the re-activation, not from the
	// heartbeat before it (which would put the deadline in the past).
	f.advance(30 * time.Second)
	f.heartbeatProduct(120, 30, catalog.HeartbeatRelease)
	for _, id := range []int64{released.ID, freed.ID} {
		if got := f.activation(id); got.HeartbeatDueAt == nil || !got.HeartbeatDueAt.Equal(now.Add(150*time.Second)) {
			t.Fatalf("after a policy change, %d due %v (re-activated %v, last heartbeat %v)", id, got.HeartbeatDueAt, now, beat)
		}
	}
	if got := f.activation(offline.ID); got.HeartbeatDueAt != nil {
		t.Fatalf("policy change gave the offline one a deadline: %+v", got)
	}

	// "freed" heartbeats and stays; silent "released" is released again,
	// its last sign of life the re-activation.
	f.advance(100 * time.Second)
	f.heartbeat(freed, caller("two.example.com"))
	f.flush()
	f.advance(21 * time.Second)
	if r := f.releaseOverdue(); r.Released != 1 {
		t.Fatalf("release after re-activation: %+v", r)
	}
	if got := f.activation(released.ID); !got.Released() || !got.LastSignOfLife().Equal(now) {
		t.Fatalf("silent re-activated one: %+v", got)
	}
	if m := f.lastMessage(); m != "Activation "+itoa(released.ID)+" of license RE-HB released: no heartbeat since "+now.Format(time.RFC3339)+"." {
		t.Fatalf("activity: %q", m)
	}
	if !f.activation(freed.ID).IsActive || !f.activation(offline.ID).IsActive {
		t.Fatalf("freed %+v, offline %+v", f.activation(freed.ID), f.activation(offline.ID))
	}
}

// Under a keep policy a re-activation clears the missed mark with the
// stale deadline; without any policy it sets none.
func TestReactivationKeepAndNoPolicy(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("RE-KEEP", LicenseInput{HeartbeatInterval: fields.Some(intp(120)), HeartbeatMissed: fields.Some(strp("keep"))})
	f.license("RE-NONE", LicenseInput{})
	kept := f.mustActivate("RE-KEEP", "", caller("one.example.com"))
	plain := f.mustActivate("RE-NONE", "", caller("one.example.com"))
	f.advance(181 * time.Second)
	if r := f.releaseOverdue(); r.Kept != 1 {
		t.Fatalf("keep: %+v", r)
	}
	for _, id := range []int64{kept.ID, plain.ID} {
		if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, id, ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		f.markActive(id)
	}
	if got := f.activation(kept.ID); got.HeartbeatMissedAt != nil || got.HeartbeatDueAt == nil || !got.HeartbeatDueAt.Equal(f.clock().Add(180*time.Second)) {
		t.Fatalf("kept one re-activated: %+v", got)
	}
	if got := f.activation(plain.ID); got.HeartbeatDueAt != nil || got.ReactivatedAt == nil {
		t.Fatalf("no policy, re-activated: %+v", got)
	}
}

// Migration 0140 gives the activations re-activated before it (active,
// online, under a policy, with neither a deadline nor a missed mark) the
// deadline now + interval + tolerance, and leaves the others alone.
func TestReactivationBackfill(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.heartbeatProduct(60, 30, catalog.HeartbeatRelease)
	f.license("BF-1", LicenseInput{ParallelUses: fields.Some(intp(5))})
	f.license("BF-KEEP", LicenseInput{HeartbeatMissed: fields.Some(strp("keep"))})
	victim := f.mustActivate("BF-1", "", caller("one.example.com"))
	healthy := f.mustActivate("BF-1", "", caller("two.example.com"))
	missed := f.mustActivate("BF-KEEP", "", caller("one.example.com"))
	res, err := f.s.ActivateOffline(f.ctx, f.d.Bun, f.set, OfflineActivateRequest{
		Request: OfflineRequest{ProductRef: "acme", LicenseCode: "BF-1", Fingerprint: "machine-a", RequestedAt: f.clock().Add(-time.Minute)},
		By:      testAdmin})
	if err != nil || res.Failure != nil {
		t.Fatalf("offline: %+v, %v", res, err)
	}
	offline := res.Activation
	// What an old re-activation left, and a kept one's mark.
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := f.d.Bun.NewRaw(q, args...).Exec(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE activations SET heartbeat_due_at = NULL WHERE id = ?", victim.ID)
	exec("UPDATE activations SET heartbeat_due_at = NULL, heartbeat_missed_at = activated_at WHERE id = ?", missed.ID)
	before := f.activation(healthy.ID).HeartbeatDueAt

	sql, err := migrations.FS.ReadFile("0140_activation_reactivated.tx.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	var txNow time.Time
	if err := f.d.Bun.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, string(sql)); err != nil {
			return err
		}
		return tx.NewRaw("SELECT now()").Scan(ctx, &txNow)
	}); err != nil {
		t.Fatal(err)
	}
	if got := f.activation(victim.ID).HeartbeatDueAt; got == nil || !got.Equal(txNow.Add(90*time.Second)) {
		t.Fatalf("victim's deadline %v, want %v", got, txNow.Add(90*time.Second))
	}
	if got := f.activation(healthy.ID).HeartbeatDueAt; got == nil || !got.Equal(*before) {
		t.Fatalf("healthy one's deadline moved: %v, was %v", got, before)
	}
	if got := f.activation(missed.ID); got.HeartbeatDueAt != nil || got.HeartbeatMissedAt == nil {
		t.Fatalf("kept one: %+v", got)
	}
	if got := f.activation(offline.ID); got.HeartbeatDueAt != nil {
		t.Fatalf("offline one: %+v", got)
	}
}
