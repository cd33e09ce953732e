package licensing

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/test/eventually"
)

func TestVerifyRecorderBatches(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	c, err := customers.NewService(f.clock, customers.Hooks{}).Create(f.ctx, f.d.Bun, testAdmin, f.set,
		customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	if err != nil {
		t.Fatal(err)
	}
	f.license("LINKED", LicenseInput{CustomerID: fields.Some(strp("CUST-001"))})
	f.license("ANON", LicenseInput{})
	linked := f.mustActivate("LINKED", "CUST-001", caller("a.example.com"))
	anon := f.mustActivate("ANON", "", caller("b.example.com"))

	r := NewVerifyRecorder(f.d.Bun, RecorderOptions{})
	t0 := f.now
	r.Record(linked.ID, t0, "203.0.113.9")
	r.Record(linked.ID, t0.Add(-time.Minute), "203.0.113.9") // older: ignored
	r.Record(anon.ID, t0, "")
	if err := r.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.activation(linked.ID).LastVerifiedAt; got == nil || !got.Equal(t0) {
		t.Fatalf("linked: %v", got)
	}
	if got := f.activation(anon.ID).LastVerifiedAt; got == nil || !got.Equal(t0) {
		t.Fatalf("anon: %v", got)
	}
	verified := func() int {
		return f.count("SELECT count(*) FROM customer_activity WHERE customer_id = ? AND type = ?", c.ID, audit.CustomerLicenseVerified)
	}
	if n := verified(); n != 1 {
		t.Fatalf("customer activity entries: %d", n)
	}

	// Within the hour: last_verified_at moves, no new customer entry.
	r.Record(linked.ID, t0.Add(10*time.Minute), "203.0.113.9")
	// last_verified_at never moves backwards.
	r.Record(anon.ID, t0.Add(-time.Hour), "")
	if err := r.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.activation(linked.ID).LastVerifiedAt; !got.Equal(t0.Add(10 * time.Minute)) {
		t.Fatal(got)
	}
	if got := f.activation(anon.ID).LastVerifiedAt; !got.Equal(t0) {
		t.Fatal("moved backwards", got)
	}
	if n := verified(); n != 1 {
		t.Fatalf("entries within the hour: %d", n)
	}
	r.Record(linked.ID, t0.Add(2*time.Hour), "203.0.113.9")
	if err := r.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if n := verified(); n != 2 {
		t.Fatalf("entries after an hour: %d", n)
	}
	if err := r.Flush(f.ctx); err != nil {
		t.Fatal("an empty flush is a no-op", err)
	}
}

func TestVerifyRecorderFlushesInTheBackground(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("CODE", LicenseInput{})
	a := f.mustActivate("CODE", "", caller("a.example.com"))

	// A full batch flushes at once, long before the interval.
	r := NewVerifyRecorder(f.d.Bun, RecorderOptions{Interval: time.Hour, MaxBatch: 1})
	r.Start(context.Background())
	r.Record(a.ID, f.now, "203.0.113.9")
	eventually.True(t, 2*time.Second, "a full batch is flushed", func() bool { return f.activation(a.ID).LastVerifiedAt != nil })
	// Close writes what is left.
	r.Record(a.ID, f.now.Add(time.Minute), "203.0.113.9")
	if err := r.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.activation(a.ID).LastVerifiedAt; !got.Equal(f.now.Add(time.Minute)) {
		t.Fatal(got)
	}
	// A nil recorder records nothing and does not panic.
	var none *VerifyRecorder
	none.Record(a.ID, f.now, "")
}

// A heartbeat and a verify of one activation in one batch: the latest
// sign of life wins for last_heartbeat_at, and the verify's time and IP are
// kept for last_verified_at whichever came last
// (docs/licensing.md#heartbeats-and-automatic-release).
func TestRecorderMergesHeartbeatsAndVerifies(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC)
	verified := verification{at: t0, ip: "203.0.113.9", verified: true, verifiedAt: t0}
	beat := verification{at: t0.Add(time.Minute)}
	for _, got := range []verification{merge(verified, beat), merge(beat, verified)} {
		if !got.at.Equal(t0.Add(time.Minute)) || !got.verified || !got.verifiedAt.Equal(t0) || got.ip != "203.0.113.9" {
			t.Fatalf("merged %+v", got)
		}
	}
	if got := merge(beat, verification{at: t0.Add(2 * time.Minute)}); got.verified || !got.at.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("two heartbeats %+v", got)
	}
}

// Two nodes' recorders flush the same activations at once, each in its own
// (a Go map's) order: the flush locks its rows in id order
// (docs/architecture.md#lock-order), so one waits for the other instead of
// both failing on a deadlock. Several rounds, since a round whose flushes
// do not overlap proves nothing.
func TestConcurrentFlushesOfTheSameActivationsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	var ids []int64
	for i := range 40 {
		code := fmt.Sprintf("LOCK-%02d", i)
		f.license(code, LicenseInput{})
		ids = append(ids, f.mustActivate(code, "", caller(fmt.Sprintf("h%d.example.com", i))).ID)
	}
	// Each node on a session planning as for a production-sized table:
	// nested loops driven by the batch's arrays, which lock in their
	// order. Forty rows alone would be a hash join over a scan of the
	// table, locking in its physical order, the same for both.
	var nodes [2]*VerifyRecorder
	for n := range nodes {
		conn, err := f.d.Bun.Conn(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := conn.ExecContext(f.ctx, "SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		nodes[n] = NewVerifyRecorder(conn, RecorderOptions{})
	}
	var last time.Time
	for round := range 50 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, len(nodes))
		for n, r := range nodes {
			// Each node's time is later than the other's last, so both
			// flushes update every row.
			at := f.now.Add(time.Duration(2*round+n+1) * time.Second)
			last = at
			for _, id := range ids {
				r.Record(id, at, "203.0.113.9")
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- r.Flush(f.ctx)
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	for _, id := range ids {
		if got := f.activation(id).LastVerifiedAt; got == nil || !got.Equal(last) {
			t.Fatalf("activation %d: last verified %v, want %v", id, got, last)
		}
	}
}
