// Command orders-woocommerce is the order sync plugin for WooCommerce:
// order webhooks (X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body
// with the webhook's secret) and polling of the REST API
// (GET {store}/wp-json/wc/v3/orders?modified_after=…) with a consumer key
// and secret, for orders missed while Licensor was down. A WooCommerce
// Subscriptions renewal order (meta _subscription_renewal: its
// subscription) is a renewal of the licenses the subscription's first
// (parent) order issued; with the store configured, the plugin names that
// order from GET {store}/wp-json/wc/v3/subscriptions/{id} (parent_id).
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
)

var manifest = sdk.Manifest{
	Name:        "orders-woocommerce",
	Version:     "1.0.0",
	Description: "WooCommerce orders: signed order webhooks, and polling of the REST orders endpoint for missed orders.",
	Config: []sdk.ConfigField{
		{Name: "webhook_secret", Label: "Webhook secret", Type: sdk.FieldString, Required: true, Secret: true,
			Help: "The secret of the WooCommerce webhooks (WooCommerce → Settings → Advanced → Webhooks; topics Order created and Order updated)."},
		{Name: "store_url", Label: "Store URL", Type: sdk.FieldURL,
			Help: "The shop's address, e.g. https://shop.example.com, for polling. Empty: no polling."},
		{Name: "consumer_key", Label: "Consumer key", Type: sdk.FieldString,
			Help: "REST API key with read access (WooCommerce → Settings → Advanced → REST API)."},
		{Name: "consumer_secret", Label: "Consumer secret", Type: sdk.FieldString, Secret: true},
		{Name: "poll_days", Label: "First poll goes back (days)", Type: sdk.FieldNumber, Default: "3"},
	},
}

func main() {
	sdk.ServeOrderSync(manifest, &woo{http: &http.Client{Timeout: 20 * time.Second}})
}

type settings struct {
	secret, store, key, consumerSecret string
	pollDays                           float64
}

type woo struct {
	http *http.Client
	mu   sync.RWMutex
	cfg  *settings
}

func (w *woo) Configure(_ context.Context, cfg sdk.Config) error {
	s := settings{
		secret:         cfg.String("webhook_secret", ""),
		store:          strings.TrimRight(cfg.String("store_url", ""), "/"),
		key:            cfg.String("consumer_key", ""),
		consumerSecret: cfg.String("consumer_secret", ""),
		pollDays:       cfg.Number("poll_days", 3),
	}
	bad := sdk.FieldErrors{}
	if s.secret == "" {
		bad["webhook_secret"] = "Enter the webhook secret."
	}
	if s.store != "" {
		if u, err := url.Parse(s.store); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad["store_url"] = "Enter an http(s) URL."
		}
		if s.key == "" {
			bad["consumer_key"] = "Enter the consumer key to poll the store."
		}
		if s.consumerSecret == "" {
			bad["consumer_secret"] = "Enter the consumer secret to poll the store."
		}
	}
	if s.pollDays < 0 || s.pollDays > 365 {
		bad["poll_days"] = "Enter 0 to 365."
	}
	if len(bad) > 0 {
		return bad
	}
	w.mu.Lock()
	w.cfg = &s
	w.mu.Unlock()
	return nil
}

func (w *woo) settings() (*settings, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.cfg == nil {
		return nil, fmt.Errorf("orders-woocommerce is not configured: enter the webhook secret")
	}
	return w.cfg, nil
}

// order is the part of a WooCommerce order (REST v3 / webhook payload)
// Licensor needs.
type order struct {
	ID              int64  `json:"id"`
	Status          string `json:"status"`
	DateCreatedGMT  string `json:"date_created_gmt"`
	DatePaidGMT     string `json:"date_paid_gmt"`
	DateModifiedGMT string `json:"date_modified_gmt"`
	Billing         struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"billing"`
	LineItems []struct {
		Name     string `json:"name"`
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	} `json:"line_items"`
	MetaData []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"meta_data"`
}

// renewalOf is the subscription a WooCommerce Subscriptions renewal order
// renews (its _subscription_renewal meta, a number or a string), "" for
// any other order.
func (o order) renewalOf() string {
	for _, m := range o.MetaData {
		if m.Key != "_subscription_renewal" {
			continue
		}
		var s string
		if json.Unmarshal(m.Value, &s) == nil {
			return strings.TrimSpace(s)
		}
		var n json.Number
		if json.Unmarshal(m.Value, &n) == nil {
			return n.String()
		}
	}
	return ""
}

const wooTime = "2006-01-02T15:04:05"

