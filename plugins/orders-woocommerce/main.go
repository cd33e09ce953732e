// Command orders-woocommerce is the order sync plugin for WooCommerce:
// order webhooks (X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body
// with the webhook's secret) and polling of the REST API
// (GET {store}/wp-json/wc/v3/orders?modified_after=…) with a consumer key
// and secret, for orders missed while Licensor was down.
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
	return e, true
}

func (w *woo) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
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
	return orderEvents(req.Header.Get("X-WC-Webhook-Topic"), req.Body), nil
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

// Poll pages through orders modified after the cursor (a WooCommerce GMT
// time), oldest first; the next cursor is the last order's modification
// time.
func (w *woo) Poll(ctx context.Context, cursor string, limit int) (sdk.PollResult, error) {
	s, err := w.settings()
	if err != nil {
		return sdk.PollResult{}, err
	}
	if s.store == "" {
		return sdk.PollResult{NextCursor: cursor}, nil
	}
	if cursor == "" {
		cursor = time.Now().UTC().Add(-time.Duration(s.pollDays * float64(24*time.Hour))).Format(wooTime)
	}
	if limit < 1 || limit > 100 {
		limit = 100
	}
	q := url.Values{}
	q.Set("modified_after", cursor)
	q.Set("dates_are_gmt", "true")
	q.Set("orderby", "modified")
	q.Set("order", "asc")
	q.Set("per_page", strconv.Itoa(limit))
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
	out := sdk.PollResult{NextCursor: cursor, More: len(orders) >= limit}
	for _, o := range orders {
		if e, ok := o.event(); ok {
			out.Events = append(out.Events, e)
		}
		if o.DateModifiedGMT > out.NextCursor {
			out.NextCursor = o.DateModifiedGMT
		}
	}
	if out.NextCursor == cursor {
		out.More = false
	}
	return out, nil
}
