// Command orders-gumroad is the order sync plugin for Gumroad sale pings:
// Gumroad posts each sale (form encoded) to the ping URL, which carries a
// secret in its query (?secret=…) compared in constant time. The product's
// permalink is the SKU; a ping with refunded=true is a refund, and a
// membership's recurring charge (is_recurring_charge=true, with its
// subscription_id) a renewal of the licenses its first sale issued. It also
// verifies Gumroad license keys on their first activation (verify_type
// gumroad, verify.go).
package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
)

var manifest = sdk.Manifest{
	Name:        "orders-gumroad",
	Version:     "1.0.0",
	Description: "Gumroad sale pings (secret in the ping URL); the product permalink is the SKU.",
	Config: []sdk.ConfigField{
		{Name: "ping_secret", Label: "Ping secret", Type: sdk.FieldString, Required: true, Secret: true,
			Help: "Add ?secret=<this> to the webhook URL you paste into Gumroad (Settings → Advanced → Ping)."},
		{Name: "api_base", Label: "API base URL", Type: sdk.FieldURL, Default: defaultAPIBase,
			Help: "Where license keys are verified (POST /v2/licenses/verify)."},
		{Name: "access_token", Label: "Access token", Type: sdk.FieldString, Secret: true,
			Help: "Optional: a Gumroad application access token, sent with each verification."},
		{Name: "default_uses", Label: "Uses of verified keys", Type: sdk.FieldNumber,
			Help: "Activations allowed to a license created from a Gumroad key; empty: the product's default."},
		{Name: "default_parallel_uses", Label: "Parallel uses of verified keys", Type: sdk.FieldNumber,
			Help: "Activations at the same time; empty: the product's default."},
	},
	VerifyType:  "gumroad",
	Marketplace: "Gumroad",
}

func main() {
	sdk.ServeOrderSync(manifest, &gumroad{http: &http.Client{Timeout: 30 * time.Second}})
}

type gumroad struct {
	http   *http.Client
	mu     sync.RWMutex
	secret string
	verify verifyConfig
}

func (g *gumroad) Configure(_ context.Context, cfg sdk.Config) error {
	s := cfg.String("ping_secret", "")
	bad := sdk.FieldErrors{}
	if len(s) < 8 {
		bad["ping_secret"] = "Enter a secret of at least 8 characters."
	}
	v := readVerifyConfig(cfg, bad)
	if len(bad) > 0 {
		return bad
	}
	g.mu.Lock()
	g.secret, g.verify = s, v
	g.mu.Unlock()
	return nil
}

func (g *gumroad) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	g.mu.RLock()
	secret := g.secret
	g.mu.RUnlock()
	if secret == "" {
		return sdk.WebhookResult{}, fmt.Errorf("orders-gumroad is not configured: enter the ping secret")
	}
	q, _ := url.ParseQuery(req.Query)
	if subtle.ConstantTimeCompare([]byte(q.Get("secret")), []byte(secret)) != 1 {
		return sdk.WebhookResult{Authentic: false, Reason: "wrong or missing secret in the ping URL"}, nil
	}
	return saleEvents(req.Body), nil
}

// saleEvents reads an authentic ping's body (form encoded): the payload
// decoder, apart from the secret, so it can be fuzzed.
func saleEvents(body []byte) sdk.WebhookResult {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("sale_id") == "" {
		return sdk.WebhookResult{Authentic: true, Reason: "no sale in the ping"}
	}
	if form.Get("test") == "true" {
		return sdk.WebhookResult{Authentic: true, Reason: "test ping ignored"}
	}
	qty, err := strconv.Atoi(form.Get("quantity"))
	if err != nil || qty < 1 {
		qty = 1
	}
	sku := form.Get("product_permalink")
	if sku == "" {
		sku = form.Get("product_id")
	}
	e := sdk.OrderEvent{
		OrderID:  form.Get("sale_id"),
		Status:   sdk.OrderPaid,
		Customer: sdk.OrderCustomer{Name: strings.TrimSpace(form.Get("full_name")), Email: strings.TrimSpace(form.Get("email"))},
		Items:    []sdk.OrderItem{{SKU: sku, Quantity: qty, Name: form.Get("product_name")}},
		// A membership's sales carry its subscription: the first sale
		// issues the licenses, each recurring charge renews them.
		SubscriptionID: strings.TrimSpace(form.Get("subscription_id")),
	}
	switch {
	case form.Get("refunded") == "true":
		e.Status = sdk.OrderRefunded
	case form.Get("is_recurring_charge") == "true" && e.SubscriptionID != "":
		e.Status = sdk.OrderRenewed
	}
	if t, err := time.Parse(time.RFC3339, form.Get("sale_timestamp")); err == nil {
		e.PurchasedAt = t.UTC()
	}
	return sdk.WebhookResult{Authentic: true, Events: []sdk.OrderEvent{e}}
}

// Poll: Gumroad has no order listing for this plugin to read; pings only.
func (g *gumroad) Poll(_ context.Context, req sdk.PollRequest) (sdk.PollResult, error) {
	return sdk.PollResult{NextCursor: req.Cursor}, nil
}
