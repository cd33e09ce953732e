package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/plugins/sdk/sdktest"
)

const (
	pingSecret  = "gumroad-ping-secret"
	accessToken = "gumroad-app-token"
)

var soldAt = time.Date(2030, 2, 3, 4, 5, 6, 0, time.UTC)

// gumroadAPI is a fake of Gumroad's license API, POST /v2/licenses/verify:
// a form with product_permalink (or product_id) and license_key; 200
// {"success":true,"uses":N,"purchase":{…}} for a key of that product, 404
// {"success":false,"message":…} otherwise, as Gumroad answers.
type gumroadAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []url.Values
	auth     []string
}

// purchases are the fake's sales by product, then key.
var purchases = map[string]map[string]map[string]any{
	"acme-cms": {
		"GOOD-KEY": {"sale_id": "S-1", "email": " ann@example.com ", "full_name": " Ann Lee ", "created_at": soldAt.Format(time.RFC3339),
			"refunded": false, "chargebacked": false, "disputed": false, "price": 4900, "currency": "usd", "variants": "Pro",
			"ip_country": "Germany", "custom_fields": []string{"Company: Acme"}, "purchaser_id": "P-9", "product_name": "Acme CMS"},
		"REFUNDED-KEY":   {"sale_id": "S-2", "email": "bob@example.com", "refunded": true},
		"CHARGEBACK-KEY": {"sale_id": "S-3", "email": "cy@example.com", "chargebacked": true},
		"DISPUTED-KEY":   {"sale_id": "S-4", "email": "dee@example.com", "disputed": true},
		"ENDED-KEY":      {"sale_id": "S-5", "email": "eve@example.com", "subscription_id": "SUB-5", "subscription_ended_at": "2030-01-01T00:00:00Z"},
		"FAILED-KEY":     {"sale_id": "S-6", "email": "fay@example.com", "subscription_id": "SUB-6", "subscription_failed_at": "2030-01-01T00:00:00Z"},
		"SUB-KEY":        {"sale_id": "S-7", "email": "gus@example.com", "subscription_id": "SUB-7", "subscription_ended_at": nil},
	},
	"acme-addon": {"ADDON-KEY": {"sale_id": "S-8", "email": "hal@example.com"}},
	"pid1==":     {"PID-KEY": {"sale_id": "S-9", "email": "ida@example.com"}},
}

func newGumroadAPI(t *testing.T) *gumroadAPI {
	t.Helper()
	g := &gumroadAPI{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/licenses/verify" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.requests = append(g.requests, r.PostForm)
		g.auth = append(g.auth, r.Header.Get("Authorization"))
		g.mu.Unlock()
		key := r.PostForm.Get("license_key")
		switch key {
		case "BUSY":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html>Gumroad is down for maintenance</html>"))
			return
		case "BROKEN":
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "Something broke."})
			return
		}
		product := r.PostForm.Get("product_permalink")
		if product == "" {
			product = r.PostForm.Get("product_id")
		}
		p, ok := purchases[product][key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "That license does not exist for the provided product."})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "uses": 3, "purchase": p})
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gumroadAPI) calls() ([]url.Values, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]url.Values(nil), g.requests...), append([]string(nil), g.auth...)
}

