// Command load measures Licensor's hot paths against the limits they run
// on, in the same run: a bare Fiber endpoint in a process of its own (read
// the body, bind verify's JSON, write verify's answer: what no verify can
// avoid) and pgbench on the same PostgreSQL server. It prints verify (by
// token, cached and with the cache off; by code in the LicenseBox-era and
// modern forms) and activate in requests per second with p50/p99 latency
// and the CPU each request costs, the ratios against the bare endpoint and
// pgbench, the server's peak RSS and its start-up time on a migrated
// database. Phases run in interleaved rounds and medians are compared, so a
// busy neighbour weighs on all of them alike.
//
// It builds nothing itself: `make bench` builds bin/licensor first. Traffic
// goes to 127.0.0.1 only, is bounded by -duration, and stops by itself.
package main

import (
	"bufio"
	"cmp"
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
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
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
	client := flag.String("client", "auto", "load generator: wrk (the C generator the issue's outside check uses), go (a lean Go client), fasthttp (the one before 2026-12-07), or auto: wrk when installed, else go")
	wrkThreads := flag.Int("wrk-threads", 2, "threads of wrk (as pgbench's -j 2)")
	profileDir := flag.String("cpuprofile", "", "write a CPU profile of the server in each measured phase (after its warm-up) to this directory, named after the phase and round (go tool pprof)")
	only := flag.String("phases", "", "run only the phases whose names match this regular expression (the others print zeros), e.g. 'bare|cache off|pgbench -S'")
	downloadsMode := flag.Bool("downloads", false, "instead of the benchmark, measure update downloads: one large file's effect on the server's RSS, and verify beside concurrent downloads (make bench-downloads)")
	fileMB := flag.Int64("file-mb", 1024, "size of the release file the download measurements serve, in MB")
	downloaders := flag.Int("downloaders", 50, "concurrent downloads beside verify")
	downloadRate := flag.Int64("download-rate-kb", 0, "cap per concurrent download in KB/s (0: unthrottled)")
	rounds := flag.Int("rounds", 3, "interleaved rounds of every phase (download mode: of verify alone and beside the downloads)")
	filler := flag.Int("activations", 0, "activations added to the table before measuring (e.g. 1000000: verify's cost must not grow with it); with 0 the cache-off verify plans on a table of a few rows, and the activate phase's rows can make that plan slow before autovacuum replans them (docs/benchmarks.md)")
	startups := flag.Int("startups", 5, "times the server is started on the migrated database to time its start-up")
	startupOnly := flag.Bool("startup-only", false, "instead of the benchmark, only time -startups start-ups of the server on a migrated database (a few seconds)")
	compareBin := flag.String("compare-bin", "", "with -startup-only: another licensor binary, started alternately with -bin, so both meet the same neighbours")
	heartbeatMode := flag.Bool("heartbeats", false, "instead of the benchmark, measure verify beside a heartbeat storm (make bench-heartbeats)")
	stormActivations := flag.Int("storm-activations", 10000, "activations sending the storm's heartbeats")
	stormRate := flag.Int("heartbeat-rate", 1000, "heartbeats per second of the storm in all (0: unthrottled)")
	stormConns := flag.Int("storm-conns", 16, "connections of the storm")
	heartbeatClient := flag.String("heartbeat-client", "", "internal: be the process sending the storm's heartbeats to this base URL")
	heartbeatTokens := flag.String("heartbeat-tokens", "", "internal: the storm's hosts and tokens")
	bareServer := flag.Bool("bare-server", false, "internal: be the bare Fiber endpoint's process")
	downloadClient := flag.String("download-client", "", "internal: be the process running the concurrent downloads of this URL")
	flag.Parse()
	if *bareServer {
		if err := runBareServer(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *heartbeatClient != "" {
		if err := runStormClient(*heartbeatClient, *heartbeatTokens, max(*stormRate, 0), max(*stormConns, 1)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *downloadClient != "" {
		if err := runDownloadClient(*downloadClient, downloadOptions{downloaders: max(*downloaders, 1), rate: *downloadRate << 10}); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	runtime.GOMAXPROCS(*procs)
	gen, err := newGenerator(*client, *wrkThreads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -cpuprofile:", err)
			os.Exit(2)
		}
	}
	phaseRe, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -phases:", err)
		os.Exit(2)
	}
	o := options{gen: gen, phases: phaseRe, profileDir: *profileDir, duration: *duration, warmup: *warmup, conns: *conns, licenses: max(*licenses, 1), installs: max(*installs, 1),
		rounds: max(*rounds, 1), filler: max(*filler, 0), startups: max(*startups, 1)}
	o.installs = min(o.installs, o.licenses)
	run := run
	if *soakFor > 0 {
		run = func(serverURL, bin string, o options) error { return soak(serverURL, bin, o, *soakFor) }
	}
	if *startupOnly {
		run = func(serverURL, bin string, o options) error {
			return startupsOnly(serverURL, bin, *compareBin, o.startups)
		}
	}
	if *heartbeatMode {
		h := heartbeatOptions{activations: max(*stormActivations, 1), rate: max(*stormRate, 0), stormConns: max(*stormConns, 1), rounds: max(*rounds, 1)}
		run = func(serverURL, bin string, o options) error { return heartbeats(serverURL, bin, o, h) }
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
	// rounds of every phase, interleaved; filler activations added to the
	// table; startups of the server timed.
	rounds, filler, startups int
	// db is the benchmark's database, whose backends' CPU is measured.
	db string
	// gen sends the load phases' requests; phases selects those to run.
	gen    generator
	phases *regexp.Regexp
	// profileDir receives the servers' CPU profiles, one per phase and
	// round ("": none).
	profileDir string
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

	// Start-up on an already-migrated database, from exec to the first 200
	// of the health check.
	startups, startupCPU, err := measureStartups(bin, env, o.startups)
	if err != nil {
		return err
	}

	// With -cpuprofile each server exposes Go's profiler on a port of its
	// own, by its process id.
	pprofAddrs := map[int]string{}
	withPprof := func(env []string) ([]string, string, error) {
		if o.profileDir == "" {
			return env, "", nil
		}
		port, err := freePort()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		return append(env, "LICENSOR_PPROF_ADDR="+addr), addr, err
	}
	cachedEnv, pprofAddr, err := withPprof(env)
	if err != nil {
		return err
	}
	srv, hc, base, err := startServer(bin, cachedEnv, o.conns)
	if err != nil {
		return err
	}
	defer stopServer(srv)
	pprofAddrs[srv.Process.Pid] = pprofAddr
	api := apiClient{hc: hc}

	fmt.Fprintf(os.Stderr, "bench: setting up %d licenses and %d activations\n", o.licenses, o.installs)
	if err := api.call("/api/internal/products", internalKey, map[string]any{"name": "Bench", "reference_id": "BENCH"}, nil); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	if err := parallel(o.licenses, setupWorkers, func(i int) error {
		return api.call("/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": licenseCode(i), "parallel_uses": nil}, nil)
	}); err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	// verify: one activation of each of the first installs licenses, each
	// from its own host with its own client name, verified round-robin
	// with its own token, and by code in the LicenseBox-era form
	// (/api/verify_license, LB-* headers, license_code + client_name) and
	// the modern one.
	verifyReqs := make([]*fasthttp.Request, o.installs)
	legacyReqs := make([]*fasthttp.Request, o.installs)
	codeReqs := make([]*fasthttp.Request, o.installs)
	if err := parallel(o.installs, setupWorkers, func(i int) error {
		host := fmt.Sprintf("https://install-%d.example.com", i)
		client := fmt.Sprintf("client-%d", i)
		var act struct {
			Status bool `json:"status"`
			Data   struct {
				LicenseData string `json:"license_data"`
			} `json:"data"`
		}
		if err := api.call("/api/external/license/activate", externalKey, map[string]any{"product_id": "BENCH", "license_code": licenseCode(i), "client_name": client}, &act, "X-API-URL", host); err != nil || !act.Status {
			return fmt.Errorf("activate for verify: %v (status %v)", err, act.Status)
		}
		body, err := json.Marshal(map[string]any{"product_id": "BENCH", "license_data": act.Data.LicenseData})
		verifyReqs[i] = newRequest(base+"/api/external/license/verify", externalKey, body, host)
		byCode, _ := json.Marshal(map[string]any{"product_id": "BENCH", "license_code": licenseCode(i), "client_name": client})
		codeReqs[i] = newRequest(base+"/api/external/license/verify", externalKey, byCode, host)
		legacyReqs[i] = newLegacyRequest(base+"/api/verify_license", externalKey, byCode, host)
		return err
	}); err != nil {
		return err
	}
	if err := seedActivations(dsn, o.licenses, o.filler); err != nil {
		return err
	}
	// activate: license i mod licenses from a new host each time (request
	// i's number in its host), never one an earlier round used.
	activateReqs := make([]*fasthttp.Request, o.licenses)
	for i := range activateReqs {
		activateReqs[i] = newRequest(base+"/api/external/license/activate", externalKey,
			[]byte(`{"product_id":"BENCH","license_code":"`+licenseCode(i)+`"}`), "https://host-"+seqMarker+".example.com")
	}

	// The same verifications on a node whose activation cache is off:
	// every verify reads the database, as for installations that verify
	// rarely (the cache holds those that verify often).
	uncachedEnv, pprofAddr, err := withPprof(append(env, "LICENSOR_API_VERIFY_CACHE_SIZE=0"))
	if err != nil {
		return err
	}
	uncachedSrv, uncachedHC, uncachedBase, err := startServer(bin, uncachedEnv, o.conns)
	if err != nil {
		return fmt.Errorf("start the cache-off server: %w", err)
	}
	defer stopServer(uncachedSrv)
	pprofAddrs[uncachedSrv.Process.Pid] = pprofAddr
	uncachedReqs := moveRequests(verifyReqs, base, uncachedBase)
	// A heartbeat storm: every installation's heartbeat (its token) at
	// once, as after a network outage (docs/api/external.md).
	heartbeatReqs := make([]*fasthttp.Request, len(verifyReqs))
	for i, r := range verifyReqs {
		heartbeatReqs[i] = new(fasthttp.Request)
		r.CopyTo(heartbeatReqs[i])
		heartbeatReqs[i].SetRequestURI(base + "/api/external/license/heartbeat")
	}

	bare, bareHC, bareBase, err := startBareServer(o.conns)
	if err != nil {
		return err
	}
	defer stopBareServer(bare)
	bareReqs := make([]*fasthttp.Request, len(verifyReqs))
	for i, r := range verifyReqs {
		bareReqs[i] = newRequest(bareBase+"/verify", externalKey, r.Body(), "")
	}

	pgb, err := newPgbench(ctx, serverURL)
	if err != nil {
		return err
	}
	defer pgb.close()

	// Interleaved rounds: every phase once per round, so a neighbour's load
	// on this shared machine weighs on all of them alike; medians compared.
	type phase struct {
		name string
		run  func() result
	}
	// gen is o.gen's run, profiling the server when asked.
	round := 0
	gen := func(name, addr string, pid int, t *traffic) result {
		if pprofAddrs[pid] == "" {
			return o.gen.run(addr, pid, o, t)
		}
		file := filepath.Join(o.profileDir, fmt.Sprintf("%s-round%d.pprof", strings.NewReplacer(" ", "-", ",", "", "(", "", ")", "").Replace(name), round))
		done := profileServer(pprofAddrs[pid], o.warmup, o.duration, file)
		defer func() {
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "bench: profile:", err)
			}
		}()
		return o.gen.run(addr, pid, o, t)
	}
	// Each phase's requests in their wire form, for the load generator.
	var wireErr error
	wire := func(reqs []*fasthttp.Request) *traffic {
		t, err := newTraffic(reqs)
		wireErr = cmp.Or(wireErr, err)
		return t
	}
	bareT, verifyT, uncachedT, legacyT, codeT, heartbeatT, activateT := wire(bareReqs), wire(verifyReqs), wire(uncachedReqs),
		wire(legacyReqs), wire(codeReqs), wire(heartbeatReqs), wire(activateReqs)
	if wireErr != nil {
		return wireErr
	}
	bareAddr, addr, uncachedAddr := bareHC.Addr, hc.Addr, uncachedHC.Addr
	pid := srv.Process.Pid
	phases := []phase{
		{"bare Fiber endpoint", func() result { return o.gen.run(bareAddr, bare.Process.Pid, o, bareT) }},
		{"verify (cached)", func() result { return gen("verify (cached)", addr, pid, verifyT) }},
		// The same verifications answered unsigned (sign_api_responses off
		// for the phase): what signing every answer costs.
		{"verify, unsigned", func() result {
			if err := signAnswers(dsn, hc, verifyReqs[0], false); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				return result{}
			}
			defer func() {
				if err := signAnswers(dsn, hc, verifyReqs[0], true); err != nil {
					fmt.Fprintln(os.Stderr, "bench:", err)
				}
			}()
			return gen("verify, unsigned", addr, pid, verifyT)
		}},
		{"verify, cache off", func() result { return gen("verify, cache off", uncachedAddr, uncachedSrv.Process.Pid, uncachedT) }},
		{"verify by code, legacy", func() result { return gen("verify by code, legacy", addr, pid, legacyT) }},
		{"verify by code, modern", func() result { return gen("verify by code, modern", addr, pid, codeT) }},
		{"heartbeat storm", func() result { return gen("heartbeat storm", addr, pid, heartbeatT) }},
		{"activate", func() result { return gen("activate", addr, pid, activateT) }},
		{"pgbench -S -M prepared", func() result { return pgb.run(ctx, o, "-S", "-M", "prepared") }},
		{"pgbench (default TPC-B)", func() result { return pgb.run(ctx, o) }},
	}
	// Answers are signed by default: the cached verify phase measures that.
	if err := signAnswers(dsn, hc, verifyReqs[0], true); err != nil {
		return err
	}
	results := make([][]result, len(phases))
	for round = range o.rounds {
		for i, p := range phases {
			if !o.phases.MatchString(p.name) {
				results[i] = append(results[i], result{})
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: round %d/%d: %s\n", round+1, o.rounds, p.name)
			r := p.run()
			results[i] = append(results[i], r)
			fmt.Fprintf(os.Stderr, "bench: round %d/%d: %s: %.0f/s, CPU per op %.1f / %.1f / %.1f µs (server / client / PostgreSQL), machine %.0f%% busy\n",
				round+1, o.rounds, p.name, r.rps, r.serverCPU, r.clientCPU, r.dbCPU, r.busy*100)
		}
	}
	peakRSS := readPeakRSS(pid)
	med := make([]result, len(phases))
	for i := range phases {
		med[i] = medianResult(results[i])
	}
	bareR, verify, unsigned, uncached, legacy, code, heartbeat, activate, sel, def := med[0], med[1], med[2], med[3], med[4], med[5], med[6], med[7], med[8], med[9]

	fmt.Printf("\nLicensor hot paths beside a bare Fiber endpoint and pgbench on the same server\n")
	fmt.Printf("%d connections, %d interleaved rounds of %s per phase after %s warm-up, medians; %d cores, load average %s at the start\n",
		o.conns, o.rounds, o.duration, o.warmup, runtime.NumCPU(), loadAverage())
	fmt.Printf("verify: %d activations round-robin (by token; by code in the legacy and modern forms), %d activations in the table; activate: %d licenses round-robin, a new host per request\n",
		o.installs, o.installs+o.filler, o.licenses)
	fmt.Printf("load generator: %s; pgbench -j 2\n\n", o.gen.describe())
	fmt.Printf("%-26s %10s %9s %9s %7s %16s %14s %16s %6s\n", "", "per second", "p50", "p99", "errors", "server CPU/op", "client CPU/op", "postgres CPU/op", "busy")
	for i, p := range phases {
		r := med[i]
		if r.p50 == 0 { // pgbench: no latencies
			fmt.Printf("%-26s %10.0f %9s %9s %7s %16s %12.0fµs %14.0fµs %5.0f%%\n", p.name, r.rps, "", "", "", "", r.clientCPU, r.dbCPU, r.busy*100)
			continue
		}
		fmt.Printf("%-26s %10.0f %9s %9s %7d %14.0fµs %12.0fµs %14.0fµs %5.0f%%\n", p.name, r.rps, r.p50, r.p99, r.errors, r.serverCPU, r.clientCPU, r.dbCPU, r.busy*100)
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	fmt.Printf("\ncached verify / bare Fiber:      %.2f  (target >= 0.80); p50 %.2f×, p99 %.2f× the bare endpoint's (target p99 <= 1.50×)\n",
		ratio(verify.rps, bareR.rps), ratio(float64(verify.p50), float64(bareR.p50)), ratio(float64(verify.p99), float64(bareR.p99)))
	fmt.Printf("signed verify / unsigned:        %.2f  (target >= 0.80); server CPU/op %.0fµs signed, %.0fµs unsigned\n",
		ratio(verify.rps, unsigned.rps), verify.serverCPU, unsigned.serverCPU)
	fmt.Printf("cached verify / pgbench -S:      %.2f\n", ratio(verify.rps, sel.rps))
	fmt.Printf("verify, cache off / pgbench -S:  %.2f  (target >= 0.80)\n", ratio(uncached.rps, sel.rps))
	fmt.Printf("legacy verify by code / cache off: %.2f  (target >= 0.80); modern code form %.2f\n", ratio(legacy.rps, uncached.rps), ratio(code.rps, uncached.rps))
	fmt.Printf("heartbeat storm / cached verify: %.2f; p99 %s\n", ratio(heartbeat.rps, verify.rps), heartbeat.p99)
	fmt.Printf("activate / pgbench default:      %.2f  (target >= 0.95)\n", ratio(activate.rps, def.rps))
	fmt.Printf("server peak RSS:                 %.1f MB (target < 100 MB)\n", float64(peakRSS)/1024)
	fmt.Printf("start-up to a ready health check on a migrated database: median %s of %d (target < 150ms), %s of the server's CPU: %v\n",
		medianDuration(startups), len(startups), medianDuration(startupCPU), startups)
	// On a busy machine the throughputs above measure the neighbours too;
	// the CPU each operation costs (server, client and PostgreSQL) does
	// not, and on an idle machine the ratios of throughput follow it.
	cost := func(r result) float64 { return r.serverCPU + r.clientCPU + r.dbCPU }
	fmt.Printf("\nsame ratios from the CPU each operation costs the machine (steadier on a busy machine):\n")
	fmt.Printf("  verify / bare %.2f, signed / unsigned %.2f, cache off / pgbench -S %.2f, legacy / cache off %.2f, activate / pgbench %.2f\n",
		ratio(cost(bareR), cost(verify)), ratio(cost(unsigned), cost(verify)), ratio(cost(sel), cost(uncached)), ratio(cost(uncached), cost(legacy)), ratio(cost(def), cost(activate)))
	return nil
}

// signAnswers turns the setting sign_api_responses on or off (as the
// console does, through the settings table and its NOTIFY) and waits until
// the server answers probe accordingly, signed or not.
func signAnswers(dsn string, hc *fasthttp.HostClient, probe *fasthttp.Request, on bool) error {
	d, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if _, err := d.Exec(`INSERT INTO settings (key, value) VALUES ('sign_api_responses', $1::jsonb)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, strconv.FormatBool(on)); err != nil {
		return fmt.Errorf("set sign_api_responses: %w", err)
	}
	req, resp := new(fasthttp.Request), new(fasthttp.Response)
	probe.CopyTo(req)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if err := hc.Do(req, resp); err != nil {
			return err
		}
		if signed := len(resp.Header.Peek("Licensor-Signature")) > 0; signed == on {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the server did not take sign_api_responses=%v within 10 s", on)
}

// moveRequests copies reqs to another server's base URL.
func moveRequests(reqs []*fasthttp.Request, from, to string) []*fasthttp.Request {
	moved := make([]*fasthttp.Request, len(reqs))
	for i, r := range reqs {
		moved[i] = new(fasthttp.Request)
		r.CopyTo(moved[i])
		moved[i].SetRequestURI(strings.Replace(string(r.RequestURI()), from, to, 1))
		moved[i].SetHost(strings.TrimPrefix(to, "http://"))
	}
	return moved
}

// seedActivations adds filler activations of the bench product, spread
// over its licenses from hosts of their own (as a database with many
// installations has), then refreshes the planner's statistics as a
// deployment's would be: benchmarks measure the plans production gets.
func seedActivations(dsn string, licenses, n int) error {
	d, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if n > 0 {
		fmt.Fprintf(os.Stderr, "bench: adding %d activations\n", n)
		if _, err := d.Exec(`INSERT INTO activations (license_id, product_id, license_code, client_name, url, domain, ip)
			SELECT l.id, l.product_id, l.license_code, 'filler', 'https://filler-' || g || '.example.com', 'filler-' || g || '.example.com', '127.0.0.1'
			FROM generate_series(1, $1::int) AS g
			JOIN licenses AS l ON l.license_code = 'BENCH-' || lpad((g % $2::int)::text, 5, '0')`, n, licenses); err != nil {
			return fmt.Errorf("add activations: %w", err)
		}
	}
	_, err = d.Exec("ANALYZE")
	return err
}

// measureStartups starts the server n times on the migrated database and
// returns how long each took from exec to its first 200 health check, and
// the CPU time the server had used by then (on a busy machine the wall
// time measures the neighbours too).
func measureStartups(bin string, env []string, n int) (wall, cpu []time.Duration, err error) {
	var out []time.Duration
	for range n {
		port, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		srv := exec.Command(bin, "serve")
		srv.Env = append(env, "LICENSOR_HTTP_ADDR="+addr, "LICENSOR_BASE_URL=http://"+addr)
		srv.Stdout, srv.Stderr = io.Discard, os.Stderr
		hc := &fasthttp.HostClient{Addr: addr}
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addr + "/api/health-check")
		t0 := time.Now()
		if err := srv.Start(); err != nil {
			return nil, nil, err
		}
		for {
			if err := hc.DoTimeout(req, resp, time.Second); err == nil && resp.StatusCode() == 200 {
				out = append(out, time.Since(t0).Round(time.Millisecond))
				cpu = append(cpu, processCPU(srv.Process.Pid).busy)
				break
			}
			if time.Since(t0) > 30*time.Second {
				stopServer(srv)
				return nil, nil, errors.New("server did not become healthy")
			}
			time.Sleep(time.Millisecond)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		stopServer(srv)
	}
	return out, cpu, nil
}

// startupsOnly times n start-ups of bin, alternating with compare's when
// given, on a database migrated by bin.
func startupsOnly(serverURL, bin, compare string, n int) error {
	dbName := "licensor_bench_" + randHex(4)
	dsn, err := createDatabase(serverURL, dbName)
	if err != nil {
		return err
	}
	defer dropDatabase(serverURL, dbName)
	env := append(os.Environ(), "LICENSOR_DATABASE_URL="+dsn, "LICENSOR_LOG_LEVEL=warn", "LICENSOR_DATA_DIR="+os.TempDir()+"/"+dbName)
	if _, _, err := prepareDatabase(env, bin, "bench"); err != nil {
		return err
	}
	bins := []string{bin}
	if compare != "" {
		bins = append(bins, compare)
	}
	times, cpus := make([][]time.Duration, len(bins)), make([][]time.Duration, len(bins))
	for range n {
		for i, b := range bins {
			t, c, err := measureStartups(b, env, 1)
			if err != nil {
				return fmt.Errorf("%s: %w", b, err)
			}
			times[i], cpus[i] = append(times[i], t...), append(cpus[i], c...)
		}
	}
	for i, b := range bins {
		fmt.Printf("%s: start-up to a ready health check: median %s, fastest %s of %d (target < 150ms); server CPU median %s: %v\n",
			b, medianDuration(times[i]), slices.Min(times[i]), n, medianDuration(cpus[i]), times[i])
	}
	return nil
}

func medianDuration(ds []time.Duration) time.Duration {
	v := make([]float64, len(ds))
	for i, d := range ds {
		v[i] = float64(d)
	}
	return time.Duration(medianOf(v)).Round(time.Millisecond)
}

// medianResult is the median of each figure of rs.
func medianResult(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	var errs int64
	for _, r := range rs {
		errs += r.errors
	}
	return result{
		rps:       pick(func(r result) float64 { return r.rps }),
		p50:       time.Duration(pick(func(r result) float64 { return float64(r.p50) })).Round(10 * time.Microsecond),
		p99:       time.Duration(pick(func(r result) float64 { return float64(r.p99) })).Round(10 * time.Microsecond),
		errors:    errs,
		serverCPU: pick(func(r result) float64 { return r.serverCPU }),
		clientCPU: pick(func(r result) float64 { return r.clientCPU }),
		dbCPU:     pick(func(r result) float64 { return r.dbCPU }),
		busy:      pick(func(r result) float64 { return r.busy }),
	}
}

// loadAverage is the machine's 1-minute load average.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(raw))[0]
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
	hc := newHostClient(addr, conns)
	if err := waitHealthy(apiClient{hc: hc}, 60*time.Second); err != nil {
		stopServer(srv)
		return nil, nil, "", err
	}
	return srv, hc, base, nil
}

func stopServer(srv *exec.Cmd) { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }

func licenseCode(i int) string { return fmt.Sprintf("BENCH-%05d", i) }

// newLegacyRequest builds a request of a LicenseBox-era client: its path
// and LB-* headers.
func newLegacyRequest(uri, key string, body []byte, apiURL string) *fasthttp.Request {
	req := newRequest(uri, "", body, "")
	req.Header.Del("X-API-KEY")
	req.Header.Set("LB-API-KEY", key)
	req.Header.Set("LB-URL", apiURL)
	return req
}

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

// setupWorkers make a benchmark's licenses and activations at once.
const setupWorkers = 8

// newHostClient is a client of the server at addr for the set-up's calls
// and the probes, with room for setupWorkers calls at once however few
// connections (-conns) the phases use.
func newHostClient(addr string, conns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: addr, MaxConns: max(conns, setupWorkers) * 2, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
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

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchDB is a scratch database on the same server, initialised once,
// on which the pgbench phases run.
type pgbenchDB struct {
	serverURL, name, dsn string
}

func newPgbench(ctx context.Context, serverURL string) (*pgbenchDB, error) {
	p := &pgbenchDB{serverURL: serverURL, name: "licensor_pgbench_" + randHex(4)}
	dsn, err := createDatabase(serverURL, p.name)
	if err != nil {
		return nil, err
	}
	p.dsn = dsn
	if out, err := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", "10", dsn).CombinedOutput(); err != nil {
		p.close()
		return nil, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	return p, nil
}

func (p *pgbenchDB) close() { dropDatabase(p.serverURL, p.name) }

// run runs pgbench with args for o.duration; its tps is the result's rps,
// its own CPU the client's and its backends' the database's, per
// transaction. A failure is reported and counts as 0 tps.
func (p *pgbenchDB) run(ctx context.Context, o options, args ...string) result {
	var r result
	secs := strconv.Itoa(max(1, int(o.duration.Seconds())))
	cmd := exec.CommandContext(ctx, "pgbench", append(args, "-c", strconv.Itoa(o.conns), "-j", "2", "-T", secs, p.dsn)...)
	before, db := machineCPU(), trackDBCPU(p.name)
	out, err := cmd.CombinedOutput()
	after, dbBusy := machineCPU(), db.stop()
	m := tpsRe.FindSubmatch(out)
	if err != nil || m == nil {
		fmt.Fprintf(os.Stderr, "bench: pgbench %v: %v\n%s", args, err, out)
		return r
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if tx := r.rps * o.duration.Seconds(); tx > 0 {
		r.clientCPU = float64(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()) / tx / float64(time.Microsecond)
		r.dbCPU = float64(dbBusy) / tx / float64(time.Microsecond)
	}
	if total := after.total - before.total; total > 0 {
		r.busy = float64(after.busy-before.busy) / float64(total)
	}
	return r
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

// prepareDatabase migrates the database env points at, starts the server
// on it once and creates a special internal and external key named name,
// returning both.
//
// The first start is an operator's set-up, not a start-up: it creates the
// first admin (an argon2id hash) and the signing key, and its backends are
// the first to read the catalog the migrations changed. The start-ups timed
// afterwards are of a database set up already, as #23's target has them.
func prepareDatabase(env []string, bin, name string) (internalKey, externalKey string, err error) {
	if out, err := command(env, bin, "migrate"); err != nil {
		return "", "", fmt.Errorf("migrate: %v\n%s", err, out)
	}
	if _, _, err := measureStartups(bin, env, 1); err != nil {
		return "", "", fmt.Errorf("first start: %w", err)
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

// profileServer fetches a CPU profile of duration from the profiler at
// addr once warmup has passed, into file; the channel gets its error.
func profileServer(addr string, warmup, duration time.Duration, file string) <-chan error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(warmup)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(duration.Seconds()))))
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("GET %s: %s", resp.Request.URL, resp.Status)
			return
		}
		f, err := os.Create(file)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = cmp.Or(err, f.Close())
		}
		done <- err
	}()
	return done
}
