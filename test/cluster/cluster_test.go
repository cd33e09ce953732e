package cluster

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/test/eventually"
)

// TestTwoNodesBehindNginx runs two licensor processes on one database with
// nginx balancing between them round-robin and shows they behave as one.
func TestTwoNodesBehindNginx(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	nginx := lookNginx(t)
	c := startCluster(t, options{nodes: 2, nginx: nginx})

	t.Run("a session made on one node works on the other", func(t *testing.T) {
		b := c.browser(t, c.lb)
		b.signIn(t)
		served := map[string]bool{}
		for range 6 {
			res, body := b.get(t, "/admin/customers")
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "Customers") {
				t.Fatalf("GET /admin/customers through nginx: %d", res.StatusCode)
			}
			served[res.Header.Get("X-Upstream")] = true
		}
		if len(served) != 2 {
			t.Fatalf("the signed-in pages came from %v, want both nodes", served)
		}
	})

	t.Run("a setting changed on one node takes effect on the other through NOTIFY", func(t *testing.T) {
		other := c.browser(t, c.nodes[1])
		if res, _ := other.get(t, "/customer/register"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("registration is off by default: %d", res.StatusCode)
		}
		admin := c.browser(t, c.nodes[0])
		admin.signIn(t)
		form := admin.form(t, "/admin/settings/portal")
		form.Set("registration_enabled", "1")
		if res, _ := admin.post(t, "/admin/settings/portal", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save settings on node 1: %d", res.StatusCode)
		}
		// The registration form is there only when the node's cached
		// settings have registration on.
		c.awaitSetting(t, "registration on", func(node string) bool {
			res, _ := c.browser(t, node).get(t, "/customer/register")
			return res.StatusCode == http.StatusOK
		})
	})

	t.Run("activations never exceed the license's limit across both nodes", func(t *testing.T) {
		race := c.raceActivations(t, "CLUSTER", 5, 40)
		if race.made != 5 || race.stored != 5 {
			t.Fatalf("40 simultaneous activations on parallel_uses = 5: %d answered as made, %d stored", race.made, race.stored)
		}
		if len(race.upstream) != 2 {
			t.Fatalf("requests reached %v, want both nodes", race.upstream)
		}
		// The 40 queued for the nodes' connections rather than asking the
		// shared test server for more: there, on a busy machine, the
		// overdraft was refused ("too many clients already") and answered
		// 503 (docs/testing.md#connections).
		t.Logf("the nodes held at most %d database connections at once", c.conns.Peak())
		c.checkConnBudget(t)
	})

	t.Run("rate limits are shared", func(t *testing.T) {
		admin := c.browser(t, c.nodes[0])
		admin.signIn(t)
		form := admin.form(t, "/admin/settings/api")
		form.Set("requests_rate_limiting_period", "10")
		form.Set("requests_rate_limiting_method", "api_key")
		if res, _ := admin.post(t, "/admin/settings/api", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save api settings: %d", res.StatusCode)
		}
		// Every API answer that counts against a limit states the node's
		// cached limit in X-RateLimit-Limit: a public endpoint's, per IP, so
		// asking does not spend the limited key's requests. Both settings
		// were saved in one transaction, so the limit of 10 comes with the
		// api_key method.
		c.awaitSetting(t, "API limit of 10 a minute", func(node string) bool {
			res, err := http.Get(node + "/api/external/public-keys")
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			return res.Header.Get("X-RateLimit-Limit") == "10"
		})
		// The API's windows are clock-aligned minutes of the nodes' clock
		// (app/ratelimit), which a test of processes cannot set: requests
		// that straddle a minute's end are counted in two windows. What
		// holds whichever way the minute falls: the rate_limits row of
		// each window counts every request either node served in it, and
		// of those the first 10 were let through and the rest refused.
		// 21 requests in at most two windows put 11 in one: some are
		// refused. Nodes that counted on their own would let up to 10
		// through each.
		const limit, sent = 10, 21
		var keyID int64
		if err := c.db.QueryRow(`SELECT id FROM api_keys WHERE name = 'cluster limited'`).Scan(&keyID); err != nil {
			t.Fatal(err)
		}
		allowed, refused := 0, 0
		upstream := map[string]int{}
		for range sent {
			res := c.api(t, c.limitedKey, "/api/external/connection-check", nil, nil)
			upstream[res.Header.Get("X-Upstream")]++
			switch res.StatusCode {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
				refused++
				if res.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			default:
				t.Fatalf("connection-check: %d", res.StatusCode)
			}
		}
		if len(upstream) != 2 {
			t.Fatalf("requests reached %v, want both nodes", upstream)
		}
		// Under 100 a minute every hit is written as it is counted; the
		// wait only lets a node that batched its hits (which it must not)
		// write them, so the counts below can show it.
		var windows []int
		eventually.Within(3*time.Second, func() bool {
			windows = windowHits(t, c, "api:key:"+strconv.FormatInt(keyID, 10))
			n := 0
			for _, h := range windows {
				n += h
			}
			return n == sent
		})
		t.Logf("windows counted %v: %d allowed, %d refused", windows, allowed, refused)
		counted, want := 0, 0
		for _, h := range windows {
			counted += h
			want += min(h, limit)
		}
		if counted != sent || len(windows) > 2 || allowed != want || refused != sent-want {
			t.Fatalf("%d requests spread over two nodes against %d a minute: %d allowed, %d refused; the shared windows counted %v, so want %d allowed",
				sent, limit, allowed, refused, windows, want)
		}
	})

	t.Run("each periodic job runs once", func(t *testing.T) {
		// Every node registers the same periodic jobs with RunOnStart; only
		// River's elected leader enqueues them, so each ran once.
		counts := c.awaitPeriodicJobs(t, 15*time.Second)
		for k, n := range counts {
			if n != 1 {
				t.Fatalf("periodic job %s enqueued %d times by two nodes", k, n)
			}
		}
	})
}

// windowHits are the hits rate_limits holds for bucket, a row a window,
// oldest first.
func windowHits(t *testing.T, c *cluster, bucket string) []int {
	t.Helper()
	rows, err := c.db.Query(`SELECT hits FROM rate_limits WHERE bucket = $1 ORDER BY window_start`, bucket)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []int
	for rows.Next() {
		var h int
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
