package internalapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

// Changes made through the internal API queue their webhooks and emails in
// their own transaction and answer at once, however slow the receiver.
func TestAPIChangesQueueWithoutWaitingForTheReceiver(t *testing.T) {
	t.Parallel()
	// The receiver holds every delivery until the test ends, so a change
	// that waited for it would wait out the delivery's 10 s timeout
	// (app/webhooks). The bound below is well under that and far above
	// what a POST takes on a loaded 2-core machine (2.2 s was seen).
	release := make(chan struct{})
	slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer slow.Close()
	defer close(release)

	e := servertest.New(t)
	ctx := context.Background()
	// The receiver is on loopback, which deliveries refuse unless allowed.
	e.SetSettings(t, map[string]string{"enable_webhooks": "true", "webhook_url": slow.URL, "webhook_allowed_networks": "127.0.0.0/8"})
	if _, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, audit.Source{Actor: audit.System}, settings.Defaults(),
		catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	key, _, err := apikeys.Create(ctx, e.DB.Bun, apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeInternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := e.Client(t)
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", key)
		start := time.Now()
		r := c.Do(req)
		if r.StatusCode != 201 {
			t.Fatalf("POST %s: %d %s", path, r.StatusCode, r.Body)
		}
		if took := time.Since(start); took > 7*time.Second {
			t.Fatalf("POST %s took %s with a slow webhook receiver", path, took)
		}
	}
	post("/api/internal/customers", `{"name":"Ann Lee","email":"ann@example.com"}`)
	post("/api/internal/product-licenses", `{"product_reference_id":"ACME","license_code":"API-1","email":"ann@example.com"}`)

	var events []string
	if err := e.DB.Bun.NewRaw("SELECT event FROM webhook_deliveries WHERE status = 'pending' ORDER BY created_at").Scan(ctx, &events); err != nil {
		t.Fatal(err)
	}
	if strings.Join(events, ",") != "customer.created,license.created" {
		t.Fatalf("queued events %q", events)
	}
	var welcome int
	_ = e.DB.Bun.NewRaw("SELECT count(*) FROM mail_messages WHERE to_address = 'ann@example.com' AND subject = 'Welcome to Licensor' AND text_body LIKE '%/customer/password/reset/%'").Scan(ctx, &welcome)
	if welcome != 1 {
		t.Fatal("no welcome email with a set-password link for the API's customer")
	}
}
