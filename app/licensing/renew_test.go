package licensing

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
)

// Renewals on the same key (docs/licensing.md#renewals): dates move from the
// later of now and their value, null stays null, activations stay (also
// after a lapse), the renewal is recorded and the hook called.
func TestRenewLicense(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	var renewed []int
	f.s.hooks.LicenseRenewed = func(_ context.Context, _ bun.IDB, l *License, r *Renewal) error {
		renewed = append(renewed, r.Days)
		return nil
	}
	expires := f.now.Add(10 * 24 * time.Hour)
	l := f.license("RENEW-1", LicenseInput{ExpiresAt: fields.Some(&expires)})
	f.mustActivate("RENEW-1", "", caller("one.example.com"))
	f.mustActivate("RENEW-1", "", caller("two.example.com"))

	// Not yet expired: from the current expiry; updates_until null stays.
	thirty := 30
	got, rn, err := f.s.RenewLicense(f.ctx, f.d.Bun, testAdmin, l.ID, &thirty)
	if err != nil {
		t.Fatal(err)
	}
	if want := expires.AddDate(0, 0, 30); !got.ExpiresAt.Equal(want) || got.UpdatesUntil != nil || !rn.ExpiresBefore.Equal(expires) {
		t.Fatalf("renewed: expires %v updates %v, want %v", got.ExpiresAt, got.UpdatesUntil, want)
	}
	if got.LicenseCode != "RENEW-1" || got.ActiveActivations != 2 {
		t.Fatalf("same key, same activations: %+v", got)
	}

	// Lapsed: from now; the activations are kept.
	f.advance(90 * 24 * time.Hour)
	got, _, err = f.s.RenewLicense(f.ctx, f.d.Bun, testAdmin, l.ID, &thirty)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock().AddDate(0, 0, 30); !got.ExpiresAt.Equal(want) || got.ActiveActivations != 2 {
		t.Fatalf("after a lapse: %v (want %v), %d active", got.ExpiresAt, want, got.ActiveActivations)
	}
	if fl := f.verifyCode("RENEW-1", "", caller("one.example.com")); fl != nil {
		t.Fatalf("verify after renewal: %+v", *fl)
	}

	// No days and no product period: refused, nothing written.
	if _, _, err := f.s.RenewLicense(f.ctx, f.d.Bun, testAdmin, l.ID, nil); err == nil {
		t.Fatal("renewed without a period")
	}
	zero := 0
	if _, _, err := f.s.RenewLicense(f.ctx, f.d.Bun, testAdmin, l.ID, &zero); err == nil {
		t.Fatal("renewed for 0 days")
	}
	rs, err := Renewals(f.ctx, f.d.Bun, l.ID)
	if err != nil || len(rs) != 2 || len(renewed) != 2 {
		t.Fatalf("history %d %v, hooks %v", len(rs), err, renewed)
	}
	if n := f.count("SELECT count(*) FROM activity_log WHERE type = 'license.renewed' AND subject_id = ?", l.ID); n != 2 {
		t.Fatalf("%d log lines", n)
	}
}
