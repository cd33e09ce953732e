package licensing

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
)

// The expiry clock (docs/licensing.md#expiry-clock): expiry_days start
// counting at creation, at the first activation or at the first verify,
// from the product's default unless the license says otherwise.
func TestExpiryClockStarts(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	days := fields.Some(intp(30))
	created := f.clock()

	// creation: started at once.
	l := f.license("CLOCK-CREATE", LicenseInput{ExpiryDays: days, ExpiryStart: fields.Some("Creation")})
	if l.ExpiryStart != catalog.ExpiryStartCreation || l.ExpiresAt == nil || !l.ExpiresAt.Equal(created.AddDate(0, 0, 30)) ||
		l.ExpiryStartedAt == nil || !l.ExpiryStartedAt.Equal(created) || l.ClockPending() {
		t.Fatalf("creation: %+v", l)
	}

	// first_activation (the product's default): waits, then starts at the
	// first activation only.
	act := f.license("CLOCK-ACT", LicenseInput{ExpiryDays: days})
	if act.ExpiryStart != catalog.ExpiryStartActivation || act.ExpiresAt != nil || act.ExpiryStartedAt != nil || !act.ClockPending() {
		t.Fatalf("first_activation before: %+v", act)
	}
	if fl := f.verifyCode("CLOCK-ACT", "", caller("a.example.com")); fl == nil {
		t.Fatal("verified a license never activated")
	}
	f.advance(time.Hour)
	f.mustActivate("CLOCK-ACT", "", caller("a.example.com"))
	act = f.reload(act.ID)
	if act.ExpiresAt == nil || !act.ExpiresAt.Equal(f.clock().AddDate(0, 0, 30)) || !act.ExpiryStartedAt.Equal(f.clock()) {
		t.Fatalf("first_activation after: %+v", act)
	}

	// first_verify: an activation leaves it waiting, the first verify
	// starts it (once: later verifies change nothing).
	ver := f.license("CLOCK-VER", LicenseInput{ExpiryDays: days, ExpiryStart: fields.Some("first_verify")})
	a := f.mustActivate("CLOCK-VER", "", caller("v.example.com"))
	if got := f.reload(ver.ID); got.ExpiresAt != nil || got.ExpiryStartedAt != nil {
		t.Fatalf("activation started a first_verify clock: %+v", got)
	}
	f.takeHooks()
	f.advance(time.Hour)
	started := f.clock()
	v, err := f.s.VerifyActivation(f.ctx, f.d.Bun, f.set, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: "ACME", Caller: caller("v.example.com")})
	if err != nil || v.Failure != nil || !v.Clocked || v.ExpiresAt == nil || !v.ExpiresAt.Equal(started.AddDate(0, 0, 30)) {
		t.Fatalf("first verify: %+v, %v", v, err)
	}
	got := f.reload(ver.ID)
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(started.AddDate(0, 0, 30)) || !got.ExpiryStartedAt.Equal(started) {
		t.Fatalf("first verify stored: %+v", got)
	}
	if h := f.takeHooks(); len(h) != 1 || h[0] != "license.updated CLOCK-VER expires_at,expiry_started_at" {
		t.Fatalf("hooks %v", h)
	}
	if n := f.count("SELECT count(*) FROM activity_log WHERE type = 'license.expiry_started' AND subject_id = ?", ver.ID); n != 1 {
		t.Fatalf("%d log lines", n)
	}
	f.advance(time.Hour)
	if fl := f.verifyToken(a, "ACME", "", caller("v.example.com")); fl != nil {
		t.Fatalf("second verify: %+v", *fl)
	}
	if got := f.reload(ver.ID); !got.ExpiryStartedAt.Equal(started) || len(f.takeHooks()) != 0 {
		t.Fatalf("second verify restarted the clock: %+v", got)
	}
	// Past the started clock, verify says expired.
	f.advance(31 * 24 * time.Hour)
	wantFailure(t, f.verifyToken(a, "ACME", "", caller("v.example.com")), FailExpired)

	// The code path starts it too.
	code := f.license("CLOCK-CODE", LicenseInput{ExpiryDays: days, ExpiryStart: fields.Some("first_verify")})
	f.mustActivate("CLOCK-CODE", "", caller("c.example.com"))
	v, err = f.s.VerifyCode(f.ctx, f.d.Bun, f.set, VerifyCodeRequest{Product: f.product, LicenseCode: "CLOCK-CODE", Caller: caller("c.example.com")})
	if err != nil || v.Failure != nil || v.ExpiresAt == nil || !f.reload(code.ID).ExpiresAt.Equal(*v.ExpiresAt) {
		t.Fatalf("code path: %+v, %v", v, err)
	}

	// A wrong start is refused with the field's message.
	_, err = f.s.CreateLicense(f.ctx, f.d.Bun, testAdmin, f.set, LicenseInput{ProductReferenceID: fields.Some("ACME"), ExpiryStart: fields.Some("tomorrow")})
	if verr, ok := fields.As(err); !ok || verr.Map()["expiry_start"] == "" {
		t.Fatalf("bad expiry_start: %v", err)
	}
}

