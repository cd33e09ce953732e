package metrics_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/metrics"
)

// BenchmarkRequest is what counting costs each request and license answer
// on the hot path (docs/deploy.md#metrics): a lock-free lookup of the
// labelled children and atomic adds, in parallel as under load.
func BenchmarkRequest(b *testing.B) {
	m := metrics.New()
	verify := m.LicenseCounter("verify")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/api/external/license/verify", "POST", 200, 300*time.Microsecond)
			verify.Count("OK")
		}
	})
}

// TestNilCountsNothing: code built without a registry (tests, one-shot
// commands) may count through a nil *Metrics.
func TestNilCountsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.Request("/", "GET", 200, time.Millisecond)
	m.License("verify", "OK")
	m.LicenseCounter("verify").Count("OK")
	m.Job("send_mail", "completed", time.Second)
}

// TestCountsExactPerKey: requests and license answers counted at once
// from many goroutines land, each exactly, on their route, method and
// status (the duration histogram by route and method), and a license
// operation's counter on the same series License counts; a series appears
// only once something is counted on it.
func TestCountsExactPerKey(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	verify := m.LicenseCounter("verify")
	if got := samples(t, m); len(got) != 0 {
		t.Fatalf("series before any count: %v", got)
	}
	type req struct {
		route, method string
		status        int
	}
	reqs := []req{
		{"/api/external/license/verify", "POST", 200},
		{"/api/external/license/verify", "POST", 401},
		{"/api/external/license/verify", "GET", 405},
		{"/admin/licenses/:id", "GET", 200},
		{"/admin", "GET", 404},
	}
	const workers, rounds = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				r := reqs[(w+i)%len(reqs)]
				m.Request(r.route, r.method, r.status, time.Millisecond)
				verify.Count("OK")
				if i%5 == 0 {
					verify.Count("INVALID_LICENSE")
					m.License("verify", "OK")
				}
			}
		})
	}
	wg.Wait()

	got := samples(t, m)
	each := float64(workers * rounds / len(reqs))
	want := map[string]float64{
		`licensor_http_requests_total{method="POST",route="/api/external/license/verify",status="200"}`:    each,
		`licensor_http_requests_total{method="POST",route="/api/external/license/verify",status="401"}`:    each,
		`licensor_http_requests_total{method="GET",route="/api/external/license/verify",status="405"}`:     each,
		`licensor_http_requests_total{method="GET",route="/admin/licenses/:id",status="200"}`:              each,
		`licensor_http_requests_total{method="GET",route="/admin",status="404"}`:                           each,
		`licensor_http_request_duration_seconds_count{method="POST",route="/api/external/license/verify"}`: 2 * each,
		`licensor_http_request_duration_seconds_count{method="GET",route="/api/external/license/verify"}`:  each,
		`licensor_http_request_duration_seconds_count{method="GET",route="/admin/licenses/:id"}`:           each,
		`licensor_http_request_duration_seconds_count{method="GET",route="/admin"}`:                        each,
		`licensor_license_requests_total{operation="verify",result="OK"}`:                                  workers * (rounds + rounds/5),
		`licensor_license_requests_total{operation="verify",result="INVALID_LICENSE"}`:                     workers * rounds / 5,
	}
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// samples are the node's own counters and histogram counts by name and
// labels (sorted by name, as Prometheus writes them).
func samples(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, "licensor_http_") && !strings.HasPrefix(name, "licensor_license_") {
			continue
		}
		for _, mt := range f.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := "{" + strings.Join(labels, ",") + "}"
			switch {
			case mt.GetCounter() != nil:
				out[name+key] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				out[name+"_count"+key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
