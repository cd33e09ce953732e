package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/plugins/sdk/sdktest"
)

const (
	webhookSecret  = "wc webhook secret"
	consumerKey    = "ck_0123456789abcdef"
	consumerSecret = "cs_fedcba9876543210"
)

// now is the host's clock in these tests.
var now = time.Date(2030, 3, 10, 12, 0, 0, 0, time.UTC)

// wcOrder is an order as WooCommerce's REST API and webhooks write it.
type wcOrder struct {
	ID              int64        `json:"id"`
	Status          string       `json:"status"`
	DateCreatedGMT  string       `json:"date_created_gmt"`
	DatePaidGMT     string       `json:"date_paid_gmt,omitempty"`
	DateModifiedGMT string       `json:"date_modified_gmt"`
	Billing         wcBilling    `json:"billing"`
	LineItems       []wcLineItem `json:"line_items"`
	MetaData        []wcMeta     `json:"meta_data,omitempty"`
}

// wcMeta is an order's meta entry; WooCommerce Subscriptions marks a
// renewal order with _subscription_renewal, its subscription's ID.
type wcMeta struct {
	ID    int64  `json:"id"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wcBilling struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

type wcLineItem struct {
	Name     string `json:"name"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

func wcOrderOf(id int64, status string, modified time.Time) wcOrder {
	return wcOrder{
		ID: id, Status: status,
		DateCreatedGMT: modified.Add(-time.Hour).Format(wooTime), DatePaidGMT: modified.Add(-30 * time.Minute).Format(wooTime),
		DateModifiedGMT: modified.Format(wooTime),
		Billing:         wcBilling{FirstName: "Ann", LastName: "Lee", Email: fmt.Sprintf("buyer%d@example.com", id)},
		LineItems:       []wcLineItem{{Name: "Acme CMS Pro", SKU: "ACME-PRO", Quantity: 1}},
	}
}

// store is a fake WooCommerce shop: GET /wp-json/wc/v3/orders as the REST
// API v3 answers it — Basic auth with the consumer key and secret,
// modified_after (strictly after, GMT with dates_are_gmt), orderby=modified,
// order=asc, per_page (1–100), page, X-WP-Total and X-WP-TotalPages.
type store struct {
	*httptest.Server
	mu       sync.Mutex
	orders   []wcOrder
	requests []url.Values
	fail     int // answer this status instead, when set
	// subscriptions are WooCommerce Subscriptions' subscriptions: id →
	// parent (first) order id, served at /wp-json/wc/v3/subscriptions/{id}.
	subscriptions map[string]int64
}

func newStore(t *testing.T, orders ...wcOrder) *store {
	t.Helper()
	s := &store{orders: orders}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func wcError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": message, "data": map[string]int{"status": status}})
}

func (s *store) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := strings.CutPrefix(r.URL.Path, "/wp-json/wc/v3/subscriptions/"); ok && r.Method == http.MethodGet {
		if key, secret, ok := r.BasicAuth(); !ok || key != consumerKey || secret != consumerSecret {
			wcError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
			return
		}
		parent, ok := s.subscriptions[sub]
		if !ok {
			wcError(w, http.StatusNotFound, "woocommerce_rest_shop_subscription_invalid_id", "Invalid ID.")
			return
		}
		id, _ := strconv.ParseInt(sub, 10, 64)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": "active", "parent_id": parent, "billing_period": "month"})
		return
	}
	if r.URL.Path != "/wp-json/wc/v3/orders" || r.Method != http.MethodGet {
		wcError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	q := r.URL.Query()
	s.requests = append(s.requests, q)
	if s.fail != 0 {
		wcError(w, s.fail, "internal_server_error", "There has been a critical error on this website.")
		return
	}
	if key, secret, ok := r.BasicAuth(); !ok || key != consumerKey || secret != consumerSecret {
		wcError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		return
	}
	perPage, page := 10, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			wcError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): per_page")
			return
		}
		perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			wcError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): page")
			return
		}
		page = n
	}
	if q.Get("dates_are_gmt") != "true" || q.Get("orderby") != "modified" || q.Get("order") != "asc" {
		wcError(w, http.StatusBadRequest, "test_unexpected_query", "the plugin must ask for GMT dates, ordered by modification, oldest first")
		return
	}
	var after time.Time
	if v := q.Get("modified_after"); v != "" {
		t, err := time.Parse(wooTime, v)
		if err != nil {
			wcError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): modified_after")
			return
		}
		after = t
	}
	var match []wcOrder
	for _, o := range s.orders {
		if m, _ := time.Parse(wooTime, o.DateModifiedGMT); m.After(after) {
			match = append(match, o)
		}
	}
	sort.SliceStable(match, func(i, j int) bool {
		if match[i].DateModifiedGMT != match[j].DateModifiedGMT {
			return match[i].DateModifiedGMT < match[j].DateModifiedGMT
		}
		return match[i].ID < match[j].ID
	})
	w.Header().Set("X-WP-Total", strconv.Itoa(len(match)))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa((len(match)+perPage-1)/perPage))
	from := min((page-1)*perPage, len(match))
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(match[from:min(from+perPage, len(match))])
}

