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
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	serverURL := flag.String("db", envOr("LICENSOR_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server (maintenance database URL)")
	bin := flag.String("bin", "bin/licensor", "licensor binary")
	duration := flag.Duration("duration", 10*time.Second, "length of each load phase")
	conns := flag.Int("conns", 32, "concurrent connections")
	flag.Parse()
	if err := run(*serverURL, *bin, *duration, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(serverURL, bin string, duration time.Duration, conns int) error {
	ctx := context.Background()
	dbName := "licensor_bench_" + randHex(4)
	dsn, err := createDatabase(serverURL, dbName)
	if err != nil {
		return err
	}
	defer dropDatabase(serverURL, dbName)

	env := append(os.Environ(), "LICENSOR_DATABASE_URL="+dsn, "LICENSOR_LOG_LEVEL=warn", "LICENSOR_DATA_DIR="+os.TempDir()+"/"+dbName)
	if out, err := command(env, bin, "migrate"); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	internalKey, err := lastLine(command(env, bin, "apikey", "create", "--type", "internal", "--name", "bench", "--special"))
	if err != nil {
		return err
	}
	externalKey, err := lastLine(command(env, bin, "apikey", "create", "--type", "external", "--name", "bench", "--special"))
	if err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	srv := exec.Command(bin, "serve")
	srv.Env = append(env, fmt.Sprintf("LICENSOR_HTTP_ADDR=127.0.0.1:%d", port), "LICENSOR_BASE_URL="+base)
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()
	if err := waitHealthy(base, 60*time.Second); err != nil {
		return err
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2}, Timeout: 10 * time.Second}
	api := apiClient{base: base, client: client}
	if err := api.call("POST", "/api/internal/products", internalKey, map[string]any{"name": "Bench", "reference_id": "BENCH"}, nil); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	if err := api.call("POST", "/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": "BENCH-VERIFY", "parallel_uses": nil}, nil); err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	if err := api.call("POST", "/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": "BENCH-ACTIVATE", "parallel_uses": nil}, nil); err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	var act struct {
		Status bool `json:"status"`
		Data   struct {
			LicenseData string `json:"license_data"`
		} `json:"data"`
	}
	if err := api.call("POST", "/api/external/license/activate", externalKey, map[string]any{"product_id": "BENCH", "license_code": "BENCH-VERIFY"}, &act, "X-API-URL", "https://bench.example.com"); err != nil || !act.Status {
		return fmt.Errorf("activate for verify: %v (status %v)", err, act.Status)
	}
	verifyBody, _ := json.Marshal(map[string]any{"product_id": "BENCH", "license_data": act.Data.LicenseData})

	verify := load(duration, conns, func(i int64) (*http.Request, error) {
		req, err := http.NewRequest("POST", base+"/api/external/license/verify", bytes.NewReader(verifyBody))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-KEY", externalKey)
			req.Header.Set("X-API-URL", "https://bench.example.com")
		}
		return req, err
	}, client)
	activate := load(duration, conns, func(i int64) (*http.Request, error) {
		body, _ := json.Marshal(map[string]any{"product_id": "BENCH", "license_code": "BENCH-ACTIVATE"})
		req, err := http.NewRequest("POST", base+"/api/external/license/activate", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-KEY", externalKey)
			req.Header.Set("X-API-URL", fmt.Sprintf("https://host-%d.example.com", i))
		}
		return req, err
	}, client)
	peakRSS := readPeakRSS(srv.Process.Pid)

	selectTPS, defaultTPS, err := pgbench(ctx, serverURL, duration, conns)
	if err != nil {
		return err
	}

	fmt.Printf("\nLicensor hot paths vs pgbench on the same server (%d connections, %s per phase)\n\n", conns, duration)
	fmt.Printf("%-28s %12s %10s %10s %8s\n", "", "per second", "p50", "p99", "errors")
	fmt.Printf("%-28s %12.0f %10s %10s %8d\n", "verify (HTTP)", verify.rps, verify.p50, verify.p99, verify.errors)
	fmt.Printf("%-28s %12.0f %10s %10s %8d\n", "activate (HTTP)", activate.rps, activate.p50, activate.p99, activate.errors)
	fmt.Printf("%-28s %12.0f\n", "pgbench -S -M prepared", selectTPS)
	fmt.Printf("%-28s %12.0f\n", "pgbench (default TPC-B)", defaultTPS)
	fmt.Printf("\nverify / pgbench select-only:  %.2f  (target >= 0.50, p99 < 10ms)\n", verify.rps/selectTPS)
	fmt.Printf("activate / pgbench default:    %.2f  (target >= 0.50)\n", activate.rps/defaultTPS)
	fmt.Printf("server peak RSS:               %.1f MB (target < 150 MB)\n", float64(peakRSS)/1024)
	return nil
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

// load runs conns workers sending requests for d and reports throughput and
// latency percentiles of successful (HTTP 200, status true) answers.
func load(d time.Duration, conns int, mk func(i int64) (*http.Request, error), client *http.Client) result {
	var (
		seq     atomic.Int64
		errs    atomic.Int64
		mu      sync.Mutex
		samples []time.Duration
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				req, err := mk(seq.Add(1))
				if err != nil {
					errs.Add(1)
					continue
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"status":true`)) {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	r := result{errors: errs.Load(), rps: float64(len(samples)) / elapsed.Seconds()}
	if len(samples) > 0 {
		r.p50 = samples[len(samples)/2].Round(10 * time.Microsecond)
		r.p99 = samples[len(samples)*99/100].Round(10 * time.Microsecond)
	}
	return r
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbench initialises a scratch database on the same server and runs the
// select-only (prepared) and default workloads for d each.
func pgbench(ctx context.Context, serverURL string, d time.Duration, conns int) (float64, float64, error) {
	name := "licensor_pgbench_" + randHex(4)
	dsn, err := createDatabase(serverURL, name)
	if err != nil {
		return 0, 0, err
	}
	defer dropDatabase(serverURL, name)
	if out, err := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", "10", dsn).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	secs := strconv.Itoa(int(d.Seconds()))
	tps := func(args ...string) (float64, error) {
		out, err := exec.CommandContext(ctx, "pgbench", append(args, dsn)...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("pgbench %v: %v\n%s", args, err, out)
		}
		m := tpsRe.FindSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
		}
		return strconv.ParseFloat(string(m[1]), 64)
	}
	sel, err := tps("-S", "-M", "prepared", "-c", strconv.Itoa(conns), "-j", "2", "-T", secs)
	if err != nil {
		return 0, 0, err
	}
	def, err := tps("-c", strconv.Itoa(conns), "-j", "2", "-T", secs)
	return sel, def, err
}

type apiClient struct {
	base   string
	client *http.Client
}

func (a apiClient) call(method, path, key string, body any, out any, headers ...string) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func createDatabase(serverURL, name string) (string, error) {
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
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
		admin.Close()
	}
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

func waitHealthy(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/api/health-check"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("server did not become healthy")
}

// readPeakRSS returns VmHWM (peak resident set) in KiB.
func readPeakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
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
	defer l.Close()
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
