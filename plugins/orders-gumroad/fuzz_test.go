package main

import (
	"context"
	"net/url"
	"testing"

	"github.com/licensor/licensor/plugins/sdk"
)

// FuzzPing feeds Gumroad pings to the plugin, with the right secret in
// the ping URL (the form body is read) or a wrong one (refused whatever
// the body).
func FuzzPing(f *testing.F) {
	f.Add([]byte("sale_id=S1&email=ann%40example.com&full_name=Ann&product_permalink=pro&quantity=2&sale_timestamp=2024-05-01T10%3A00%3A00Z"), true)
	f.Add([]byte("sale_id=S1&refunded=true&product_id=p1&quantity=-3"), true)
	f.Add([]byte("sale_id=S1&test=true"), true)
	f.Add([]byte("sale_id=%zz"), true)
	f.Add([]byte("quantity=99999999999999999999&sale_id=x"), false)
	g := &gumroad{secret: "fuzz ping secret"}
	f.Fuzz(func(t *testing.T, body []byte, rightSecret bool) {
		secret := "fuzz ping secret"
		if !rightSecret {
			secret = "fuzz ping secreT"
		}
		res, err := g.Webhook(context.Background(), sdk.WebhookRequest{Query: url.Values{"secret": {secret}}.Encode(), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if res.Authentic != rightSecret {
			t.Fatalf("right secret %v, authentic %v", rightSecret, res.Authentic)
		}
		if !rightSecret && len(res.Events) > 0 {
			t.Fatal("events from a ping with the wrong secret")
		}
		for _, e := range res.Events {
			if e.OrderID == "" {
				t.Fatalf("event without a sale ID: %+v", e)
			}
			if e.Status != sdk.OrderPaid && e.Status != sdk.OrderRefunded {
				t.Fatalf("event status %q", e.Status)
			}
			if len(e.Items) != 1 || e.Items[0].Quantity < 1 {
				t.Fatalf("items %+v: one item of at least 1 expected", e.Items)
			}
		}
	})
}
