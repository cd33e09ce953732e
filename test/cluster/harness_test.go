package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/net/html"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/test/eventually"
	"github.com/licensor/licensor/test/freeport"
)

// TestMain runs four tests at a time unless -parallel says otherwise: the
// tests here mostly wait (outages, River's rescue, backoffs) on processes
// of their own, so go test's default of GOMAXPROCS (two in CI) would queue
// minutes of waiting behind each other.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "4")
	}
	code := m.Run()
	if licensorBin.dir != "" {
		_ = os.RemoveAll(licensorBin.dir)
	}
	os.Exit(code)
}

// licensorBin is bin/licensor built once for the package's tests: each
// link of the binary costs seconds of a loaded machine's CPU.
var licensorBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// buildLicensor returns the path of the package's licensor binary,
// building it on first use.
func buildLicensor(t *testing.T) string {
	t.Helper()
	licensorBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "licensor-cluster-")
		if err != nil {
			licensorBin.err = err
			return
		}
		licensorBin.dir, licensorBin.path = dir, filepath.Join(dir, "licensor")
		build := exec.Command("go", "build", "-o", licensorBin.path, "./app/cmd/licensor")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			licensorBin.err = fmt.Errorf("build licensor: %v\n%s", err, out)
		}
	})
	if licensorBin.err != nil {
		t.Fatal(licensorBin.err)
	}
	return licensorBin.path
}

type cluster struct {
	bin                                  string
	lb                                   string   // nginx's URL
	nodes                                []string // each node's own URL
	db                                   *sql.DB
	internalKey, externalKey, limitedKey string
	adminEmail, adminPassword            string
	procs                                []*exec.Cmd // the nodes' processes
	env                                  []string    // every node's environment
	dir                                  string      // the test's folder
	firstDataDir                         string      // options.dataDir
	// conns counts the nodes' connections to a database the harness
	// made (nil for options.dsn's), and connBudget is the most they may
	// hold: nodeConnBudget for each node started (conns_test.go).
	conns      *connCounter
	connBudget int
}

func lookNginx(t *testing.T) string {
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed (apt-get install -y nginx-light); .ci/run installs it")
	}
	t.Skip("nginx is not installed: apt-get install -y nginx-light")
	return ""
}

// options shape a cluster: how many nodes, nginx in front of them or not
// (then lb is the first node), and the database (default: a fresh test
// database).
type options struct {
	nodes int
	nginx string
	dsn   string
	env   []string // more LICENSOR_* settings for every node
	// dataDir is the first node's data_dir (default: a folder of the test).
	dataDir string
}

