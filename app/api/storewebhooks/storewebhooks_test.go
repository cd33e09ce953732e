package storewebhooks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/test/eventually"
)

const (
	plugin = "orders-woocommerce"
	secret = "wc-webhook-secret"
)

var system = audit.Source{Actor: audit.System}

type fixture struct {
	t    *testing.T
	e    *servertest.Env
	smtp *mailtest.Server
	ctx  context.Context
	// path is the plugin's webhook path with its secret.
	path string
	// now is the clock of the order processor and the poller: the
	// fixtures' order dates are relative to it.
	now time.Time
}

// testNow is a test's clock reading: order dates in the fixtures are
// relative to it, so the tests pass whatever the date.
func testNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

func setup(t *testing.T, storeURL string, now time.Time) *fixture {
	t.Helper()
	cfg := map[string]string{"webhook_secret": secret, "poll_days": "3"}
	if storeURL != "" {
		cfg["store_url"], cfg["consumer_key"], cfg["consumer_secret"] = storeURL, "ck_1", "cs_1"
	}
	return setupPlugin(t, plugin, "ACME-PRO", cfg, storeURL != "", now)
}

// setupPlugin runs a node with plugin installed, enabled and configured
// with cfg, sku mapped to product ACME, and River working order jobs
// (poll_orders too when poll is set: once at start, then when queued),
// the processor and the poller on a clock stopped at now.
func setupPlugin(t *testing.T, plugin, sku string, cfg map[string]string, poll bool, now time.Time) *fixture {
	t.Helper()
	clock := func() time.Time { return now }
	dir := t.TempDir()
	hosttest.Install(t, dir, plugin)
	hosttest.Install(t, dir, "import-xlsx")
	e := servertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir })
	ctx := context.Background()
	n := e.Nodes[0]
	if err := n.Plugins.SetEnabled(ctx, plugin, true, system); err != nil {
		t.Fatal(err)
	}
	if err := n.Plugins.Save(ctx, plugin, cfg, system); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, system, settings.Defaults(),
		catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.SetMapping(ctx, e.DB.Bun, plugin, sku, "ACME"); err != nil {
		t.Fatal(err)
	}

	smtp := mailtest.Start(t)
	transport, err := mail.ParseSMTPURL(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	// The node's services, with a processor and a poller on the test's clock.
	proc := orders.NewProcessor(e.DB.Bun, n.Customers, n.Licensing, n.Outbound.Mailer, n.Settings, clock)
	deps := jobs.Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Orders: proc,
		Mail:   mail.NewSender(e.DB.Bun, transport, nil),
	}
	if poll {
		deps.OrderPoller = orders.NewPoller(e.DB.Bun, n.Outbound.Queue, orders.NewPlugins(n.Plugins), clock)
		deps.OrderPollEvery = time.Hour
	}
	client, err := jobs.NewClient(e.DB.Pool, deps, jobs.Options{FetchPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stop)
	})
	secret, err := n.Plugins.WebhookSecret(ctx, plugin)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, e: e, smtp: smtp, ctx: ctx, path: "/api/external/webhooks/" + plugin + "/" + secret, now: now}
}

const wooTime = "2006-01-02T15:04:05"

// wcOrder is a WooCommerce order last modified at modified (created two
// minutes and paid one minute before).
func wcOrder(id int64, status, sku string, qty int, modified time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "status": status, "date_created_gmt": modified.Add(-2 * time.Minute).UTC().Format(wooTime),
		"date_paid_gmt": modified.Add(-time.Minute).UTC().Format(wooTime), "date_modified_gmt": modified.UTC().Format(wooTime),
		"billing":    map[string]any{"first_name": "Wendy", "last_name": "Woo", "email": "wendy@example.com"},
		"line_items": []map[string]any{{"name": "Acme CMS Pro", "sku": sku, "quantity": qty}},
	})
	return b
}

func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (f *fixture) post(body []byte, signature string) int {
	f.t.Helper()
	code, _ := f.postTo(f.path, body, signature)
	return code
}

