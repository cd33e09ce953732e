package licensing

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
)

// heartbeatProduct gives the fixture's product a heartbeat interval and
// tolerance (seconds) and what a missed heartbeat does.
func (f *licFixture) heartbeatProduct(interval, tolerance int, missed string) {
	f.t.Helper()
	p, err := catalog.NewService(f.clock).UpdateProduct(f.ctx, f.d.Bun, testAdmin, f.product.ID, catalog.ProductInput{
		HeartbeatInterval: fields.Some(&interval), HeartbeatTolerance: fields.Some(&tolerance), HeartbeatMissed: fields.Some(missed),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.product = p
}

func (f *licFixture) heartbeat(a *Activation, c Caller) HeartbeatVerdict {
	f.t.Helper()
	v, err := f.s.Heartbeat(f.ctx, f.d.Bun, f.set, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: f.product.ReferenceID, Caller: c, Grace: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *licFixture) flush() {
	f.t.Helper()
	if err := f.rec.Flush(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *licFixture) releaseOverdue() ReleaseResult {
	f.t.Helper()
	res, err := f.s.ReleaseOverdue(f.ctx, f.d.Bun)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// An activation under a 60 s heartbeat policy (tolerance 30 s) stays while
// it heartbeats — heartbeats and verifies written in batches move its
// deadline — and is released once it misses interval plus tolerance: its
// slot is freed for another machine, the activity log and the
// activation.released hook say so, and its next heartbeat and modern
// verify answer ACTIVATION_RELEASED (the legacy verify still
// LICENSE_DEACTIVATED).
func TestHeartbeatRelease(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.heartbeatProduct(60, 30, catalog.HeartbeatRelease)
	l := f.license("HB-1", LicenseInput{ParallelUses: fields.Some(intp(1))})
	res := f.activate("HB-1", "", caller("one.example.com"))
	if res.Failure != nil || res.Heartbeat.Interval != 60 || res.HeartbeatDue == nil || !res.HeartbeatDue.Equal(f.clock().Add(90*time.Second)) {
		t.Fatalf("activate: %+v", res)
	}
	a := res.Activation
	f.takeHooks()

	// Heartbeats within the interval keep it; none is written before the
	// batch.
	for range 3 {
		f.advance(50 * time.Second)
		if v := f.heartbeat(a, caller("one.example.com")); v.Failure != nil || v.Policy.Interval != 60 || !v.NextBefore.Equal(f.clock().Add(90*time.Second)) {
			t.Fatalf("heartbeat: %+v", v)
		}
		if got := f.activation(a.ID); got.LastHeartbeatAt != nil && got.LastHeartbeatAt.Equal(f.clock()) {
			t.Fatal("heartbeat written on the request path")
		}
		f.flush()
		if r := f.releaseOverdue(); r.Released != 0 {
			t.Fatalf("released a live activation: %+v", r)
		}
	}
	got := f.activation(a.ID)
	if !got.IsActive || !got.LastHeartbeatAt.Equal(f.clock()) || !got.HeartbeatDueAt.Equal(f.clock().Add(90*time.Second)) || got.LastVerifiedAt != nil {
		t.Fatalf("after heartbeats: %+v", got)
	}
	// A verify counts as a heartbeat.
	f.advance(80 * time.Second)
	if v := f.verifyModern(a, caller("one.example.com")); v.Failure != nil {
		t.Fatalf("verify: %+v", v.Failure)
	}
	f.flush()
	if got := f.activation(a.ID); !got.LastVerifiedAt.Equal(f.clock()) || !got.HeartbeatDueAt.Equal(f.clock().Add(90*time.Second)) {
		t.Fatalf("verify as heartbeat: %+v", got)
	}
	lastSign := f.clock()

	// Missed: within the tolerance nothing happens, past it the release.
	f.advance(89 * time.Second)
	if r := f.releaseOverdue(); r.Released != 0 {
		t.Fatalf("released within the tolerance: %+v", r)
	}
	f.advance(2 * time.Second)
	if r := f.releaseOverdue(); r.Released != 1 || r.Kept != 0 {
		t.Fatalf("release: %+v", r)
	}
	got = f.activation(a.ID)
	if got.IsActive || !got.Released() || got.HeartbeatDueAt != nil || !got.LastSignOfLife().Equal(lastSign) {
		t.Fatalf("released activation: %+v", got)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"activation.released HB-1"}) {
		t.Fatalf("hooks %v", h)
	}
	if m := f.lastMessage(); m != "Activation "+itoa(a.ID)+" of license HB-1 released: no heartbeat since "+lastSign.Format(time.RFC3339)+"." {
		t.Fatalf("activity: %q", m)
	}
	if r := f.releaseOverdue(); r.Released != 0 {
		t.Fatalf("released twice: %+v", r)
	}
	wantFailure(t, f.heartbeat(a, caller("one.example.com")).Failure, FailReleased)
	wantFailure(t, f.verifyModern(a, caller("one.example.com")).Failure, FailReleased)
	legacy, err := f.s.VerifyActivation(f.ctx, f.d.Bun, f.set, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: "ACME", Caller: caller("one.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	wantFailure(t, legacy.Failure, FailDeactivated)

	// The slot is another machine's; a late heartbeat batch does not
	// revive the released one.
	f.heartbeat(a, caller("one.example.com"))
	f.rec.Heartbeat(a.ID, f.clock())
	f.flush()
	if got := f.activation(a.ID); got.IsActive || got.HeartbeatDueAt != nil {
		t.Fatalf("late heartbeat revived it: %+v", got)
	}
	f.mustActivate("HB-1", "", caller("two.example.com"))
	if n := f.reload(l.ID).ActiveActivations; n != 1 {
		t.Fatalf("%d active", n)
	}
}

func (f *licFixture) verifyModern(a *Activation, c Caller) Verdict {
	f.t.Helper()
	v, err := f.s.VerifyActivation(f.ctx, f.d.Bun, f.set, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: f.product.ReferenceID, Caller: c, Grace: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// heartbeat_missed keep marks an overdue activation instead of freeing its
// slot; its next heartbeat clears the mark. A license's override wins
// over its product's policy, and changing either moves the deadlines of
// active activations at once (migration 0083's triggers).
func TestHeartbeatKeepAndOverrides(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("KEEP-1", LicenseInput{HeartbeatInterval: fields.Some(intp(120)), HeartbeatMissed: fields.Some(strp("keep"))})
	f.license("PLAIN-1", LicenseInput{})
	kept := f.mustActivate("KEEP-1", "", caller("one.example.com"))
	plain := f.mustActivate("PLAIN-1", "", caller("one.example.com"))
	if got := f.activation(plain.ID); got.HeartbeatDueAt != nil {
		t.Fatalf("no policy, yet a deadline: %+v", got)
	}
	// The product's tolerance (60 s by default) applies to the license's
	// interval.
	if got := f.activation(kept.ID); !got.HeartbeatDueAt.Equal(f.clock().Add(180 * time.Second)) {
		t.Fatalf("override's deadline: %v", got.HeartbeatDueAt)
	}
	f.advance(181 * time.Second)
	if r := f.releaseOverdue(); r.Kept != 1 || r.Released != 0 {
		t.Fatalf("keep: %+v", r)
	}
	got := f.activation(kept.ID)
	if !got.IsActive || got.HeartbeatMissedAt == nil || got.HeartbeatDueAt != nil {
		t.Fatalf("kept activation: %+v", got)
	}
	if v := f.heartbeat(kept, caller("one.example.com")); v.Failure != nil {
		t.Fatalf("kept heartbeat: %+v", v.Failure)
	}
	f.flush()
	if got := f.activation(kept.ID); got.HeartbeatMissedAt != nil || !got.HeartbeatDueAt.Equal(f.clock().Add(180*time.Second)) {
		t.Fatalf("heartbeat after the miss: %+v", got)
	}

	// The product asks for heartbeats: PLAIN-1's activation gets a deadline
	// counted from its activation; KEEP-1 keeps its own interval.
	f.heartbeatProduct(300, 10, catalog.HeartbeatRelease)
	act := f.activation(plain.ID)
	if !act.HeartbeatDueAt.Equal(act.ActivatedAt.Add(310 * time.Second)) {
		t.Fatalf("product policy's deadline: %v (activated %v)", act.HeartbeatDueAt, act.ActivatedAt)
	}
	if got := f.activation(kept.ID); !got.HeartbeatDueAt.Equal(f.clock().Add(130 * time.Second)) {
		t.Fatalf("tolerance change: %v", got.HeartbeatDueAt)
	}
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, f.reload(*plain.LicenseID).ID, LicenseInput{HeartbeatInterval: fields.Some(intp(600))}); err != nil {
		t.Fatal(err)
	}
	if got := f.activation(plain.ID); !got.HeartbeatDueAt.Equal(act.ActivatedAt.Add(610 * time.Second)) {
		t.Fatalf("license override's deadline: %v", got.HeartbeatDueAt)
	}
	// Out of bounds: 422 messages.
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, *plain.LicenseID, LicenseInput{HeartbeatInterval: fields.Some(intp(59)), HeartbeatMissed: fields.Some(strp("maybe"))}); err == nil {
		t.Fatal("accepted a 59 s interval")
	} else if fe, ok := fields.As(err); !ok || fe.Map()["heartbeat_interval"] != "The heartbeat interval field must be at least 60." || fe.Map()["heartbeat_missed"] != "The selected heartbeat missed is invalid." {
		t.Fatalf("errors: %v", err)
	}
}

// A floating license's parallel_uses are live seats: a check-out beyond
// them is refused (never deactivating another session), a check-in frees
// one at once, a session past its lease is released by the next
// check-out, and total uses are not counted. A check-out of a license that
// is not floating is refused.
func TestFloatingSeats(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.set.DeactivateOldActivationsOnNewActivation = true
	f.license("FLOAT-1", LicenseInput{ParallelUses: fields.Some(intp(3)), Uses: fields.Some(intp(1)), Floating: fields.Some(true)})
	f.license("FIXED-1", LicenseInput{})
	checkout := func(code, host string) *ActivateResult {
		res, err := f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: code, Caller: caller(host), CheckOut: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	wantFailure(t, checkout("FIXED-1", "a.example.com").Failure, FailNotFloating)
	var seats []*Activation
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		res := checkout("FLOAT-1", h)
		if res.Failure != nil || res.Heartbeat.Interval != FloatingIntervalDefault || !res.HeartbeatDue.Equal(f.clock().Add(660*time.Second)) {
			t.Fatalf("checkout from %s: %+v", h, res)
		}
		seats = append(seats, res.Activation)
	}
	wantFailure(t, checkout("FLOAT-1", "d.example.com").Failure, FailSeatsExhausted)
	// A plain activation of a floating license takes a seat the same way.
	wantFailure(t, f.activate("FLOAT-1", "", caller("d.example.com")).Failure, FailSeatsExhausted)

	if fl, err := f.s.CheckIn(f.ctx, f.d.Bun, VerifyRequest{Product: f.product, ActivationID: seats[0].ID, TokenProductRef: "ACME", Caller: caller("a.example.com")}); err != nil || fl != nil {
		t.Fatalf("check-in: %v %+v", err, fl)
	}
	if got := f.activation(seats[0].ID); got.IsActive || *got.DeactivationReason != ReasonCheckedIn {
		t.Fatalf("checked in: %+v", got)
	}
	d := checkout("FLOAT-1", "d.example.com")
	if d.Failure != nil {
		t.Fatalf("checkout after a check-in: %+v", d.Failure)
	}

	// b heartbeats, c does not: past c's lease the next check-out releases
	// it and takes its seat.
	f.advance(500 * time.Second)
	f.heartbeat(seats[1], caller("b.example.com"))
	f.heartbeat(d.Activation, caller("d.example.com"))
	f.flush()
	f.advance(200 * time.Second)
	f.takeHooks()
	if e := checkout("FLOAT-1", "e.example.com"); e.Failure != nil {
		t.Fatalf("checkout over a dead session: %+v", e.Failure)
	}
	if got := f.activation(seats[2].ID); !got.Released() {
		t.Fatalf("dead session kept its seat: %+v", got)
	}
	if h := f.takeHooks(); !slices.Contains(h, "activation.released FLOAT-1") {
		t.Fatalf("hooks %v", h)
	}
	wantFailure(t, checkout("FLOAT-1", "f.example.com").Failure, FailSeatsExhausted)
}

// 40 check-outs at once of a floating license with 5 seats: exactly 5
// succeed (the license row lock serialises them; the two-node HTTP race is
// app/api/external's TestConcurrentCheckoutsRespectSeats).
func TestConcurrentCheckouts(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("FLOAT-RACE", LicenseInput{ParallelUses: fields.Some(intp(5)), Floating: fields.Some(true)})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "FLOAT-RACE", Caller: caller("h" + itoa(int64(i)) + ".example.com"), CheckOut: true})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Failure == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 5 || f.count("SELECT count(*) FROM activations WHERE license_code = 'FLOAT-RACE' AND is_active") != 5 {
		t.Fatalf("%d checked out", ok)
	}
}
