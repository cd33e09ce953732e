package pipeline_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// Calls with a valid key are counted per day and scope, written in one
// batch and added to what other nodes wrote; calls without a valid key are
// not counted.
func TestCallCounter(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	key, _, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "shop", Type: apikeys.TypeInternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*pipeline.Shared
	var apps []*fiber.App
	for range 2 {
		shared, err := pipeline.NewShared(d.Bun, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := pipeline.New(pipeline.Internal, pipeline.Deps{Settings: store, Shared: shared, MaxBodyBytes: 64})
		app := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(), JSONEncoder: web.JSONEncoder})
		ok := func(c fiber.Ctx, _ *pipeline.Request) error { return c.SendString("ok") }
		app.Get("/api/internal/products", p.Guard("products:list", ok))
		app.Get("/api/internal/licenses", p.Guard("licenses:list", ok))
		nodes, apps = append(nodes, shared), append(apps, app)
	}
	call := func(app *fiber.App, path, k string) {
		req, _ := http.NewRequest(http.MethodGet, path, strings.NewReader(""))
		req.Header.Set("X-API-Key", k)
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
	}
	for range 3 {
		call(apps[0], "/api/internal/products", key)
	}
	call(apps[0], "/api/internal/licenses", key)
	call(apps[1], "/api/internal/products", key)
	call(apps[1], "/api/internal/products", "not a key")
	for _, n := range nodes {
		if err := n.Calls.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	counts := func() map[string]int {
		var rows []struct {
			Scope string `bun:"scope"`
			Calls int    `bun:"calls"`
		}
		if err := d.Bun.NewRaw("SELECT scope, calls FROM api_call_counts WHERE day = (now() AT TIME ZONE 'UTC')::date").Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, r := range rows {
			m[r.Scope] = r.Calls
		}
		return m
	}
	if got := counts(); got["products:list"] != 4 || got["licenses:list"] != 1 || len(got) != 2 {
		t.Fatalf("counts after the first flush: %v", got)
	}
	call(apps[1], "/api/internal/licenses", key)
	if err := nodes[1].Close(ctx); err != nil { // Close writes what is left
		t.Fatal(err)
	}
	if got := counts(); got["products:list"] != 4 || got["licenses:list"] != 2 {
		t.Fatalf("counts after closing a node: %v", got)
	}
}