// event turns an order into an event; ok false for statuses Licensor does
// not act on (pending, on-hold, failed, draft).
func (o order) event() (sdk.OrderEvent, bool) {
	var st sdk.OrderStatus
	switch o.Status {
	case "processing", "completed":
		st = sdk.OrderPaid
	case "refunded":
		st = sdk.OrderRefunded
	case "cancelled":
		st = sdk.OrderCancelled
	default:
		return sdk.OrderEvent{}, false
	}
	e := sdk.OrderEvent{
		OrderID: strconv.FormatInt(o.ID, 10),
		Status:  st,
		Customer: sdk.OrderCustomer{
			Name:  strings.TrimSpace(o.Billing.FirstName + " " + o.Billing.LastName),
			Email: strings.TrimSpace(o.Billing.Email),
		},
	}
	for _, d := range []string{o.DatePaidGMT, o.DateCreatedGMT} {
		if t, err := time.Parse(wooTime, d); err == nil {
			e.PurchasedAt = t.UTC()
			break
		}
	}
	for _, li := range o.LineItems {
		e.Items = append(e.Items, sdk.OrderItem{SKU: li.SKU, Quantity: li.Quantity, Name: li.Name})
	}
	if sub := o.renewalOf(); sub != "" {
		e.SubscriptionID = sub
		if st == sdk.OrderPaid {
			e.Status = sdk.OrderRenewed
		}
	}
	return e, true
}

// nameRenewedOrders sets, on each renewal, the subscription's parent
// order (RenewsOrderID) as the store's subscriptions endpoint names it.
// Without a configured store the renewal goes with its subscription only.
// A store that cannot answer is an error: the webhook or poll is retried.
func (w *woo) nameRenewedOrders(ctx context.Context, s *settings, events []sdk.OrderEvent) error {
	if s.store == "" {
		return nil
	}
	parents := map[string]string{}
	for i, e := range events {
		if e.Status != sdk.OrderRenewed || e.SubscriptionID == "" {
			continue
		}
		parent, ok := parents[e.SubscriptionID]
		if !ok {
			var err error
			if parent, err = w.subscriptionParent(ctx, s, e.SubscriptionID); err != nil {
				return err
			}
			parents[e.SubscriptionID] = parent
		}
		events[i].RenewsOrderID = parent
	}
	return nil
}

// subscriptionParent reads GET /wp-json/wc/v3/subscriptions/{id}'s
// parent_id ("" when it has none).
func (w *woo) subscriptionParent(ctx context.Context, s *settings, id string) (string, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, s.store+"/wp-json/wc/v3/subscriptions/"+url.PathEscape(id), nil)
	if err != nil {
		return "", err
	}
	r.SetBasicAuth(s.key, s.consumerSecret)
	r.Header.Set("Accept", "application/json")
	res, err := w.http.Do(r)
	if err != nil {
		return "", fmt.Errorf("subscription %s: %w", id, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("subscription %s: HTTP %d", id, res.StatusCode)
	}
	var sub struct {
		ParentID int64 `json:"parent_id"`
	}
	if err := json.Unmarshal(body, &sub); err != nil {
		return "", fmt.Errorf("subscription %s: %w", id, err)
	}
	if sub.ParentID <= 0 {
		return "", nil
	}
	return strconv.FormatInt(sub.ParentID, 10), nil
}

func (w *woo) Webhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	s, err := w.settings()
	if err != nil {
		return sdk.WebhookResult{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(req.Header.Get("X-WC-Webhook-Signature"))
	mac := hmac.New(sha256.New, []byte(s.secret))
	mac.Write(req.Body)
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return sdk.WebhookResult{Authentic: false, Reason: "X-WC-Webhook-Signature does not match the body"}, nil
	}
	res := orderEvents(req.Header.Get("X-WC-Webhook-Topic"), req.Body)
	if err := w.nameRenewedOrders(ctx, s, res.Events); err != nil {
		return sdk.WebhookResult{}, err
	}
	return res, nil
}

// orderEvents reads an authentic webhook: its topic and body (a JSON
// order, or the form-encoded ping sent when the webhook is saved). It is
// the payload decoder, apart from the signature, so it can be fuzzed.
func orderEvents(topic string, body []byte) sdk.WebhookResult {
	if topic != "" && !strings.HasPrefix(topic, "order.") {
		return sdk.WebhookResult{Authentic: true, Reason: "topic " + topic + " ignored"}
	}
	var o order
	if err := json.Unmarshal(body, &o); err != nil || o.ID == 0 {
		// WooCommerce's ping on saving a webhook is "webhook_id=N", form
		// encoded and signed: authentic, nothing to do.
		return sdk.WebhookResult{Authentic: true, Reason: "no order in the body"}
	}
	e, ok := o.event()
	if !ok {
		return sdk.WebhookResult{Authentic: true, Reason: "order status " + o.Status + " ignored"}
	}
	return sdk.WebhookResult{Authentic: true, Events: []sdk.OrderEvent{e}}
}

