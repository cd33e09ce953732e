package main

import (
	"runtime/debug"
	"testing"
)

// The start-up's GOGC is raised, and the one the process had comes back:
// collections must not stay off or rare once the server runs (a restore
// of the wrong value left GC off and the RSS under load at 240 MB).
func TestRaiseGCPercentRestores(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, before := range []int{100, 800, -1} {
		debug.SetGCPercent(before)
		restore := raiseGCPercent(startupGCPercent)
		if during := debug.SetGCPercent(-1); during != max(startupGCPercent, before) {
			t.Errorf("GOGC %d during the start-up: %d, want %d", before, during, max(startupGCPercent, before))
		}
		restore()
		if after := debug.SetGCPercent(before); after != before {
			t.Errorf("GOGC %d after the start-up: %d", before, after)
		}
	}
}
