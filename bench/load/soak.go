package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
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

	"github.com/valyala/fasthttp"
)

// The soak (make soak): two nodes on one database and a mixed load spread
// over both — per 100 requests 88 verifies, 5 activations, 5
// deactivations, one console page and one portal page — for a long time,
// printing per-kind throughput, latency and errors, and each node's memory
// after the warm-up and at the end (it must not grow).

type soakKind int

const (
	kindVerify soakKind = iota
	kindActivate
	kindDeactivate
	kindConsole
	kindPortal
	soakKinds
)

var soakKindNames = [soakKinds]string{"verify", "activate", "deactivate", "console page", "portal page"}

// kindOf maps a request's sequence number to its kind.
func kindOf(i int64) soakKind {
	switch r := i % 100; {
	case r < 88:
		return kindVerify
	case r < 93:
		return kindActivate
	case r < 98:
		return kindDeactivate
	case r == 98:
		return kindConsole
	default:
		return kindPortal
	}
}

type soakStats struct {
	mu      sync.Mutex
	samples [soakKinds][]time.Duration
	errors  [soakKinds]int64
	// firstErr keeps one example per kind, to say what went wrong.
	firstErr [soakKinds]string
}

func (s *soakStats) add(k soakKind, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors[k]++
		if s.firstErr[k] == "" {
			s.firstErr[k] = err.Error()
		}
		return
	}
	s.samples[k] = append(s.samples[k], d)
}

type node struct {
	cmd  *exec.Cmd
	base string
	hc   *fasthttp.HostClient
}

