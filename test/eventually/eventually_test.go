package eventually_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/test/eventually"
)

func TestTrueWaitsForTheCondition(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	done := make(chan struct{})
	go func() { // the condition comes true on its own time
		defer close(done)
		for range 3 {
			n.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	eventually.True(t, 10*time.Second, "three increments", func() bool { return n.Load() == 3 })
	<-done
}

func TestWithinGivesUp(t *testing.T) {
	t.Parallel()
	calls := 0
	start := time.Now()
	if eventually.Within(50*time.Millisecond, func() bool { calls++; return false }) {
		t.Fatal("a condition that never holds was reported as held")
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond || calls < 2 {
		t.Errorf("gave up after %s and %d calls, want at least the timeout and more than one call", elapsed, calls)
	}
}