// postTo posts a WooCommerce webhook to path and returns the status and
// the body.
func (f *fixture) postTo(path string, body []byte, signature string) (int, string) {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-WC-Webhook-Topic", "order.updated")
	req.Header.Set("X-WC-Webhook-Signature", signature)
	res, err := f.e.App.Test(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.e.DB.Bun.NewRaw(query, args...).Scan(f.ctx, &n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// settle waits until no job is waiting or running.
func (f *fixture) settle() {
	f.t.Helper()
	f.eventually("jobs finished", func() bool {
		return f.count(`SELECT count(*) FROM river_job WHERE state IN ('available','running','retryable','scheduled')`) == 0
	})
}

func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	if !eventually.Within(20*time.Second, cond) {
		var rows []struct {
			Kind  string `bun:"kind"`
			State string `bun:"state"`
			Errs  string `bun:"errors"`
		}
		_ = f.e.DB.Bun.NewRaw(`SELECT kind, state, coalesce(errors::text, '') AS errors FROM river_job`).Scan(f.ctx, &rows)
		f.t.Fatalf("timed out waiting for %s; jobs: %+v", what, rows)
	}
}

// A signed WooCommerce webhook through the real plugin: the customer and
// the licenses are created and emailed; the same webhook again changes
// nothing; a bad signature is 401 and queues nothing; an unmapped SKU is
// logged as an error with nothing created; the refund blocks the licenses.
func TestWooCommerceWebhook(t *testing.T) {
	f := setup(t, "", testNow())
	paid := wcOrder(1001, "processing", "ACME-PRO", 2, f.now.Add(-time.Hour))
	if code := f.post(paid, sign(paid, secret)); code != http.StatusOK {
		t.Fatalf("signed webhook: %d", code)
	}
	f.settle()
	if n := f.count(`SELECT count(*) FROM customers WHERE email = 'wendy@example.com' AND name = 'Wendy Woo'`); n != 1 {
		t.Fatalf("customers: %d", n)
	}
	if n := f.count(`SELECT count(*) FROM licenses l JOIN customers c ON c.client_id = l.customer_id
		JOIN products p ON p.id = l.product_id WHERE c.email = 'wendy@example.com' AND p.reference_id = 'ACME' AND l.invoice = '1001' AND l.is_valid`); n != 2 {
		t.Fatalf("licenses issued: %d", n)
	}
	f.eventually("license emails", func() bool {
		n := 0
		for _, m := range f.smtp.Messages() {
			if strings.Contains(m.Subject, "Your Acme CMS license details") && strings.Contains(strings.Join(m.To, ","), "wendy@example.com") {
				n++
			}
		}
		return n == 2
	})

	if code := f.post(paid, sign(paid, secret)); code != http.StatusOK {
		t.Fatalf("repeated webhook: %d", code)
	}
	f.settle()
	if n := f.count(`SELECT count(*) FROM licenses`); n != 2 {
		t.Fatalf("the same webhook again issued licenses: %d", n)
	}
	if n := f.count(`SELECT count(*) FROM processed_orders WHERE order_id = '1001' AND status = 'paid' AND outcome = 'done'`); n != 1 {
		t.Fatalf("log rows: %d", n)
	}

	jobsBefore := f.count(`SELECT count(*) FROM river_job`)
	forged := wcOrder(1002, "processing", "ACME-PRO", 1, f.now.Add(-time.Hour))
	if code := f.post(forged, sign(forged, "wrong secret")); code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", code)
	}
	if code := f.post(forged, "not base64!"); code != http.StatusUnauthorized {
		t.Fatalf("garbage signature: %d", code)
	}
	if n := f.count(`SELECT count(*) FROM river_job`); n != jobsBefore {
		t.Fatalf("a forged webhook queued %d jobs", n-jobsBefore)
	}

	unknown := wcOrder(1003, "completed", "NOPE", 1, f.now.Add(-time.Hour))
	if code := f.post(unknown, sign(unknown, secret)); code != http.StatusOK {
		t.Fatalf("unmapped webhook: %d", code)
	}
	f.settle()
	if n := f.count(`SELECT count(*) FROM processed_orders WHERE order_id = '1003' AND outcome = 'error' AND error LIKE '%NOPE%'`); n != 1 {
		t.Fatalf("unmapped SKU not logged as an error")
	}
	if n := f.count(`SELECT count(*) FROM licenses`); n != 2 {
		t.Fatalf("unmapped SKU issued licenses: %d", n)
	}

	refund := wcOrder(1001, "refunded", "ACME-PRO", 2, f.now.Add(-time.Hour))
	if code := f.post(refund, sign(refund, secret)); code != http.StatusOK {
		t.Fatalf("refund webhook: %d", code)
	}
	f.settle()
	if n := f.count(`SELECT count(*) FROM licenses WHERE invoice = '1001' AND NOT is_valid`); n != 2 {
		t.Fatalf("refund blocked %d of 2 licenses", n)
	}

}

// The spec path's gate (docs/api/external.md#store-webhooks): an unknown name, a non-order
// plugin, a disabled plugin, a short, wrong or rotated secret are all the
// same 404 envelope and queue nothing; an oversized body is 413; the old
// path is gone.
func TestWebhookPath(t *testing.T) {
	f := setup(t, "", testNow())
	n := f.e.Nodes[0]
	paid := wcOrder(3001, "processing", "ACME-PRO", 1, f.now.Add(-time.Hour))
	sig := sign(paid, secret)
	secretOf := func(name string) string {
		s, err := n.Plugins.WebhookSecret(f.ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := secretOf(plugin)
	if len(good) < 16 || secretOf(plugin) != good {
		t.Fatalf("webhook secret %q is short or not stable", good)
	}
	var sealed []byte
	if err := f.e.DB.Bun.NewRaw(`SELECT webhook_secret FROM plugin_settings WHERE name = ?`, plugin).Scan(f.ctx, &sealed); err != nil ||
		len(sealed) < 40 || bytes.Contains(sealed, []byte(good)) {
		t.Fatalf("stored webhook secret %x (%v): not sealed", sealed, err)
	}
	xlsx := secretOf("import-xlsx")
	if err := n.Plugins.SetEnabled(f.ctx, "import-xlsx", true, system); err != nil {
		t.Fatal(err)
	}
	const notFound = `{"status":false,"is_active":false,"message":"Not found."}`
	for _, path := range []string{
		"/api/external/webhooks/no-such-plugin/" + good,
		"/api/external/webhooks/import-xlsx/" + xlsx,
		"/api/external/webhooks/" + plugin + "/" + good[:15],
		"/api/external/webhooks/" + plugin + "/" + strings.Repeat("x", len(good)),
		"/api/external/webhooks/" + plugin + "/" + good + "x",
	} {
		if code, body := f.postTo(path, paid, sig); code != http.StatusNotFound || body != notFound {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if code, _ := f.postTo("/api/orders/"+plugin+"/webhook", paid, sig); code != http.StatusNotFound {
		t.Errorf("old path: %d", code)
	}

	big := append(append([]byte(`{"id":3002,"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...), '"', '}')
	if code, body := f.postTo(f.path, big, sign(big, secret)); code != http.StatusRequestEntityTooLarge ||
		body != `{"status":false,"is_active":false,"message":"The request body is too large."}` {
		t.Errorf("oversized body: %d %s", code, body)
	}
	if c := f.count(`SELECT count(*) FROM river_job WHERE kind = 'process_order'`); c != 0 {
		t.Fatalf("refused webhooks queued %d jobs", c)
	}

	if code, body := f.postTo(f.path, paid, sig); code != http.StatusOK || body != `{"status":true,"message":"Accepted."}` {
		t.Fatalf("accepted: %d %s", code, body)
	}
	ignored := wcOrder(3003, "pending", "ACME-PRO", 1, f.now.Add(-time.Hour))
	if code, body := f.postTo(f.path, ignored, sign(ignored, secret)); code != http.StatusOK || body != `{"status":true,"message":"Ignored: order status pending ignored."}` {
		t.Fatalf("ignored: %d %s", code, body)
	}

	rotated, err := n.Plugins.RotateWebhookSecret(f.ctx, plugin, system)
	if err != nil || rotated == good || len(rotated) < 16 {
		t.Fatalf("rotate: %q %v", rotated, err)
	}
	if code := f.post(paid, sig); code != http.StatusNotFound {
		t.Fatalf("the old secret after rotation: %d", code)
	}
	if code, _ := f.postTo("/api/external/webhooks/"+plugin+"/"+rotated, paid, sig); code != http.StatusOK {
		t.Fatalf("the new secret: %d", code)
	}
	// The short name (woocommerce, docs/api/external.md#store-webhooks)
	// reaches orders-woocommerce.
	other := wcOrder(3004, "processing", "ACME-PRO", 1, f.now.Add(-time.Hour))
	if code, body := f.postTo("/api/external/webhooks/woocommerce/"+rotated, other, sign(other, secret)); code != http.StatusOK || body != `{"status":true,"message":"Accepted."}` {
		t.Fatalf("short name: %d %s", code, body)
	}

	if err := n.Plugins.SetEnabled(f.ctx, plugin, false, system); err != nil {
		t.Fatal(err)
	}
	if code, body := f.postTo("/api/external/webhooks/"+plugin+"/"+rotated, paid, sig); code != http.StatusNotFound || body != notFound {
		t.Fatalf("disabled plugin: %d %s", code, body)
	}
	f.settle()
	if c := f.count(`SELECT count(*) FROM river_job WHERE kind = 'process_order'`); c != 3 {
		t.Fatalf("process_order jobs: %d, want the 3 accepted", c)
	}
}

// The poll_orders River job against a fake WooCommerce REST server on
// loopback, through the real plugin and the real worker: the consumer key
// and secret are sent, the orders since the cursor are queued and
// processed, the cursor is saved, and a second poll asks from the cursor
// (from a second before it: WooCommerce's modified_after is strictly after,
// so the orders of the cursor's second come again) and creates nothing new.
func TestWooCommercePollJob(t *testing.T) {
	now := testNow()
	modified := now.Add(-time.Hour)
	mod := modified.Format(wooTime)
	var mu sync.Mutex
	var queries []string
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.URL.Path != "/wp-json/wc/v3/orders" || !ok || user != "ck_1" || pass != "cs_1" {
			http.Error(w, `{"code":"woocommerce_rest_cannot_view"}`, http.StatusUnauthorized)
			return
		}
		mu.Lock()
		queries = append(queries, r.URL.Query().Get("modified_after"))
		mu.Unlock()
		list := []json.RawMessage{}
		if r.URL.Query().Get("modified_after") < mod {
			list = append(list, wcOrder(2001, "completed", "ACME-PRO", 1, modified), wcOrder(2002, "pending", "ACME-PRO", 1, modified))
		}
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer store.Close()

	// The periodic job runs once when the worker starts.
	f := setup(t, store.URL, now)
	f.eventually("the first poll", func() bool {
		return f.count(`SELECT count(*) FROM river_job WHERE kind = 'poll_orders' AND state = 'completed'`) == 1
	})
	f.settle()
	if c := f.count(`SELECT count(*) FROM licenses l JOIN customers c ON c.client_id = l.customer_id
		WHERE l.invoice = '2001' AND c.email = 'wendy@example.com' AND l.is_valid`); c != 1 {
		t.Fatalf("polled order issued %d licenses", c)
	}
	if c := f.count(`SELECT count(*) FROM processed_orders WHERE order_id = '2002'`); c != 0 {
		t.Fatalf("a pending order was processed")
	}
	if cur, err := orders.Cursor(f.ctx, f.e.DB.Bun, plugin); err != nil || cur != mod {
		t.Fatalf("cursor %q %v", cur, err)
	}

	if _, err := f.e.Nodes[0].Outbound.Queue.Add(f.ctx, f.e.DB.Bun, jobargs.PollOrders{}, nil); err != nil {
		t.Fatal(err)
	}
	f.eventually("the second poll", func() bool {
		return f.count(`SELECT count(*) FROM river_job WHERE kind = 'poll_orders' AND state = 'completed'`) == 2
	})
	f.settle()
	mu.Lock()
	defer mu.Unlock()
	// The first poll looks back poll_days (3) from the host's clock.
	first := now.Add(-3*24*time.Hour - time.Second).Format(wooTime)
	if again := modified.Add(-time.Second).Format(wooTime); len(queries) != 2 || queries[0] != first || queries[1] != again {
		t.Fatalf("polls asked for %q", queries)
	}
	if c := f.count(`SELECT count(*) FROM licenses`); c != 1 {
		t.Fatalf("second poll issued licenses: %d", c)
	}
	if c := f.count(`SELECT count(*) FROM customers`); c != 1 {
		t.Fatalf("customers after two polls: %d", c)
	}
}

// A Gumroad sale ping through the real plugin: the secret in the URL
// decides 401 or 200; a sale issues licenses, refunded=true blocks them.
func TestGumroadPing(t *testing.T) {
	f := setupPlugin(t, "orders-gumroad", "acme-cms", map[string]string{"ping_secret": "gum-secret-1"}, false, testNow())
	ping := func(query string, form url.Values) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, f.path+"?"+query, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := f.e.App.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	sale := url.Values{"sale_id": {"S-1"}, "email": {"gus@example.com"}, "full_name": {"Gus Gum"},
		"product_permalink": {"acme-cms"}, "product_name": {"Acme CMS"}, "quantity": {"1"},
		"sale_timestamp": {f.now.Add(-time.Hour).Format(time.RFC3339)}, "refunded": {"false"}}
	for _, q := range []string{"", "secret=wrong", "secret=gum-secret-"} {
		if code := ping(q, sale); code != http.StatusUnauthorized {
			t.Fatalf("ping with %q: %d", q, code)
		}
	}
	if n := f.count(`SELECT count(*) FROM river_job WHERE kind = 'process_order'`); n != 0 {
		t.Fatalf("refused pings queued %d jobs", n)
	}
	if code := ping("secret=gum-secret-1", sale); code != http.StatusOK {
		t.Fatalf("good ping: %d", code)
	}
	f.settle()
	if n := f.count(`SELECT count(*) FROM licenses l JOIN customers c ON c.client_id = l.customer_id WHERE c.email = 'gus@example.com' AND l.invoice = 'S-1' AND l.is_valid`); n != 1 {
		t.Fatalf("licenses issued: %d", n)
	}
	sale.Set("refunded", "true")
	if code := ping("secret=gum-secret-1", sale); code != http.StatusOK {
		t.Fatalf("refund ping: %d", code)
	}
	f.settle()
	if n := f.count(`SELECT count(*) FROM licenses WHERE invoice = 'S-1' AND NOT is_valid`); n != 1 {
		t.Fatalf("refund did not block the license")
	}
}
