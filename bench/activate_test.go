package bench_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/valyala/fasthttp"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
)

// Licenses and active activations per license of BenchmarkActivatePath:
// bench/load's proportions (1,000,000 activations over 1,000 licenses).
const (
	activateLicenses      = 20
	activationsPerLicense = 1000
)

// activateFixture is the statements that make BenchmarkActivatePath's
// product and licenses, each with its active activations.
func activateFixture() []string {
	return []string{
		`INSERT INTO products (name, reference_id) VALUES ('Bench', 'BENCH')`,
		fmt.Sprintf(`INSERT INTO licenses (product_id, license_code)
			SELECT p.id, 'BENCH-' || g FROM products AS p, generate_series(0, %d) AS g`, activateLicenses-1),
		fmt.Sprintf(`INSERT INTO activations (license_id, product_id, license_code, client_name, url, domain, ip)
			SELECT l.id, l.product_id, l.license_code, 'filler', 'https://filler-' || g || '.example.com', 'filler-' || g || '.example.com', '127.0.0.1'
			FROM licenses AS l, generate_series(1, %d) AS g`, activationsPerLicense),
		"ANALYZE",
	}
}

// BenchmarkActivatePath runs activate through a whole app's handler on one
// goroutine, round-robin over licenses that each have a thousand active
// activations, a new host per call, as bench/load's activate phase does.
// Besides this process's CPU per call (cpu-ns/op) it reports the CPU the
// database's server processes spent on it (pg-cpu-ns/op, when PostgreSQL
// runs on this machine): activate's cost must not grow with a license's
// activations.
//
//	go test -run '^$' -bench ActivatePath -benchmem -cpu 1 ./bench/
func BenchmarkActivatePath(b *testing.B) {
	e := servertest.New(b)
	ctx := context.Background()
	key, _, err := apikeys.Create(ctx, e.DB.Bun, apikeys.CreateParams{Name: "bench", Type: apikeys.TypeExternal, Special: true}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range activateFixture() {
		if _, err := e.DB.Bun.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := e.NewAppWith(b, func(d *server.Deps) { d.Logger = quiet }).Handler()

	reqs := make([]*fasthttp.Request, activateLicenses)
	for i := range reqs {
		req := new(fasthttp.Request)
		req.Header.SetMethod("POST")
		req.SetRequestURI("/api/external/license/activate")
		req.Header.SetHost("licensor.test")
		req.Header.SetContentType("application/json")
		req.Header.Set("X-API-KEY", key)
		req.SetBody([]byte(`{"product_id":"BENCH","license_code":"BENCH-` + strconv.Itoa(i) + `"}`))
		reqs[i] = req
	}
	var ctxh fasthttp.RequestCtx
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	n := 0
	activate := func() {
		req := reqs[n%len(reqs)]
		req.Header.Set("X-API-URL", "https://host-"+strconv.Itoa(n)+".example.com")
		n++
		ctxh.Init(req, addr, nil)
		h(&ctxh)
		if ctxh.Response.StatusCode() != 200 || !bytes.Contains(ctxh.Response.Body(), []byte(`"status":true`)) {
			b.Fatalf("activate: %d %s", ctxh.Response.StatusCode(), ctxh.Response.Body())
		}
	}
	// Every pooled connection prepares its statements before measuring.
	for range 50 {
		activate()
	}

	b.ReportAllocs()
	pg0 := serverCPU(ctx, b, e.DB.Bun)
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		activate()
	}
	b.StopTimer()
	ops := float64(b.N)
	b.ReportMetric(float64(processCPU()-cpu0)/ops, "cpu-ns/op")
	if pg0 != nil {
		b.ReportMetric(float64(cpuSince(pg0, serverCPU(ctx, b, e.DB.Bun)))/ops, "pg-cpu-ns/op")
	}
}

// serverCPU is the user and system CPU time of each PostgreSQL process
// serving this database, by pid, read from /proc: nil when they are not
// on this machine.
func serverCPU(ctx context.Context, b *testing.B, idb bun.IDB) map[int]time.Duration {
	b.Helper()
	rows, err := idb.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, fs.ErrNotExist) {
			continue // ended meanwhile
		}
		if err != nil {
			return nil
		}
		// Fields 14 and 15 (utime, stime, in clock ticks of 10 ms), after
		// the command name in parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// cpuSince is the CPU the processes of now spent since before (a process
// new since then, all of its own).
func cpuSince(before, now map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range now {
		d += t - before[pid]
	}
	return d
}
