package pgnotify

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
)

func TestNotifyAndReconnect(t *testing.T) {
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
	deadline := time.Now().Add(5 * time.Second)
	for resets.Load() < before+2 || !l.Listening() {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: resets %d → %d, listening %v", before, resets.Load(), l.Listening())
		}
		time.Sleep(10 * time.Millisecond)
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
