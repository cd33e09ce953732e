// Command load measures Licensor's hot paths against one PostgreSQL server
// and prints them side by side with pgbench on the same server, in the same
// run: verify and activate requests per second with p50/p99 latency, the
// server's peak RSS, and pgbench select-only (prepared) and default TPS.
//
// It builds nothing itself: `make bench` builds bin/licensor first. Traffic
// goes to 127.0.0.1 only, is bounded by -duration, and stops by itself.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/valyala/fasthttp"
)

func main() {
	serverURL := flag.String("db", envOr("LICENSOR_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server (maintenance database URL)")
	bin := flag.String("bin", "bin/licensor", "licensor binary")
	duration := flag.Duration("duration", 10*time.Second, "length of each load phase")
	warmup := flag.Duration("warmup", time.Second, "unmeasured load before each phase (fills connection pools and caches)")
	conns := flag.Int("conns", 32, "concurrent connections")
	licenses := flag.Int("licenses", 1000, "licenses activate spreads over, round-robin (parallel_uses null)")
	installs := flag.Int("installs", 100, "activations verify spreads over, round-robin")
	soakFor := flag.Duration("soak", 0, "instead of the benchmark, soak two nodes with a mixed load for this long (make soak)")
	procs := flag.Int("procs", 1, "GOMAXPROCS of this load client (it shares the cores with the server and PostgreSQL)")
	downloadsMode := flag.Bool("downloads", false, "instead of the benchmark, measure update downloads: one large file's effect on the server's RSS, and verify beside concurrent downloads (make bench-downloads)")
	fileMB := flag.Int64("file-mb", 1024, "size of the release file the download measurements serve, in MB")
	downloaders := flag.Int("downloaders", 50, "concurrent downloads beside verify")
	downloadRate := flag.Int64("download-rate-kb", 0, "cap per concurrent download in KB/s (0: unthrottled)")
	rounds := flag.Int("rounds", 3, "download mode: interleaved rounds of verify alone and beside the downloads")
	downloadClient := flag.String("download-client", "", "internal: be the process running the concurrent downloads of this URL")
	flag.Parse()
	if *downloadClient != "" {
		if err := runDownloadClient(*downloadClient, downloadOptions{downloaders: max(*downloaders, 1), rate: *downloadRate << 10}); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	runtime.GOMAXPROCS(*procs)
	o := options{duration: *duration, warmup: *warmup, conns: *conns, licenses: max(*licenses, 1), installs: max(*installs, 1)}
	o.installs = min(o.installs, o.licenses)
	run := run
	if *soakFor > 0 {
		run = func(serverURL, bin string, o options) error { return soak(serverURL, bin, o, *soakFor) }
	}
	if *downloadsMode {
		d := downloadOptions{fileBytes: *fileMB << 20, downloaders: max(*downloaders, 1), rate: *downloadRate << 10, rounds: max(*rounds, 1)}
		run = func(serverURL, bin string, o options) error { return downloads(serverURL, bin, o, d) }
	}
	if err := run(*serverURL, *bin, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup          time.Duration
	conns, licenses, installs int
	// db is the benchmark's database, whose backends' CPU is measured.
	db string
}

func run(serverURL, bin string, o options) error {
	ctx := context.Background()
	dbName := "licensor_bench_" + randHex(4)
	dsn, err := createDatabase(serverURL, dbName)
	if err != nil {
		return err
	}
	defer dropDatabase(serverURL, dbName)
	o.db = dbName

	env := append(os.Environ(), "LICENSOR_DATABASE_URL="+dsn, "LICENSOR_LOG_LEVEL=warn", "LICENSOR_DATA_DIR="+os.TempDir()+"/"+dbName)
	internalKey, externalKey, err := prepareDatabase(env, bin, "bench")
	if err != nil {
		return err
	}

	srv, hc, base, err := startServer(bin, env, o.conns)
	if err != nil {
		return err
	}
	defer stopServer(srv)
	api := apiClient{hc: hc}

	fmt.Fprintf(os.Stderr, "bench: setting up %d licenses and %d activations\n", o.licenses, o.installs)
	if err := api.call("/api/internal/products", internalKey, map[string]any{"name": "Bench", "reference_id": "BENCH"}, nil); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	if err := parallel(o.licenses, 8, func(i int) error {
		return api.call("/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": licenseCode(i), "parallel_uses": nil}, nil)
	}); err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	// verify: one activation of each of the first installs licenses, each
	// from its own host, verified round-robin with its own token.
	verifyReqs := make([]*fasthttp.Request, o.installs)
	if err := parallel(o.installs, 8, func(i int) error {
		host := fmt.Sprintf("https://install-%d.example.com", i)
		var act struct {
			Status bool `json:"status"`
			Data   struct {
				LicenseData string `json:"license_data"`
			} `json:"data"`
		}
		if err := api.call("/api/external/license/activate", externalKey, map[string]any{"product_id": "BENCH", "license_code": licenseCode(i)}, &act, "X-API-URL", host); err != nil || !act.Status {
			return fmt.Errorf("activate for verify: %v (status %v)", err, act.Status)
		}
		body, err := json.Marshal(map[string]any{"product_id": "BENCH", "license_data": act.Data.LicenseData})
		verifyReqs[i] = newRequest(base+"/api/external/license/verify", externalKey, body, host)
		return err
	}); err != nil {
		return err
	}
	// activate: license i mod licenses from a new host each time; the
	// request's bodies are built here, the host header per request.
	activateBodies := make([][]byte, o.licenses)
	for i := range activateBodies {
		activateBodies[i] = []byte(`{"product_id":"BENCH","license_code":"` + licenseCode(i) + `"}`)
	}

	verifyWork := func(int) func(*fasthttp.Request, int64) *fasthttp.Request {
		return func(_ *fasthttp.Request, i int64) *fasthttp.Request { return verifyReqs[i%int64(len(verifyReqs))] }
	}
	activateWork := func(int) func(*fasthttp.Request, int64) *fasthttp.Request {
		req := newRequest(base+"/api/external/license/activate", externalKey, nil, "")
		var host []byte
		return func(_ *fasthttp.Request, i int64) *fasthttp.Request {
			req.SetBodyRaw(activateBodies[i%int64(len(activateBodies))])
			host = strconv.AppendInt(append(host[:0], "https://host-"...), i, 10)
			host = append(host, ".example.com"...)
			req.Header.SetBytesV("X-API-URL", host)
			return req
		}
	}
	verify := load(hc, srv.Process.Pid, o, verifyWork)
	activate := load(hc, srv.Process.Pid, o, activateWork)
	peakRSS := readPeakRSS(srv.Process.Pid)

	// The same verifications on a node whose activation cache is off:
	// every verify reads the database, as for installations that verify
	// rarely (the cache holds those that verify often).
	uncached, err := verifyUncached(bin, env, o, verifyReqs, base)
	if err != nil {
		return err
	}

	sel, def, err := pgbench(ctx, serverURL, o.duration, o.conns)
	if err != nil {
		return err
	}

	fmt.Printf("\nLicensor hot paths vs pgbench on the same server (%d connections, %s per phase after %s warm-up, %d cores)\n", o.conns, o.duration, o.warmup, runtime.NumCPU())
	fmt.Printf("verify: %d activations round-robin; activate: %d licenses round-robin (parallel_uses null), a new host per request\n\n", o.installs, o.licenses)
	fmt.Printf("%-26s %10s %9s %9s %7s %16s %14s %16s\n", "", "per second", "p50", "p99", "errors", "server CPU/op", "client CPU/op", "postgres CPU/op")
	row := func(name string, r result) {
		fmt.Printf("%-26s %10.0f %9s %9s %7d %14.0fµs %12.0fµs %14.0fµs\n", name, r.rps, r.p50, r.p99, r.errors, r.serverCPU, r.clientCPU, r.dbCPU)
	}
	row("verify (HTTP)", verify)
	row("verify, cache off (HTTP)", uncached)
	row("activate (HTTP)", activate)
	fmt.Printf("%-26s %10.0f %40s %12.0fµs %14.0fµs\n", "pgbench -S -M prepared", sel.tps, "", sel.clientCPU, sel.dbCPU)
	fmt.Printf("%-26s %10.0f %40s %12.0fµs %14.0fµs\n", "pgbench (default TPC-B)", def.tps, "", def.clientCPU, def.dbCPU)
	fmt.Printf("\nmachine CPU busy: verify %.0f%%, activate %.0f%%, pgbench -S %.0f%%, pgbench %.0f%%\n", verify.busy*100, activate.busy*100, sel.busy*100, def.busy*100)
	fmt.Printf("load client's share of the machine: verify %.0f%%, activate %.0f%%\n", verify.clientShare*100, activate.clientShare*100)
	fmt.Printf("\nverify / pgbench select-only:  %.2f  (target >= 0.50, p99 < 10ms)\n", verify.rps/sel.tps)
	fmt.Printf("  with the cache off:          %.2f  (every verify reads PostgreSQL)\n", uncached.rps/sel.tps)
	fmt.Printf("activate / pgbench default:    %.2f  (target >= 0.50)\n", activate.rps/def.tps)
	fmt.Printf("server peak RSS:               %.1f MB (target < 150 MB)\n", float64(peakRSS)/1024)
	// On a busy machine the throughputs above measure the neighbours too;
	// the CPU each operation costs (server, client and PostgreSQL) does
	// not, and on an idle machine the ratios of throughput follow it.
	cost := func(r result) float64 { return r.serverCPU + r.clientCPU + r.dbCPU }
	fmt.Printf("\nsame ratios from the CPU each operation costs the machine (steadier on a busy machine):\n")
	fmt.Printf("  verify %.2f, cache off %.2f, activate %.2f\n", (sel.clientCPU+sel.dbCPU)/cost(verify), (sel.clientCPU+sel.dbCPU)/cost(uncached), (def.clientCPU+def.dbCPU)/cost(activate))
	return nil
}

// startServer starts `licensor serve` with env on a free loopback port and
// waits until it answers.
func startServer(bin string, env []string, conns int) (*exec.Cmd, *fasthttp.HostClient, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	srv := exec.Command(bin, "serve")
	srv.Env = append(env, "LICENSOR_HTTP_ADDR="+addr, "LICENSOR_BASE_URL="+base)
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	if err := srv.Start(); err != nil {
		return nil, nil, "", err
	}
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: conns * 2, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	if err := waitHealthy(apiClient{hc: hc}, 60*time.Second); err != nil {
		stopServer(srv)
		return nil, nil, "", err
	}
	return srv, hc, base, nil
}

func stopServer(srv *exec.Cmd) { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }

// verifyUncached runs the verify phase again against a second server on
// the same database with api.verify_cache_size 0.
func verifyUncached(bin string, env []string, o options, reqs []*fasthttp.Request, base string) (result, error) {
	srv, hc, otherBase, err := startServer(bin, append(env, "LICENSOR_API_VERIFY_CACHE_SIZE=0"), o.conns)
	if err != nil {
		return result{}, fmt.Errorf("start the cache-off server: %w", err)
	}
	defer stopServer(srv)
	moved := make([]*fasthttp.Request, len(reqs))
	for i, r := range reqs {
		moved[i] = new(fasthttp.Request)
		r.CopyTo(moved[i])
		moved[i].SetRequestURI(strings.Replace(string(r.RequestURI()), base, otherBase, 1))
		moved[i].SetHost(strings.TrimPrefix(otherBase, "http://"))
	}
	return load(hc, srv.Process.Pid, o, func(int) func(*fasthttp.Request, int64) *fasthttp.Request {
		return func(_ *fasthttp.Request, i int64) *fasthttp.Request { return moved[i%int64(len(moved))] }
	}), nil
}

func licenseCode(i int) string { return fmt.Sprintf("BENCH-%05d", i) }

// newRequest builds a keyed API request to be sent as is, many times.
func newRequest(uri, key string, body []byte, apiURL string) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.SetRequestURI(uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-API-KEY", key)
	if apiURL != "" {
		req.Header.Set("X-API-URL", apiURL)
	}
	req.SetBodyRaw(body)
	return req
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		next  atomic.Int64
		first atomic.Pointer[error]
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && first.Load() == nil; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return *err
	}
	return nil
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
	// CPU time per successful request in µs, of the server process and
	// of this load client; busy is the machine's CPU use (all processes,
	// PostgreSQL included), clientShare this client's part of the machine.
	serverCPU, clientCPU, dbCPU float64
	busy, clientShare           float64
}

// load runs o.conns workers sending requests for o.warmup (not measured),
// then for o.duration, and reports throughput and latency percentiles of
// successful (HTTP 200, status true) answers. work(w) returns worker w's
// request maker, called with a global sequence number.
func load(hc *fasthttp.HostClient, serverPid int, o options, work func(w int) func(*fasthttp.Request, int64) *fasthttp.Request) result {
	var (
		seq       atomic.Int64
		errs      atomic.Int64
		measuring atomic.Bool
		mu        sync.Mutex
		samples   []time.Duration
		wg        sync.WaitGroup
	)
	var startCPU, startSrv, startSelf cpuTimes
	var db *dbCPU
	start := time.Now()
	measureAt := start.Add(o.warmup)
	deadline := measureAt.Add(o.duration)
	for w := range o.conns {
		mk := work(w)
		wg.Go(func() {
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			local := make([]time.Duration, 0, 8192)
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				on := measuring.Load()
				req := mk(nil, seq.Add(1))
				err := hc.DoTimeout(req, resp, 10*time.Second)
				if !on {
					continue
				}
				if err != nil || resp.StatusCode() != 200 || !bytes.Contains(resp.Body(), []byte(`"status":true`)) {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	time.Sleep(time.Until(measureAt))
	startCPU, startSrv, startSelf, db = machineCPU(), processCPU(serverPid), selfCPU(), trackDBCPU(o.db)
	t0 := time.Now()
	measuring.Store(true)
	time.Sleep(time.Until(deadline))
	elapsed := time.Since(t0)
	endCPU, endSrv, endSelf, dbBusy := machineCPU(), processCPU(serverPid), selfCPU(), db.stop()
	wg.Wait()
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	n := float64(len(samples))
	r := result{errors: errs.Load(), rps: n / elapsed.Seconds()}
	if len(samples) > 0 {
		r.p50 = samples[len(samples)/2].Round(10 * time.Microsecond)
		r.p99 = samples[len(samples)*99/100].Round(10 * time.Microsecond)
		r.serverCPU = float64(endSrv.busy-startSrv.busy) / n / float64(time.Microsecond)
		r.clientCPU = float64(endSelf.busy-startSelf.busy) / n / float64(time.Microsecond)
		r.dbCPU = float64(dbBusy) / n / float64(time.Microsecond)
	}
	if total := endCPU.total - startCPU.total; total > 0 {
		r.busy = float64(endCPU.busy-startCPU.busy) / float64(total)
		r.clientShare = float64(endSelf.busy-startSelf.busy) / float64(total)
	}
	return r
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+)`)

type pgbenchResult struct {
	tps float64
	// clientCPU is pgbench's own CPU per transaction in µs, dbCPU
	// PostgreSQL's; busy the machine's CPU use while it ran.
	clientCPU, dbCPU, busy float64
}

// pgbench initialises a scratch database on the same server and runs the
// select-only (prepared) and default workloads for d each.
func pgbench(ctx context.Context, serverURL string, d time.Duration, conns int) (sel, def pgbenchResult, err error) {
	name := "licensor_pgbench_" + randHex(4)
	dsn, err := createDatabase(serverURL, name)
	if err != nil {
		return sel, def, err
	}
	defer dropDatabase(serverURL, name)
	if out, err := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", "10", dsn).CombinedOutput(); err != nil {
		return sel, def, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	secs := strconv.Itoa(int(d.Seconds()))
	run := func(args ...string) (pgbenchResult, error) {
		var r pgbenchResult
		cmd := exec.CommandContext(ctx, "pgbench", append(args, dsn)...)
		before, db := machineCPU(), trackDBCPU(name)
		out, err := cmd.CombinedOutput()
		after, dbBusy := machineCPU(), db.stop()
		if err != nil {
			return r, fmt.Errorf("pgbench %v: %v\n%s", args, err, out)
		}
		m := tpsRe.FindSubmatch(out)
		if m == nil {
			return r, fmt.Errorf("pgbench printed no tps:\n%s", out)
		}
		if r.tps, err = strconv.ParseFloat(string(m[1]), 64); err != nil {
			return r, err
		}
		if tx := r.tps * d.Seconds(); tx > 0 {
			r.clientCPU = float64(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()) / tx / float64(time.Microsecond)
			r.dbCPU = float64(dbBusy) / tx / float64(time.Microsecond)
		}
		if total := after.total - before.total; total > 0 {
			r.busy = float64(after.busy-before.busy) / float64(total)
		}
		return r, nil
	}
	if sel, err = run("-S", "-M", "prepared", "-c", strconv.Itoa(conns), "-j", "2", "-T", secs); err != nil {
		return sel, def, err
	}
	def, err = run("-c", strconv.Itoa(conns), "-j", "2", "-T", secs)
	return sel, def, err
}

type apiClient struct {
	hc *fasthttp.HostClient
}

// call POSTs body as JSON to path and decodes the answer into out.
func (a apiClient) call(path, key string, body any, out any, headers ...string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req := newRequest("http://"+a.hc.Addr+path, key, b, "")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := a.hc.DoTimeout(req, resp, 10*time.Second); err != nil {
		return err
	}
	if resp.StatusCode() >= 300 {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode(), resp.Body())
	}
	if out != nil {
		return json.Unmarshal(resp.Body(), out)
	}
	return nil
}

func createDatabase(serverURL, name string) (string, error) {
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", err
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.Exec(fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(serverURL, name string) {
	if admin, err := sql.Open("pgx", serverURL); err == nil {
		_, _ = admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name))
		_ = admin.Close()
	}
}

// prepareDatabase migrates the database env points at and creates a
// special internal and external key named name, returning both.
func prepareDatabase(env []string, bin, name string) (internalKey, externalKey string, err error) {
	if out, err := command(env, bin, "migrate"); err != nil {
		return "", "", fmt.Errorf("migrate: %v\n%s", err, out)
	}
	if internalKey, err = lastLine(command(env, bin, "apikey", "create", "--type", "internal", "--name", name, "--special")); err != nil {
		return "", "", err
	}
	externalKey, err = lastLine(command(env, bin, "apikey", "create", "--type", "external", "--name", name, "--special"))
	return internalKey, externalKey, err
}

func command(env []string, bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

func lastLine(out []byte, err error) (string, error) {
	if err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

func waitHealthy(a apiClient, limit time.Duration) error {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + a.hc.Addr + "/api/health-check")
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := a.hc.DoTimeout(req, resp, time.Second); err == nil && resp.StatusCode() == 200 {
			return nil
		}
	}
	return errors.New("server did not become healthy")
}

// cpuTimes are busy and total CPU time.
type cpuTimes struct{ busy, total time.Duration }

// clockTick is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// machineCPU sums the machine's CPU time from /proc/stat: busy is all but
// idle and iowait.
func machineCPU() cpuTimes {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	var t cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i >= 8 { // guest times are already in user and nice
			break
		}
		d := time.Duration(n) * clockTick
		t.total += d
		if i != 3 && i != 4 {
			t.busy += d
		}
	}
	return t
}

// processCPU is the user plus system time of process pid.
func processCPU(pid int) cpuTimes {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}
	}
	// Fields after the command name, which may hold spaces, in brackets.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return cpuTimes{}
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return cpuTimes{busy: time.Duration(utime+stime) * clockTick}
}

// dbCPU measures the CPU time of PostgreSQL's backends connected to one
// database (their titles name it), sampling /proc every 100 ms so that
// backends ending with their connections (pgbench's) still count up to
// their last sample. Other databases' work on a shared server is left
// out, and so is the WAL writer's.
type dbCPU struct {
	db         string
	stopped    chan struct{}
	done       chan struct{}
	base, last map[int]time.Duration
}

func trackDBCPU(db string) *dbCPU {
	t := &dbCPU{db: db, stopped: make(chan struct{}), done: make(chan struct{}), base: map[int]time.Duration{}, last: map[int]time.Duration{}}
	t.base = backendsCPU(db)
	go func() {
		defer close(t.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for pid, busy := range backendsCPU(db) {
				t.last[pid] = busy
			}
			select {
			case <-t.stopped:
				return
			case <-tick.C:
			}
		}
	}()
	return t
}

// stop ends the sampling and returns the backends' CPU time since start.
func (t *dbCPU) stop() time.Duration {
	close(t.stopped)
	<-t.done
	var sum time.Duration
	for pid, busy := range t.last {
		sum += busy - t.base[pid]
	}
	return sum
}

// backendsCPU is the user plus system time of each backend connected to db.
func backendsCPU(db string) map[int]time.Duration {
	out := map[int]time.Duration{}
	dirs, err := os.ReadDir("/proc")
	if err != nil || db == "" {
		return out
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		title, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.HasPrefix(string(title), "postgres: ") || !strings.Contains(string(title), " "+db+" ") {
			continue
		}
		out[pid] = processCPU(pid).busy
	}
	return out
}

// selfCPU is this process's user plus system time.
func selfCPU() cpuTimes {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}
	}
	return cpuTimes{busy: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// readPeakRSS returns VmHWM (peak resident set) in KiB.
func readPeakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
