package browsertest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/browsertest"
)

// listSeed is what seedLists wrote: enough rows for several pages of every
// list, with the long values (UUID codes and client IDs, long names) that
// used to push tables past their container.
type listSeed struct {
	customerEmail, customerPassword string
	licenses                        int
}

// seedLists fills the database with direct inserts (no HTTP, no domain
// calls per row): 3 products with versions, 60 customers, 120 licenses
// with UUID codes linked by client ID, 150 activations, 40 downloads,
// API keys, activity lines, and one portal customer with 30 licenses.
func seedLists(t *testing.T, e *browsertest.Env) listSeed {
	t.Helper()
	portal := newCustomer(t, e, "Nina Portal-Customer", "nina@example.com", "plum river anchor 77")
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO products (name, reference_id, default_parallel_uses)
		 VALUES ('Widget Pro Enterprise Edition', 'WIDGETPRO', 3), ('Gadget Studio', 'GADGET', 5), ('Tiny Tool', 'TINY', NULL)`,
		`INSERT INTO product_versions (product_id, version_id, version, released_at, summary, changelog)
		 SELECT p.id, p.reference_id || '-' || v, v, now() - (10 - n) * interval '1 day', 'Release ' || v, '<p>Fixes</p>'
		 FROM products p, (VALUES ('1.0.0', 1), ('1.1.0', 2), ('2.0.0', 3)) AS vs(v, n)`,
		`INSERT INTO customers (name, email, client_id, confirmed_at, email_proven_at, last_login_at, created_at)
		 SELECT 'Customer ' || g || CASE WHEN g % 7 = 0 THEN ' with a rather long company name GmbH & Co. KG' ELSE '' END,
		        'customer' || g || '@example.com', gen_random_uuid()::text,
		        CASE WHEN g % 3 = 0 THEN NULL ELSE now() END, CASE WHEN g % 3 = 0 THEN NULL ELSE now() END, now() - g * interval '1 hour', now() - g * interval '1 day'
		 FROM generate_series(1, 60) g`,
		`INSERT INTO licenses (product_id, license_code, type, customer_id, email, uses, parallel_uses, expires_at, updates_until, support_until, is_valid, total_activations, created_at)
		 SELECT p.id, upper(gen_random_uuid()::text), CASE WHEN g % 2 = 0 THEN 'subscription' ELSE 'perpetual' END,
		        c.client_id, c.email, CASE WHEN g % 4 = 0 THEN NULL ELSE 10 END, CASE WHEN g % 5 = 0 THEN NULL ELSE 3 END,
		        now() + (g - 20) * interval '3 days', now() + g * interval '2 days', now() + g * interval '1 day',
		        g % 9 <> 0, 1, now() - g * interval '2 hours'
		 FROM generate_series(1, 120) g
		 JOIN products p ON p.reference_id = (ARRAY['WIDGETPRO', 'GADGET', 'TINY'])[1 + g % 3]
		 JOIN customers c ON c.email = 'customer' || (1 + g % 60) || '@example.com'`,
		`INSERT INTO licenses (product_id, license_code, type, customer_id, email, uses, parallel_uses, expires_at, updates_until, support_until, total_activations)
		 SELECT p.id, 'NINA-' || upper(gen_random_uuid()::text), 'subscription', c.client_id, NULL, 5, 2,
		        now() + g * interval '30 days', now() + g * interval '10 days', now() + g * interval '5 days', 1
		 FROM generate_series(1, 30) g, products p, customers c
		 WHERE p.reference_id = 'GADGET' AND c.email = 'nina@example.com'`,
		`INSERT INTO activations (license_id, product_id, license_code, client_name, url, domain, ip, user_agent, is_valid, is_active, failure_reason, activated_at, last_verified_at, created_at)
		 SELECT l.id, l.product_id, l.license_code, 'client-' || g, 'https://shop' || g || '.very-long-subdomain.example-customer-domain.com/path',
		        'shop' || g || '.very-long-subdomain.example-customer-domain.com', '203.0.113.' || (g % 250),
		        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
		        g % 10 <> 0, g % 10 <> 0 AND g % 4 <> 0, CASE WHEN g % 10 = 0 THEN 'The license has reached its activation limit.' END,
		        now() - g * interval '1 hour', now() - g * interval '30 minutes', now() - g * interval '1 hour'
		 FROM generate_series(1, 150) g
		 JOIN LATERAL (SELECT * FROM licenses ORDER BY id OFFSET (g % 150) LIMIT 1) l ON true`,
		`INSERT INTO download_logs (download_id, source, product_id, version_id, version, type, url, domain, ip, license_id, license_code, is_valid, reason, downloaded_at)
		 SELECT gen_random_uuid()::text, 'api', v.product_id, v.id, v.version, 'main',
		        'https://downloads' || g || '.very-long-subdomain.example-customer-domain.com/update', 'downloads' || g || '.example.com',
		        '198.51.100.' || g, l.id, l.license_code, g % 3 <> 0,
		        CASE WHEN g % 3 = 0 THEN 'The license is not valid for updates: its updates period ended on 2020-01-01.' END,
		        now() - g * interval '1 hour'
		 FROM generate_series(1, 40) g
		 JOIN LATERAL (SELECT * FROM product_versions ORDER BY id OFFSET (g % 9) LIMIT 1) v ON true
		 JOIN LATERAL (SELECT * FROM licenses WHERE product_id = v.product_id ORDER BY id LIMIT 1) l ON true`,
		`INSERT INTO api_keys (name, type, key_hash, key_hint, scopes, special, last_used_at, expires_at)
		 SELECT 'Shop integration key number ' || g, CASE WHEN g % 2 = 0 THEN 'internal' ELSE 'external' END,
		        sha256(('key' || g)::bytea), right('000' || g, 4), ARRAY['licenses:read', 'licenses:write', 'products:read'], g = 1,
		        now() - g * interval '1 day', CASE WHEN g = 2 THEN now() + interval '90 days' END
		 FROM generate_series(1, 12) g`,
		`INSERT INTO activity_log (type, actor_type, actor_name, ip, subject_type, message, created_at)
		 SELECT 'license.updated', 'admin', 'Ann Admin', '192.0.2.1', 'license',
		        'License ' || upper(gen_random_uuid()::text) || ' updated via the console: parallel uses changed from 3 to 5, expiry moved.', now() - g * interval '1 hour'
		 FROM generate_series(1, 40) g`,
	} {
		if _, err := e.DB.Bun.ExecContext(ctx, q); err != nil {
			t.Fatalf("seed: %v\n%s", err, q)
		}
	}
	return listSeed{customerEmail: portal.Email, customerPassword: "plum river anchor 77",
		licenses: scalar[int](t, e, "SELECT count(*) FROM licenses")}
}

// A list page as the browser checks it.
type listPage struct {
	name, path string
	// wait is a selector that appears once the list is drawn.
	wait string
}

var adminLists = []listPage{
	{"customers", "/admin/customers", "table.data-table tbody tr"},
	{"products", "/admin/products", "table.data-table tbody tr"},
	{"licenses", "/admin/licenses", "table.data-table tbody tr"},
	{"activations", "/admin/activations", "table.data-table tbody tr"},
	{"downloads", "/admin/downloads", "table.data-table tbody tr"},
	{"api-keys", "/admin/api-keys", "table.data-table tbody tr"},
	{"activity", "/admin/activity", "table.data-table tbody tr"},
	{"top-customers", "/admin/reports/top-customers", "table"},
	{"dashboard", "/admin", "[data-widget=top-products] table"},
	{"search", "/admin/search?q=customer1", ".search-results [data-search-hit]"},
}

var portalLists = []listPage{
	{"portal-licenses", "/customer/product-licenses", "table.data-table tbody tr"},
	{"portal-activations", "/customer/product-activations", "table"},
}

// fitProblems lists, in the page, every table wider than its container,
// a page wider than the window, and a primary action (the list's New
// button, the first row's actions) out of the window.
const fitProblems = `(function(){
	const out = [];
	const vw = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > vw + 1) out.push("page is " + document.documentElement.scrollWidth + " px wide in " + vw);
	document.querySelectorAll("table").forEach((t, i) => {
		if (t.closest(".visually-hidden") || t.offsetParent === null) return;
		const box = t.parentElement;
		const w = t.getBoundingClientRect().width, room = box.getBoundingClientRect().width;
		if (w > room + 1) out.push("table " + i + " is " + Math.round(w) + " px wide in " + Math.round(room));
	});
	const inView = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.left >= -1 && r.right <= vw + 1; };
	document.querySelectorAll("[data-primary-action]").forEach(el => { if (!inView(el)) out.push("primary action " + el.textContent.trim() + " is off-screen"); });
	const row = document.querySelector("table.data-table tbody tr");
	if (row) row.querySelectorAll(".cell-actions a, .cell-actions button").forEach(el => {
		if (!inView(el)) out.push("row action " + (el.getAttribute("aria-label") || el.textContent.trim()) + " is off-screen");
	});
	return out;
})()`

// checkFits fails the test when the page's tables or actions do not fit.
func checkFits(t *testing.T, b *browsertest.Browser, name string) {
	t.Helper()
	if problems := browsertest.Eval[[]string](b, fitProblems); len(problems) > 0 {
		t.Errorf("%s: %s", name, strings.Join(problems, "; "))
	}
}

// Every list, with seeded data, fits the window at 1280×800 and at a
// phone's 390×844: no table is wider than its container, the New button
// and the first row's actions are on screen. Screenshots of each list at
// both sizes go to test-output/screenshots/TestListsFit_<size>/.
func TestListsFit(t *testing.T) {
	t.Parallel()
	e := browsertest.New(t)
	seed := seedLists(t, e)
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", browsertest.PhoneWidth, browsertest.PhoneHeight}} {
		t.Run(size.name, func(t *testing.T) {
			t.Parallel()
			b := e.BrowserAt(t, size.width, size.height)
			b.SignInAdmin()
			for _, l := range adminLists {
				b.Open(l.path)
				b.WaitVisible(l.wait)
				checkFits(t, b, l.name)
				b.Screenshot(l.name)
			}
			p := e.BrowserAt(t, size.width, size.height)
			p.SignInCustomer(seed.customerEmail, seed.customerPassword)
			for _, l := range portalLists {
				p.Open(l.path)
				p.WaitVisible(l.wait)
				checkFits(t, p, l.name)
				p.Screenshot(l.name)
			}
			if t.Failed() {
				fmt.Println("screenshots of", t.Name(), "are under test-output/screenshots/")
			}
		})
	}
}