func (s *store) lastQuery() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

func (s *store) set(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func configured(t *testing.T, storeURL string) *sdk.OrderSyncClient {
	t.Helper()
	c := sdktest.OrderSync(t, &woo{http: &http.Client{}})
	cfg := sdk.Config{"webhook_secret": webhookSecret}
	if storeURL != "" {
		cfg["store_url"], cfg["consumer_key"], cfg["consumer_secret"] = storeURL+"/", consumerKey, consumerSecret
	}
	if err := c.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

// signed is a webhook request as WooCommerce sends it.
func signed(topic string, body []byte, secret string) sdk.WebhookRequest {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-WC-Webhook-Source", "https://shop.example.com/")
	if topic != "" {
		h.Set("X-WC-Webhook-Topic", topic)
	}
	return sdk.WebhookRequest{Method: "POST", Header: h, Body: body}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	sdktest.Manifest(t, manifest, sdk.KindOrderSync)
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	t.Parallel()
	c := sdktest.OrderSync(t, &woo{http: &http.Client{}})
	ctx := context.Background()
	if _, err := c.Webhook(ctx, signed("order.created", []byte(`{}`), "")); err == nil {
		t.Error("a webhook before any settings was answered")
	}
	var fe sdk.FieldErrors
	err := c.Configure(ctx, sdk.Config{"store_url": "shop.example.com", "poll_days": "400"})
	if !errors.As(err, &fe) {
		t.Fatalf("bad settings: %v", err)
	}
	for _, field := range []string{"webhook_secret", "store_url", "consumer_key", "consumer_secret", "poll_days"} {
		if fe[field] == "" {
			t.Errorf("no message on %s: %v", field, fe)
		}
	}
}

func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := configured(t, "")
	o := wcOrderOf(1001, "processing", now)
	body, _ := json.Marshal(o)

	res, err := c.Webhook(ctx, signed("order.created", body, webhookSecret))
	if err != nil {
		t.Fatal(err)
	}
	paid := now.Add(-30 * time.Minute)
	want := sdk.OrderEvent{OrderID: "1001", Status: sdk.OrderPaid, PurchasedAt: paid,
		Customer: sdk.OrderCustomer{Name: "Ann Lee", Email: "buyer1001@example.com"},
		Items:    []sdk.OrderItem{{SKU: "ACME-PRO", Quantity: 1, Name: "Acme CMS Pro"}}}
	if !res.Authentic || len(res.Events) != 1 || fmt.Sprint(res.Events[0]) != fmt.Sprint(want) {
		t.Errorf("a signed order: %+v, want %+v", res, want)
	}

	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] = ' '
	for name, req := range map[string]sdk.WebhookRequest{
		"another secret":    signed("order.created", body, "not the secret"),
		"a changed body":    {Method: "POST", Header: signed("order.created", body, webhookSecret).Header, Body: tampered},
		"no signature":      {Method: "POST", Header: http.Header{"X-Wc-Webhook-Topic": {"order.created"}}, Body: body},
		"a non-base64 one":  {Method: "POST", Header: http.Header{"X-Wc-Webhook-Signature": {"%%%"}}, Body: body},
		"the hex signature": {Method: "POST", Header: http.Header{"X-Wc-Webhook-Signature": {hexSig(body)}}, Body: body},
	} {
		res, err := c.Webhook(ctx, req)
		if err != nil || res.Authentic || len(res.Events) > 0 {
			t.Errorf("%s: %+v %v, want refused (401), not an error", name, res, err)
		}
	}
}

func hexSig(body []byte) string {
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	return fmt.Sprintf("%x", mac.Sum(nil))
}

func TestWebhookPayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := configured(t, "")
	for _, tc := range []struct {
		name, topic string
		body        []byte
		status      sdk.OrderStatus // "" : no event
		reason      string
	}{
		{"completed", "order.updated", must(json.Marshal(wcOrderOf(7, "completed", now))), sdk.OrderPaid, ""},
		{"refunded", "order.updated", must(json.Marshal(wcOrderOf(7, "refunded", now))), sdk.OrderRefunded, ""},
		{"cancelled", "order.updated", must(json.Marshal(wcOrderOf(7, "cancelled", now))), sdk.OrderCancelled, ""},
		{"on hold", "order.updated", must(json.Marshal(wcOrderOf(7, "on-hold", now))), "", "order status on-hold ignored"},
		{"the ping on saving a webhook", "", []byte("webhook_id=12"), "", "no order in the body"},
		{"another topic", "product.updated", []byte(`{"id":5,"name":"Acme"}`), "", "topic product.updated ignored"},
	} {
		res, err := c.Webhook(ctx, signed(tc.topic, tc.body, webhookSecret))
		if err != nil || !res.Authentic {
			t.Errorf("%s: %+v %v", tc.name, res, err)
			continue
		}
		switch {
		case tc.status == "" && (len(res.Events) > 0 || res.Reason != tc.reason):
			t.Errorf("%s: %+v, want no event and the reason %q", tc.name, res, tc.reason)
		case tc.status != "" && (len(res.Events) != 1 || res.Events[0].Status != tc.status || res.Events[0].OrderID != "7"):
			t.Errorf("%s: %+v, want one %s event", tc.name, res, tc.status)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// pollAll polls as Licensor's poller does: from the stored cursor, page
// after page while the plugin says there is more (at most 20 pages).
func pollAll(t *testing.T, c *sdk.OrderSyncClient, cursor string, limit int, at time.Time) ([]string, string) {
	t.Helper()
	var ids []string
	for range 20 {
		res, err := c.Poll(context.Background(), sdk.PollRequest{Cursor: cursor, Limit: limit, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Events {
			ids = append(ids, e.OrderID+":"+string(e.Status))
		}
		next := res.NextCursor
		if !res.More || next == cursor {
			return ids, next
		}
		cursor = next
	}
	t.Fatal("the plugin still had more after 20 pages")
	return nil, ""
}

func TestPollWithoutStoreDoesNothing(t *testing.T) {
	t.Parallel()
	c := configured(t, "")
	res, err := c.Poll(context.Background(), sdk.PollRequest{Cursor: "2030-01-01T00:00:00", Limit: 100, Now: now})
	if err != nil || len(res.Events) > 0 || res.More || res.NextCursor != "2030-01-01T00:00:00" {
		t.Errorf("no store URL: %+v %v, want nothing and the cursor kept", res, err)
	}
}

func TestPollAsksTheStoreFromTheHostsClock(t *testing.T) {
	t.Parallel()
	shop := newStore(t, wcOrderOf(1, "completed", now.Add(-4*24*time.Hour)), wcOrderOf(2, "completed", now.Add(-2*24*time.Hour)))
	c := configured(t, shop.URL)
	ids, cursor := pollAll(t, c, "", 100, now)
	if !slices.Equal(ids, []string{"2:paid"}) {
		t.Errorf("first poll found %v: it goes back poll_days (3) from the host's clock", ids)
	}
	q := shop.lastQuery()
	if after, _ := time.Parse(wooTime, q.Get("modified_after")); after.After(now.Add(-3*24*time.Hour)) || after.Before(now.Add(-3*24*time.Hour-time.Minute)) {
		t.Errorf("modified_after %s, want 3 days before %s", q.Get("modified_after"), now)
	}
	if q.Get("per_page") != "100" {
		t.Errorf("per_page %s", q.Get("per_page"))
	}
	if !strings.HasPrefix(cursor, now.Add(-2*24*time.Hour).Format(wooTime)) {
		t.Errorf("the next cursor %q does not start at the last order's modification", cursor)
	}
}

// Orders changed in the same second (a bulk action in the shop's admin)
// across a page boundary, and more of them than fit a page, all arrive.
func TestPollPagesThroughOrdersOfTheSameSecond(t *testing.T) {
	t.Parallel()
	bulk := now.Add(-time.Hour)
	var orders []wcOrder
	for id := int64(10); id < 15; id++ {
		orders = append(orders, wcOrderOf(id, "completed", bulk))
	}
	orders = append(orders, wcOrderOf(9, "processing", bulk.Add(-time.Second)), wcOrderOf(20, "refunded", bulk.Add(time.Second)),
		wcOrderOf(21, "pending", bulk.Add(2*time.Second)))
	shop := newStore(t, orders...)
	c := configured(t, shop.URL)

	ids, cursor := pollAll(t, c, "", 2, now)
	got := map[string]bool{}
	for _, id := range ids {
		got[id] = true
	}
	for _, want := range []string{"9:paid", "10:paid", "11:paid", "12:paid", "13:paid", "14:paid", "20:refunded"} {
		if !got[want] {
			t.Errorf("order %s was never polled (got %v)", want, ids)
		}
	}
	if got["21:"] {
		t.Error("a pending order became an event")
	}

	// A later run goes on from the stored cursor and finds what changed.
	shop.set(func() { shop.orders = append(shop.orders, wcOrderOf(30, "cancelled", now.Add(-time.Minute))) })
	ids, _ = pollAll(t, c, cursor, 2, now)
	if !slices.Contains(ids, "30:cancelled") {
		t.Errorf("the next run found %v, want order 30", ids)
	}
	for _, id := range ids {
		if id == "9:paid" || id == "10:paid" {
			t.Errorf("the next run went back to %s", id)
		}
	}
}

func TestPollErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	shop := newStore(t, wcOrderOf(1, "completed", now.Add(-time.Hour)))

	wrong := sdktest.OrderSync(t, &woo{http: &http.Client{}})
	err := wrong.Configure(ctx, sdk.Config{"webhook_secret": webhookSecret, "store_url": shop.URL, "consumer_key": consumerKey, "consumer_secret": "cs_wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Poll(ctx, sdk.PollRequest{Limit: 100, Now: now}); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("a wrong consumer secret: %v, want an error naming HTTP 401", err)
	}

	c := configured(t, shop.URL)
	shop.set(func() { shop.fail = http.StatusInternalServerError })
	if _, err := c.Poll(ctx, sdk.PollRequest{Cursor: "2030-03-10T10:00:00", Limit: 100, Now: now}); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("the shop failing: %v, want an error (the host keeps its cursor and tries again)", err)
	}

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>maintenance mode</html>"))
	}))
	t.Cleanup(html.Close)
	c = configured(t, html.URL)
	if _, err := c.Poll(ctx, sdk.PollRequest{Limit: 100, Now: now}); err == nil {
		t.Error("an HTML page instead of orders was accepted")
	}
}

