package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/test/eventually"
	"github.com/licensor/licensor/test/freeport"
)

// tally counts what a load loop saw.
type tally struct {
	mu        sync.Mutex
	status    map[int]int
	transport int           // requests that got no HTTP answer
	slowest   time.Duration // longest answered request
}

func (t *tally) add(status int, took time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status == nil {
		t.status = map[int]int{}
	}
	if err != nil {
		t.transport++
		return
	}
	t.status[status]++
	t.slowest = max(t.slowest, took)
}

// answered is how many answers with status code t counted.
func (t *tally) answered(code int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status[code]
}

// awaitAnswers waits until tl counts n more answers with status code than
// when called: the load is under way (or goes on) where the test needs it.
func awaitAnswers(t *testing.T, tl *tally, code, n int, what string) {
	t.Helper()
	from := tl.answered(code)
	eventually.True(t, 30*time.Second, fmt.Sprintf("%d more answers %d: %s", n, code, what), func() bool {
		return tl.answered(code) >= from+n
	})
}

func (t *tally) snapshot() (map[int]int, int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := map[int]int{}
	for k, v := range t.status {
		m[k] = v
	}
	return m, t.transport, t.slowest
}

// post sends a JSON body to base+path with an API key and returns the
// status and the body.
func post(hc *http.Client, base, path, key, body string, headers ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), err
}

