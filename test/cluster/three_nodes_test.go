package cluster

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

// TestThreeNodesWithReplica runs three licensor processes behind nginx on a
// private primary with one streaming replica (database.replica_urls;
// docs/deploy.md#topologies): the 40 → 5 activation race across all three,
// each periodic job enqueued once and run once, reads seen on the replica
// (its pg_stat_activity), each node's /metrics moving under load and
// refused through nginx for another address, the replica stopped under
// load with no 5xx
// (then restarted and used again), verify throughput through the three
// against one node alone (printed as a ratio: on a shared two-core machine
// it says little of production, where nodes have cores of their own), and
// a node killed by SIGKILL under a load of activations and verifies with
// nothing lost: every activation answered as made is stored.
func TestThreeNodesWithReplica(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters, three nodes and nginx")
	}
	nginx := lookNginx(t)
	pg := dbtest.StartReplicated(t)
	c := startCluster(t, options{nodes: 3, nginx: nginx, dsn: pg.PrimaryURL, env: []string{
		"LICENSOR_DATABASE_REPLICA_URLS=" + pg.ReplicaURL,
		"LICENSOR_DATABASE_MAX_OPEN_CONNS=8",
		"LICENSOR_JOBS_WORKERS=2",
	}})

	t.Run("40 simultaneous activations of a 5-seat license across three nodes: 5", func(t *testing.T) {
		race := c.raceActivations(t, "THREE", 5, 40)
		if race.made != 5 || race.stored != 5 {
			t.Fatalf("40 activations on parallel_uses = 5: %d answered as made, %d stored", race.made, race.stored)
		}
		if len(race.upstream) != 3 {
			t.Fatalf("requests reached %v, want all three nodes", race.upstream)
		}
	})

	t.Run("each periodic job is enqueued once and run once by three nodes", func(t *testing.T) {
		counts := c.awaitPeriodicJobs(t, 20*time.Second)
		for k, n := range counts {
			if n != 1 {
				t.Errorf("periodic job %s enqueued %d times by three nodes", k, n)
			}
		}
		// Run once: each completed at its first attempt (a second node
		// taking it too would show as a second attempt or another state).
		eventually.True(t, 30*time.Second, "every periodic job completed", func() bool {
			var done int
			if err := c.db.QueryRow(`SELECT count(*) FROM river_job
				WHERE kind = ANY($1) AND state = 'completed'`, periodicKinds).Scan(&done); err != nil {
				t.Error(err)
				return true
			}
			return done == len(periodicKinds)
		})
		var again int
		if err := c.db.QueryRow(`SELECT count(*) FROM river_job
			WHERE kind = ANY($1) AND attempt <> 1`, periodicKinds).Scan(&again); err != nil || again != 0 {
			t.Errorf("periodic jobs run more than once: %d (%v)", again, err)
		}
	})

	t.Run("reads go to the replica; the replica stopped under load costs no 5xx", func(t *testing.T) {
		replica, err := sql.Open("pgx", pg.ReplicaURL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = replica.Close() }()
		// Every node watches the replica and uses it (/metrics, loopback).
		for _, node := range c.nodes {
			m := scrapeMetrics(t, node)
			var up, lag bool
			for name, v := range m {
				up = up || (strings.HasPrefix(name, "licensor_replica_up{") && v == 1)
				lag = lag || (strings.HasPrefix(name, "licensor_replica_lag_seconds{") && v >= 0)
			}
			if !up || !lag {
				t.Fatalf("%s/metrics: replica up %v, lag known %v", node, up, lag)
			}
		}
		c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": "Reads", "reference_id": "READS"}, nil)
		b := c.browser(t, c.lb)
		b.signIn(t)
		// The sign-in opened this browser's read-your-writes window: close
		// it, so its lists are the replica's.
		lbURL, _ := url.Parse(c.lb)
		b.hc.Jar.SetCookies(lbURL, []*http.Cookie{{Name: "licensor_ryw", Value: "0", Path: "/"}})
		hc := &http.Client{Timeout: 10 * time.Second}
		updateCheck := `{"product_id":"READS","current_version":"1.0"}`
		// A statement of the read pool (application_name licensor-read) on
		// the replica's activity: the console's list and the update check
		// were read there.
		for _, q := range []struct{ what, like string }{
			{"the console's license list", `licenses|"products"`},
			{"the update check", `product_versions`},
		} {
			eventually.True(t, 20*time.Second, q.what+" read on the replica", func() bool {
				for range 6 { // each node's read pool, through nginx
					if res, _ := b.get(t, "/admin/licenses"); res.StatusCode != http.StatusOK {
						t.Fatalf("GET /admin/licenses: %d", res.StatusCode)
					}
					if status, body, err := post(hc, c.lb, "/api/external/update/check", c.externalKey, updateCheck); err != nil || status != http.StatusOK {
						t.Fatalf("update check: %d %s %v", status, body, err)
					}
				}
				var n int
				if err := replica.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'licensor-read' AND query ~ $1`, q.like).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n > 0
			})
		}

		// /metrics moves under the load on every node; through nginx for
		// another address it is refused.
		const verified = `licensor_license_requests_total{operation="verify",result="OK"}`
		before := make([]float64, len(c.nodes))
		for i, node := range c.nodes {
			before[i] = scrapeMetrics(t, node)[verified]
		}
		tr := c.startTraffic(t, "REPL", 4, 5*time.Millisecond, func() string { return c.lb })
		var reads tally
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for !stop.Load() {
					start := time.Now()
					if w == 0 {
						res, err := b.hc.Get(c.lb + "/admin/licenses")
						status := 0
						if err == nil {
							status = res.StatusCode
							_, _ = io.Copy(io.Discard, res.Body)
							_ = res.Body.Close()
						}
						reads.add(status, time.Since(start), err)
					} else {
						status, _, err := post(hc, c.lb, "/api/external/update/check", c.externalKey, updateCheck)
						reads.add(status, time.Since(start), err)
					}
					time.Sleep(5 * time.Millisecond) // the load's pace
				}
			})
		}
		eventually.True(t, 10*time.Second, "load under way", func() bool { st, _, _ := reads.snapshot(); return st[http.StatusOK] > 30 })
		pg.StopReplica()
		stopped, _, _ := reads.snapshot()
		eventually.True(t, 20*time.Second, "reads go on without the replica", func() bool {
			st, _, _ := reads.snapshot()
			return st[http.StatusOK] > stopped[http.StatusOK]+100
		})
		stop.Store(true)
		wg.Wait()
		status, lost := tr.finish(t, c)
		for i, node := range c.nodes {
			if after := scrapeMetrics(t, node)[verified]; after <= before[i] {
				t.Errorf("%s/metrics: %s did not move under load (%v, then %v)", node, verified, before[i], after)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, c.lb+"/metrics", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		if res, err := hc.Do(req); err != nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("/metrics through nginx for 203.0.113.9: %v %v, want 404", res, err)
		} else {
			_ = res.Body.Close()
		}
		rs, rlost, _ := reads.snapshot()
		t.Logf("replica stopped under load: API %v (%d unanswered), console lists and update checks %v (%d unanswered)", status, lost, rs, rlost)
		for code, n := range rs {
			if code != http.StatusOK {
				t.Errorf("%d reads answered %d with the replica stopped", n, code)
			}
		}
		if rlost > 0 {
			t.Errorf("%d reads got no answer with the replica stopped", rlost)
		}
		replicaUp := func(node string, want float64) bool {
			for name, v := range scrapeMetrics(t, node) {
				if strings.HasPrefix(name, "licensor_replica_up{") {
					return v == want
				}
			}
			return false
		}
		for _, node := range c.nodes {
			eventually.True(t, 10*time.Second, node+" reports the replica down", func() bool { return replicaUp(node, 0) })
		}
		// Back for the rest of the run: each node uses it again.
		pg.StartReplica()
		for _, node := range c.nodes {
			eventually.True(t, 30*time.Second, node+" uses the restarted replica", func() bool { return replicaUp(node, 1) })
		}
	})

	t.Run("verify throughput: three nodes against one", func(t *testing.T) {
		c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": "Rate", "reference_id": "RATE"}, nil)
		c.api(t, c.internalKey, "/api/internal/product-licenses", map[string]any{"product_reference_id": "RATE", "license_code": "RATE-1"}, nil)
		var act struct {
			Data struct {
				LicenseData string `json:"license_data"`
			} `json:"data"`
		}
		c.api(t, c.externalKey, "/api/external/license/activate", map[string]any{"product_id": "RATE", "license_code": "RATE-1"}, &act, "X-API-URL", "https://rate.example.com")
		body := fmt.Sprintf(`{"product_id":"RATE","license_data":%q}`, act.Data.LicenseData)
		rate := func(base string) float64 {
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			var n, bad atomic.Int64
			var wg sync.WaitGroup
			stop := time.Now().Add(3 * time.Second)
			for range 12 {
				wg.Go(func() {
					for time.Now().Before(stop) {
						status, _, err := post(hc, base, "/api/external/license/verify", c.externalKey, body, "X-API-URL", "https://rate.example.com")
						if err != nil || status != http.StatusOK {
							bad.Add(1)
							continue
						}
						n.Add(1)
					}
				})
			}
			wg.Wait()
			if bad.Load() > 0 {
				t.Errorf("%d verifies failed against %s", bad.Load(), base)
			}
			return float64(n.Load()) / 3
		}
		one := rate(c.nodes[0])
		three := rate(c.lb)
		fmt.Printf("verify throughput: one node %.0f/s, three nodes behind nginx %.0f/s, ratio %.2f (machine: shared cores)\n", one, three, three/one)
		t.Logf("verify throughput: one node %.0f/s, three nodes %.0f/s, ratio %.2f", one, three, three/one)
	})

	t.Run("a node killed under load loses nothing", func(t *testing.T) {
		tr := c.startTraffic(t, "KILL3", 6, 5*time.Millisecond, func() string { return c.lb })
		eventually.True(t, 10*time.Second, "load under way", func() bool { st, _, _ := tr.seen.snapshot(); return st[http.StatusOK] > 50 })
		if err := c.procs[2].Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		eventually.True(t, 10*time.Second, "load goes on after the kill", func() bool { st, _, _ := tr.seen.snapshot(); return st[http.StatusOK] > 300 })
		tr.stop.Store(true)
		tr.wg.Wait()
		status, transport, _ := tr.seen.snapshot()
		t.Logf("load: %v, %d without an answer; node 3 killed %s before the end", status, transport, time.Since(killed).Round(time.Millisecond))
		for code, n := range status {
			// nginx answers 502 for the requests in flight on the killed
			// node: they have no answer from Licensor.
			if code >= 500 && code != http.StatusBadGateway {
				t.Errorf("%d answers with status %d", n, code)
			}
		}
		var stored int64
		if err := c.db.QueryRow(`SELECT count(*) FROM activations WHERE license_code = $1 AND is_valid`, tr.code).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		made := tr.activated.Load() + 1
		unanswered := tr.unknown.Load() + int64(status[http.StatusBadGateway])
		if stored < made || stored > made+unanswered {
			t.Errorf("activations answered as made: %d (and %d without an answer); stored: %d", made, unanswered, stored)
		}
	})
}

// scrapeMetrics reads base's /metrics (from loopback, which metrics.allow
// lets in by default): each sample by its name with labels.
func scrapeMetrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s/metrics: %d", base, res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
