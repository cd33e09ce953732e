package customers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

// Self-registration: the Registered and ConfirmEmail hooks for a new
// account (never Created: no welcome email), the same outcome with only a
// reset link for a known email, field errors answered at once, and
// nothing done for a form the caller refused.
func TestRegister(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var calls []string
	hook := func(name string) func(context.Context, bun.IDB, *settings.Values, *Customer) error {
		return func(_ context.Context, _ bun.IDB, _ *settings.Values, c *Customer) error {
			calls = append(calls, name+" "+c.Email)
			return nil
		}
	}
	s := NewService(nil, Hooks{
		Created: func(_ context.Context, _ bun.IDB, c *Customer, _ bool) error {
			calls = append(calls, "created "+c.Email)
			return nil
		},
		Registered: func(_ context.Context, _ bun.IDB, c *Customer) error {
			calls = append(calls, "registered "+c.Email)
			return nil
		},
		ConfirmEmail: hook("confirm"),
		ResetRequested: func(_ context.Context, _ bun.IDB, email string) error {
			calls = append(calls, "reset "+email)
			return nil
		},
	})
	set := settings.Defaults()
	set.EmailVerificationRequired = true
	count := func() int {
		n, err := d.Bun.NewSelect().Model((*Customer)(nil)).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}

	ann, err := s.Register(ctx, d.Bun, api, set, Registration{Name: "Ann Lee", Email: "ann@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if ann.Confirmed() || !ann.HasPassword() || ann.ClientID == "" {
		t.Fatalf("registered under email_verification_required: %+v", ann)
	}
	if got := strings.Join(calls, ", "); got != "registered ann@example.com, confirm ann@example.com" {
		t.Fatalf("hooks: %s", got)
	}

	calls = nil
	_, err = s.Register(ctx, d.Bun, api, set, Registration{Name: "Someone Else", Email: "ANN@example.com", Password: "another good password"})
	if !errors.Is(err, ErrAlreadyRegistered) {
		t.Fatalf("known email: %v", err)
	}
	if got := strings.Join(calls, ", "); got != "reset ANN@example.com" || count() != 1 {
		t.Fatalf("known email: hooks %q, %d customers", got, count())
	}

	// A known email with another field wrong answers the field only: the
	// form must not differ from a new address's.
	calls = nil
	_, err = s.Register(ctx, d.Bun, api, set, Registration{Name: "A", Email: "ann@example.com"})
	verr, ok := fields.As(err)
	if !ok || !verr.Has("name") || !verr.Has("password") || verr.Has("email") || len(calls) != 0 {
		t.Fatalf("bad fields with a known email: %v, hooks %q", err, calls)
	}

	// Refused by the caller (CAPTCHA, confirmation): field errors still
	// come back, and nothing is created or sent.
	if _, err := s.Register(ctx, d.Bun, api, set, Registration{Name: "Bob Stone", Email: "bob@example.com", Password: "correct horse battery", Refused: true}); err != nil {
		t.Fatalf("refused with good fields: %v", err)
	}
	_, err = s.Register(ctx, d.Bun, api, set, Registration{Name: "Bob Stone", Email: "not-an-email", Password: "x", Refused: true})
	if verr, ok := fields.As(err); !ok || !verr.Has("email") || !verr.Has("password") {
		t.Fatalf("refused with bad fields: %v", err)
	}
	if count() != 1 || len(calls) != 0 {
		t.Fatalf("a refused form created %d customers, hooks %q", count()-1, calls)
	}

	// Without email verification the account is confirmed at once.
	set.EmailVerificationRequired = false
	bob, err := s.Register(ctx, d.Bun, api, set, Registration{Name: "Bob Stone", Email: "bob@example.com", Password: "correct horse battery"})
	if err != nil || !bob.Confirmed() {
		t.Fatalf("registered without verification: %+v, %v", bob, err)
	}
	if got := strings.Join(calls, ", "); got != "registered bob@example.com, confirm bob@example.com" || bob.EmailProven() {
		t.Fatalf("hooks: %s", got)
	}
}

// TestRegisterSameWorkForAKnownEmail is issue 15.9: a registration with
// the email of an account hashes the password as a new account's does and
// queues its reset email through one hook, so the answer takes as long and
// tells nothing. Medians of interleaved runs, with a wide margin: without
// the hash the known email's answer took a small fraction of the time.
func TestRegisterSameWorkForAKnownEmail(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var resets int
	s := NewService(nil, Hooks{ResetRequested: func(context.Context, bun.IDB, string) error { resets++; return nil }})
	set := settings.Defaults()
	if _, err := s.Register(ctx, d.Bun, api, set, Registration{Name: "Ann Lee", Email: "ann@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	const rounds = 7
	var known, fresh []time.Duration
	for i := range rounds {
		start := time.Now()
		if _, err := s.Register(ctx, d.Bun, api, set, Registration{Name: "Eve Hill", Email: "ann@example.com", Password: "another good password"}); !errors.Is(err, ErrAlreadyRegistered) {
			t.Fatal(err)
		}
		known = append(known, time.Since(start))
		start = time.Now()
		if _, err := s.Register(ctx, d.Bun, api, set, Registration{Name: "Eve Hill", Email: fmt.Sprintf("eve%d@example.com", i), Password: "another good password"}); err != nil {
			t.Fatal(err)
		}
		fresh = append(fresh, time.Since(start))
	}
	if resets != rounds {
		t.Fatalf("%d reset requests for %d registrations of a known email", resets, rounds)
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	k, f := median(known), median(fresh)
	t.Logf("median: known email %s, new email %s", k, f)
	if k < f/2 {
		t.Errorf("a known email's registration takes %s, a new one's %s: the answer tells them apart", k, f)
	}
}