// TestPostgresRestartUnderLoad restarts the database under a node serving
// verifies and activations: while it is down every request fails fast with
// 503 (never 500, never a hang), the node does not crash, and it recovers
// without a restart. Afterwards every activation answered as made is
// stored, and none more: nothing lost or half-written.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts PostgreSQL and licensor processes")
	}
	ctx := context.Background()
	if _, err := db.FindPostgresBin(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// A private server of this test's own: restarting the shared one would
	// break every other test running at the time. A short folder keeps the
	// unix socket path within its limit, so the address survives restarts.
	pgDir, err := os.MkdirTemp("", "lpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(pgDir) })
	pg, err := db.StartEmbedded(ctx, db.EmbeddedOptions{Dir: pgDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })
	c := startCluster(t, options{nodes: 1, dsn: pg.DSN()})
	c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": "Restart", "reference_id": "RESTART"}, nil)
	c.api(t, c.internalKey, "/api/internal/product-licenses", map[string]any{"product_reference_id": "RESTART", "license_code": "RESTART-1", "parallel_uses": nil}, nil)
	var act struct {
		Status bool `json:"status"`
		Data   struct {
			LicenseData string `json:"license_data"`
		} `json:"data"`
	}
	c.api(t, c.externalKey, "/api/external/license/activate", map[string]any{"product_id": "RESTART", "license_code": "RESTART-1"}, &act, "X-API-URL", "https://first.example.com")
	if !act.Status {
		t.Fatal("first activation failed")
	}
	verifyBody := fmt.Sprintf(`{"product_id":"RESTART","license_data":%q}`, act.Data.LicenseData)

	var (
		stop      atomic.Bool
		down      atomic.Bool
		wg        sync.WaitGroup
		before    tally // while the server is up (before and after)
		during    tally // while it is down
		activated atomic.Int64
		seq       atomic.Int64
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	for w := range 6 {
		wg.Go(func() {
			for !stop.Load() {
				var status int
				var body string
				var err error
				start := time.Now()
				if w%2 == 0 {
					status, _, err = post(hc, c.lb, "/api/external/license/verify", c.externalKey, verifyBody, "X-API-URL", "https://first.example.com")
				} else {
					host := fmt.Sprintf("https://n%d.example.com", seq.Add(1))
					status, body, err = post(hc, c.lb, "/api/external/license/activate", c.externalKey, `{"product_id":"RESTART","license_code":"RESTART-1"}`, "X-API-URL", host)
					if err == nil && status == http.StatusOK && strings.Contains(body, `"status":true`) {
						activated.Add(1)
					}
				}
				tl := &before
				if down.Load() {
					tl = &during
				}
				tl.add(status, time.Since(start), err)
				if down.Load() {
					time.Sleep(20 * time.Millisecond) // the database is gone: don't spin
				}
			}
		})
	}

	awaitAnswers(t, &before, http.StatusOK, 20, "verifies and activations before the database stops")
	down.Store(true)
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// The node tells it has lost its database, and the load meets the
	// outage for a while.
	if !eventually.Within(15*time.Second, func() bool { return healthStatus(t, c.lb) == http.StatusServiceUnavailable }) {
		t.Errorf("health check during the outage: %d, want 503", healthStatus(t, c.lb))
	}
	eventually.True(t, 15*time.Second, "requests answered while the database is down", func() bool {
		st, _, _ := during.snapshot()
		n := 0
		for _, v := range st {
			n += v
		}
		return n >= 20
	})
	pg, err = db.StartEmbedded(ctx, db.EmbeddedOptions{Dir: pgDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })
	// The first requests after the start may still meet connections the
	// stop cut; count from when the node answers again.
	recovered := time.Now()
	eventually.True(t, 15*time.Second, "the node recovers after the database restart: verify answers 200", func() bool {
		status, _, err := post(hc, c.lb, "/api/external/license/verify", c.externalKey, verifyBody, "X-API-URL", "https://first.example.com")
		return err == nil && status == http.StatusOK
	})
	t.Logf("verify answered 200 again %s after the database started", time.Since(recovered).Round(time.Millisecond))
	down.Store(false)
	awaitAnswers(t, &before, http.StatusOK, 20, "verifies and activations after the recovery")
	stop.Store(true)
	wg.Wait()

	if err := c.procs[0].Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the node died during the outage: %v", err)
	}
	upStatus, upTransport, _ := before.snapshot()
	downStatus, downTransport, slowest := during.snapshot()
	t.Logf("while up: %v (%d without answer); while down: %v (%d without answer), slowest answer %s", upStatus, upTransport, downStatus, downTransport, slowest)
	for code, n := range downStatus {
		if code != http.StatusServiceUnavailable && code != http.StatusOK {
			t.Errorf("%d answers with status %d during the outage, want 503 (or 200 from before it)", n, code)
		}
	}
	if downStatus[http.StatusServiceUnavailable] == 0 {
		t.Error("no 503 during the outage")
	}
	if downTransport > 0 {
		t.Errorf("%d requests got no answer at all during the outage", downTransport)
	}
	if slowest > 3*time.Second {
		t.Errorf("a request took %s during the outage: not failing fast", slowest)
	}
	for code, n := range upStatus {
		if code != http.StatusOK {
			t.Errorf("%d answers with status %d while the database was up", n, code)
		}
	}
	// Nothing lost, nothing half-written: the activations stored are the
	// first one plus every one answered as made.
	var stored int64
	if err := c.db.QueryRow(`SELECT count(*) FROM activations WHERE license_code = 'RESTART-1' AND is_valid`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var counted int64
	if err := c.db.QueryRow(`SELECT total_activations FROM licenses WHERE license_code = 'RESTART-1'`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if want := activated.Load() + 1; stored != want || counted != want {
		t.Fatalf("activations answered as made: %d; stored: %d; license counter: %d", want, stored, counted)
	}
}

func healthStatus(t *testing.T, base string) int {
	t.Helper()
	res, err := http.Get(base + "/api/health-check")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode
}

// TestSIGTERMDuringTraffic stops a node with SIGTERM while it serves: the
// request it is in the middle of reading completes with its answer, no
// request gets a 5xx from the shutdown, and the node exits cleanly.
func TestSIGTERMDuringTraffic(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts licensor processes")
	}
	c := startCluster(t, options{nodes: 1})
	c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": "Term", "reference_id": "TERM"}, nil)
	c.api(t, c.internalKey, "/api/internal/product-licenses", map[string]any{"product_reference_id": "TERM", "license_code": "TERM-1", "parallel_uses": nil}, nil)

	var (
		stop atomic.Bool
		wg   sync.WaitGroup
		seen tally
		seq  atomic.Int64
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				host := fmt.Sprintf("https://t%d.example.com", seq.Add(1))
				start := time.Now()
				status, _, err := post(hc, c.lb, "/api/external/license/activate", c.externalKey, `{"product_id":"TERM","license_code":"TERM-1"}`, "X-API-URL", host)
				seen.add(status, time.Since(start), err)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // the node is gone: don't spin
				}
			}
		})
	}
	awaitAnswers(t, &seen, http.StatusOK, 10, "activations before SIGTERM")

	// An activation in flight: headers and half the body sent, the rest
	// only after the node was told to stop.
	addr := strings.TrimPrefix(c.lb, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	body := `{"product_id":"TERM","license_code":"TERM-1"}`
	fmt.Fprintf(conn, "POST /api/external/license/activate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-API-Key: %s\r\nX-API-URL: https://inflight.example.com\r\nContent-Length: %d\r\n\r\n%s",
		addr, c.externalKey, len(body), body[:10])
	// Kept as a wait: nothing outside the node tells that it took the
	// connection off its listen queue, and one it had not taken would be
	// refused at the stop, which is not what this test is about.
	time.Sleep(200 * time.Millisecond)

	node := c.procs[0]
	if err := node.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The rest of the body once the node is shutting down: it has closed
	// its listener.
	eventually.True(t, 10*time.Second, "the node stops listening after SIGTERM", func() bool {
		probe, err := net.Dial("tcp", addr)
		if err == nil {
			_ = probe.Close()
		}
		return err != nil
	})
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatalf("finish the in-flight request: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"status":true`) {
		t.Fatalf("the in-flight activation: %d %s", res.StatusCode, raw)
	}

	exited := make(chan error, 1)
	go func() { exited <- node.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the node exited with %v after SIGTERM", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the node did not exit within 25 s of SIGTERM")
	}
	stop.Store(true)
	wg.Wait()
	status, transport, _ := seen.snapshot()
	t.Logf("answers: %v; requests refused at the connection once the node stopped listening: %d", status, transport)
	for code, n := range status {
		if code >= 500 {
			t.Errorf("%d answers with status %d around the shutdown", n, code)
		}
	}
	if status[http.StatusOK] == 0 {
		t.Fatal("no request succeeded before the shutdown")
	}
	// Every activation answered as made is stored, the in-flight one too.
	var stored int
	if err := c.db.QueryRow(`SELECT count(*) FROM activations WHERE license_code = 'TERM-1' AND is_valid`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := status[http.StatusOK] + 1; stored != want {
		t.Fatalf("activations answered as made: %d; stored: %d", want, stored)
	}
}

