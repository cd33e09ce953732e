package licensing

import (
	"testing"
	"time"

	"github.com/licensor/licensor/app/fields"
)

// The grace period (docs/api/external.md#grace-period): after expires_at and
// for the product's grace_days, verify with Grace answers verified with
// GraceUntil; without Grace (legacy paths), and after it, expired.
func TestVerifyGracePeriod(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	seven := 7
	f.product.GraceDays = &seven
	expires := f.now.Add(24 * time.Hour)
	l := f.license("GRACE", LicenseInput{ExpiresAt: fields.Some(&expires)})
	a := f.mustActivate("GRACE", "", caller("shop.example.com"))
	token := func(grace bool) Verdict {
		t.Helper()
		v, err := f.s.VerifyActivation(f.ctx, f.d.Bun, f.set, VerifyRequest{
			Product: f.product, ActivationID: a.ID, TokenProductRef: "acme", Caller: caller("shop.example.com"), Grace: grace,
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	code := func(grace bool) Verdict {
		t.Helper()
		v, err := f.s.VerifyCode(f.ctx, f.d.Bun, f.set, VerifyCodeRequest{
			Product: f.product, LicenseCode: "GRACE", Caller: caller("shop.example.com"), Grace: grace,
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, v := range []Verdict{token(true), code(true)} {
		if v.Failure != nil || v.GraceUntil != nil {
			t.Fatalf("before expiry: %+v", v)
		}
	}

	f.advance(3 * 24 * time.Hour) // 2 days past expiry
	wantUntil := l.ExpiresAt.AddDate(0, 0, 7)
	for _, v := range []Verdict{token(true), code(true)} {
		if v.Failure != nil || v.GraceUntil == nil || !v.GraceUntil.Equal(wantUntil) {
			t.Fatalf("in grace: %+v", v)
		}
	}
	for _, v := range []Verdict{token(false), code(false)} {
		wantFailure(t, v.Failure, FailExpired)
	}
	// Grace keeps installed copies working; it does not start new ones.
	if res := f.activate("GRACE", "", caller("other.example.com")); res.Failure == nil || *res.Failure != FailExpired {
		t.Fatalf("activate in grace: %+v", res.Failure)
	}

	f.advance(5 * 24 * time.Hour) // grace_until itself
	for _, v := range []Verdict{token(true), code(true)} {
		wantFailure(t, v.Failure, FailExpired)
	}
}
