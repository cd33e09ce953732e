package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web/webtest"
)

var system = audit.Source{Actor: audit.System}

func TestJobsUIIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	anon := e.Client(t)
	for path, next := range map[string]string{
		"/admin/jobs":          "%2Fadmin%2Fjobs",
		"/admin/jobs/":         "%2Fadmin%2Fjobs%2F",
		"/admin/jobs/api/jobs": "%2Fadmin%2Fjobs%2Fapi%2Fjobs",
	} {
		if r := anon.Get(path); r.StatusCode != 302 || r.Header.Get("Location") != "/admin/login?next="+next {
			t.Errorf("anonymous GET %s: %d %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	anon.GetCSRF("/admin/login")
	if r := anon.Do(jsonPost(t, "/admin/jobs/api/jobs/retry", `{"ids":["1"]}`, webtest.BaseURL)); r.StatusCode != 302 {
		t.Errorf("anonymous retry: %d", r.StatusCode)
	}

	c := e.SignIn(t)
	r := c.Get("/admin/jobs/")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `id="root"`) {
		t.Fatalf("River UI for an admin: %d\n%s", r.StatusCode, r.Body)
	}
	// River's page keeps a way back to Licensor.
	if !strings.Contains(r.Body, `<nav id="licensor-bar"`) || !strings.Contains(r.Body, `<a href="/admin" `) {
		t.Errorf("River's page has no Licensor header:\n%s", r.Body)
	}
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "script-src 'self' 'unsafe") {
		t.Errorf("UI CSP %q", csp)
	}
	// Its assets and API live under the prefix.
	assets := regexp.MustCompile(`(?:src|href)="(/admin/jobs/assets/[^"]+)"`).FindAllStringSubmatch(r.Body, -1)
	if len(assets) < 2 {
		t.Fatalf("no assets under /admin/jobs in\n%s", r.Body)
	}
	for _, a := range assets {
		if r := c.Get(a[1]); r.StatusCode != 200 || len(r.Body) < 100 {
			t.Errorf("GET %s: %d", a[1], r.StatusCode)
		}
	}
	if !strings.Contains(r.Body, `/admin/jobs/api`) {
		t.Error("the UI is not told its API lives under /admin/jobs/api")
	}

	// A failed job can be retried from the UI: its API takes same-origin
	// JSON without the form token, and nothing else.
	var id int64
	if err := e.DB.Bun.NewRaw(`INSERT INTO river_job (args, kind, state, attempt, finalized_at, errors)
		VALUES ('{"message_id":1}', 'send_mail', 'discarded', 25, now(), ARRAY['{"error":"smtp down"}'::jsonb]) RETURNING id`).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	list := c.Get("/admin/jobs/api/jobs?state=discarded", "Accept", "application/json")
	if list.StatusCode != 200 || !strings.Contains(list.Body, `"send_mail"`) {
		t.Fatalf("job list: %d %s", list.StatusCode, list.Body)
	}
	body := fmt.Sprintf(`{"ids":["%d"]}`, id)
	if r := c.Do(jsonPost(t, "/admin/jobs/api/jobs/retry", body, "https://evil.example")); r.StatusCode != 403 {
		t.Errorf("cross-origin retry: %d", r.StatusCode)
	}
	form := c.PostForm("/admin/jobs/api/jobs/retry", url.Values{"ids": {fmt.Sprint(id)}, "_csrf": {""}}, "Origin", webtest.BaseURL)
	if form.StatusCode != 403 {
		t.Errorf("form retry without a token: %d", form.StatusCode)
	}
	if r := c.Do(jsonPost(t, "/admin/jobs/api/jobs/retry", body, webtest.BaseURL)); r.StatusCode != 200 {
		t.Fatalf("retry: %d %s", r.StatusCode, r.Body)
	}
	var state string
	_ = e.DB.Bun.NewRaw("SELECT state FROM river_job WHERE id = ?", id).Scan(context.Background(), &state)
	if state != "available" {
		t.Fatalf("retried job is %s", state)
	}
}

func jsonPost(t *testing.T, path, body, origin string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", origin)
	return req
}