// Poll pages through the orders modified since the cursor, oldest first.
//
// WooCommerce's modified_after is strictly after and its times have whole
// seconds, while a bulk action in the shop's admin changes many orders in
// the same second: a cursor of "the last order's time" would skip the
// orders of that second that did not fit the page. So the cursor is a time
// and a page (pollCursor), each query asks from one second before the
// time, and orders of the cursor's second may come again: Licensor applies
// each order and status once, so a repeat costs nothing. The first poll
// starts poll_days before the host's clock.
func (w *woo) Poll(ctx context.Context, req sdk.PollRequest) (sdk.PollResult, error) {
	s, err := w.settings()
	if err != nil {
		return sdk.PollResult{}, err
	}
	if s.store == "" {
		return sdk.PollResult{NextCursor: req.Cursor}, nil
	}
	cur, ok := parsePollCursor(req.Cursor)
	if !ok {
		cur = pollCursor{since: req.Now.UTC().Add(-time.Duration(s.pollDays * float64(24*time.Hour))).Truncate(time.Second), page: 1}
	}
	limit := req.Limit
	if limit < 1 || limit > 100 {
		limit = 100
	}
	q := url.Values{}
	q.Set("modified_after", cur.since.Add(-time.Second).Format(wooTime))
	q.Set("dates_are_gmt", "true")
	q.Set("orderby", "modified")
	q.Set("order", "asc")
	q.Set("per_page", strconv.Itoa(limit))
	if cur.page > 1 {
		q.Set("page", strconv.Itoa(cur.page))
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, s.store+"/wp-json/wc/v3/orders?"+q.Encode(), nil)
	if err != nil {
		return sdk.PollResult{}, err
	}
	r.SetBasicAuth(s.key, s.consumerSecret)
	r.Header.Set("Accept", "application/json")
	res, err := w.http.Do(r)
	if err != nil {
		return sdk.PollResult{}, fmt.Errorf("poll %s: %w", s.store, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return sdk.PollResult{}, err
	}
	if res.StatusCode != http.StatusOK {
		return sdk.PollResult{}, fmt.Errorf("poll %s: HTTP %d", s.store, res.StatusCode)
	}
	var orders []order
	if err := json.Unmarshal(body, &orders); err != nil {
		return sdk.PollResult{}, fmt.Errorf("poll %s: %w", s.store, err)
	}
	var out sdk.PollResult
	latest := cur.since
	for _, o := range orders {
		if e, ok := o.event(); ok {
			out.Events = append(out.Events, e)
		}
		if t, err := time.Parse(wooTime, o.DateModifiedGMT); err == nil && t.After(latest) {
			latest = t
		}
	}
	if err := w.nameRenewedOrders(ctx, s, out.Events); err != nil {
		return sdk.PollResult{}, err
	}
	next := pollCursor{since: latest, page: 1}
	if len(orders) >= limit {
		// A full page: more may follow. When every order on it was of the
		// cursor's second, the next page of that second comes next.
		out.More = true
		if !latest.After(cur.since) {
			next = pollCursor{since: cur.since, page: cur.page + 1}
		}
	}
	out.NextCursor = next.String()
	return out, nil
}

// pollCursor is where the next poll starts: the orders modified at or
// after since, from the page-th page of limit orders.
type pollCursor struct {
	since time.Time
	page  int
}

// String is the cursor Licensor stores: "2006-01-02T15:04:05", with
// "/<page>" past the first page.
func (c pollCursor) String() string {
	if c.page > 1 {
		return c.since.Format(wooTime) + "/" + strconv.Itoa(c.page)
	}
	return c.since.Format(wooTime)
}

// parsePollCursor reads a stored cursor; ok false for none (or one that
// cannot be read, which restarts from the first poll's window).
func parsePollCursor(s string) (pollCursor, bool) {
	at, page, found := strings.Cut(s, "/")
	t, err := time.Parse(wooTime, at)
	if err != nil {
		return pollCursor{}, false
	}
	c := pollCursor{since: t, page: 1}
	if found {
		n, err := strconv.Atoi(page)
		if err != nil || n < 1 || n > 1_000_000 {
			return pollCursor{}, false
		}
		c.page = n
	}
	return c, true
}
