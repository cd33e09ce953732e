package external_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/test/eventually"
)

// 40 activations of one license with 5 parallel uses, at once over real
// HTTP connections on two nodes: exactly 5 succeed, the others answer
// ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES.
func TestConcurrentActivationsRespectParallelUses(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.NewApp(t)
	a.license(nil, "RACE", parallel(5))
	const n = 40
	ok, full, active := a.race("RACE", n, func(i int) req {
		p := bothPaths[i%4/2]
		return req{path: p.activate, headers: []string{
			p.keyHeader, a.key, p.urlHeader, "https://host-" + strconv.Itoa(i) + ".example.com",
		}, json: map[string]any{"product_id": "ACME", "license_code": "RACE"}}
	})
	if ok != 5 || full != n-5 || active != 5 {
		t.Fatalf("%d activated, %d refused, %d active; want 5, %d, 5", ok, full, active, n-5)
	}
}

// The rate limit is one count in PostgreSQL: requests alternating between
// two nodes share it, and the one over the limit gets 429 with its
// headers, whichever node it reaches, until the next minute of the nodes'
// clock. Unknown keys are counted in the caller's IP bucket; special keys
// are not limited.
func TestRateLimitSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	// The API's windows are minutes of the nodes' clock: it stands at the
	// start of one until the test moves it.
	clk := servertest.NewClock(time.Now().Truncate(time.Minute))
	a := newAPIEnvWithClock(t, clk.Now)
	second := a.NewApp(t)
	special := a.newKey(apikeys.CreateParams{Name: "special", Type: apikeys.TypeExternal, Special: true})
	a.SetSettings(t, map[string]string{"requests_rate_limiting_period": "6", "requests_rate_limiting_method": "api_key"})
	nodes := a.Nodes
	hit := func(i int, key string) resp {
		return a.do(nodes[i%2].App, req{method: "GET", path: bothPaths[i%2].connection, headers: []string{bothPaths[i%2].keyHeader, key}})
	}
	for i := range 6 {
		r := hit(i, a.key)
		expect(t, r, 200, bodyConnected)
		if r.Header.Get("X-RateLimit-Limit") != "6" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(5-i) {
			t.Fatalf("request %d: limit %q remaining %q", i+1, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
		}
		if r.Header.Get("Retry-After") != "" {
			t.Fatalf("request %d: Retry-After on an allowed request", i+1)
		}
	}
	for i := 6; i < 8; i++ {
		r := hit(i, a.key)
		expect(t, r, 429, `{"status":false,"is_active":false,"message":"Rate limit exceeded. Try again later."}`)
		if r.Header.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After %q at the start of the window, want 60", r.Header.Get("Retry-After"))
		}
		if r.Header.Get("X-RateLimit-Limit") != "6" || r.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("429 headers: %v", r.Header)
		}
	}
	// Special keys skip the limit, and carry no rate-limit headers.
	for i := range 8 {
		r := hit(i, special)
		expect(t, r, 200, bodyConnected)
		if r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("special key rate-limited: %v", r.Header)
		}
	}
	// Unknown keys are counted per peer IP, a bucket of its own here.
	for i := range 6 {
		expect(t, hit(i, "guess-"+strconv.Itoa(i)), 401, bodyInvalidKey)
	}
	expect(t, hit(6, "guess-6"), 429, `{"status":false,"is_active":false,"message":"Rate limit exceeded. Try again later."}`)
	// Public endpoints share the peer-IP bucket.
	r := a.do(second, req{method: "GET", path: "/api/external/public-keys"})
	if r.StatusCode != 429 {
		t.Fatalf("public keys over the IP limit: %d %s", r.StatusCode, r.Body)
	}
	// 59 s on, the window holds; the clock's next minute starts a new one
	// on both nodes.
	clk.Add(59 * time.Second)
	if r := hit(0, a.key); r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("last second of the window: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	clk.Add(time.Second)
	for i := range 2 {
		r := hit(i, a.key)
		expect(t, r, 200, bodyConnected)
		if r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(5-i) {
			t.Fatalf("request %d of the next minute: remaining %q", i+1, r.Header.Get("X-RateLimit-Remaining"))
		}
	}
}

// A node serves a cached key for up to 30 s (tested with a clock in package
// pipeline), but revoking a key notifies every node on licensor_api_keys
// (a trigger on api_keys), so it takes effect everywhere at once.
func TestKeyRevocationReachesEveryNode(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.NewApp(t)
	get := func(app int) resp {
		return a.do(a.Nodes[app].App, req{method: "GET", path: modern.connection, headers: []string{"X-API-KEY", a.key}})
	}
	expect(t, get(0), 200, bodyConnected)
	expect(t, get(1), 200, bodyConnected)

	a.exec("UPDATE api_keys SET revoked = true WHERE name = 'client'")
	for i := range 2 {
		eventually.True(t, notified, "the other node learns of the change", func() bool { return get(i).StatusCode == 401 })
	}
	expect(t, get(0), 401, bodyInvalidKey)
	expect(t, get(1), 401, bodyInvalidKey)
}

// The ip_address bucket is the peer address, never the X-API-IP a client
// chooses: changing it does not escape the limit.
func TestRateLimitIgnoresClientSuppliedIP(t *testing.T) {
	t.Parallel()
	// One window of the nodes' clock, however long the requests take.
	a := newAPIEnvWithClock(t, servertest.NewClock(time.Now().Truncate(time.Minute)).Now)
	a.SetSettings(t, map[string]string{"requests_rate_limiting_period": "3"})
	for i := range 4 {
		r := a.do(a.App, req{method: "GET", path: modern.connection, headers: []string{"X-API-KEY", a.key, "X-API-IP", "192.0.2." + strconv.Itoa(i+1)}})
		if want := map[bool]int{true: 200, false: 429}[i < 3]; r.StatusCode != want {
			t.Fatalf("request %d: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
}
