package pipeline_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// nodeDeps are a node's settings store, after changes, and pipeline state
// on d; the state's batches are written when the test ends.
func nodeDeps(t *testing.T, d *db.DB, changes map[string]string) pipeline.Deps {
	t.Helper()
	ctx := context.Background()
	if _, err := settings.Set(ctx, d.Bun, audit.Source{Actor: audit.System}, changes); err != nil {
		t.Fatal(err)
	}
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := pipeline.NewShared(d.Bun, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Close(ctx) })
	return pipeline.Deps{Settings: store, Shared: shared}
}

// A group's routes as another API package would build them: the internal
// group takes internal keys only and ignores the blacklists; the handler
// gets the resolved caller; fields errors become 422.
func TestInternalGroup(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	internal, _, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "shop", Type: apikeys.TypeInternal, Scopes: []string{"products:list"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	external, _, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "client", Type: apikeys.TypeExternal}, now)
	if err != nil {
		t.Fatal(err)
	}
	deps := nodeDeps(t, d, map[string]string{"blacklisted_ips": "203.0.113.0/24", "blacklisted_domains": "evil.test"})
	deps.MaxBodyBytes = 64
	p := pipeline.New(pipeline.Internal, deps)

	app := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(), JSONEncoder: web.JSONEncoder})
	app.Post("/api/internal/things", p.Guard("products:list", func(c fiber.Ctx, r *pipeline.Request) error {
		f, err := p.ReadFields(c)
		if err != nil {
			return err
		}
		name, _ := f.String("name")
		if name == "bad" {
			f.Fail("name", "The name is bad.")
		}
		if err := f.Err(); err != nil {
			return err
		}
		return c.JSON(map[string]any{"status": true, "is_active": true, "message": name + " from " + r.Caller.IP + " " + r.Caller.Host + " " + r.Caller.URL + " by " + r.Caller.Key.Name})
	}))
	app.Post("/api/internal/other", p.Guard("products:create", func(c fiber.Ctx, r *pipeline.Request) error { return nil }))

	send := func(path, key, body string, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://licensor.test"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("X-API-KEY", key)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	cases := []struct {
		path, key, body string
		headers         []string
		status          int
		want            string
	}{
		{"/api/internal/things", internal, `{"name":"x"}`, []string{"X-API-IP", "203.0.113.5", "X-API-URL", "https://www.evil.test/shop/public/?a=1"}, 200,
			`{"is_active":true,"message":"x from 203.0.113.5 evil.test https://www.evil.test/shop by shop","status":true}`},
		{"/api/internal/things", external, `{}`, nil, 401, `{"status":false,"is_active":false,"message":"Invalid API key."}`},
		{"/api/internal/other", internal, `{}`, nil, 403, `{"status":false,"is_active":false,"message":"You are not allowed to access this endpoint."}`},
		{"/api/internal/things", internal, `{}`, []string{"LB-IP", "nope"}, 400, `{"status":false,"is_active":false,"message":"The X-API-IP header must be a valid IP address."}`},
		{"/api/internal/things", internal, `{"name":"bad"}`, nil, 422, `{"status":false,"is_active":false,"message":"The name is bad.","errors":{"name":["The name is bad."]}}`},
		{"/api/internal/things", internal, `{"name":"` + strings.Repeat("x", 64) + `"}`, nil, 413, `{"status":false,"is_active":false,"message":"The request body is too large."}`},
	}
	for _, tc := range cases {
		status, body := send(tc.path, tc.key, tc.body, tc.headers...)
		if status != tc.status || body != tc.want {
			t.Errorf("%s %v: %d %s\nwant %d %s", tc.path, tc.headers, status, body, tc.status, tc.want)
		}
	}
}

// The rate limit's windows are minutes of the pipeline's clock (Deps.Now,
// the node's): a guarded and a public route share the caller's bucket, the
// 429's Retry-After counts to the end of the clock's minute, and the next
// minute of the clock starts a new count, whatever the wall clock says.
func TestRateLimitWindowsFollowTheClock(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	// The last second of a minute: the real clock would be in another
	// window for the last request, and would not move for the next.
	now := time.Now().Truncate(time.Minute).Add(-time.Hour + 59*time.Second)
	key, _, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "shop", Type: apikeys.TypeInternal}, now)
	if err != nil {
		t.Fatal(err)
	}
	deps := nodeDeps(t, d, map[string]string{"requests_rate_limiting_period": "2"})
	deps.Now = func() time.Time { return now }
	p := pipeline.New(pipeline.Internal, deps)
	app := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(), JSONEncoder: web.JSONEncoder})
	app.Get("/api/internal/guarded", p.Guard("products:list", func(c fiber.Ctx, r *pipeline.Request) error { return c.SendString("ok") }))
	app.Get("/api/public", p.Public(func(c fiber.Ctx) error { return c.SendString("ok") }))
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://licensor.test"+path, nil)
		req.Header.Set("X-API-KEY", key)
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i, path := range []string{"/api/internal/guarded", "/api/public"} {
		if r := get(path); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(1-i) {
			t.Fatalf("request %d: %d, remaining %q", i+1, r.StatusCode, r.Header.Get("X-RateLimit-Remaining"))
		}
	}
	for _, path := range []string{"/api/internal/guarded", "/api/public"} {
		if r := get(path); r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s over the limit: %d, Retry-After %q; want 429 and 1", path, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	now = now.Add(time.Second)
	if r := get("/api/internal/guarded"); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("first request of the clock's next minute: %d, remaining %q", r.StatusCode, r.Header.Get("X-RateLimit-Remaining"))
	}
}
