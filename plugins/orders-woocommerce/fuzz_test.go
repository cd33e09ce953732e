package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/licensor/licensor/plugins/sdk"
)

// FuzzWebhook feeds webhook bodies to the plugin as WooCommerce would send
// them: signed with the secret (the payload is read) or not (refused
// whatever the body).
func FuzzWebhook(f *testing.F) {
	f.Add("order.created", []byte(`{"id":42,"status":"processing","date_paid_gmt":"2024-05-01T10:00:00","billing":{"first_name":"Ann","last_name":"Lee","email":"ann@example.com"},"line_items":[{"name":"Pro","sku":"PRO","quantity":2}]}`), true)
	f.Add("order.updated", []byte(`{"id":42,"status":"refunded"}`), true)
	f.Add("order.updated", []byte(`{"id":42,"status":"on-hold","line_items":null}`), true)
	f.Add("", []byte(`webhook_id=7`), true)
	f.Add("product.created", []byte(`{"id":1}`), true)
	f.Add("order.created", []byte(`{"id":-1,"status":"completed","line_items":[{"quantity":-5}]}`), false)
	f.Add("order.created", []byte(`{"id":1e30}`), true)
	w := &woo{cfg: &settings{secret: "fuzz webhook secret"}}
	f.Fuzz(func(t *testing.T, topic string, body []byte, signed bool) {
		mac := hmac.New(sha256.New, []byte("fuzz webhook secret"))
		mac.Write(body)
		sig := mac.Sum(nil)
		if !signed {
			sig[0] ^= 1
		}
		h := http.Header{}
		h.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
		h.Set("X-WC-Webhook-Topic", topic)
		res, err := w.Webhook(context.Background(), sdk.WebhookRequest{Header: h, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if res.Authentic != signed {
			t.Fatalf("signed %v, authentic %v", signed, res.Authentic)
		}
		if !signed && len(res.Events) > 0 {
			t.Fatal("events from an unsigned body")
		}
		if len(res.Events) > 1 {
			t.Fatalf("%d events from one order", len(res.Events))
		}
		for _, e := range res.Events {
			if e.OrderID == "" || e.OrderID == "0" {
				t.Fatalf("event without an order ID: %+v", e)
			}
			switch e.Status {
			case sdk.OrderPaid, sdk.OrderRefunded, sdk.OrderCancelled:
			default:
				t.Fatalf("event status %q", e.Status)
			}
		}
		if len(res.Events) == 0 && res.Authentic && res.Reason == "" {
			t.Fatal("an authentic body without events and without a reason")
		}
	})
}
