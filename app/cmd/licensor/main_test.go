package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/test/freeport"
)

// syncBuffer is a bytes.Buffer safe to read while serve writes to it.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // if not nil, receives after writes (coalesced)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		select {
		case s.wrote <- struct{}{}:
		default:
		}
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, env)
	return code, out.String(), errOut.String()
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"admin", "create", "--help"}, {"apikey", "create", "--help"}, {"version", "--help"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage: licensor") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	if code, _, _ := runCLI(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "licensor ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestBadConfigStopsWithTheKey(t *testing.T) {
	code, _, errOut := runCLI(t, []string{"LICENSOR_DATABASE_URL=" + dbtest.NewDSN(t), "LICENSOR_HTTP_ADDR=nope"}, "migrate")
	if code != 1 || !strings.Contains(errOut, "http.addr") {
		t.Fatalf("exit %d, stderr %q: want exit 1 naming http.addr", code, errOut)
	}
}

func TestMigrateAdminCreateAndAPIKey(t *testing.T) {
	env := []string{"LICENSOR_DATABASE_URL=" + dbtest.NewEmptyDSN(t), "LICENSOR_DATA_DIR=" + t.TempDir()}

	code, out, errOut := runCLI(t, env, "migrate")
	if code != 0 || !strings.Contains(out, "Applied migration") {
		t.Fatalf("first migrate: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "migrate")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate must apply nothing: %d %q", code, out)
	}

	code, out, errOut = runCLI(t, env, "admin", "create", "--email", "Ann@Example.com", "--password", "correct horse battery", "--name", "Ann")
	if code != 0 || !strings.Contains(out, "Created admin") {
		t.Fatalf("admin create: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, env, "admin", "create", "--email", "ann@example.com", "--password", "correct horse battery", "--name", "Ann")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate admin (other case) must fail: %d %q", code, errOut)
	}
	code, out, errOut = runCLI(t, env, "admin", "create", "--email", "sue@example.com", "--password", "correct horse battery", "--name", "Sue", "--role", "support")
	if code != 0 || !strings.Contains(out, "with the role Support") {
		t.Fatalf("admin create --role support: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, env, "admin", "create", "--email", "x@example.com", "--password", "correct horse battery", "--name", "X", "--role", "janitor")
	if code != 1 || !strings.Contains(errOut, `no role "janitor"`) {
		t.Fatalf("admin create --role janitor must fail: %d %q", code, errOut)
	}

	code, out, errOut = runCLI(t, env, "apikey", "create", "--type", "internal", "--name", "Shop", "--scope", "licenses:create", "--scope", "products:create")
	if code != 0 {
		t.Fatalf("apikey create: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !regexp.MustCompile(`^[A-Za-z0-9]{40}$`).MatchString(key) {
		t.Fatalf("the last line must be the key alone, got %q", key)
	}
	d, err := db.Open(context.Background(), strings.TrimPrefix(env[0], "LICENSOR_DATABASE_URL="), db.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k, err := apikeys.Lookup(context.Background(), d.Bun, key)
	if err != nil || k == nil || k.Type != "internal" || len(k.Scopes) != 2 {
		t.Fatalf("printed key does not authenticate as the created key: %+v %v", k, err)
	}

	code, _, errOut = runCLI(t, env, "apikey", "create", "--type", "other", "--name", "x")
	if code != 1 || !strings.Contains(errOut, "type") {
		t.Fatalf("bad type: %d %q", code, errOut)
	}
	code, _, _ = runCLI(t, env, "apikey", "create", "--type", "external", "--name", "x", "--expires", "tomorrow")
	if code != 1 {
		t.Fatalf("bad expiry date must fail, got %d", code)
	}
}

// startServe runs `licensor serve` in the background and returns its base URL.
func startServe(t *testing.T, env []string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{wrote: make(chan struct{}, 1)}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, out, errOut, env) }()

	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.After(90 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			stop := func() {
				cancel()
				select {
				case code := <-done:
					if code != 0 {
						t.Errorf("serve exited %d after SIGTERM; stderr:\n%s", code, errOut.String())
					}
				case <-time.After(60 * time.Second):
					t.Error("serve did not stop within 60 s of being asked to")
				}
			}
			return m[1], out, stop
		}
		select {
		case <-out.wrote:
		case code := <-done:
			t.Fatalf("serve exited %d before listening; stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		case <-deadline:
			cancel()
			t.Fatalf("serve did not listen within 90 s; stderr:\n%s", errOut.String())
		}
	}
}

func healthOK(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/api/health-check")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got["status"] != "ok" {
		t.Fatalf("health-check: %d %s", resp.StatusCode, body)
	}
}

func TestServeWithDatabaseURL(t *testing.T) {
	env := []string{"LICENSOR_DATABASE_URL=" + dbtest.NewEmptyDSN(t), "LICENSOR_HTTP_ADDR=127.0.0.1:0", "LICENSOR_DATA_DIR=" + t.TempDir()}
	base, out, stop := startServe(t, env)
	healthOK(t, base)
	if !strings.Contains(out.String(), "First admin created") || !strings.Contains(out.String(), firstAdminEmail) {
		t.Fatalf("the first start must print the first admin's login, got:\n%s", out.String())
	}
	// Anonymous console requests go to the sign-in page.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login") {
		t.Fatalf("/admin anonymous: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	stop()

	// The second start finds the admin and prints no password. It serves
	// /metrics on a listener of its own (metrics.addr), not on the main one.
	metricsAddr := freeport.Addr(t)
	base, out, stop = startServe(t, append(env, "LICENSOR_METRICS_ADDR="+metricsAddr))
	healthOK(t, base)
	if strings.Contains(out.String(), "First admin created") {
		t.Fatal("the first admin's password must be printed once only")
	}
	for _, tc := range []struct {
		url    string
		status int
	}{{"http://" + metricsAddr + "/metrics", 200}, {base + "/metrics", 404}} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.url, resp.StatusCode, tc.status)
		}
		if tc.status == 200 && !strings.Contains(string(body), `licensor_http_requests_total{method="GET",route="/api/health-check",status="200"} 1`) {
			t.Errorf("GET %s does not count the health check:\n%.2000s", tc.url, body)
		}
	}
	stop()
}

