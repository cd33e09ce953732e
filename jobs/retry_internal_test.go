package jobs

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// A cap shortens River's growing backoff once it exceeds the cap, and
// leaves the early, shorter waits alone.
func TestCappedRetryPolicy(t *testing.T) {
	p := cappedRetryPolicy{policy: &river.DefaultClientRetryPolicy{}, max: 10 * time.Second}
	for _, tc := range []struct {
		errors  int
		atMost  time.Duration
		atLeast time.Duration
	}{
		{errors: 0, atLeast: 0, atMost: 2 * time.Second},                                    // River: ~1 s
		{errors: 5, atLeast: 9 * time.Second, atMost: 10*time.Second + 50*time.Millisecond}, // River: ~1,296 s
	} {
		job := &rivertype.JobRow{Attempt: tc.errors + 1, Errors: make([]rivertype.AttemptError, tc.errors)}
		wait := time.Until(p.NextRetry(job))
		if wait < tc.atLeast || wait > tc.atMost {
			t.Errorf("after %d errors: wait %s, want %s–%s", tc.errors, wait, tc.atLeast, tc.atMost)
		}
	}
}
