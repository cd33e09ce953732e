package delayed

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestScheduleRunsOncePerDelay(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	ran := make(chan struct{}, 4)
	d := New(10*time.Millisecond, func(context.Context) { runs.Add(1); ran <- struct{}{} })
	defer d.Stop()
	d.Schedule()
	d.Schedule() // already scheduled: no second run
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("no run after Schedule")
	}
	d.Schedule() // a new request after the run: one more run
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("no run after the second Schedule")
	}
	d.Stop()
	if n := runs.Load(); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
}

func TestStopCancelsAScheduledRun(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	d := New(time.Hour, func(context.Context) { runs.Add(1) })
	d.Schedule()
	d.Stop() // returns at once: the pending run is cancelled, not waited for
	d.Schedule()
	d.Stop()
	if n := runs.Load(); n != 0 {
		t.Fatalf("%d runs after Stop, want 0", n)
	}
}