// With no database URL, serve runs its own PostgreSQL cluster under the data
// directory, and stops it on shutdown.
func TestServeOnPrivateCluster(t *testing.T) {
	if _, err := db.FindPostgresBin(""); err != nil {
		t.Skipf("no PostgreSQL binaries on this machine: %v", err)
	}
	dataDir, err := os.MkdirTemp("", "lic-serve-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	// Run as root, the cluster runs as an unprivileged user who must be
	// able to reach the data directory.
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"LICENSOR_DATA_DIR=" + dataDir, "LICENSOR_HTTP_ADDR=127.0.0.1:0", "PATH=" + os.Getenv("PATH")}
	base, out, stop := startServe(t, env)
	healthOK(t, base)
	if !strings.Contains(out.String(), "First admin created") {
		t.Fatalf("first start on the private cluster must create the first admin:\n%s", out.String())
	}
	stop()
	if pids := postgresProcessesUnder(dataDir); len(pids) > 0 {
		t.Fatalf("the private cluster is still running after serve stopped: %v", pids)
	}
}

// postgresProcessesUnder lists postgres processes whose command line names dir.
func postgresProcessesUnder(dir string) []string {
	out, _ := exec.Command("ps", "-eo", "pid,args").Output()
	var pids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "postgres") && strings.Contains(line, dir) {
			pids = append(pids, strings.Fields(line)[0])
		}
	}
	return pids
}

// keys rotate retires the active key; what it signed keeps verifying.
func TestKeysRotate(t *testing.T) {
	dsn := dbtest.NewDSN(t)
	env := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_INSTANCE_SECRET=test-secret-for-rotation"}
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	if code, out, errOut := runCLI(t, env, "keys", "rotate"); code != 0 || !strings.Contains(out, "New active signing key") {
		t.Fatalf("first rotate: %d %q %q", code, out, errOut)
	}
	ring, err := signing.Load(ctx, d.Bun, []byte("test-secret-for-rotation"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := ring.IssueToken(42, "ACME", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, env, "keys", "rotate")
	if code != 0 || !strings.Contains(out, "1 older key(s) keep verifying") {
		t.Fatalf("second rotate: %d %q %q", code, out, errOut)
	}
	if err := ring.Reload(ctx, d.Bun); err != nil {
		t.Fatal(err)
	}
	claims, err := ring.VerifyToken(token)
	if err != nil || claims.ActivationID != 42 {
		t.Fatalf("a token signed before the rotation must still verify: %+v %v", claims, err)
	}
	keys, err := signing.List(ctx, d.Bun)
	if err != nil || len(keys) != 2 {
		t.Fatalf("want 2 keys after two rotations, got %d (%v)", len(keys), err)
	}
}
