package pipeline_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

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
	if _, err := settings.Set(ctx, d.Bun, audit.Source{Actor: audit.System}, map[string]string{
		"blacklisted_ips": "203.0.113.0/24", "blacklisted_domains": "evil.test",
	}); err != nil {
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
	p := pipeline.New(pipeline.Internal, pipeline.Deps{Settings: store, Shared: shared, MaxBodyBytes: 64})

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
