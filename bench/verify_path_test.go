package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server"
)

// BenchmarkVerifyPath runs each form of verify through a whole app's
// handler on one goroutine, beside the bare Fiber endpoint bench/load
// measures against (read the body, bind verify's JSON, answer verify's
// JSON), so the cost verify adds to what no verify can avoid shows in
// ns/op and allocs/op without a network or an idle machine. The apps log
// at warn, as bench/load runs the server; "logged" is the cached verify
// with a request line per call at info (the default), written to nowhere.
// Run it with -cpuprofile or -memprofile on one sub-benchmark to see
// where a form's time goes:
//
//	go test -run '^$' -bench 'VerifyPath/^cached$' -benchmem -cpuprofile cpu.out ./bench/
func BenchmarkVerifyPath(b *testing.B) {
	v := newVerifyEnv(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := func(configure func(*config.Config), logger *slog.Logger) fasthttp.RequestHandler {
		if configure != nil {
			// The node keeps its configuration: give it a copy of its own.
			orig := v.env.Config
			cp := *orig
			configure(&cp)
			v.env.Config = &cp
			defer func() { v.env.Config = orig }()
		}
		return v.env.NewAppWith(b, func(d *server.Deps) { d.Logger = logger }).Handler()
	}
	cached := app(nil, quiet)
	logged := app(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	uncached := app(func(c *config.Config) { c.API.VerifyCacheSize = 0 }, quiet)

	byCode, _ := json.Marshal(map[string]string{"product_id": "BENCH", "license_code": "BENCH-VERIFY"})
	token := v.newRequest("/api/external/license/verify", v.body)
	code := v.newRequest("/api/external/license/verify", byCode)
	legacy := v.newRequest("/api/verify_license", byCode)
	legacy.Header.Del("X-API-KEY")
	legacy.Header.Del("X-API-URL")
	legacy.Header.Set("LB-API-KEY", v.key)
	legacy.Header.Set("LB-URL", benchHost)
	bare := v.newRequest("/verify", v.body)

	for _, c := range []struct {
		name string
		h    fasthttp.RequestHandler
		req  *fasthttp.Request
	}{
		{"bare", bareHandler(), bare},
		{"cached", cached, token},
		{"logged", logged, token},
		{"uncached", uncached, token},
		{"code", cached, code},
		{"legacy", cached, legacy},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
			h := c.h
			setTime := requestTimeSetter(b, &ctx)
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				ctx.Init(c.req, addr, nil)
				setTime(time.Now())
				h(&ctx)
				if ctx.Response.StatusCode() != 200 || !bytes.Contains(ctx.Response.Body(), []byte(`"status":true`)) {
					b.Fatalf("%s: %d %s", c.name, ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			// On a shared machine the wall time per call measures the
			// neighbours too; the process's CPU time per call does not.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}

	// The cache off under load: 32 callers at once, as bench/load's
	// connections, whose reads of the activation's state go out in
	// batches (app/licensing/statebatch.go) where one caller's go one by
	// one; and verify by code (which no cache serves) in both forms, whose
	// reads batch the same way (app/licensing/codebatch.go). By token all
	// verify the same token, so a batch reads one row however many
	// verifies it answers; by code each caller verifies a license of its
	// own with its client name, as bench/load's installations do. These
	// show the CPU per verify of this process and of the database's
	// PostgreSQL processes (pg-cpu-ns/op).
	const callers = 32
	codes, legacies := v.codeRequests(b, callers)
	for _, c := range []struct {
		name string
		h    fasthttp.RequestHandler
		reqs []*fasthttp.Request
	}{
		{"uncached-32", uncached, []*fasthttp.Request{token}},
		{"code-32", cached, codes},
		{"legacy-32", cached, legacies},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetParallelism(callers)
			b.ReportAllocs()
			pg0 := serverCPU(ctx, b, v.env.DB.Bun)
			cpu0 := processCPU()
			var (
				mu   sync.Mutex
				next int
			)
			b.RunParallel(func(pb *testing.PB) {
				var (
					rctx fasthttp.RequestCtx
					req  fasthttp.Request
				)
				mu.Lock()
				c.reqs[next%len(c.reqs)].CopyTo(&req)
				next++
				mu.Unlock()
				addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
				setTime := requestTimeSetter(b, &rctx)
				for pb.Next() {
					rctx.Init(&req, addr, nil)
					setTime(time.Now())
					c.h(&rctx)
					if rctx.Response.StatusCode() != 200 || !bytes.Contains(rctx.Response.Body(), []byte(`"status":true`)) {
						b.Errorf("%s: %d %s", c.name, rctx.Response.StatusCode(), rctx.Response.Body())
						return
					}
				}
			})
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			if pg0 != nil {
				b.ReportMetric(float64(cpuSince(pg0, serverCPU(ctx, b, v.env.DB.Bun)))/float64(b.N), "pg-cpu-ns/op")
			}
		})
	}
}

// codeRequests adds n licenses of the bench product, each with an
// activation from benchHost by a client of its own, and returns a verify by
// code of each in the modern form and in the legacy one.
func (v *verifyEnv) codeRequests(b *testing.B, n int) (modern, legacy []*fasthttp.Request) {
	ctx := context.Background()
	if _, err := v.env.DB.Bun.ExecContext(ctx, `INSERT INTO licenses (product_id, license_code)
		SELECT p.id, 'BENCH-CODE-' || i FROM products AS p, generate_series(1, ?) AS i WHERE p.reference_id = 'BENCH'
		ON CONFLICT DO NOTHING`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := v.env.DB.Bun.ExecContext(ctx, `INSERT INTO activations (license_id, product_id, license_code, client_name, url, domain, ip)
		SELECT l.id, l.product_id, l.license_code, 'client-' || substr(l.license_code, 12), ?, 'bench.example.com', '127.0.0.1'
		FROM licenses AS l WHERE l.license_code LIKE 'BENCH-CODE-%'
		AND NOT EXISTS (SELECT FROM activations AS a WHERE a.license_id = l.id)`, benchHost); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		body, _ := json.Marshal(map[string]string{"product_id": "BENCH", "license_code": fmt.Sprintf("BENCH-CODE-%d", i), "client_name": fmt.Sprintf("client-%d", i)})
		modern = append(modern, v.newRequest("/api/external/license/verify", body))
		r := v.newRequest("/api/verify_license", body)
		r.Header.Del("X-API-KEY")
		r.Header.Del("X-API-URL")
		r.Header.Set("LB-API-KEY", v.key)
		r.Header.Set("LB-URL", benchHost)
		legacy = append(legacy, r)
	}
	return modern, legacy
}

// requestTimeSetter returns a function setting ctx's request time
// (fasthttp.RequestCtx.Time), as fasthttp's server does before it hands
// each request to the app, reading the clock once; the app's middleware
// and the pipeline use that reading (web.RequestTime) instead of their
// own. RequestCtx has no setter, so the unexported field is written.
func requestTimeSetter(b *testing.B, ctx *fasthttp.RequestCtx) func(time.Time) {
	f := reflect.ValueOf(ctx).Elem().FieldByName("time")
	if !f.IsValid() || f.Type() != reflect.TypeFor[time.Time]() {
		b.Fatal("fasthttp.RequestCtx has no time field any more: update requestTimeSetter")
	}
	p := (*time.Time)(unsafe.Pointer(f.UnsafeAddr()))
	return func(t time.Time) { *p = t }
}

// processCPU is this process's user and system CPU time: every goroutine
// of the node, its garbage collection included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bareHandler is bench/load's bare endpoint as a handler.
func bareHandler() fasthttp.RequestHandler {
	type request struct {
		ProductID   string `json:"product_id"`
		LicenseData string `json:"license_data"`
		LicenseFile string `json:"license_file"`
		LicenseCode string `json:"license_code"`
		ClientName  string `json:"client_name"`
	}
	type response struct {
		Status   bool    `json:"status"`
		IsActive bool    `json:"is_active"`
		Message  string  `json:"message"`
		Data     *string `json:"data"`
	}
	app := fiber.New()
	app.Post("/verify", func(c fiber.Ctx) error {
		var req request
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
		return c.JSON(response{Status: true, IsActive: true, Message: "Verified."})
	})
	return app.Handler()
}
