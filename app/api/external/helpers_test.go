package external_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

// paths is one set of the external API's paths and header names: the
// modern ones, or the LicenseBox-era aliases. Every behaviour test runs
// against both.
type paths struct {
	name                                          string
	connection, activate, verify, deactivate, chk string
	keyHeader, urlHeader, ipHeader                string
}

var (
	modern = paths{
		name:       "modern",
		connection: "/api/external/connection-check", activate: "/api/external/license/activate",
		verify: "/api/external/license/verify", deactivate: "/api/external/license/deactivate", chk: "/api/external/license/check",
		keyHeader: "X-API-KEY", urlHeader: "X-API-URL", ipHeader: "X-API-IP",
	}
	legacy = paths{
		name:       "legacy",
		connection: "/api/check_connection_ext", activate: "/api/activate_license",
		verify: "/api/verify_license", deactivate: "/api/deactivate_license", chk: "/api/check_license",
		keyHeader: "LB-API-KEY", urlHeader: "LB-URL", ipHeader: "LB-IP",
	}
	bothPaths = []paths{modern, legacy}
)

var admin = audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "test"}, IP: "127.0.0.1"}

// apiEnv is a servertest Env with an active product ACME and an external
// key holding every scope.
type apiEnv struct {
	*servertest.Env
	t       testing.TB
	key     string
	product *catalog.Product
	lics    *licensing.Service

	mu   sync.Mutex
	urls map[*fiber.App]string
}

func newAPIEnv(t testing.TB, configure ...func(*config.Config)) *apiEnv {
	t.Helper()
	return newAPIEnvWithClock(t, nil, configure...)
}

// newAPIEnvWithClock is newAPIEnv with its nodes on the clock now
// (servertest.NewWithClock).
func newAPIEnvWithClock(t testing.TB, now func() time.Time, configure ...func(*config.Config)) *apiEnv {
	t.Helper()
	a := &apiEnv{Env: servertest.NewWithClock(t, now, configure...), t: t, lics: licensing.NewService(licensing.Options{})}
	a.key = a.newKey(apikeys.CreateParams{Name: "client", Type: apikeys.TypeExternal})
	a.product = a.newProduct("ACME", "Acme CMS")
	return a
}

func (a *apiEnv) newKey(p apikeys.CreateParams) string {
	a.t.Helper()
	plain, _, err := apikeys.Create(context.Background(), a.DB.Bun, p, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return plain
}

func (a *apiEnv) newProduct(ref, name string) *catalog.Product {
	a.t.Helper()
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), a.DB.Bun, admin, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some(name), ReferenceID: fields.Some(ref),
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return p
}

// setProductActive changes a product; call it before any request reads
// the product, since nodes learn of the change asynchronously.
func (a *apiEnv) setProductActive(p *catalog.Product, active bool) {
	a.t.Helper()
	if _, _, err := catalog.NewService(nil).SetProductActive(context.Background(), a.DB.Bun, admin, p.ID, active); err != nil {
		a.t.Fatal(err)
	}
}

// license creates a license of product (ACME when nil) with code and the
// changes of each opt.
func (a *apiEnv) license(product *catalog.Product, code string, opts ...func(*licensing.LicenseInput)) *licensing.License {
	a.t.Helper()
	if product == nil {
		product = a.product
	}
	in := licensing.LicenseInput{ProductReferenceID: fields.Some(product.ReferenceID), LicenseCode: fields.Some(code)}
	for _, o := range opts {
		o(&in)
	}
	l, err := a.lics.CreateLicense(context.Background(), a.DB.Bun, admin, settings.Defaults(), in)
	if err != nil {
		a.t.Fatal(err)
	}
	return l
}

func parallel(n int) func(*licensing.LicenseInput) {
	return func(in *licensing.LicenseInput) { in.ParallelUses = fields.Some(&n) }
}

func uses(n int) func(*licensing.LicenseInput) {
	return func(in *licensing.LicenseInput) { in.Uses = fields.Some(&n) }
}

func customer(id string) func(*licensing.LicenseInput) {
	return func(in *licensing.LicenseInput) { in.CustomerID = fields.Some(&id) }
}

func domains(d ...string) func(*licensing.LicenseInput) {
	return func(in *licensing.LicenseInput) { in.Domains = fields.Some(d) }
}

func ips(d ...string) func(*licensing.LicenseInput) {
	return func(in *licensing.LicenseInput) { in.IPs = fields.Some(d) }
}

func (a *apiEnv) exec(query string, args ...any) {
	a.t.Helper()
	// Plain SQL through the nodes' pools: their write fence keeps the next
	// request from answering from before it.
	if _, err := a.DB.Bun.ExecContext(context.Background(), query, args...); err != nil {
		a.t.Fatal(err)
	}
}

// req is one request to the API.
type req struct {
	method  string // POST when empty
	path    string
	headers []string // name, value pairs
	// json is marshalled as the body; form is sent urlencoded; raw is sent
	// as it is with contentType.
	json        map[string]any
	form        url.Values
	raw         string
	contentType string
}

// resp is an answer with its body, decoded when it is a JSON object.
type resp struct {
	*http.Response
	Body string
	JSON map[string]any
}

