package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// downloadOptions configure the download measurements (make bench-downloads).
type downloadOptions struct {
	fileBytes   int64
	downloaders int
	rounds      int
	// rate caps each concurrent downloader in bytes per second (0: as
	// fast as it can read), as clients on real links are.
	rate int64
}

// downloads measures update downloads through the real server
// (docs/api/external.md#download, issue 8 point 7): (1) one download of a large file (sparse, made
// in the data directory) with the server's RSS sampled throughout, so its
// growth shows whether the file is streamed; (2) verify throughput alone
// and then while o.downloaders downloads of that file run at once.
func downloads(serverURL, bin string, o options, d downloadOptions) error {
	ctx := context.Background()
	dbName := "licensor_bench_" + randHex(4)
	dsn, err := createDatabase(serverURL, dbName)
	if err != nil {
		return err
	}
	defer dropDatabase(serverURL, dbName)
	dataDir, err := os.MkdirTemp("", dbName)
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dataDir) }()

	env := append(os.Environ(), "LICENSOR_DATABASE_URL="+dsn, "LICENSOR_LOG_LEVEL=warn", "LICENSOR_DATA_DIR="+dataDir)
	internalKey, externalKey, err := prepareDatabase(env, bin, "bench")
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	srv := exec.Command(bin, "serve")
	srv.Env = append(env, "LICENSOR_HTTP_ADDR="+addr, "LICENSOR_BASE_URL="+base)
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()
	pid := srv.Process.Pid
	hc := newHostClient(addr, o.conns)
	api := apiClient{hc: hc}
	if err := waitHealthy(api, 60*time.Second); err != nil {
		return err
	}

	// Verify traffic: one activation per install, as the main benchmark.
	if err := api.call("/api/internal/products", internalKey, map[string]any{"name": "Bench", "reference_id": "BENCH"}, nil); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	verifyReqs := make([]*fasthttp.Request, o.installs)
	if err := parallel(o.installs, setupWorkers, func(i int) error {
		if err := api.call("/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "BENCH", "license_code": licenseCode(i)}, nil); err != nil {
			return err
		}
		host := fmt.Sprintf("https://install-%d.example.com", i)
		var act struct {
			Status bool `json:"status"`
			Data   struct {
				LicenseData string `json:"license_data"`
			} `json:"data"`
		}
		if err := api.call("/api/external/license/activate", externalKey, map[string]any{"product_id": "BENCH", "license_code": licenseCode(i)}, &act, "X-API-URL", host); err != nil || !act.Status {
			return fmt.Errorf("activate: %v (status %v)", err, act.Status)
		}
		body, err := json.Marshal(map[string]any{"product_id": "BENCH", "license_data": act.Data.LicenseData})
		verifyReqs[i] = newRequest(base+"/api/external/license/verify", externalKey, body, host)
		return err
	}); err != nil {
		return err
	}
	verifyT, err := newTraffic(verifyReqs)
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "bench: making a %d MB sparse release file\n", d.fileBytes>>20)
	versionID, err := addSparseRelease(ctx, dsn, filepath.Join(dataDir, "files"), d.fileBytes)
	if err != nil {
		return err
	}
	downloadURL := base + "/api/external/update/" + versionID + "/download/main"
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	var moved atomic.Int64
	fetch := func(ctx context.Context, rate int64) (int64, error) {
		before := moved.Load()
		err := download(ctx, client, downloadURL, externalKey, rate, &moved)
		return moved.Load() - before, err
	}

	// (1) One large download, the server's RSS sampled every 20 ms.
	if _, err := fetch(ctx, 0); err != nil { // warms the code path and the page cache
		return err
	}
	time.Sleep(500 * time.Millisecond)
	before := currentRSS(pid)
	var peak atomic.Int64
	peak.Store(before)
	stopSampling := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
				if r := currentRSS(pid); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	})
	t0 := time.Now()
	n, err := fetch(ctx, 0)
	elapsed := time.Since(t0)
	close(stopSampling)
	sampled.Wait()
	if err != nil {
		return err
	}
	if n != d.fileBytes {
		return fmt.Errorf("downloaded %d bytes, want %d", n, d.fileBytes)
	}
	growth := float64(peak.Load()-before) / 1024

	// (2) Verify alone, then beside the concurrent downloads, interleaved
	// for d.rounds rounds so that the other load on a shared machine
	// falls on both sides alike; the medians are compared.
	var alone, busy []result
	var served []float64
	var failed int64
	for range d.rounds {
		alone = append(alone, o.gen.run(hc.Addr, pid, o, verifyT))
		dl, err := startDownloadClient(downloadURL, externalKey, d)
		if err != nil {
			return err
		}
		time.Sleep(time.Second) // every download under way
		busy = append(busy, o.gen.run(hc.Addr, pid, o, verifyT))
		rate, failures, err := dl.stop()
		if err != nil {
			return err
		}
		served = append(served, rate)
		failed += failures
	}

	rateText := "unthrottled"
	if d.rate > 0 {
		rateText = fmt.Sprintf("each capped at %d KB/s, %d MB/s in all", d.rate>>10, int64(d.downloaders)*d.rate>>20)
	}
	fmt.Printf("\nUpdate downloads through bin/licensor (%d cores)\n\n", runtime.NumCPU())
	fmt.Printf("1. one %d MB download: %.0f MB/s; server RSS %.1f MB before, peak %.1f MB, growth %.1f MB (target < 20 MB)\n",
		d.fileBytes>>20, float64(n)/elapsed.Seconds()/(1<<20), float64(before)/1024, float64(peak.Load())/1024, growth)
	fmt.Printf("2. verify with %d connections, %d rounds of %s alone then %s beside %d concurrent downloads (%s;\n"+
		"   read by a separate process at nice 19, as remote clients take no CPU from the server), %d downloads failed\n",
		o.conns, d.rounds, o.duration, o.duration, d.downloaders, rateText, failed)
	fmt.Printf("   %-7s %14s %9s %16s %9s %12s\n", "round", "alone req/s", "p99", "beside req/s", "p99", "served MB/s")
	for i := range alone {
		fmt.Printf("   %-7d %14.0f %9s %16.0f %9s %12.0f\n", i+1, alone[i].rps, alone[i].p99, busy[i].rps, busy[i].p99, served[i])
	}
	medAlone, medBusy := median(alone), median(busy)
	fmt.Printf("   %-7s %14.0f %9s %16.0f %9s %12.0f\n", "median", medAlone, "", medBusy, "", medianOf(served))
	slowdown := 0.0
	if medAlone > 0 {
		slowdown = (1 - medBusy/medAlone) * 100
	}
	fmt.Printf("   slowdown of the medians: %.1f%% (target <= 20%%)\n", slowdown)
	return nil
}