func TestMailOutboxPages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	n := e.Nodes[0]
	// A customer created (as by the API) with the node's hooks gets the
	// welcome email; no SMTP server is configured, so it stays in the
	// outbox.
	svc := customers.NewService(nil, n.Outbound.CustomerHooks())
	if _, err := svc.Create(ctx, e.DB.Bun, system, settings.Defaults(), customers.CreateParams{Name: "Ann <Lee>", Email: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := e.DB.Bun.NewRaw("SELECT id FROM mail_messages").Scan(ctx, &id); err != nil {
		t.Fatal(err)
	}
	if err := mail.NewSender(e.DB.Bun, nil, nil).Deliver(ctx, id, false); err != nil {
		t.Fatal(err)
	}

	c := e.SignIn(t)
	r := c.Get("/admin/mail")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Welcome to Licensor") || !strings.Contains(r.Body, "ann@example.com") ||
		!strings.Contains(r.Body, "No SMTP server is configured") || !strings.Contains(r.Body, `href="/admin/mail" aria-current="page"`) {
		t.Fatalf("outbox list: %d\n%s", r.StatusCode, r.Body)
	}
	// Search as you type gets the table alone.
	r = c.Get("/admin/mail?q=nobody", "HX-Request", "true")
	if r.StatusCode != 200 || strings.Contains(r.Body, "<html") || !strings.Contains(r.Body, "No emails") {
		t.Fatalf("htmx search: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get("/admin/mail?status=outbox&kind=welcome"); !strings.Contains(r.Body, "Welcome to Licensor") {
		t.Error("filters lose the message")
	}

	r = c.Get(fmt.Sprintf("/admin/mail/%d", id))
	if r.StatusCode != 200 || !strings.Contains(r.Body, fmt.Sprintf(`<iframe class="mail-preview" src="/admin/mail/%d/html" sandbox`, id)) ||
		!strings.Contains(r.Body, "/customer/password/reset/") || !strings.Contains(r.Body, "Ann &lt;Lee&gt;") {
		t.Fatalf("message page: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.Get(fmt.Sprintf("/admin/mail/%d/html", id))
	csp := r.Header.Get("Content-Security-Policy")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Body, "<!doctype html>") || !strings.Contains(csp, "sandbox") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'self'") || r.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("HTML part: %d CSP %q XFO %q", r.StatusCode, csp, r.Header.Get("X-Frame-Options"))
	}
	if r := c.Get("/admin/mail/999999"); r.StatusCode != 404 {
		t.Errorf("unknown message: %d", r.StatusCode)
	}
	if r := e.Client(t).Get(fmt.Sprintf("/admin/mail/%d/html", id)); r.StatusCode != 302 {
		t.Errorf("anonymous HTML part: %d", r.StatusCode)
	}
}

func TestWebhookPages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	c.GetCSRF("/admin/webhooks")
	r := c.PostForm("/admin/webhooks/test", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/webhooks" {
		t.Fatalf("test without a URL: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Get("/admin/webhooks"); !strings.Contains(r.Body, "Set a webhook URL in settings first.") {
		t.Error("no flash for a missing URL")
	}

	e.SetSettings(t, map[string]string{"webhook_url": "https://hooks.example.com/in", "enable_webhooks": "true"})
	// An event from a change, through the node's licensing hooks.
	ctx := context.Background()
	if _, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	if err := e.DB.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := licensing.NewService(licensing.Options{Hooks: e.Nodes[0].Outbound.LicensingHooks()}).CreateLicense(ctx, tx, system, settings.Defaults(),
			licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some("WEB-1")})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	r = c.PostForm("/admin/webhooks/test", nil)
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/webhooks/") {
		t.Fatalf("send test: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	testPage := r.Header.Get("Location")
	r = c.Get(testPage)
	if r.StatusCode != 200 || !strings.Contains(r.Body, "webhook.test") || !strings.Contains(r.Body, "This is a test event from Licensor.") ||
		!strings.Contains(r.Body, "A test event is queued.") || !strings.Contains(r.Body, "Not sent yet.") {
		t.Fatalf("delivery page: %d\n%s", r.StatusCode, r.Body)
	}

	r = c.Get("/admin/webhooks")
	if !strings.Contains(r.Body, "license.created") || !strings.Contains(r.Body, "WEB-1") || !strings.Contains(r.Body, "webhook.test") {
		t.Fatalf("list:\n%s", r.Body)
	}
	if r := c.Get("/admin/webhooks?event=license.created", "HX-Request", "true"); strings.Contains(r.Body, "webhook.test") || !strings.Contains(r.Body, "WEB-1") {
		t.Errorf("event filter:\n%s", r.Body)
	}

	r = c.PostForm(testPage+"/resend", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != testPage {
		t.Fatalf("re-send: %d", r.StatusCode)
	}
	if r := c.Get(testPage); !strings.Contains(r.Body, "The webhook is queued to be sent again.") {
		t.Error("no re-send flash")
	}
	var jobs int
	_ = e.DB.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'deliver_webhook'").Scan(ctx, &jobs)
	if jobs != 3 {
		t.Errorf("%d deliver jobs, want license.created, the test event and its re-send", jobs)
	}
	if r := c.Get("/admin/webhooks/5f0c8c38-0000-4000-8000-000000000000"); r.StatusCode != 404 {
		t.Errorf("unknown delivery: %d", r.StatusCode)
	}
}

func TestManualCron(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	p, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	svc := licensing.NewService(licensing.Options{})
	for i, days := range []int{3, 1, -2} {
		exp := time.Now().Add(time.Duration(days)*24*time.Hour - time.Hour)
		email := fmt.Sprintf("b%d@example.com", i)
		if _, err := svc.CreateLicense(ctx, e.DB.Bun, system, settings.Defaults(), licensing.LicenseInput{
			ProductReferenceID: fields.Some("ACME"), Email: fields.Some(&email), ExpiresAt: fields.Some(&exp),
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.SetSettings(t, map[string]string{"blacklist_ip_after_failed_attempts": "3"})
	for range 3 {
		if _, err := e.DB.Bun.ExecContext(ctx, `INSERT INTO activations (product_id, license_code, ip, peer_ip, is_valid, is_active) VALUES (?, 'X', '198.51.100.4', '198.51.100.4', false, false)`, p.ID); err != nil {
			t.Fatal(err)
		}
	}

	c := e.SignIn(t)
	r := c.Get("/admin/tools/cron")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Run expiry scan now") || !strings.Contains(r.Body, "daily at 01:00 (UTC)") ||
		!strings.Contains(r.Body, `href="/admin/tools/cron" aria-current="page"`) {
		t.Fatalf("cron page: %d\n%s", r.StatusCode, r.Body)
	}
	counts := func(body string) map[string]string {
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`data-count="([a-z-]+)">([^<]*)<`).FindAllStringSubmatch(body, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	r = c.PostForm("/admin/tools/cron/expiry-scan", nil)
	got := counts(r.Body)
	if r.StatusCode != 200 || got["warnings-sent"] != "2" || got["expired-logged"] != "1" || got["updates-expired"] != "0" ||
		!strings.Contains(r.Body, "Warnings sent") || !strings.Contains(r.Body, "The expiry scan has run.") {
		t.Fatalf("expiry scan: %d %v\n%s", r.StatusCode, got, r.Body)
	}
	// Again: nothing twice. With htmx only the results come back.
	r = c.PostForm("/admin/tools/cron/expiry-scan", nil, "HX-Request", "true")
	if got := counts(r.Body); got["warnings-sent"] != "0" || got["expired-logged"] != "0" || strings.Contains(r.Body, "<html") {
		t.Fatalf("second scan: %v\n%s", got, r.Body)
	}

	r = c.PostForm("/admin/tools/cron/blacklist-scan", nil)
	if got := counts(r.Body); r.StatusCode != 200 || got["domains-blacklisted"] != "0" || got["ips-blacklisted"] != "1: 198.51.100.4" ||
		!strings.Contains(r.Body, "Domains blacklisted") || !strings.Contains(r.Body, "IPs blacklisted") {
		t.Fatalf("auto-blacklist: %d %v\n%s", r.StatusCode, got, r.Body)
	}

	// Issue 15.7: what the auto-blacklist blocks is listed, and removed in
	// one click.
	r = c.Get("/admin/tools/cron")
	if !strings.Contains(r.Body, `data-blocked="198.51.100.4"`) || !strings.Contains(r.Body, `action="/admin/tools/cron/blacklist/remove"`) {
		t.Fatalf("the blocked IP is not listed with its removal:\n%s", r.Body)
	}
	r = c.PostForm("/admin/tools/cron/blacklist/remove", url.Values{"kind": {"ip"}, "item": {"198.51.100.4"}})
	if r.StatusCode != 303 {
		t.Fatalf("remove: %d\n%s", r.StatusCode, r.Body)
	}
	set, err := settings.Load(ctx, e.DB.Bun)
	if err != nil || len(set.BlacklistedIPs) != 0 {
		t.Fatalf("still blacklisted: %v %v", set.BlacklistedIPs, err)
	}
	if r := c.Get("/admin/tools/cron"); strings.Contains(r.Body, `data-blocked="198.51.100.4"`) {
		t.Error("a removed entry is still listed")
	}
	var removed int
	_ = e.DB.Bun.NewRaw("SELECT count(*) FROM activity_log WHERE type = 'blacklist.removed'").Scan(ctx, &removed)
	if removed != 1 {
		t.Errorf("%d removals logged", removed)
	}
	if r := c.PostForm("/admin/tools/cron/blacklist/remove", url.Values{"kind": {"ip"}, "item": {"198.51.100.4"}}); r.StatusCode != 303 {
		t.Errorf("removing it again: %d", r.StatusCode)
	}

	// Without the token, nothing runs.
	c.CSRF = ""
	if r := c.PostForm("/admin/tools/cron/expiry-scan", nil); r.StatusCode != 403 {
		t.Errorf("scan without CSRF token: %d", r.StatusCode)
	}
}

func TestSidebarLinksBackgroundPages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	r := e.SignIn(t).Get("/admin")
	for _, href := range []string{`href="/admin/mail"`, `href="/admin/webhooks"`, `href="/admin/jobs" hx-boost="false"`, `href="/admin/tools/cron"`} {
		if !strings.Contains(r.Body, href) {
			t.Errorf("sidebar lacks %s", href)
		}
	}
	for _, name := range []string{">Mail<", ">Webhooks<", ">Jobs<", ">Cron<"} {
		if !strings.Contains(r.Body, name) {
			t.Errorf("sidebar lacks %s", name)
		}
	}
}