// The product's default_expiry_start is a new license's; an update that
// clears expires_at sets the clock waiting again (or, for creation,
// restarts it), and one that switches to creation starts it.
func TestExpiryClockDefaultsAndUpdates(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	p, err := catalog.NewService(f.clock).UpdateProduct(f.ctx, f.d.Bun, testAdmin, f.product.ID, catalog.ProductInput{
		DefaultExpiryDays: fields.Some(intp(14)), DefaultExpiryStart: fields.Some("first_verify"),
	})
	if err != nil || p.DefaultExpiryStart != catalog.ExpiryStartVerify {
		t.Fatalf("product: %+v, %v", p, err)
	}
	if _, err := catalog.NewService(f.clock).UpdateProduct(f.ctx, f.d.Bun, testAdmin, f.product.ID, catalog.ProductInput{DefaultExpiryStart: fields.Some("never")}); err == nil {
		t.Fatal("product took an unknown expiry start")
	}
	l := f.license("CLOCK-DEF", LicenseInput{})
	if l.ExpiryStart != catalog.ExpiryStartVerify || *l.ExpiryDays != 14 || !l.ClockPending() {
		t.Fatalf("defaults: %+v", l)
	}
	// Switching to creation starts it now.
	l, err = f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{ExpiryStart: fields.Some("creation")})
	if err != nil || l.ExpiresAt == nil || !l.ExpiresAt.Equal(f.clock().AddDate(0, 0, 14)) || !l.ExpiryStartedAt.Equal(f.clock()) {
		t.Fatalf("to creation: %+v, %v", l, err)
	}
	if h := f.takeHooks(); len(h) != 1 || h[0] != "license.updated CLOCK-DEF expiry_start,expiry_started_at,expires_at" {
		t.Fatalf("hooks %v", h)
	}
	// A fixed date by hand keeps when the clock started; clearing it
	// sets a first_activation clock waiting again.
	fixed := f.clock().AddDate(1, 0, 0)
	l, err = f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{ExpiresAt: fields.Some(&fixed), ExpiryStart: fields.Some("first_activation")})
	if err != nil || !l.ExpiresAt.Equal(fixed) || l.ExpiryStartedAt == nil {
		t.Fatalf("fixed: %+v, %v", l, err)
	}
	l, err = f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{ExpiresAt: fields.Some[*time.Time](nil)})
	if err != nil || l.ExpiresAt != nil || l.ExpiryStartedAt != nil || !l.ClockPending() {
		t.Fatalf("cleared: %+v, %v", l, err)
	}
}

// Verifies racing on the first verify start the clock once: one
// conditional UPDATE wins, the others read the stored date.
func TestExpiryClockStartsOnceUnderRace(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CLOCK-RACE", LicenseInput{ExpiryDays: fields.Some(intp(7)), ExpiryStart: fields.Some("first_verify")})
	a := f.mustActivate("CLOCK-RACE", "", caller("r.example.com"))
	f.takeHooks()
	var wg sync.WaitGroup
	results := make([]*time.Time, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := f.s.VerifyActivation(context.Background(), f.d.Bun, f.set, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: "ACME", Caller: caller("r.example.com")})
			if err != nil || v.Failure != nil {
				t.Errorf("verify: %+v, %v", v, err)
				return
			}
			results[i] = v.ExpiresAt
		}()
	}
	wg.Wait()
	want := f.reload(l.ID).ExpiresAt
	for _, r := range results {
		if r == nil || want == nil || !r.Equal(*want) {
			t.Fatalf("answers %v, stored %v", r, want)
		}
	}
	if h := f.takeHooks(); len(h) != 1 {
		t.Fatalf("hooks %v", h)
	}
}