func startCluster(t *testing.T, o options) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{bin: buildLicensor(t), adminEmail: "ops@example.com", adminPassword: "cluster test password"}
	dsn, nodeDSN := o.dsn, o.dsn
	if dsn == "" {
		dsn = dbtest.NewDSN(t)
		c.conns, nodeDSN = countConns(t, dsn)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c.db = db

	lbPort := freeport.Port(t)
	c.lb = fmt.Sprintf("http://127.0.0.1:%d", lbPort)
	nodePorts := make([]int, max(o.nodes, 1))
	for i := range nodePorts {
		nodePorts[i] = freeport.Port(t)
	}
	if o.nginx == "" {
		c.lb = fmt.Sprintf("http://127.0.0.1:%d", nodePorts[0])
	}
	env := append(os.Environ(),
		"LICENSOR_DATABASE_URL="+nodeDSN,
		fmt.Sprintf("LICENSOR_DATABASE_MAX_OPEN_CONNS=%d", nodePool),
		"LICENSOR_INSTANCE_SECRET=cluster test instance secret",
		"LICENSOR_BASE_URL="+c.lb,
		"LICENSOR_LOG_LEVEL=warn",
		"LICENSOR_HTTP_TRUSTED_PROXIES=127.0.0.1",
		"LICENSOR_MAIL_SMTP_URL=",
	)
	env = append(env, o.env...)
	c.env, c.dir, c.firstDataDir = env, dir, o.dataDir
	run := func(args ...string) string {
		cmd := exec.Command(c.bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("licensor %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	run("migrate")
	run("admin", "create", "--email", c.adminEmail, "--password", c.adminPassword, "--name", "Ops")
	c.internalKey = run("apikey", "create", "--type", "internal", "--name", "cluster internal", "--special")
	c.externalKey = run("apikey", "create", "--type", "external", "--name", "cluster external", "--special")
	c.limitedKey = run("apikey", "create", "--type", "external", "--name", "cluster limited")

	var upstreams []string
	for _, port := range nodePorts {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		upstreams = append(upstreams, addr)
		c.startNode(t, addr)
	}
	// Every node answers before nginx starts: a node nginx finds not yet
	// listening is left out for its fail_timeout (10 s), and the first
	// tests would reach fewer nodes than they mean to.
	for _, u := range c.nodes {
		waitHealthy(t, u)
	}
	// Registered after the nodes' own clean-ups, so it runs before them and
	// a node over its budget has its log printed.
	t.Cleanup(func() { c.checkConnBudget(t) })
	if o.nginx != "" {
		startNginx(t, o.nginx, dir, lbPort, upstreams)
		waitHealthy(t, c.lb)
	}
	return c
}

// startNginx runs nginx in the foreground with a configuration of its own:
// round-robin over the nodes, keep-alive upstream connections, the
// forwarding headers the nodes trust, and X-Upstream naming the node that
// answered.
func startNginx(t *testing.T, nginx, dir string, port int, upstreams []string) {
	t.Helper()
	ndir := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(filepath.Join(ndir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "    server %s;\n", u)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;
  upstream licensor {
%[3]s    keepalive 16;
  }
  server {
    listen 127.0.0.1:%[4]d;
    location / {
      proxy_pass http://licensor;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`, user, ndir, servers.String(), port)
	confPath := filepath.Join(ndir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", ndir, "-c", confPath, "-e", filepath.Join(ndir, "error.log"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		_ = cmd.Wait()
		if t.Failed() {
			errs, _ := os.ReadFile(filepath.Join(ndir, "error.log"))
			t.Logf("nginx output:\n%s%s", logs.String(), errs)
		}
	})
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	var err error
	if !eventually.Within(60*time.Second, func() bool {
		var res *http.Response
		if res, err = http.Get(base + "/api/health-check"); err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}) {
		t.Fatalf("%s did not become healthy: %v", base, err)
	}
}

// api calls the JSON API through nginx with key; out, when given, receives
// the decoded body.
func (c *cluster) api(t *testing.T, key, path string, body, out any, headers ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	method := http.MethodGet
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Error(err)
			return nil
		}
		rd, method = bytes.NewReader(b), http.MethodPost
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.lb+path, rd)
	if err != nil {
		t.Error(err)
		return nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return &http.Response{Header: http.Header{}}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		// The request id and the node find the cause in that node's log,
		// which the harness prints and keeps when the test fails.
		t.Errorf("%s %s: %d %s (request %s on %s)", method, path, res.StatusCode, raw,
			res.Header.Get("X-Request-Id"), res.Header.Get("X-Upstream"))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Errorf("%s %s: %d %s: %v", method, path, res.StatusCode, raw, err)
		}
	}
	return res
}

// activationRace is what raceActivations saw.
type activationRace struct {
	// made were answered as made; stored are the license's active
	// activations after; upstream counts the answers of each node
	// (X-Upstream).
	made, stored int
	upstream     map[string]int
}

// raceActivations makes product ref and its license ref-seats of seats
// parallel uses, then sends n activations of it at once through nginx,
// each from a site of its own.
func (c *cluster) raceActivations(t *testing.T, ref string, seats, n int) activationRace {
	t.Helper()
	code := fmt.Sprintf("%s-%d", ref, seats)
	c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": ref, "reference_id": ref}, nil)
	c.api(t, c.internalKey, "/api/internal/product-licenses", map[string]any{"product_reference_id": ref, "license_code": code, "parallel_uses": seats}, nil)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	race := activationRace{upstream: map[string]int{}}
	for i := range n {
		wg.Go(func() {
			var out struct {
				Status bool `json:"status"`
			}
			res := c.api(t, c.externalKey, "/api/external/license/activate", map[string]any{"product_id": ref, "license_code": code}, &out,
				"X-API-URL", fmt.Sprintf("https://%s-%d.example.com", strings.ToLower(ref), i))
			mu.Lock()
			defer mu.Unlock()
			race.upstream[res.Header.Get("X-Upstream")]++
			if out.Status {
				race.made++
			}
		})
	}
	wg.Wait()
	if err := c.db.QueryRow(`SELECT count(*) FROM activations WHERE license_code = $1 AND is_active`, code).Scan(&race.stored); err != nil {
		t.Fatal(err)
	}
	return race
}

// periodicKinds are the periodic jobs every node registers with
// RunOnStart (jobs.NewClient).
var periodicKinds = []string{"prune_expired", "expiry_scan", "blacklist_scan", "retention"}

// awaitPeriodicJobs waits up to within until river_job holds every
// periodic kind, and returns how many jobs of each it holds.
func (c *cluster) awaitPeriodicJobs(t *testing.T, within time.Duration) map[string]int {
	t.Helper()
	counts := map[string]int{}
	eventually.True(t, within, "every periodic job enqueued", func() bool {
		rows, err := c.db.Query(`SELECT kind, count(*) FROM river_job WHERE kind = ANY($1) GROUP BY kind`, periodicKinds)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		clear(counts)
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			counts[k] = n
		}
		return len(counts) == len(periodicKinds)
	})
	return counts
}

// A setting saved through one node reaches every node's settings cache by
// NOTIFY: docs/configuration.md#run-time-settings promises within
// settingTarget, and on an idle machine it takes milliseconds. The tests
// wait up to settingBound, ten times that, so a loaded CI box where the
// notification or the node's scheduling lags over a second does not fail a
// change that did arrive; a change that never reaches a node (no NOTIFY, a
// cache never dropped) still fails. Each node's time is logged, and flagged
// when over the target.
const (
	settingTarget = time.Second
	settingBound  = 10 * time.Second
)

// awaitSetting waits, right after a setting was saved through one node,
// until every node shows it: seen asks one node (its own URL) a request
// whose answer comes from that node's settings cache (never a settings
// page: those read the database). It fails t with what when a node does
// not within settingBound of the call.
func (c *cluster) awaitSetting(t *testing.T, what string, seen func(node string) bool) {
	t.Helper()
	saved := time.Now()
	for _, node := range c.nodes {
		if !eventually.Within(settingBound-time.Since(saved), func() bool { return seen(node) }) {
			t.Fatalf("%s: node %s not after %s", what, node, settingBound)
		}
		took := time.Since(saved).Round(time.Millisecond)
		if took > settingTarget {
			t.Logf("%s: node %s after %s, over the documented %s (a loaded machine?)", what, node, took, settingTarget)
		} else {
			t.Logf("%s: node %s after %s", what, node, took)
		}
	}
}

// browser is a cookie-keeping client for the console's pages on one base
// URL, without following redirects.
type browser struct {
	c    *cluster
	base string
	hc   *http.Client
}

func (c *cluster) browser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{c: c, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	res, err := b.hc.Get(b.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

func (b *browser) post(t *testing.T, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := b.hc.PostForm(b.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

func (b *browser) signIn(t *testing.T) {
	t.Helper()
	_, page := b.get(t, "/admin/login")
	form := url.Values{"_csrf": {webtest.CSRFFromHTML(page)}, "email": {b.c.adminEmail}, "password": {b.c.adminPassword}}
	if res, body := b.post(t, "/admin/login", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on %s: %d\n%s", b.base, res.StatusCode, body)
	}
}

// form reads the first form with a CSRF field on path as a browser would
// submit it unchanged: inputs, ticked checkboxes, selected options, text
// areas.
func (b *browser) form(t *testing.T, path string) url.Values {
	t.Helper()
	res, page := b.get(t, path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	vals := url.Values{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			a := attrs(n)
			switch n.Data {
			case "input":
				if (a["type"] == "checkbox" || a["type"] == "radio") && !has(n, "checked") {
					break
				}
				if a["name"] != "" {
					vals.Add(a["name"], a["value"])
				}
			case "textarea":
				if n.FirstChild != nil {
					vals.Add(a["name"], n.FirstChild.Data)
				} else {
					vals.Add(a["name"], "")
				}
			case "select":
				for o := range n.Descendants() {
					if o.Type == html.ElementNode && o.Data == "option" && has(o, "selected") {
						vals.Add(a["name"], attrs(o)["value"])
					}
				}
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(doc)
	if vals.Get("_csrf") == "" {
		t.Fatalf("no form on %s", path)
	}
	return vals
}

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

func has(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startNode starts one more node on addr (host:port) with the cluster's
// configuration, and stops it when the test ends.
func (c *cluster) startNode(t *testing.T, addr string) *exec.Cmd {
	t.Helper()
	i := len(c.nodes)
	c.nodes = append(c.nodes, "http://"+addr)
	c.connBudget += nodeConnBudget
	cmd := exec.Command(c.bin, "serve")
	dataDir := filepath.Join(c.dir, fmt.Sprintf("node%d", i+1))
	if i == 0 && c.firstDataDir != "" {
		dataDir = c.firstDataDir
	}
	cmd.Env = append(c.env, "LICENSOR_HTTP_ADDR="+addr, "LICENSOR_DATA_DIR="+dataDir)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.procs = append(c.procs, cmd)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("node %d (%s) output, kept in %s:\n%s", i+1, addr, keepLog(t, fmt.Sprintf("node%d.log", i+1), logs.Bytes()), logs.String())
		}
	})
	return cmd
}

// keepLog writes a failed test's log of a process to
// test-output/cluster/<test>/name (git ignores test-output/), where it
// outlives output cut short by a terminal or CI, and returns its path.
func keepLog(t *testing.T, name string, log []byte) string {
	dir := filepath.Join(repoRoot(t), "test-output", "cluster", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err.Error()
	}
	if err := os.WriteFile(path, log, 0o644); err != nil {
		return err.Error()
	}
	return path
}