// TestSIGKILLDuringJob kills a node outright while it is sending an email
// (the SMTP server accepted the connection and stalls): the job it held is
// taken for dead and retried by the other node, and the email is delivered
// exactly once. River rescues a job once both jobs.rescue_after and the
// job kind's own timeout (two minutes for an email) have passed since it
// started, so this test takes about two and a half minutes.
func TestSIGKILLDuringJob(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts licensor processes")
	}
	smtp := mailtest.Reserve(t)
	// Until the SMTP server comes up, its address accepts connections and
	// says nothing, so a send hangs in the greeting.
	stall, err := net.Listen("tcp", smtp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var heldMu sync.Mutex
	go func() {
		for {
			conn, err := stall.Accept()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, conn)
			heldMu.Unlock()
		}
	}()
	c := startCluster(t, options{nodes: 1, env: []string{
		"LICENSOR_MAIL_SMTP_URL=" + smtp.URL(),
		"LICENSOR_JOBS_TIMEOUT=3s",
		"LICENSOR_JOBS_RESCUE_AFTER=5s",
	}})
	// A customer created by the API gets the welcome email (a send_mail job).
	c.api(t, c.internalKey, "/api/internal/customers", map[string]any{"name": "Kim Killed", "email": "kim@example.com", "password": "long enough password"}, nil)

	var jobID int64
	eventually.True(t, 15*time.Second, "the email job runs on node 1", func() bool {
		return c.db.QueryRow(`SELECT id FROM river_job WHERE kind = 'send_mail' AND state = 'running'`).Scan(&jobID) == nil
	})
	if err := c.procs[0].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = c.procs[0].Process.Wait()
	killed := time.Now()
	// The SMTP server comes up, and a second node starts.
	_ = stall.Close()
	heldMu.Lock()
	for _, conn := range held {
		_ = conn.Close()
	}
	heldMu.Unlock()
	smtp.Restart()
	c.startNode(t, fmt.Sprintf("127.0.0.1:%d", freeport.Port(t)))
	waitHealthy(t, c.nodes[1])

	msgs := smtp.Wait(1, 3*time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("messages after the rescue: %d", len(msgs))
	}
	t.Logf("delivered by node 2 %s after node 1 was killed", time.Since(killed).Round(time.Second))
	var state string
	var attempt int
	eventually.Within(10*time.Second, func() bool {
		if err := c.db.QueryRow(`SELECT state, attempt FROM river_job WHERE id = $1`, jobID).Scan(&state, &attempt); err != nil {
			t.Fatal(err)
		}
		return state == "completed"
	})
	if state != "completed" || attempt < 2 {
		t.Fatalf("job %d: %s after %d attempts, want completed on a later attempt", jobID, state, attempt)
	}
	// No wait for a second copy: node 1, whose attempt stalled, is dead;
	// the job is completed, so nothing sends it again; and the SMTP server
	// records a message before it acknowledges it, so a copy node 2 sent
	// before completing the job is already counted.
	if got := smtp.Messages(); len(got) != 1 || !strings.Contains(strings.Join(got[0].To, ","), "kim@example.com") {
		t.Fatalf("messages: %+v", got)
	}
}