func soak(serverURL, bin string, o options, length time.Duration) error {
	dbName := "licensor_soak_" + randHex(4)
	dsn, err := createDatabase(serverURL, dbName)
	if err != nil {
		return err
	}
	defer dropDatabase(serverURL, dbName)
	env := append(os.Environ(), "LICENSOR_DATABASE_URL="+dsn, "LICENSOR_LOG_LEVEL=warn",
		"LICENSOR_INSTANCE_SECRET=soak "+randHex(8))
	internalKey, externalKey, err := prepareDatabase(env, bin, "soak")
	if err != nil {
		return err
	}
	const adminEmail, adminPassword = "soak@example.com", "soak admin password"
	if _, err := lastLine(command(env, bin, "admin", "create", "--email", adminEmail, "--password", adminPassword, "--name", "Soak")); err != nil {
		return err
	}

	var nodes []*node
	for i := range 2 {
		port, err := freePort()
		if err != nil {
			return err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(env, "LICENSOR_HTTP_ADDR="+addr, "LICENSOR_BASE_URL=http://"+addr,
			"LICENSOR_DATA_DIR="+os.TempDir()+"/"+dbName+"-"+strconv.Itoa(i))
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
		n := &node{cmd: cmd, base: "http://" + addr, hc: newHostClient(addr, o.conns)}
		if err := waitHealthy(apiClient{n.hc}, 60*time.Second); err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	api := apiClient{nodes[0].hc}

	fmt.Fprintf(os.Stderr, "soak: setting up %d licenses and %d activations\n", o.licenses, o.installs)
	if err := api.call("/api/internal/products", internalKey, map[string]any{"name": "Soak", "reference_id": "SOAK"}, nil); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	const customerEmail, customerPassword = "buyer@example.com", "soak customer password"
	if err := api.call("/api/internal/customers", internalKey, map[string]any{"name": "Buyer", "email": customerEmail, "password": customerPassword}, nil); err != nil {
		return fmt.Errorf("create customer: %w", err)
	}
	if err := parallel(o.licenses, setupWorkers, func(i int) error {
		return api.call("/api/internal/product-licenses", internalKey, map[string]any{"product_reference_id": "SOAK", "license_code": licenseCode(i), "parallel_uses": nil, "email": customerEmail}, nil)
	}); err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	verifyBodies := make([][]byte, o.installs)
	if err := parallel(o.installs, setupWorkers, func(i int) error {
		token, err := activate(api, externalKey, i, fmt.Sprintf("https://install-%d.example.com", i))
		verifyBodies[i] = []byte(fmt.Sprintf(`{"product_id":"SOAK","license_data":%q}`, token))
		return err
	}); err != nil {
		return err
	}
	console, err := signIn(nodes[0].base, "/admin/login", adminEmail, adminPassword)
	if err != nil {
		return fmt.Errorf("console sign-in: %w", err)
	}
	portal, err := signIn(nodes[1].base, "/customer/login", customerEmail, customerPassword)
	if err != nil {
		return fmt.Errorf("portal sign-in: %w", err)
	}

	var (
		seq   atomic.Int64
		stats soakStats
		wg    sync.WaitGroup
	)
	start := time.Now()
	warmEnd := start.Add(o.warmup)
	deadline := warmEnd.Add(length)
	for w := range o.conns {
		wg.Go(func() {
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var mine []string // this worker's activations, to deactivate
			for time.Now().Before(deadline) {
				i := seq.Add(1)
				n := nodes[int(i)%len(nodes)]
				k := kindOf(i)
				if k == kindDeactivate && len(mine) == 0 {
					k = kindActivate
				}
				t0 := time.Now()
				var err error
				switch k {
				case kindVerify:
					err = apiCall(n, req, resp, "/api/external/license/verify", externalKey, verifyBodies[int(i)%len(verifyBodies)], "https://install-"+strconv.Itoa(int(i)%len(verifyBodies))+".example.com")
				case kindActivate:
					host := fmt.Sprintf("https://w%d-%d.example.com", w, i)
					var token string
					token, err = activate(apiClient{n.hc}, externalKey, int(i)%o.licenses, host)
					if err == nil {
						mine = append(mine, host+"\n"+token)
					}
				case kindDeactivate:
					host, token, _ := strings.Cut(mine[len(mine)-1], "\n")
					mine = mine[:len(mine)-1]
					err = apiCall(n, req, resp, "/api/external/license/deactivate", externalKey, []byte(fmt.Sprintf(`{"product_id":"SOAK","license_data":%q}`, token)), host)
				case kindConsole:
					err = page(console, n.base+"/admin/licenses?page=2", "Licenses")
				case kindPortal:
					err = page(portal, n.base+"/customer/product-licenses", "Soak")
				}
				if t0.After(warmEnd) {
					stats.add(k, time.Since(t0), err)
				}
			}
		})
	}
	time.Sleep(time.Until(warmEnd))
	startRSS := []int64{currentRSS(nodes[0].cmd.Process.Pid), currentRSS(nodes[1].cmd.Process.Pid)}
	fmt.Fprintf(os.Stderr, "soak: warm; running %s\n", length)
	wg.Wait()
	elapsed := time.Since(warmEnd)
	endRSS := []int64{currentRSS(nodes[0].cmd.Process.Pid), currentRSS(nodes[1].cmd.Process.Pid)}

	fmt.Printf("\nSoak: two nodes, %d connections, %s after %s warm-up\n\n", o.conns, length, o.warmup)
	fmt.Printf("%-14s %10s %10s %10s %8s\n", "", "per second", "p50", "p99", "errors")
	var total, errs int64
	for k := range soakKinds {
		s := stats.samples[k]
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		var p50, p99 time.Duration
		if len(s) > 0 {
			p50, p99 = s[len(s)/2].Round(10*time.Microsecond), s[len(s)*99/100].Round(10*time.Microsecond)
		}
		fmt.Printf("%-14s %10.0f %10s %10s %8d\n", soakKindNames[k], float64(len(s))/elapsed.Seconds(), p50, p99, stats.errors[k])
		total += int64(len(s))
		errs += stats.errors[k]
	}
	fmt.Printf("%-14s %10.0f %21s %8d\n", "all", float64(total)/elapsed.Seconds(), "", errs)
	for k := range soakKinds {
		if stats.firstErr[k] != "" {
			fmt.Printf("  first %s error: %s\n", soakKindNames[k], stats.firstErr[k])
		}
	}
	fmt.Println()
	grew := false
	for i := range nodes {
		growth := float64(endRSS[i]-startRSS[i]) / float64(max(startRSS[i], 1))
		fmt.Printf("node %d memory (RSS): %.1f MB after warm-up, %.1f MB at the end (%+.0f%%), peak %.1f MB\n",
			i+1, float64(startRSS[i])/1024, float64(endRSS[i])/1024, growth*100, float64(readPeakRSS(nodes[i].cmd.Process.Pid))/1024)
		grew = grew || growth > 0.25
	}
	if grew {
		fmt.Println("memory grew by more than a quarter during the soak")
	}
	if errs > 0 || grew {
		return fmt.Errorf("soak failed: %d errors, memory grew: %v", errs, grew)
	}
	return nil
}

// apiCall posts body with key (and X-API-URL host) to path on n; an error
// unless the answer is 200 with "status":true.
func apiCall(n *node, req *fasthttp.Request, resp *fasthttp.Response, path, key string, body []byte, host string) error {
	req.Reset()
	req.SetRequestURI(n.base + path)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("X-API-URL", host)
	req.SetBodyRaw(body)
	if err := n.hc.DoTimeout(req, resp, 10*time.Second); err != nil {
		return err
	}
	if resp.StatusCode() != 200 || !strings.Contains(string(resp.Body()), `"status":true`) {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode(), resp.Body())
	}
	return nil
}

func activate(api apiClient, key string, license int, host string) (string, error) {
	var out struct {
		Status bool `json:"status"`
		Data   struct {
			LicenseData string `json:"license_data"`
		} `json:"data"`
	}
	if err := api.call("/api/external/license/activate", key, map[string]any{"product_id": "SOAK", "license_code": licenseCode(license)}, &out, "X-API-URL", host); err != nil {
		return "", err
	}
	if !out.Status {
		return "", fmt.Errorf("activate %s from %s: status false", licenseCode(license), host)
	}
	return out.Data.LicenseData, nil
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn signs in on a sign-in form and returns a client holding the
// session (shared by both nodes: sessions live in PostgreSQL).
func signIn(base, path, email, password string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(base + path)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no CSRF field on %s", path)
	}
	res, err = hc.PostForm(base+path, url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("sign in at %s: %d", path, res.StatusCode)
	}
	return hc, nil
}

// page GETs u and checks it is a 200 page containing want.
func page(hc *http.Client, u, want string) error {
	res, err := hc.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return nil
}

// currentRSS returns VmRSS (resident set now) in KiB.
func currentRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}
