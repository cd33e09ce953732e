package pgnotify

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

func TestNotifyAndReconnect(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	l := New(d.Pool, nil)
	got := make(chan string, 10)
	var resets atomic.Int32
	if err := l.Subscribe("licensor_test", Subscriber{
		Notify: func(p string) { got <- p },
		Reset:  func() { resets.Add(1) },
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Listening() || resets.Load() == 0 {
		t.Fatal("listener should be listening and have reset its subscribers")
	}
	if err := l.Subscribe("late", Subscriber{}); err == nil {
		t.Fatal("subscribing after start must fail")
	}

	if _, err := d.Bun.ExecContext(ctx, "SELECT pg_notify('licensor_test', 'hello')"); err != nil {
		t.Fatal(err)
	}
	expect(t, got, "hello")

	// Kill the listening backend: the listener must reset its subscribers,
	// reconnect and deliver again.
	before := resets.Load()
	if _, err := d.Bun.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	if !eventually.Within(5*time.Second, func() bool { return resets.Load() >= before+2 && l.Listening() }) {
		t.Fatalf("no reconnect: resets %d → %d, listening %v", before, resets.Load(), l.Listening())
	}
	if _, err := d.Bun.ExecContext(ctx, "SELECT pg_notify('licensor_test', 'again')"); err != nil {
		t.Fatal(err)
	}
	expect(t, got, "again")
}

func expect(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case p := <-got:
		if p != want {
			t.Fatalf("payload %q, want %q", p, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no notification %q", want)
	}
}

// counter is a WriteCounter the test moves by hand.
type counter struct {
	n     atomic.Uint64
	wrote chan struct{}
}

func (c *counter) Count() uint64          { return c.n.Load() }
func (c *counter) Wrote() <-chan struct{} { return c.wrote }
func (c *counter) add() {
	c.n.Add(1)
	select {
	case c.wrote <- struct{}{}:
	default:
	}
}

// After a write the listener is not caught up until the notifications of
// everything committed before it have been dispatched: read-your-writes.
func TestFollowWritesWaitsForEarlierNotifications(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	l := New(d.Pool, nil)
	w := &counter{wrote: make(chan struct{}, 1)}
	var dispatched atomic.Int32
	if err := l.Subscribe("licensor_test", Subscriber{Notify: func(string) { dispatched.Add(1) }}); err != nil {
		t.Fatal(err)
	}
	if err := l.FollowWrites(w); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.CaughtUp() {
		t.Fatal("a listener with no write behind it is caught up")
	}
	for i := range 20 {
		// A change committed (its notification queued), then counted.
		if _, err := d.Bun.ExecContext(ctx, "SELECT pg_notify('licensor_test', 'x')"); err != nil {
			t.Fatal(err)
		}
		w.add()
		// Not checked here that it is not caught up yet: on an idle
		// machine the barrier may already be back. What matters is that
		// once caught up, every earlier notification was dispatched.
		eventually.True(t, 5*time.Second, fmt.Sprintf("round %d: caught up", i), l.CaughtUp)
		if got := dispatched.Load(); got != int32(i+1) {
			t.Fatalf("round %d: caught up with %d notifications dispatched, want %d", i, got, i+1)
		}
	}
}
