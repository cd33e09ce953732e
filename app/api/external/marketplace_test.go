package external_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/plugins/sdk"
)

// fakeGumroad is Gumroad's license API on loopback: a few keys of the
// product with permalink acme-cms, counting the calls.
type fakeGumroad struct {
	*httptest.Server
	calls atomic.Int32
}

func newFakeGumroad(t *testing.T) *fakeGumroad {
	f := &fakeGumroad{}
	purchase := func(key string, refunded bool) map[string]any {
		return map[string]any{
			"sale_id": "S-" + key, "email": "bea@example.com", "full_name": "Bea Buyer",
			"created_at": time.Now().UTC().Add(-24 * time.Hour).Format(time.RFC3339), "product_id": "32-nPAicqbLj8B_WswVlMw==", "permalink": "acme-cms",
			"product_name": "Acme CMS", "refunded": refunded, "chargebacked": false, "license_key": key,
			"subscription_ended_at": nil, "subscription_cancelled_at": nil,
		}
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		key := r.PostFormValue("license_key")
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v2/licenses/verify" || r.PostFormValue("increment_uses_count") != "false" ||
			r.PostFormValue("product_permalink") != "acme-cms" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"success":false,"message":"That license does not exist for the provided product."}`))
			return
		}
		switch key {
		case "GUM-GOOD-1", "GUM-GOOD-2", "GUM-GOOD-3":
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "uses": 3, "purchase": purchase(key, false)})
		case "GUM-REFUNDED":
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "uses": 1, "purchase": purchase(key, true)})
		case "GUM-HANG":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"success":false,"message":"That license does not exist for the provided product."}`))
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// TestMarketplaceActivation drives docs/api/external.md#activate step 4 and
// the plugin step of docs/api/external.md#license-check through the real API, the
// real orders-gumroad plugin and a fake Gumroad.
func TestMarketplaceActivation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	hosttest.Install(t, dir, "orders-gumroad")
	hosttest.Install(t, dir, "orders-woocommerce")
	gum := newFakeGumroad(t)

	a := &apiEnv{Env: servertest.New(t, func(c *config.Config) { c.Plugins.Dir = dir }), t: t,
		lics: licensing.NewService(licensing.Options{})}
	a.key = a.newKey(apikeys.CreateParams{Name: "client", Type: apikeys.TypeExternal})
	a.product = a.newProduct("ACME", "Acme CMS")
	other := a.newProduct("OTHER", "Other App")
	// A node whose marketplace checks give up after a second.
	app := a.NewAppWith(t, func(d *server.Deps) { d.Marketplace = d.Marketplace.WithTimeout(time.Second) })
	plugins := a.Nodes[1].Plugins
	for name, cfg := range map[string]map[string]string{
		"orders-gumroad":     {"ping_secret": "gumroad-ping-secret", "api_base": gum.URL, "default_parallel_uses": "2"},
		"orders-woocommerce": {"webhook_secret": "wc-webhook-secret"},
	} {
		if err := plugins.SetEnabled(ctx, name, true, admin); err != nil {
			t.Fatal(err)
		}
		if err := plugins.Save(ctx, name, cfg, admin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := orders.SetMapping(ctx, a.DB.Bun, "orders-gumroad", "acme-cms", "ACME"); err != nil {
		t.Fatal(err)
	}

	call := func(path string, body map[string]any) resp {
		t.Helper()
		return a.do(app, req{path: path, headers: []string{"X-API-KEY", a.key, "X-API-URL", "https://site.example"}, json: body})
	}
	activate := func(product, code, verifyType string) resp {
		t.Helper()
		return call(modern.activate, map[string]any{"product_id": product, "license_code": code, "client_name": "Bea", "verify_type": verifyType})
	}
	failure := func(msg string) string {
		return `{"status":false,"is_active":false,"message":"` + msg + `","status_code":"LICENSE_INVALID","lic_response":null,"data":null}`
	}
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := a.DB.Bun.NewRaw(query, args...).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("accepted key becomes a license and activates", func(t *testing.T) {
		r := activate("ACME", "GUM-GOOD-1", "gumroad")
		if r.StatusCode != 200 || r.JSON["status"] != true || r.str("lic_response") == "" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		l, err := licensing.ByCode(ctx, a.DB.Bun, "GUM-GOOD-1")
		if err != nil {
			t.Fatal(err)
		}
		if l.ProductID != a.product.ID || l.Email == nil || *l.Email != "bea@example.com" || l.Invoice == nil || *l.Invoice != "S-GUM-GOOD-1" ||
			l.ParallelUses == nil || *l.ParallelUses != 2 || l.CustomerID != nil || l.TotalActivations != 1 {
			t.Fatalf("license %+v", l)
		}
		if n := count("SELECT count(*) FROM customers WHERE email = 'bea@example.com' AND name = 'Bea Buyer'"); n != 1 {
			t.Fatalf("%d customers", n)
		}
		if n := gum.calls.Load(); n != 1 {
			t.Fatalf("%d calls to Gumroad", n)
		}
	})
	t.Run("second activation reuses the local license", func(t *testing.T) {
		r := activate("ACME", "gum-good-1", "gumroad")
		if r.StatusCode != 200 || r.JSON["status"] != true {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if n := gum.calls.Load(); n != 1 {
			t.Fatalf("%d calls to Gumroad", n)
		}
		if n := count("SELECT count(*) FROM activations WHERE license_code = 'GUM-GOOD-1' AND is_active"); n != 2 {
			t.Fatalf("%d activations", n)
		}
	})
	t.Run("refunded and unknown keys are invalid", func(t *testing.T) {
		for _, code := range []string{"GUM-REFUNDED", "GUM-NOPE"} {
			expect(t, activate("ACME", code, "gumroad"), 400, failure("Your license code is invalid."))
			if n := count("SELECT count(*) FROM licenses WHERE license_code = ?", code); n != 0 {
				t.Fatalf("%s: %d licenses", code, n)
			}
		}
	})
	t.Run("unmapped product", func(t *testing.T) {
		before := gum.calls.Load()
		expect(t, activate(other.ReferenceID, "GUM-GOOD-2", "gumroad"), 400, failure("This product is not configured for Gumroad verification."))
		if gum.calls.Load() != before {
			t.Fatal("Gumroad asked about an unmapped product")
		}
	})
	t.Run("marketplace hanging past the timeout", func(t *testing.T) {
		start := time.Now()
		expect(t, activate("ACME", "GUM-HANG", "gumroad"), 503,
			failure("The license could not be checked with the marketplace. Please try again later."))
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("answered after %s", d)
		}
	})
	t.Run("verify_type without a plugin falls through", func(t *testing.T) {
		before := gum.calls.Load()
		r := activate("ACME", "GUM-GOOD-2", "envato")
		if r.StatusCode != 200 || r.JSON["status"] != false || r.str("status_code") != "LICENSE_INVALID" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if gum.calls.Load() != before {
			t.Fatal("Gumroad asked for another verify_type")
		}
	})
	t.Run("bogus verify_type", func(t *testing.T) {
		r := activate("ACME", "GUM-GOOD-2", "bogus")
		if r.StatusCode != 422 || r.str("message") != "The selected verify type is invalid." {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("concurrent first activations make one license", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]resp, 2)
		for i := range results {
			wg.Go(func() { results[i] = activate("ACME", "GUM-GOOD-2", "gumroad") })
		}
		wg.Wait()
		for _, r := range results {
			if r.StatusCode != 200 || r.JSON["status"] != true {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
		}
		if n := count("SELECT count(*) FROM licenses WHERE license_code = 'GUM-GOOD-2'"); n != 1 {
			t.Fatalf("%d licenses", n)
		}
		if n := count("SELECT total_activations FROM licenses WHERE license_code = 'GUM-GOOD-2'"); n != 2 {
			t.Fatalf("%d activations", n)
		}
	})
	t.Run("license check asks the plugin", func(t *testing.T) {
		r := call(modern.chk, map[string]any{"license_code": "GUM-GOOD-3", "product_id": "ACME", "verify_type": "gumroad"})
		data, _ := r.JSON["data"].(map[string]any)
		if r.StatusCode != 200 || r.JSON["status"] != true || data["sale_id"] != "S-GUM-GOOD-3" || data["uses"] != "3" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if _, ok := data["email"]; ok {
			t.Fatalf("personal data in %s", r.Body)
		}
		if n := count("SELECT count(*) FROM licenses WHERE license_code = 'GUM-GOOD-3'"); n != 0 {
			t.Fatal("the check created a license")
		}
		expect(t, call(modern.chk, map[string]any{"license_code": "GUM-NOPE", "product_id": "ACME", "verify_type": "gumroad"}), 400,
			`{"status":false,"is_active":false,"message":"License is invalid.","status_code":"LICENSE_INVALID"}`)
		r = call(modern.chk, map[string]any{"license_code": "GUM-GOOD-1", "verify_type": "gumroad"})
		if data, _ := r.JSON["data"].(map[string]any); r.StatusCode != 200 || data["license_code"] != "GUM-GOOD-1" {
			t.Fatalf("local license: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("a plugin serving no verify_type", func(t *testing.T) {
		_, err := plugins.Host().OrderSync("orders-woocommerce").VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "X"})
		if !errors.Is(err, host.ErrVerifyUnsupported) {
			t.Fatalf("err %v", err)
		}
	})
}
