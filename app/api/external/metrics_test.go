package external_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/webhooks"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/test/eventually"
)

// scrape reads base's /metrics (with extra headers) and returns its status
// and the samples by their full name with labels, as written.
func scrape(t testing.TB, base string, headers ...string) (int, map[string]float64) {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	hr, err := httpClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hr.Body.Close() }()
	samples := map[string]float64{}
	if hr.StatusCode != http.StatusOK {
		return hr.StatusCode, samples
	}
	sc := bufio.NewScanner(hr.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return hr.StatusCode, samples
}

// TestMetrics scrapes /metrics while the API answers: the request counts by
// route pattern (not raw path), the license answers by status code, the
// verify cache's hits and invalidations, an email's job run and delivery,
// the pools and the Go runtime all move; a request forwarded for another
// address and a node whose metrics.allow excludes loopback answer 404.
func TestMetrics(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	base := a.listen(a.App)
	a.license(a.product, "MET-1", parallel(5))

	_, before := scrape(t, base)
	token := a.activate(modern, "MET-1", "https://one.example")
	verifies := 0
	// The cache answers once the activation's notification is back
	// (pgnotify's write fence): verify until it has.
	eventually.True(t, 5*time.Second, "a verify answered from the cache", func() bool {
		r := a.call(modern, modern.verify, map[string]any{"product_id": a.product.ReferenceID, "license_file": token}, "https://one.example")
		if r.JSON["status"] != true {
			t.Fatalf("verify: %s", r.Body)
		}
		verifies++
		hits, _, _ := a.Nodes[0].Activations.Counts()
		return hits > 0
	})
	a.call(modern, modern.activate, map[string]any{"product_id": a.product.ReferenceID, "license_code": "NO-SUCH"}, "https://two.example")
	a.exec("UPDATE licenses SET is_valid = false WHERE license_code = 'MET-1'")
	r := a.call(modern, modern.verify, map[string]any{"product_id": a.product.ReferenceID, "license_file": token}, "https://one.example")
	if r.str("status_code") != "LICENSE_BLOCKED" {
		t.Fatalf("verify of a blocked license: %s", r.Body)
	}

	smtp := a.StartMailWorker(t)
	ctx := context.Background()
	set, err := a.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Nodes[0].Outbound.Mailer.AdminPasswordReset(ctx, a.DB.Bun, set, a.Admin); err != nil {
		t.Fatal(err)
	}
	smtp.Wait(1, 10*time.Second)

	var after map[string]float64
	// The delivery is counted when the SMTP server has answered, the job's
	// completion when River has recorded it, a moment later: wait for both.
	eventually.True(t, 5*time.Second, "the email's delivery and its job's completion counted", func() bool {
		_, after = scrape(t, base)
		return after[`licensor_mail_deliveries_total{result="sent"}`] == 1 &&
			after[`licensor_jobs_total{kind="send_mail",state="completed"}`] > before[`licensor_jobs_total{kind="send_mail",state="completed"}`]
	})
	moved := func(name string, by float64) {
		t.Helper()
		if got := after[name] - before[name]; got != by {
			t.Errorf("%s moved by %v, want %v", name, got, by)
		}
	}
	moved(`licensor_http_requests_total{method="POST",route="/api/external/license/verify",status="200"}`, float64(verifies+1))
	moved(`licensor_http_request_duration_seconds_count{method="POST",route="/api/external/license/verify"}`, float64(verifies+1))
	moved(`licensor_license_requests_total{operation="activate",result="OK"}`, 1)
	moved(`licensor_license_requests_total{operation="activate",result="LICENSE_INVALID"}`, 1)
	moved(`licensor_license_requests_total{operation="verify",result="OK"}`, float64(verifies))
	moved(`licensor_license_requests_total{operation="verify",result="LICENSE_BLOCKED"}`, 1)
	moved(`licensor_jobs_total{kind="send_mail",state="completed"}`, 1)
	moved(`licensor_job_queue_wait_seconds_count{kind="send_mail"}`, 1)
	moved(`licensor_verify_cache_total{event="hit"}`, 1)
	if after[`licensor_verify_cache_total{event="miss"}`] < 1 {
		t.Error("no verify cache miss counted (the first verify reads the database)")
	}
	if after[`licensor_verify_cache_total{event="invalidation"}`] < 1 {
		t.Error("blocking the license invalidated nothing in the verify cache")
	}
	for _, name := range []string{
		`go_goroutines`, `go_sql_max_open_connections{db_name="primary"}`,
		`licensor_pgx_conns{pool="direct",state="max"}`, `licensor_job_queue_scrape_errors_total`,
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if after[`licensor_job_queue_scrape_errors_total`] != 0 {
		t.Error("the job queue query failed")
	}
	for name := range after {
		if strings.Contains(name, "MET-1") || strings.Contains(name, token[:8]) {
			t.Errorf("a label holds request data: %s", name)
		}
	}

	// Forwarded by a proxy for another address: not served.
	if status, _ := scrape(t, base, "X-Forwarded-For", "203.0.113.9"); status != http.StatusNotFound {
		t.Errorf("/metrics forwarded for 203.0.113.9: %d, want 404", status)
	}
	if status, _ := scrape(t, base, "X-Forwarded-For", "127.0.0.1"); status != http.StatusOK {
		t.Errorf("/metrics forwarded for loopback: %d, want 200", status)
	}
}

// TestMetricsRefused: a node whose metrics.allow does not hold the caller,
// and a node serving metrics on metrics.addr, answer /metrics with 404 on
// the main listener.
func TestMetricsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		configure func(*config.Config)
	}{
		{"allow elsewhere", func(c *config.Config) { c.Metrics.Allow = []string{"10.1.2.0/24"} }},
		{"allow nobody", func(c *config.Config) { c.Metrics.Allow = nil }},
		{"own listener", func(c *config.Config) { c.Metrics.Addr = "127.0.0.1:1" }},
	} {
		e := servertest.New(t, tc.configure)
		a := &apiEnv{Env: e, t: t}
		base := a.listen(e.App)
		if status, _ := scrape(t, base); status != http.StatusNotFound {
			t.Errorf("%s: /metrics from loopback: %d, want 404", tc.name, status)
		}
	}
}