// median is the median throughput of rs.
func median(rs []result) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.rps
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// downloadClient is a child process (this program with -download-client)
// running the concurrent downloads at nice 19: download clients are
// remote in a deployment, so reading their bytes must not take the CPU
// the server and the verify load need here.
type downloadClient struct {
	cmd   *exec.Cmd
	out   bytes.Buffer
	start time.Time
}

func startDownloadClient(url, key string, d downloadOptions) (*downloadClient, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &downloadClient{start: time.Now()}
	c.cmd = exec.Command("nice", "-n", "19", self, "-download-client", url,
		"-downloaders", strconv.Itoa(d.downloaders), "-download-rate-kb", strconv.FormatInt(d.rate>>10, 10))
	c.cmd.Env = append(os.Environ(), "BENCH_DOWNLOAD_KEY="+key)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, os.Stderr
	return c, c.cmd.Start()
}

// stop ends the downloads and returns the MB/s they received and how many
// failed.
func (c *downloadClient) stop() (mbps float64, failures int64, err error) {
	_ = c.cmd.Process.Signal(os.Interrupt)
	if err := c.cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("download client: %w", err)
	}
	var bytes int64
	if _, err := fmt.Sscan(c.out.String(), &bytes, &failures); err != nil {
		return 0, 0, fmt.Errorf("download client said %q: %w", c.out.String(), err)
	}
	return float64(bytes) / time.Since(c.start).Seconds() / (1 << 20), failures, nil
}

// runDownloadClient is the -download-client process: d.downloaders
// downloads of url, each again when done, until SIGINT; then it prints
// the bytes received and the failed downloads.
func runDownloadClient(url string, d downloadOptions) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: d.downloaders + 4, MaxIdleConnsPerHost: d.downloaders + 4, DisableCompression: true}}
	var moved, failures atomic.Int64
	var wg sync.WaitGroup
	for range d.downloaders {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := download(ctx, client, url, os.Getenv("BENCH_DOWNLOAD_KEY"), d.rate, &moved); err != nil && ctx.Err() == nil {
					failures.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	fmt.Println(moved.Load(), failures.Load())
	return nil
}

// download fetches url once at most rate bytes per second (0: as fast as
// it can), counting the bytes in moved.
func download(ctx context.Context, client *http.Client, url, key string, rate int64, moved *atomic.Int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-KEY", key)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	_, err = copyAtRate(countingWriter{moved}, resp.Body, rate)
	return err
}

// addSparseRelease makes a sparse file of size zero bytes in the disk
// store under root (named by its SHA-256, as storage.Disk keeps files) and
// records version 1.0.0 of BENCH with it as the main file. It returns the
// version id.
func addSparseRelease(ctx context.Context, dsn, root string, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.CopyN(h, zeroReader{}, size); err != nil {
		return "", err
	}
	key := hex.EncodeToString(h.Sum(nil))
	dir := filepath.Join(root, key[:2])
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	f, err := os.Create(filepath.Join(dir, key))
	if err != nil {
		return "", err
	}
	if err := f.Truncate(size); err != nil {
		_ = f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	const versionID = "BENCH-DOWNLOAD-1"
	_, err = db.ExecContext(ctx, `WITH v AS (
			INSERT INTO product_versions (product_id, version_id, version, changelog)
			SELECT id, $1, '1.0.0', 'bench' FROM products WHERE reference_id = 'BENCH' RETURNING id)
		INSERT INTO version_files (version_id, type, file_name, storage_key, sha256, size)
		SELECT id, 'main', 'bench.zip', $2, $2, $3 FROM v`, versionID, key, size)
	return versionID, err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// copyAtRate copies r to w, at most rate bytes per second when rate > 0.
func copyAtRate(w io.Writer, r io.Reader, rate int64) (int64, error) {
	if rate <= 0 {
		return io.Copy(w, r)
	}
	buf := make([]byte, 32<<10)
	var total int64
	start := time.Now()
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if _, werr := w.Write(buf[:n]); werr != nil {
			return total, werr
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if ahead := time.Duration(float64(total)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
}

// countingWriter discards what it is given and counts it.
type countingWriter struct{ n *atomic.Int64 }

func (c countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}
