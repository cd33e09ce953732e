package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
)

// The renewal marker as a real store sends it: testdata/renewal-order.json
// is a WooCommerce Subscriptions renewal order in the shape of the REST
// API v3 and its order webhooks (every field of the order schema, the
// relation as an order meta entry {"id","key":"_subscription_renewal",
// "value":"<subscription id>"} among other meta, some of them objects,
// parent_id 0 and created_via "subscription"), and
// testdata/subscription.json the subscription as
// GET /wp-json/wc/v3/subscriptions/{id} answers it (numeric id and
// parent_id, the first order). WooCommerce reads meta values back from
// the database as strings, but the webhook of an order saved in the same
// request carries the value as WooCommerce Subscriptions set it, a number:
// both name the subscription.
func TestRealRenewalOrderShape(t *testing.T) {
	t.Parallel()
	order, err := os.ReadFile("testdata/renewal-order.json")
	if err != nil {
		t.Fatal(err)
	}
	subscription, err := os.ReadFile("testdata/subscription.json")
	if err != nil {
		t.Fatal(err)
	}
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key, secret, ok := r.BasicAuth(); !ok || key != consumerKey || secret != consumerSecret {
			wcError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
			return
		}
		if r.URL.Path != "/wp-json/wc/v3/subscriptions/1100" {
			wcError(w, http.StatusNotFound, "woocommerce_rest_shop_subscription_invalid_id", "Invalid ID.")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(subscription)
	}))
	t.Cleanup(shop.Close)
	c := configured(t, shop.URL)
	ctx := context.Background()

	numeric := bytes.Replace(order, []byte(`"key": "_subscription_renewal", "value": "1100"`), []byte(`"key": "_subscription_renewal", "value": 1100`), 1)
	if bytes.Equal(numeric, order) {
		t.Fatal("the fixture lost its renewal meta")
	}
	for name, body := range map[string][]byte{"string value": order, "number value": numeric} {
		res, err := c.Webhook(ctx, signed("order.updated", body, webhookSecret))
		if err != nil || !res.Authentic || len(res.Events) != 1 {
			t.Fatalf("%s: %+v %v", name, res, err)
		}
		e := res.Events[0]
		if e.OrderID != "1205" || e.Status != sdk.OrderRenewed || e.SubscriptionID != "1100" || e.RenewsOrderID != "1000" ||
			e.Customer.Email != "ann@example.com" || e.Customer.Name != "Ann Lee" ||
			len(e.Items) != 1 || e.Items[0].SKU != "ACME-PRO" || e.Items[0].Quantity != 1 ||
			!e.PurchasedAt.Equal(time.Date(2030, 3, 10, 11, 59, 0, 0, time.UTC)) {
			t.Errorf("%s: %+v", name, e)
		}
	}

	// The same order without the marker (the subscription's first order
	// has none) is a paid order.
	plain := bytes.Replace(order, []byte(`"_subscription_renewal"`), []byte(`"_subscription_parent_note"`), 1)
	res, err := c.Webhook(ctx, signed("order.updated", plain, webhookSecret))
	if err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderPaid || res.Events[0].SubscriptionID != "" {
		t.Fatalf("without the marker: %+v %v", res, err)
	}
}
