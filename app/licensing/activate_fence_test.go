package licensing

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/fields"
)

// A plain activation notifies no node's cache, so it does not hold the
// caches' write fence (no barrier is sent for it: db.NoCacheChange) while
// it still holds the read replicas'; an activation that changes what verify
// reads (deactivate-old, the expiry clock) notifies and holds both. What
// each one notified is read on a LISTEN connection up to a marker sent after
// it (notifications arrive in commit order), so a trigger added later that
// notifies on a plain activation fails this test.
func TestActivateHoldsTheCacheFenceOnlyWhenItNotifies(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	listen, err := pgx.Connect(f.ctx, f.d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listen.Close(context.Background()) })
	if _, err := listen.Exec(f.ctx, "LISTEN "+VerifyChannel); err != nil {
		t.Fatal(err)
	}
	markers := 0
	// notified runs do and returns what it notified and how much it
	// moved the caches' fence (Count), failing when it did not move the
	// replicas' (Last).
	notified := func(what string, do func()) (payloads []string, counted uint64) {
		t.Helper()
		count, last := f.d.Writes.Count(), f.d.Writes.Last()
		do()
		counted = f.d.Writes.Count() - count
		if !f.d.Writes.Last().After(last) {
			t.Errorf("%s: the read replicas' fence (Last) did not move", what)
		}
		markers++
		marker := "marker " + strconv.Itoa(markers)
		if _, err := f.d.SQL.ExecContext(f.ctx, "SELECT pg_notify($1, $2)", VerifyChannel, marker); err != nil {
			t.Fatal(err)
		}
		for {
			ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
			n, err := listen.WaitForNotification(ctx)
			cancel()
			if err != nil {
				t.Fatalf("%s: waiting for %s: %v", what, marker, err)
			}
			if n.Payload == marker {
				return payloads, counted
			}
			payloads = append(payloads, n.Payload)
		}
	}

	f.license("PLAIN", LicenseInput{})
	p, n := notified("a plain activation", func() { f.mustActivate("PLAIN", "", caller("a.example.com")) })
	if len(p) != 0 || n != 0 {
		t.Errorf("a plain activation notified %q and moved the caches' fence by %d, want nothing and 0", p, n)
	}

	f.set.DeactivateOldActivationsOnNewActivation = true
	f.license("ONE", LicenseInput{ParallelUses: fields.Some(intp(1))})
	first := f.mustActivate("ONE", "", caller("one.example.com"))
	p, n = notified("deactivate-old", func() { f.mustActivate("ONE", "", caller("two.example.com")) })
	if want := "a" + strconv.FormatInt(first.ID, 10); len(p) != 1 || p[0] != want || n != 1 {
		t.Errorf("deactivate-old notified %q and moved the caches' fence by %d, want [%s] and 1", p, n, want)
	}

	trial := f.license("TRIAL", LicenseInput{ExpiryDays: fields.Some(intp(30))})
	p, n = notified("the expiry clock's start", func() { f.mustActivate("TRIAL", "", caller("a.example.com")) })
	if want := "l" + strconv.FormatInt(trial.ID, 10); len(p) != 1 || p[0] != want || n != 1 {
		t.Errorf("the expiry clock's start notified %q and moved the caches' fence by %d, want [%s] and 1", p, n, want)
	}
}
