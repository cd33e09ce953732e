package metrics_test

import (
	"testing"
	"time"

	"github.com/licensor/licensor/app/metrics"
)

// BenchmarkRequest is what counting costs each request and license answer
// on the hot path (docs/deploy.md#metrics): a lock-free lookup of the
// labelled children and atomic adds, in parallel as under load.
func BenchmarkRequest(b *testing.B) {
	m := metrics.New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/api/external/license/verify", "POST", 200, 300*time.Microsecond)
			m.License("verify", "OK")
		}
	})
}

// TestNilCountsNothing: code built without a registry (tests, one-shot
// commands) may count through a nil *Metrics.
func TestNilCountsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.Request("/", "GET", 200, time.Millisecond)
	m.License("verify", "OK")
	m.Job("send_mail", "completed", time.Second)
}