// TestPluginMetrics: a plugin's calls, its process running, and its restart
// after it was killed show in /metrics (licensor_plugin_*), as the deploy
// guide's LicensorPluginRestarts alert reads them.
func TestPluginMetrics(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"score":0.9}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	e := servertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir })
	a := &apiEnv{Env: e, t: t}
	base := a.listen(e.App)
	ctx := context.Background()
	svc := e.Nodes[0].Plugins
	by := audit.Source{Actor: audit.System}
	if err := svc.SetEnabled(ctx, "captcha-recaptcha", true, by); err != nil {
		t.Fatal(err)
	}
	if err := svc.Save(ctx, "captcha-recaptcha", map[string]string{
		"site_key": "site-1", "secret_key": "s3cret", "version": "v2", "score_threshold": "0.5", "verify_url": srv.URL,
	}, by); err != nil {
		t.Fatal(err)
	}
	h := svc.Host()
	call := func() error {
		_, err := h.Captcha("captcha-recaptcha").Verify(ctx, sdk.VerifyRequest{Token: "good", Form: "login"})
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	const label = `{plugin="captcha-recaptcha"}`
	_, m := scrape(t, base)
	if m["licensor_plugin_calls_total"+label] < 1 || m["licensor_plugin_up"+label] != 1 || m["licensor_plugin_restarts_total"+label] != 0 {
		t.Fatalf("plugin metrics after a call: calls %v, up %v, restarts %v", m["licensor_plugin_calls_total"+label], m["licensor_plugin_up"+label], m["licensor_plugin_restarts_total"+label])
	}
	p, _ := h.Get("captcha-recaptcha")
	if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The next calls find it dead and start it again after its backoff.
	eventually.True(t, 10*time.Second, "the killed plugin answers again", func() bool { return call() == nil })
	_, m = scrape(t, base)
	if m["licensor_plugin_restarts_total"+label] != 1 || m["licensor_plugin_up"+label] != 1 || m["licensor_plugin_errors_total"+label] < 1 {
		t.Fatalf("plugin metrics after a kill: restarts %v, up %v, errors %v", m["licensor_plugin_restarts_total"+label], m["licensor_plugin_up"+label], m["licensor_plugin_errors_total"+label])
	}
}

// TestWebhookMetrics: a webhook delivery that fails and then succeeds
// moves licensor_webhook_deliveries_total's failed and delivered, and the
// job runs of deliver_webhook, on /metrics.
func TestWebhookMetrics(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	receiver := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer receiver.Close()
	a := newAPIEnv(t)
	base := a.listen(a.App)
	a.SetSettings(t, map[string]string{"enable_webhooks": "true", "webhook_url": receiver.URL, "webhook_allowed_networks": "127.0.0.0/8"})
	// The node's deliverer, with a client trusting the receiver's certificate.
	deliver := webhooks.NewDeliverer(a.DB.Bun, receiver.Client(), a.Nodes[0].Settings, nil)
	a.StartWorkers(t, jobs.Deps{Logger: a.Nodes[0].Logger, Webhooks: deliver, WebhookBackoff: func(int) time.Duration { return 10 * time.Millisecond }})
	set, err := a.Nodes[0].Settings.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Through the node's service, whose hooks queue the license.created webhook.
	if _, err := a.Nodes[0].Licensing.CreateLicense(context.Background(), a.DB.Bun, admin, set, licensing.LicenseInput{
		ProductReferenceID: fields.Some(a.product.ReferenceID), LicenseCode: fields.Some("HOOK-1"),
	}); err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	eventually.True(t, 10*time.Second, "the webhook delivered after a failed attempt", func() bool {
		_, m = scrape(t, base)
		return m[`licensor_webhook_deliveries_total{result="delivered"}`] == 1
	})
	runs := 0.0
	for name, v := range m {
		if strings.HasPrefix(name, `licensor_jobs_total{kind="deliver_webhook",`) {
			runs += v
		}
	}
	// Two runs of the delivery's job: the failed attempt (left to be
	// retried) and the delivered one.
	if m[`licensor_webhook_deliveries_total{result="failed"}`] != 1 || m[`licensor_jobs_total{kind="deliver_webhook",state="completed"}`] != 1 || runs != 2 {
		t.Fatalf("webhook metrics: failed %v, job runs completed %v, all %v", m[`licensor_webhook_deliveries_total{result="failed"}`],
			m[`licensor_jobs_total{kind="deliver_webhook",state="completed"}`], runs)
	}
}
