package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// heartbeatOptions configure the heartbeat storm (make bench-heartbeats).
type heartbeatOptions struct {
	// activations send the storm's heartbeats, round-robin, rate per
	// second in all (0: as fast as stormConns connections can).
	activations, rate, stormConns int
	rounds                        int
}

// heartbeats measures verify beside a heartbeat storm
// (docs/licensing.md#heartbeats-and-automatic-release, issue 20 point 1):
// h.activations activations of a product with a 60-second heartbeat
// interval send POST /api/external/license/heartbeat at h.rate per second
// from a separate process at nice 19 (the storm's clients are remote in a
// deployment), while o.conns connections verify as the main benchmark
// does. Rounds of verify alone and beside the storm are interleaved and
// their medians compared (target: at most 20% slower). Afterwards it
// checks that the heartbeats were written (last_heartbeat_at) in batches.
func heartbeats(serverURL, bin string, o options, h heartbeatOptions) error {
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
	srv, hc, base, err := startServer(bin, env, o.conns+h.stormConns)
	if err != nil {
		return err
	}
	defer stopServer(srv)
	api := apiClient{hc: hc}
	if err := api.call("/api/internal/products", internalKey, map[string]any{"name": "Bench", "reference_id": "BENCH", "heartbeat_interval": 60}, nil); err != nil {
		return fmt.Errorf("create product: %w", err)
	}

	// Verify traffic: one activation per install, as the main benchmark.
	verifyReqs := make([]*fasthttp.Request, o.installs)
	if err := parallel(o.installs, setupWorkers, func(i int) error {
		if err := api.call("/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": licenseCode(i)}, nil); err != nil {
			return err
		}
		host := fmt.Sprintf("https://install-%d.example.com", i)
		token, err := activateToken(api, externalKey, licenseCode(i), host)
		if err != nil {
			return err
		}
		body, err := json.Marshal(map[string]any{"product_id": "BENCH", "license_data": token})
		verifyReqs[i] = newRequest(base+"/api/external/license/verify", externalKey, body, host)
		return err
	}); err != nil {
		return err
	}

	// The storm's activations: one license, each activation from a host
	// of its own; their tokens and hosts go to the storm process in a file.
	fmt.Fprintf(os.Stderr, "bench: activating %d heartbeating installations\n", h.activations)
	if err := api.call("/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": "STORM", "parallel_uses": nil}, nil); err != nil {
		return err
	}
	lines := make([]string, h.activations)
	if err := parallel(h.activations, setupWorkers, func(i int) error {
		host := fmt.Sprintf("https://storm-%d.example.com", i)
		token, err := activateToken(api, externalKey, "STORM", host)
		lines[i] = host + " " + token
		return err
	}); err != nil {
		return err
	}
	tokens, err := os.CreateTemp("", "licensor-storm-*.txt")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tokens.Name()) }()
	if _, err := tokens.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		return err
	}
	if err := tokens.Close(); err != nil {
		return err
	}

	verifyT, err := newTraffic(verifyReqs)
	if err != nil {
		return err
	}
	pid := srv.Process.Pid
	var alone, busy []result
	var beats []float64
	var failed int64
	for range h.rounds {
		alone = append(alone, o.gen.run(hc.Addr, pid, o, verifyT))
		storm, err := startStorm(base, externalKey, tokens.Name(), h)
		if err != nil {
			return err
		}
		time.Sleep(time.Second) // the storm under way
		busy = append(busy, o.gen.run(hc.Addr, pid, o, verifyT))
		rate, failures, err := storm.stop()
		if err != nil {
			return err
		}
		beats = append(beats, rate)
		failed += failures
	}
	// Every storm activation's heartbeats reached the table, in batches.
	time.Sleep(1500 * time.Millisecond)
	written, err := countWritten(dsn)
	if err != nil {
		return err
	}

	rateText := "unthrottled"
	if h.rate > 0 {
		rateText = fmt.Sprintf("%d per second in all", h.rate)
	}
	fmt.Printf("\nVerify beside a heartbeat storm through bin/licensor (%d cores, load average %s)\n\n", runtime.NumCPU(), loadAverage())
	fmt.Printf("verify with %d connections, %d rounds of %s alone then %s beside %d activations heartbeating (%s, %d connections,\n"+
		"from a separate process at nice 19); %d heartbeats failed; %d of %d storm activations have last_heartbeat_at written\n",
		o.conns, h.rounds, o.duration, o.duration, h.activations, rateText, h.stormConns, failed, written, h.activations)
	fmt.Printf("   %-7s %14s %9s %16s %9s %16s\n", "round", "alone req/s", "p99", "beside req/s", "p99", "heartbeats/s")
	for i := range alone {
		fmt.Printf("   %-7d %14.0f %9s %16.0f %9s %16.0f\n", i+1, alone[i].rps, alone[i].p99, busy[i].rps, busy[i].p99, beats[i])
	}
	medAlone, medBusy := median(alone), median(busy)
	fmt.Printf("   %-7s %14.0f %9s %16.0f %9s %16.0f\n", "median", medAlone, "", medBusy, "", medianOf(beats))
	slowdown := 0.0
	if medAlone > 0 {
		slowdown = (1 - medBusy/medAlone) * 100
	}
	fmt.Printf("   slowdown of the medians: %.1f%% (target <= 20%%)\n", slowdown)
	return nil
}

