package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/browsertest"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

var system = audit.Source{Actor: audit.System}

// TestMain runs four tests at a time unless -parallel says otherwise
// (each its own node, database and tab: they wait on PostgreSQL and on the
// browser more than they use the CPU; at eight the browser's windows
// starved each other on a loaded machine, every first page timing out
// once), and stops the package's one Chromium after the tests.
func TestMain(m *testing.M) {
	servertest.SetParallel(4)
	code := m.Run()
	browsertest.Shutdown()
	os.Exit(code)
}

func values(t *testing.T, e *browsertest.Env) *settings.Values {
	t.Helper()
	set, err := e.Nodes[0].Settings.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// newProduct creates an active product.
func newProduct(t *testing.T, e *browsertest.Env, name, ref string) *catalog.Product {
	t.Helper()
	p, err := catalog.NewService(time.Now).CreateProduct(context.Background(), e.DB.Bun, system, values(t, e), catalog.ProductInput{
		Name: fields.Some(name), ReferenceID: fields.Some(ref),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newCustomer creates a confirmed customer with a password.
func newCustomer(t *testing.T, e *browsertest.Env, name, email, password string) *customers.Customer {
	t.Helper()
	yes := true
	c, err := customers.NewService(nil, customers.Hooks{}).Create(context.Background(), e.DB.Bun, system, values(t, e),
		customers.CreateParams{Name: name, Email: email, Password: password, Confirmed: &yes})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newLicense creates a license of product for email, good for a year with
// two parallel uses.
func newLicense(t *testing.T, e *browsertest.Env, p *catalog.Product, code, email string) *licensing.License {
	t.Helper()
	two, exp := 2, time.Now().AddDate(1, 0, 0)
	l, err := licensing.NewService(licensing.Options{}).CreateLicense(context.Background(), e.DB.Bun, system, values(t, e), licensing.LicenseInput{
		ProductReferenceID: fields.Some(p.ReferenceID), LicenseCode: fields.Some(code),
		Email: fields.Some(&email), ParallelUses: fields.Some(&two), ExpiresAt: fields.Some(&exp),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// activate activates license code of product from domain, as the
// external API does.
func activate(t *testing.T, e *browsertest.Env, p *catalog.Product, code, domain string) *licensing.Activation {
	t.Helper()
	res, err := licensing.NewService(licensing.Options{}).Activate(context.Background(), e.DB.Bun, values(t, e), licensing.ActivateRequest{
		ProductRef: p.ReferenceID, LicenseCode: code, ClientName: domain,
		Caller: licensing.Caller{IP: "203.0.113.7", Host: domain, URL: "https://" + domain, UserAgent: "browsertest"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("activate %s from %s: %+v", code, domain, res.Failure)
	}
	return res.Activation
}

// apiActivate activates license code of product through the node's
// external API, with a new external API key, as client software does.
func apiActivate(t *testing.T, e *browsertest.Env, p *catalog.Product, code, domain string) {
	t.Helper()
	key, _, err := apikeys.Create(context.Background(), e.DB.Bun, apikeys.CreateParams{Name: "shop", Type: apikeys.TypeExternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"product_id": p.ReferenceID, "license_code": code, "client_name": domain})
	req, err := http.NewRequest(http.MethodPost, e.URL+"/api/external/license/activate", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("X-API-URL", "https://"+domain)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"status":true`)) {
		t.Fatalf("activate %s over the API: %d %s", code, resp.StatusCode, answer)
	}
}

// scalar runs a query returning one value.
func scalar[T any](t *testing.T, e *browsertest.Env, query string, args ...any) T {
	t.Helper()
	var v T
	if err := e.DB.Bun.NewRaw(query, args...).Scan(context.Background(), &v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}