func configured(t *testing.T, cfg sdk.Config) *sdk.OrderSyncClient {
	t.Helper()
	c := sdktest.OrderSync(t, &gumroad{http: &http.Client{}})
	if cfg == nil {
		cfg = sdk.Config{}
	}
	cfg["ping_secret"] = pingSecret
	if err := c.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestManifest(t *testing.T) {
	t.Parallel()
	sdktest.Manifest(t, manifest, sdk.KindOrderSync)
	if manifest.VerifyType != "gumroad" {
		t.Errorf("verify_type %q: clients activate Gumroad keys with verify_type gumroad", manifest.VerifyType)
	}
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	t.Parallel()
	c := sdktest.OrderSync(t, &gumroad{http: &http.Client{}})
	var fe sdk.FieldErrors
	err := c.Configure(context.Background(), sdk.Config{"ping_secret": "short", "api_base": "gumroad", "default_uses": "-1", "default_parallel_uses": "two"})
	if !errors.As(err, &fe) {
		t.Fatalf("bad settings: %v", err)
	}
	for _, field := range []string{"ping_secret", "api_base", "default_uses", "default_parallel_uses"} {
		if fe[field] == "" {
			t.Errorf("no message on %s: %v", field, fe)
		}
	}
}

// ping is a sale ping as Gumroad posts it to the URL the admin pasted:
// the plugin's webhook URL followed by ?secret=….
func ping(secret string, form url.Values) sdk.WebhookRequest {
	q := ""
	if secret != "" {
		q = url.Values{"secret": {secret}}.Encode()
	}
	return sdk.WebhookRequest{Method: "POST", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Query: q, Body: []byte(form.Encode())}
}

func TestSalePings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := configured(t, nil)
	sale := url.Values{
		"sale_id": {"S-100"}, "sale_timestamp": {"2030-02-03T04:05:06Z"}, "email": {" ann@example.com "}, "full_name": {"Ann Lee"},
		"product_permalink": {"acme-cms"}, "product_id": {"pid1=="}, "product_name": {"Acme CMS"}, "quantity": {"2"}, "price": {"9800"},
		"refunded": {"false"}, "test": {"false"},
	}

	res, err := c.Webhook(ctx, ping(pingSecret, sale))
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.OrderEvent{OrderID: "S-100", Status: sdk.OrderPaid, PurchasedAt: soldAt,
		Customer: sdk.OrderCustomer{Name: "Ann Lee", Email: "ann@example.com"},
		Items:    []sdk.OrderItem{{SKU: "acme-cms", Quantity: 2, Name: "Acme CMS"}}}
	if !res.Authentic || len(res.Events) != 1 || !reflect.DeepEqual(res.Events[0], want) {
		t.Errorf("a sale: %+v, want %+v", res, want)
	}

	refund := url.Values{"sale_id": {"S-100"}, "product_permalink": {"acme-cms"}, "refunded": {"true"}, "email": {"ann@example.com"}}
	if res, err := c.Webhook(ctx, ping(pingSecret, refund)); err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderRefunded {
		t.Errorf("a refund ping: %+v %v", res, err)
	}
	// A membership: its first sale is paid with its subscription, each
	// recurring charge a renewal of it.
	first := url.Values{"sale_id": {"S-200"}, "product_permalink": {"acme-cms"}, "email": {"ann@example.com"}, "subscription_id": {"sub_9=="}}
	if res, err := c.Webhook(ctx, ping(pingSecret, first)); err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderPaid || res.Events[0].SubscriptionID != "sub_9==" {
		t.Errorf("a membership's first sale: %+v %v", res, err)
	}
	first.Set("sale_id", "S-201")
	first.Set("is_recurring_charge", "true")
	if res, err := c.Webhook(ctx, ping(pingSecret, first)); err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderRenewed ||
		res.Events[0].OrderID != "S-201" || res.Events[0].SubscriptionID != "sub_9==" {
		t.Errorf("a recurring charge: %+v %v", res, err)
	}
	first.Set("refunded", "true")
	if res, err := c.Webhook(ctx, ping(pingSecret, first)); err != nil || len(res.Events) != 1 || res.Events[0].Status != sdk.OrderRefunded {
		t.Errorf("a refunded recurring charge: %+v %v", res, err)
	}
	noPermalink := url.Values{"sale_id": {"S-101"}, "product_id": {"pid1=="}, "quantity": {"0"}}
	if res, err := c.Webhook(ctx, ping(pingSecret, noPermalink)); err != nil || len(res.Events) != 1 ||
		res.Events[0].Items[0] != (sdk.OrderItem{SKU: "pid1==", Quantity: 1}) {
		t.Errorf("a ping without a permalink: %+v %v, want the product ID as SKU and a quantity of at least 1", res, err)
	}

	for name, tc := range map[string]struct {
		req    sdk.WebhookRequest
		reason string
	}{
		"a test ping":    {ping(pingSecret, url.Values{"sale_id": {"S-1"}, "test": {"true"}}), "test ping ignored"},
		"no sale":        {ping(pingSecret, url.Values{"seller_id": {"X"}}), "no sale in the ping"},
		"wrong secret":   {ping("gumroad-ping-secreT", sale), "wrong or missing secret in the ping URL"},
		"no secret":      {ping("", sale), "wrong or missing secret in the ping URL"},
		"secret in body": {sdk.WebhookRequest{Body: []byte("secret=" + pingSecret + "&" + sale.Encode())}, "wrong or missing secret in the ping URL"},
	} {
		res, err := c.Webhook(ctx, tc.req)
		if err != nil || len(res.Events) > 0 || res.Reason != tc.reason {
			t.Errorf("%s: %+v %v, want no event and %q", name, res, err, tc.reason)
		}
		if strings.Contains(tc.reason, "secret") == res.Authentic {
			t.Errorf("%s: authentic %v", name, res.Authentic)
		}
	}

	if res, err := c.Poll(ctx, sdk.PollRequest{Cursor: "kept", Now: soldAt}); err != nil || res.NextCursor != "kept" || len(res.Events) > 0 {
		t.Errorf("poll: %+v %v, want nothing (Gumroad sends pings only)", res, err)
	}
}

func TestVerifyLicenseKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := newGumroadAPI(t)
	c := configured(t, sdk.Config{"api_base": api.URL + "/", "access_token": accessToken, "default_parallel_uses": "2"})

	res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: " GOOD-KEY ", ClientName: "Ann", ProductIDs: []string{"acme-cms"}})
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	want := sdk.Sale{ID: "S-1", Customer: sdk.OrderCustomer{Name: "Ann Lee", Email: "ann@example.com"}, PurchasedAt: soldAt, ParallelUses: &two,
		Data: map[string]string{"sale_id": "S-1", "created_at": soldAt.Format(time.RFC3339), "refunded": "false", "chargebacked": "false",
			"disputed": "false", "price": "4900", "currency": "usd", "variants": "Pro", "product_name": "Acme CMS", "uses": "3"}}
	if res.Outcome != sdk.VerifyAccepted || !reflect.DeepEqual(res.Sale, want) {
		t.Errorf("a good key: %+v\nwant sale %+v (no email, name, country, custom fields or purchaser in data)", res, want)
	}
	forms, auth := api.calls()
	if f := forms[0]; f.Get("license_key") != "GOOD-KEY" || f.Get("product_permalink") != "acme-cms" || f.Get("increment_uses_count") != "false" {
		t.Errorf("asked Gumroad %v: the key trimmed, the permalink, and never counting a use", f)
	}
	if auth[0] != "Bearer "+accessToken {
		t.Errorf("Authorization %q, want the access token", auth[0])
	}

	for _, tc := range []struct {
		code, reason string
	}{
		{"REFUNDED-KEY", "refunded"},
		{"CHARGEBACK-KEY", "charged back or disputed"},
		{"DISPUTED-KEY", "charged back or disputed"},
		{"ENDED-KEY", "subscription ended"},
		{"FAILED-KEY", "subscription ended"},
		{"NO-SUCH-KEY", "no such license for the product"},
		{"ADDON-KEY", "no such license for the product"}, // a key of another product
	} {
		res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: tc.code, ProductIDs: []string{"acme-cms"}})
		if err != nil || res.Outcome != sdk.VerifyRefused || res.Reason != tc.reason {
			t.Errorf("%s: %+v %v, want refused: %s", tc.code, res, err, tc.reason)
		}
	}

	if res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "SUB-KEY", ProductIDs: []string{"acme-cms"}}); err != nil ||
		res.Outcome != sdk.VerifyAccepted || res.Sale.LicenseType != "subscription" {
		t.Errorf("a running subscription: %+v %v", res, err)
	}
	if res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "GOOD-KEY"}); err != nil || res.Outcome != sdk.VerifyNotMapped {
		t.Errorf("no SKU mapped to the product: %+v %v", res, err)
	}
}

func TestVerifyLicenseAcrossProducts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := newGumroadAPI(t)
	c := configured(t, sdk.Config{"api_base": api.URL})

	res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "ADDON-KEY", ProductIDs: []string{"acme-cms", "acme-addon"}})
	if err != nil || res.Outcome != sdk.VerifyAccepted || res.Sale.ID != "S-8" || res.Sale.Uses != nil || res.Sale.ParallelUses != nil {
		t.Errorf("a key of the second mapped SKU: %+v %v (no configured uses: the product's defaults)", res, err)
	}
	res, err = c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "PID-KEY", ProductIDs: []string{"pid1=="}})
	if err != nil || res.Outcome != sdk.VerifyAccepted {
		t.Errorf("a product ID SKU: %+v %v", res, err)
	}
	forms, auth := api.calls()
	if last := forms[len(forms)-1]; last.Get("product_id") != "pid1==" || last.Has("product_permalink") {
		t.Errorf("a SKU ending in == is sent as product_id: %v", last)
	}
	if auth[0] != "" {
		t.Errorf("Authorization %q sent without an access token", auth[0])
	}

	before := len(forms)
	many := []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7"}
	if res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "NO-SUCH-KEY", ProductIDs: many}); err != nil || res.Outcome != sdk.VerifyRefused {
		t.Errorf("seven SKUs: %+v %v", res, err)
	}
	if forms, _ := api.calls(); len(forms)-before != maxProductTries {
		t.Errorf("asked Gumroad %d times for one code, want at most %d", len(forms)-before, maxProductTries)
	}
}

// Gumroad failing is an error (Licensor answers 503 "try again later"),
// never a refusal that would turn the buyer away.
func TestVerifyLicenseWhenGumroadFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := newGumroadAPI(t)
	c := configured(t, sdk.Config{"api_base": api.URL})
	for _, code := range []string{"BUSY", "BROKEN"} {
		res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: code, ProductIDs: []string{"acme-cms"}})
		if err == nil || errors.Is(err, sdk.ErrVerifyUnsupported) {
			t.Errorf("%s: %+v %v, want an error", code, res, err)
		}
	}

	unconfigured := sdktest.OrderSync(t, &gumroad{http: &http.Client{}})
	if _, err := unconfigured.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "GOOD-KEY", ProductIDs: []string{"acme-cms"}}); err == nil {
		t.Error("an unconfigured plugin verified a key")
	}
}
