package storewebhooks_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// expiries reads the expiry dates of the licenses with invoice, in id order.
func (f *fixture) expiries(invoice string) []time.Time {
	f.t.Helper()
	var out []time.Time
	if err := f.e.DB.Bun.NewRaw(`SELECT expires_at FROM licenses WHERE invoice = ? ORDER BY id`, invoice).Scan(f.ctx, &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// subscriptionProduct gives product ACME a 30-day period whose clock
// starts at creation, so a subscription's license expires and renewals
// move its date.
func (f *fixture) subscriptionProduct() {
	f.t.Helper()
	if _, err := f.e.DB.Bun.ExecContext(f.ctx, `UPDATE products SET default_expiry_days = 30, default_expiry_start = 'creation' WHERE reference_id = 'ACME'`); err != nil {
		f.t.Fatal(err)
	}
}

// A Gumroad membership through the real plugin (docs/licensing.md#renewals):
// the first sale issues the license, each recurring charge renews that
// license on the same key by the product's period instead of issuing one,
// once per charge; a charge of a subscription never sold is logged as an
// error and renews nothing.
func TestGumroadRecurringChargeRenews(t *testing.T) {
	f := setupPlugin(t, "orders-gumroad", "acme-cms", map[string]string{"ping_secret": "gum-secret-1"}, false, testNow())
	f.subscriptionProduct()
	ping := func(form url.Values) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, f.path+"?secret=gum-secret-1", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := f.e.App.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("ping %v: %d", form, res.StatusCode)
		}
		f.settle()
	}
	sale := url.Values{"sale_id": {"G-1"}, "email": {"gus@example.com"}, "full_name": {"Gus Gum"},
		"product_permalink": {"acme-cms"}, "quantity": {"1"}, "subscription_id": {"sub-1=="}, "refunded": {"false"}}
	ping(sale)
	first := f.expiries("G-1")
	if len(first) != 1 {
		t.Fatalf("first sale issued %d licenses", len(first))
	}

	charge := url.Values{"sale_id": {"G-2"}, "email": {"gus@example.com"}, "product_permalink": {"acme-cms"}, "quantity": {"1"},
		"subscription_id": {"sub-1=="}, "is_recurring_charge": {"true"}, "refunded": {"false"}}
	ping(charge)
	if n := f.count(`SELECT count(*) FROM licenses`); n != 1 {
		t.Fatalf("a recurring charge issued a license: %d", n)
	}
	if got := f.expiries("G-1"); !got[0].Equal(first[0].AddDate(0, 0, 30)) {
		t.Fatalf("renewed to %v, want %v", got[0], first[0].AddDate(0, 0, 30))
	}
	if n := f.count(`SELECT count(*) FROM processed_orders WHERE order_id = 'G-2' AND status = 'renewed' AND outcome = 'done' AND cardinality(license_ids) = 1`); n != 1 {
		t.Fatalf("renewal log rows: %d", n)
	}
	// The same ping again (Gumroad retries) renews nothing more.
	ping(charge)
	if n := f.count(`SELECT count(*) FROM license_renewals`); n != 1 {
		t.Fatalf("renewals after a repeat: %d", n)
	}
	// A second charge renews again.
	charge.Set("sale_id", "G-3")
	ping(charge)
	if got := f.expiries("G-1"); !got[0].Equal(first[0].AddDate(0, 0, 60)) || f.count(`SELECT count(*) FROM license_renewals`) != 2 {
		t.Fatalf("second charge: %v", got)
	}

	orphan := url.Values{"sale_id": {"G-9"}, "email": {"ona@example.com"}, "product_permalink": {"acme-cms"},
		"subscription_id": {"sub-unknown"}, "is_recurring_charge": {"true"}}
	ping(orphan)
	if n := f.count(`SELECT count(*) FROM processed_orders WHERE order_id = 'G-9' AND status = 'renewed' AND outcome = 'error' AND error LIKE 'no paid order of subscription sub-unknown%'`); n != 1 {
		t.Fatal("a charge of an unknown subscription not logged as an error")
	}
	if n := f.count(`SELECT count(*) FROM licenses`); n != 1 {
		t.Fatalf("licenses: %d", n)
	}
}

// A WooCommerce Subscriptions renewal order through the real plugin, its
// parent order named by the fake store's subscriptions endpoint: the
// parent's licenses are renewed on the same keys, once.
func TestWooCommerceRenewalOrderRenews(t *testing.T) {
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "ck_1" || pass != "cs_1" {
			http.Error(w, `{"code":"woocommerce_rest_cannot_view"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/wp-json/wc/v3/orders":
			_, _ = w.Write([]byte("[]"))
		case "/wp-json/wc/v3/subscriptions/4100":
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 4100, "parent_id": 4001, "status": "active"})
		default:
			http.Error(w, `{"code":"rest_no_route"}`, http.StatusNotFound)
		}
	}))
	defer store.Close()
	f := setup(t, store.URL, testNow())
	f.subscriptionProduct()
	f.eventually("the first poll", func() bool {
		return f.count(`SELECT count(*) FROM river_job WHERE kind = 'poll_orders' AND state = 'completed'`) == 1
	})
	parent := wcOrder(4001, "processing", "ACME-PRO", 2, f.now.Add(-time.Hour))
	if code := f.post(parent, sign(parent, secret)); code != http.StatusOK {
		t.Fatalf("parent order: %d", code)
	}
	f.settle()
	before := f.expiries("4001")
	if len(before) != 2 {
		t.Fatalf("parent issued %d licenses", len(before))
	}
	var renewal map[string]any
	_ = json.Unmarshal(wcOrder(4005, "processing", "ACME-PRO", 2, f.now.Add(-time.Minute)), &renewal)
	renewal["meta_data"] = []map[string]any{{"id": 77, "key": "_subscription_renewal", "value": "4100"}}
	body, _ := json.Marshal(renewal)
	for range 2 { // WooCommerce sends order.created and order.updated alike
		if code := f.post(body, sign(body, secret)); code != http.StatusOK {
			t.Fatalf("renewal order: %d", code)
		}
		f.settle()
	}
	if n := f.count(`SELECT count(*) FROM licenses`); n != 2 {
		t.Fatalf("the renewal issued licenses: %d", n)
	}
	after := f.expiries("4001")
	for i := range after {
		if !after[i].Equal(before[i].AddDate(0, 0, 30)) {
			t.Fatalf("license %d renewed to %v, want %v", i, after[i], before[i].AddDate(0, 0, 30))
		}
	}
	if n := f.count(`SELECT count(*) FROM license_renewals`); n != 2 {
		t.Fatalf("renewals: %d", n)
	}
	if n := f.count(`SELECT count(*) FROM processed_orders WHERE order_id = '4005' AND status = 'renewed' AND outcome = 'done' AND subscription_id = '4100'`); n != 1 {
		t.Fatal("the renewal's log row")
	}
}
