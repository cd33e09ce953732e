package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/plugins/host/hosttest"
)

// orderEnv is a console with the orders-woocommerce and import-xlsx
// plugins installed and a product ACME.
func orderEnv(t *testing.T) *servertest.Env {
	t.Helper()
	dir := t.TempDir()
	hosttest.Install(t, dir, "orders-woocommerce")
	hosttest.Install(t, dir, "import-xlsx")
	e := servertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir })
	if _, err := catalog.NewService(nil).CreateProduct(context.Background(), e.DB.Bun, audit.Source{Actor: audit.System}, settings.Defaults(),
		catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	return e
}

const wooPage = "/admin/plugins/orders-woocommerce"

// Every order sync action of the Plugins page needs an admin, and every
// unsafe one the CSRF token; a plugin of another kind has none of them.
func TestOrderSyncConsoleNeedsAnAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := orderEnv(t)
	actions := []string{wooPage + "/webhook-secret", wooPage + "/mappings", wooPage + "/mappings/delete"}
	anon := e.Client(t)
	anon.GetCSRF("/admin/login")
	if r := anon.Get(wooPage); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
		t.Errorf("anonymous page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	for _, path := range actions {
		if r := anon.PostForm(path, url.Values{"sku": {"S"}, "product": {"ACME"}}); r.StatusCode != http.StatusFound ||
			!strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("anonymous POST %s: %d %s", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	c := e.SignIn(t)
	c.GetCSRF(wooPage)
	for _, path := range actions {
		if r := c.PostForm(path, url.Values{"_csrf": {""}, "sku": {"S"}, "product": {"ACME"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: %d", path, r.StatusCode)
		}
	}
	var n int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM order_sku_products`).Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("refused requests mapped %d SKUs (%v)", n, err)
	}
	if r := c.Get("/admin/plugins/import-xlsx"); r.StatusCode != 200 || strings.Contains(r.Body, "webhook-url") || strings.Contains(r.Body, `id="mappings"`) {
		t.Errorf("import plugin page shows order sync parts: %d", r.StatusCode)
	}
	for _, path := range []string{"/admin/plugins/import-xlsx/webhook-secret", "/admin/plugins/import-xlsx/mappings"} {
		if r := c.PostForm(path, url.Values{"sku": {"S"}, "product": {"ACME"}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, r.StatusCode)
		}
	}
}

// The webhook URL to paste into the store, with a copy button, and its
// secret rotated behind a confirmation.
func TestOrderSyncWebhookURL(t *testing.T) {
	t.Parallel()
	e := orderEnv(t)
	ctx := context.Background()
	plugins := e.Nodes[0].Plugins
	c := e.SignIn(t)
	r := c.Get(wooPage)
	secret, err := plugins.WebhookSecret(ctx, "orders-woocommerce")
	if err != nil {
		t.Fatal(err)
	}
	want := e.Config.BaseURL + "/api/external/webhooks/orders-woocommerce/" + secret
	for _, s := range []string{`<code id="webhook-url">` + want + `</code>`, `data-copy="` + want + `"`,
		`action="/admin/plugins/orders-woocommerce/webhook-secret" data-confirm="Rotate the webhook secret`} {
		if !strings.Contains(r.Body, s) {
			t.Fatalf("page lacks %s:\n%s", s, r.Body)
		}
	}
	if r := c.PostForm(wooPage+"/webhook-secret", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != wooPage {
		t.Fatalf("rotate: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	rotated, err := plugins.WebhookSecret(ctx, "orders-woocommerce")
	if err != nil || rotated == secret {
		t.Fatalf("secret not rotated: %v", err)
	}
	r = c.Get(wooPage)
	if !strings.Contains(r.Body, "Webhook secret rotated") || !strings.Contains(r.Body, rotated) || strings.Contains(r.Body, secret) {
		t.Fatalf("after rotation:\n%s", r.Body)
	}
	var logged int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE type = 'plugin.webhook_secret_rotated'`).Scan(ctx, &logged); err != nil || logged != 1 {
		t.Fatalf("activity log: %d %v", logged, err)
	}
}

// The SKU → product mapping: field errors next to their field with the
// typed values kept, a good mapping listed, deleted behind a confirmation.
func TestOrderSyncMapping(t *testing.T) {
	t.Parallel()
	e := orderEnv(t)
	c := e.SignIn(t)
	c.GetCSRF(wooPage)
	for _, tc := range []struct {
		sku, product, want string
	}{
		{"", "ACME", `<small class="field-error" id="mapping-sku-error">The sku field is required.</small>`},
		{"PRO-1", "NOPE", `<small class="field-error" id="mapping-product-error">The selected product is invalid.</small>`},
		{"PRO-1", "", `<small class="field-error" id="mapping-product-error">The product field is required.</small>`},
	} {
		r := c.PostForm(wooPage+"/mappings", url.Values{"sku": {tc.sku}, "product": {tc.product}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.want) ||
			!strings.Contains(r.Body, `name="sku" value="`+tc.sku+`"`) {
			t.Fatalf("%q → %q: %d\n%s", tc.sku, tc.product, r.StatusCode, r.Body)
		}
	}
	r := c.PostForm(wooPage+"/mappings", url.Values{"sku": {"PRO/1"}, "product": {"ACME"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.Get(wooPage)
	if !strings.Contains(r.Body, "SKU PRO/1 now issues licenses of Acme CMS.") || !strings.Contains(r.Body, "<td><code>PRO/1</code></td>") ||
		!strings.Contains(r.Body, `data-confirm="Delete the mapping of SKU PRO/1?`) {
		t.Fatalf("after add:\n%s", r.Body)
	}
	r = c.PostForm(wooPage+"/mappings", url.Values{"sku": {"PRO/1"}, "product": {"ACME"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="mapping-sku-error">The sku has already been taken.`) ||
		!strings.Contains(r.Body, `<option value="ACME" selected>`) {
		t.Fatalf("duplicate: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm(wooPage+"/mappings/delete", url.Values{"sku": {"PRO/1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := c.Get(wooPage); strings.Contains(r.Body, "<td><code>PRO/1</code></td>") || !strings.Contains(r.Body, "No SKU is mapped yet.") {
		t.Fatalf("after delete:\n%s", r.Body)
	}
}

// The processed orders log, newest first, 50 a page.
func TestOrderSyncLog(t *testing.T) {
	t.Parallel()
	e := orderEnv(t)
	ctx := context.Background()
	for i := 1; i <= 51; i++ {
		if _, err := e.DB.Bun.NewRaw(`INSERT INTO processed_orders (plugin, order_id, status, outcome, customer_email, license_ids, processed_at)
			VALUES ('orders-woocommerce', ?, 'paid', 'done', ?, '{1,2}', now() - make_interval(mins => ?))`,
			fmt.Sprint(1000+i), fmt.Sprintf("buyer%d@example.com", i), 100-i).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.DB.Bun.NewRaw(`INSERT INTO processed_orders (plugin, order_id, status, outcome, error, processed_at)
		VALUES ('orders-woocommerce', '999', 'paid', 'error', 'SKU NOPE is not mapped to a product', now() - interval '1 day')`).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	c := e.SignIn(t)
	r := c.Get(wooPage)
	if !strings.Contains(r.Body, "<td><code>1051</code></td>") || !strings.Contains(r.Body, "<td>buyer51@example.com</td>") ||
		!strings.Contains(r.Body, "<td>2</td>") || !strings.Contains(r.Body, "Showing 1–50 of 52") || strings.Contains(r.Body, "<td><code>999</code>") ||
		strings.Index(r.Body, "<code>1051</code>") > strings.Index(r.Body, "<code>1050</code>") {
		t.Fatalf("first page:\n%s", r.Body)
	}
	r = c.Get(wooPage + "?page=2")
	if !strings.Contains(r.Body, "<td><code>999</code></td>") || !strings.Contains(r.Body, "SKU NOPE is not mapped to a product") ||
		!strings.Contains(r.Body, `badge-blocked">paid`) || strings.Contains(r.Body, "<code>1051</code>") {
		t.Fatalf("second page:\n%s", r.Body)
	}
}