func (r resp) str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// race sends n requests at once over real HTTP connections, request(i)
// the i-th, alternating between the Env's first two nodes (warmed first,
// so the requests overlap), and counts their answers: a seat granted
// (status true) or refused as ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES;
// any other answer fails the test. active is the active activations of
// license code after.
func (a *apiEnv) race(code string, n int, request func(i int) req) (granted, full, active int) {
	a.t.Helper()
	for _, node := range a.Nodes[:2] {
		a.do(node.App, req{method: "GET", path: modern.connection, headers: []string{"X-API-KEY", a.key}})
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]resp, n)
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = a.do(a.Nodes[i%2].App, request(i))
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		switch {
		case r.StatusCode == 200 && r.JSON["status"] == true:
			granted++
		case r.StatusCode == 200 && r.str("status_code") == "ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES":
			full++
		default:
			a.t.Errorf("request %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if err := a.DB.Bun.NewRaw("SELECT count(*) FROM activations WHERE license_code = ? AND is_active", code).Scan(context.Background(), &active); err != nil {
		a.t.Fatal(err)
	}
	return granted, full, active
}

func (a *apiEnv) do(app *fiber.App, rq req) resp {
	a.t.Helper()
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	var body string
	ct := rq.contentType
	switch {
	case rq.json != nil:
		b, err := json.Marshal(rq.json)
		if err != nil {
			a.t.Fatal(err)
		}
		body, ct = string(b), "application/json"
	case rq.form != nil:
		body, ct = rq.form.Encode(), "application/x-www-form-urlencoded"
	default:
		body = rq.raw
	}
	base := a.listen(app)
	if len(body) > oversizedBody {
		return a.doHeadersOnly(base, method, rq, ct, len(body))
	}
	r, err := http.NewRequest(method, base+rq.path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(rq.headers); i += 2 {
		r.Header.Set(rq.headers[i], rq.headers[i+1])
	}
	hr, err := httpClient.Do(r)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, rq.path, err)
	}
	defer func() { _ = hr.Body.Close() }()
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	res := resp{Response: hr, Body: string(b)}
	_ = json.Unmarshal(b, &res.JSON)
	return res
}

// oversizedBody is where do stops sending bodies: past the server's limit
// the server answers 413 from the headers and closes. Sending the body too
// would race that close (the kernel resets a socket closed with unread
// data, and the client may lose the answer), so only the headers and the
// first streamPrefetch bytes go out: the server streams request bodies
// (version uploads) and reads that much before it routes the request.
const (
	oversizedBody  = 512 << 10
	streamPrefetch = 8 << 10
)

func (a *apiEnv) doHeadersOnly(base, method string, rq req, ct string, length int) resp {
	a.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, rq.path, strings.TrimPrefix(base, "http://"), length)
	if ct != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
	}
	for i := 0; i+1 < len(rq.headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", rq.headers[i], rq.headers[i+1])
	}
	b.WriteString("\r\n")
	b.WriteString(strings.Repeat("x", min(length, streamPrefetch)))
	if _, err := io.WriteString(conn, b.String()); err != nil {
		a.t.Fatal(err)
	}
	hr, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, rq.path, err)
	}
	defer func() { _ = hr.Body.Close() }()
	raw, err := io.ReadAll(hr.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	res := resp{Response: hr, Body: string(raw)}
	_ = json.Unmarshal(raw, &res.JSON)
	return res
}

var httpClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

// listen serves app on a loopback port (once per app) and returns its base
// URL: requests then go through the real HTTP server, as deployed.
func (a *apiEnv) listen(app *fiber.App) string {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.urls[app]; ok {
		return u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	a.t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	u := "http://" + ln.Addr().String()
	if a.urls == nil {
		a.urls = map[*fiber.App]string{}
	}
	a.urls[app] = u
	return u
}

// call sends a JSON body to path on the first node with the key of the
// path set and optional URL and IP headers of the same set.
func (a *apiEnv) call(p paths, path string, body map[string]any, callerURL string, extra ...string) resp {
	a.t.Helper()
	h := []string{p.keyHeader, a.key}
	if callerURL != "" {
		h = append(h, p.urlHeader, callerURL)
	}
	return a.do(a.App, req{path: path, headers: append(h, extra...), json: body})
}

// expect checks an answer's status and exact body.
func expect(t testing.TB, r resp, status int, body string) {
	t.Helper()
	if r.StatusCode != status || r.Body != body {
		t.Fatalf("got %d %s\nwant %d %s", r.StatusCode, r.Body, status, body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

// activate activates code from host on path set p and returns the token.
func (a *apiEnv) activate(p paths, code, host string) string {
	a.t.Helper()
	r := a.call(p, p.activate, map[string]any{"product_id": a.product.ReferenceID, "license_code": code}, host)
	if r.StatusCode != 200 || r.JSON["status"] != true {
		a.t.Fatalf("activate %s from %s: %d %s", code, host, r.StatusCode, r.Body)
	}
	return r.str("lic_response")
}

// notified bounds the wait for a change other nodes learn of by NOTIFY.
const notified = 5 * time.Second