// TestDiskFullDuringUpload uploads a version bigger than the free space
// of the node's data folder (a 2 MB tmpfs): the upload fails with a clear
// message, no version is recorded and no partial file is left, and a small
// upload afterwards works.
func TestDiskFullDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts licensor processes")
	}
	t.Parallel()
	dataDir := t.TempDir()
	if err := syscall.Mount("tmpfs", dataDir, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): needs root", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dataDir, syscall.MNT_DETACH) })
	c := startCluster(t, options{nodes: 1, dataDir: dataDir})
	c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": "Big", "reference_id": "BIG"}, nil)

	upload := func(version string, size int) (int, string) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		_ = w.WriteField("version", version)
		_ = w.WriteField("changelog", "Bigger.")
		fw, _ := w.CreateFormFile("main_file", "big-"+version+".zip")
		_, _ = io.WriteString(fw, "PK\x03\x04")
		_, _ = io.CopyN(fw, rand.Reader, int64(size))
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPost, c.lb+"/api/internal/products/BIG/versions", &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("X-API-Key", c.internalKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	status, body := upload("2.0.0", 4<<20)
	t.Logf("4 MB upload into 2 MB: %d %s", status, body)
	if status != http.StatusInsufficientStorage || !strings.Contains(body, "space") {
		t.Errorf("upload on a full disk: %d %s, want 507 saying there is no space", status, body)
	}
	var versions int
	if err := c.db.QueryRow(`SELECT count(*) FROM product_versions`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 0 {
		t.Errorf("%d versions recorded after the failed upload", versions)
	}
	var left []string
	_ = filepath.WalkDir(dataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil && info.Size() > 0 {
				left = append(left, p)
			}
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("files left in the data folder after the failed upload: %v", left)
	}
	if status, body := upload("2.0.1", 256<<10); status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("a small upload after the failure: %d %s", status, body)
	}
}
