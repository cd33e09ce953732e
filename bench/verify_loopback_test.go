package bench_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/licensor/licensor/app/server"
)

// BenchmarkVerifyLoopback is the cached verify over a real connection:
// the app served on a listener on 127.0.0.1 by fasthttp's server, as
// serve runs it (the body streamed, StreamRequestBody, which
// BenchmarkVerifyPath's in-process calls skip: they hand the app a body
// already read), and fasthttp's client in the same process keeping its
// connections alive, from about 32 callers at once. allocs/op, B/op and
// cpu-ns/op count the whole process: a verify and its client, each
// request's and response's bytes crossing loopback TCP. The app logs at
// warn, as bench/load runs the server.
//
//	go test -run '^$' -bench VerifyLoopback -benchmem ./bench/
func BenchmarkVerifyLoopback(b *testing.B) {
	v := newVerifyEnv(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := v.env.NewAppWith(b, func(d *server.Deps) { d.Logger = quiet })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()

	const callers = 32
	client := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: callers}
	b.Cleanup(func() {
		client.CloseIdleConnections()
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			b.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			b.Errorf("serve: %v", err)
		}
	})
	// Each caller's request and response, and its connection, are made
	// before the timer starts: the first calls open the connections and
	// fill the cache, so what is measured is a cached verify on a
	// connection kept alive, as an installation's client makes it.
	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	parallelism := (callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	type call struct {
		req  fasthttp.Request
		resp fasthttp.Response
	}
	calls := make(chan *call, parallelism*runtime.GOMAXPROCS(0))
	tmpl := v.newRequest("/api/external/license/verify", v.body)
	for range cap(calls) {
		c := new(call)
		tmpl.CopyTo(&c.req)
		calls <- c
	}
	do := func(c *call) error {
		if err := client.Do(&c.req, &c.resp); err != nil {
			return err
		}
		if c.resp.StatusCode() != 200 || !bytes.Contains(c.resp.Body(), []byte(`"status":true`)) {
			return fmt.Errorf("verify: %d %s", c.resp.StatusCode(), c.resp.Body())
		}
		return nil
	}
	warm := make(chan error, cap(calls))
	for range cap(calls) {
		c := <-calls
		go func() {
			defer func() { calls <- c }()
			for range 3 {
				if err := do(c); err != nil {
					warm <- err
					return
				}
			}
			warm <- nil
		}()
	}
	for range cap(calls) {
		if err := <-warm; err != nil {
			b.Fatal(err)
		}
	}

	b.SetParallelism(parallelism)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := <-calls
		for pb.Next() {
			if err := do(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// On a shared machine the wall time per call measures the neighbours
	// too; the process's CPU time per call (server and client) does not.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
