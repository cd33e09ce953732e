// Package eventually is the test suite's one way of waiting for something
// that happens on its own time (a job run by River, a NOTIFY reaching
// another node, a restarted process): poll a condition until it holds or a
// deadline passes. Wait on a channel instead where the code under test
// offers one; poll only what no signal announces.
package eventually

import (
	"testing"
	"time"
)

// The first polls come quickly, so a condition that holds at once costs
// milliseconds; later ones back off to maxInterval, so a long wait does not
// busy a loaded machine.
const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 100 * time.Millisecond
)

// True polls cond until it returns true, and fails t with what (what was
// awaited) if it has not within timeout. cond runs in the caller's
// goroutine, so it may itself fail the test with t.Fatal.
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(timeout, cond) {
		t.Fatalf("not within %s: %s", timeout, what)
	}
}

// Within polls cond as True does and reports whether it held within
// timeout, for a test that says more than True's message when it did not.
func Within(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := firstInterval
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
		interval = min(interval*2, maxInterval)
	}
	return true
}