// A WooCommerce Subscriptions renewal order is a renewal: with the store
// configured it names the subscription's parent order (from the
// subscriptions endpoint), in webhooks and polls alike; without one, its
// subscription only; a store that cannot answer is an error (retried).
func TestRenewalOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	renewal := wcOrderOf(1205, "processing", now)
	renewal.MetaData = []wcMeta{{ID: 1, Key: "_wcs_something"}, {ID: 2, Key: "_subscription_renewal", Value: "1100"}}
	body := must(json.Marshal(renewal))

	res, err := configured(t, "").Webhook(ctx, signed("order.created", body, webhookSecret))
	if err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderRenewed || res.Events[0].SubscriptionID != "1100" || res.Events[0].RenewsOrderID != "" {
		t.Fatalf("renewal without a store: %+v %v", res, err)
	}

	shop := newStore(t, renewal, wcOrderOf(1000, "completed", now.Add(-time.Hour)))
	shop.set(func() { shop.subscriptions = map[string]int64{"1100": 1000} })
	c := configured(t, shop.URL)
	res, err = c.Webhook(ctx, signed("order.created", body, webhookSecret))
	if err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderRenewed || res.Events[0].RenewsOrderID != "1000" {
		t.Fatalf("renewal with the store: %+v %v", res, err)
	}
	polled, err := c.Poll(ctx, sdk.PollRequest{Limit: 100, Now: now.Add(time.Hour)})
	if err != nil || len(polled.Events) != 2 {
		t.Fatalf("poll: %+v %v", polled, err)
	}
	for _, e := range polled.Events {
		switch e.OrderID {
		case "1000":
			if e.Status != sdk.OrderPaid || e.SubscriptionID != "" {
				t.Errorf("the parent order: %+v", e)
			}
		case "1205":
			if e.Status != sdk.OrderRenewed || e.SubscriptionID != "1100" || e.RenewsOrderID != "1000" {
				t.Errorf("the renewal: %+v", e)
			}
		}
	}
	// A refunded renewal order is a refund of that order.
	renewal.Status = "refunded"
	if res, err := c.Webhook(ctx, signed("order.updated", must(json.Marshal(renewal)), webhookSecret)); err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderRefunded {
		t.Errorf("refunded renewal: %+v %v", res, err)
	}
	// An unknown subscription: the store answers 404, the webhook fails.
	renewal.Status = "processing"
	renewal.MetaData[1].Value = "999"
	if _, err := c.Webhook(ctx, signed("order.created", must(json.Marshal(renewal)), webhookSecret)); err == nil {
		t.Error("a renewal of a subscription the store does not know was answered")
	}
}