// activateToken activates code from host and returns the token.
func activateToken(api apiClient, key, code, host string) (string, error) {
	var act struct {
		Status bool `json:"status"`
		Data   struct {
			LicenseData string `json:"license_data"`
		} `json:"data"`
	}
	if err := api.call("/api/external/license/activate", key, map[string]any{"product_id": "BENCH", "license_code": code}, &act, "X-API-URL", host); err != nil || !act.Status {
		return "", fmt.Errorf("activate %s from %s: %v (status %v)", code, host, err, act.Status)
	}
	return act.Data.LicenseData, nil
}

// countWritten counts the storm license's activations whose heartbeat was
// written.
func countWritten(dsn string) (int, error) {
	d, err := sql.Open("pgx", dsn)
	if err != nil {
		return 0, err
	}
	defer func() { _ = d.Close() }()
	var n int
	if err := d.QueryRow("SELECT count(*) FROM activations WHERE license_code = 'STORM' AND last_heartbeat_at IS NOT NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("count written heartbeats: %w", err)
	}
	return n, nil
}

// stormClient is a child process (this program with -heartbeat-client)
// sending the storm's heartbeats at nice 19.
type stormClient struct {
	cmd   *exec.Cmd
	out   strings.Builder
	start time.Time
}

func startStorm(base, key, tokens string, h heartbeatOptions) (*stormClient, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &stormClient{start: time.Now()}
	c.cmd = exec.Command("nice", "-n", "19", self, "-heartbeat-client", base, "-heartbeat-tokens", tokens,
		"-heartbeat-rate", strconv.Itoa(h.rate), "-storm-conns", strconv.Itoa(h.stormConns))
	c.cmd.Env = append(os.Environ(), "BENCH_HEARTBEAT_KEY="+key)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, os.Stderr
	return c, c.cmd.Start()
}

// stop ends the storm and returns the heartbeats per second it sent and
// how many failed.
func (c *stormClient) stop() (perSecond float64, failures int64, err error) {
	_ = c.cmd.Process.Signal(os.Interrupt)
	if err := c.cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("heartbeat client: %w", err)
	}
	var sent int64
	if _, err := fmt.Sscan(c.out.String(), &sent, &failures); err != nil {
		return 0, 0, fmt.Errorf("heartbeat client said %q: %w", c.out.String(), err)
	}
	return float64(sent) / time.Since(c.start).Seconds(), failures, nil
}

// runStormClient is the -heartbeat-client process: conns connections send
// heartbeats of the tokens in file (lines "<host> <token>") round-robin,
// rate per second in all (0: unthrottled), until SIGINT; then it prints
// the heartbeats answered and the failed ones.
func runStormClient(base, file string, rate, conns int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	var reqs []*fasthttp.Request
	sc := bufio.NewScanner(io.LimitReader(f, 64<<20))
	sc.Buffer(make([]byte, 4096), 4096)
	key := os.Getenv("BENCH_HEARTBEAT_KEY")
	for sc.Scan() {
		host, token, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		body, _ := json.Marshal(map[string]any{"product_id": "BENCH", "license_data": token})
		reqs = append(reqs, newRequest(base+"/api/external/license/heartbeat", key, body, host))
	}
	_ = f.Close()
	if len(reqs) == 0 {
		return fmt.Errorf("no tokens in %s", file)
	}
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(base, "http://"), MaxConns: conns, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	var seq, sent, failures atomic.Int64
	var tick <-chan time.Time
	if rate > 0 {
		// One token per heartbeat, released in 10 ms slices.
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	budget := make(chan struct{}, max(rate, 1))
	if rate > 0 {
		go func() {
			per, carry := float64(rate)/100, 0.0
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick:
					carry += per
					for ; carry >= 1; carry-- {
						select {
						case budget <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil {
				if rate > 0 {
					select {
					case <-ctx.Done():
						return
					case <-budget:
					}
				}
				req := reqs[seq.Add(1)%int64(len(reqs))]
				if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil || resp.StatusCode() != 200 || !strings.Contains(string(resp.Body()), `"status":true`) {
					failures.Add(1)
					continue
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Println(sent.Load(), failures.Load())
	return nil
}
