package orders_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/settings"
)

var system = audit.Source{Actor: audit.System}

func TestProcessDirect(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	if _, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, system, settings.Defaults(),
		catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.SetMapping(ctx, d.Bun, "woo", "SKU", "ACME"); err != nil {
		t.Fatal(err)
	}
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := orders.NewProcessor(d.Bun, customers.NewService(nil, customers.Hooks{}), licensing.NewService(licensing.Options{}), nil, store, nil)
	ev := orders.Event{OrderID: "7", Status: orders.StatusPaid, CustomerName: "Al", CustomerEmail: "al@example.com",
		Items: []orders.Item{{SKU: "SKU", Quantity: 3}}, PurchasedAt: time.Now()}
	row, err := p.Process(ctx, "woo", ev)
	if err != nil {
		t.Fatal(err)
	}
	if row.Outcome != orders.OutcomeDone || len(row.LicenseIDs) != 3 {
		t.Fatalf("%+v", row)
	}
}

// The mapping's rules: an empty SKU, an unknown product and a SKU mapped
// already are field errors; a deleted mapping can be made again.
func TestMappingRules(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	if _, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, system, settings.Defaults(),
		catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.SetMapping(ctx, d.Bun, "woo", " SKU-1 ", "acme"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sku, product, field, msg string }{
		{"  ", "ACME", "sku", "The sku field is required."},
		{"SKU-2", "NOPE", "product", "The selected product is invalid."},
		{"SKU-2", "", "product", "The product field is required."},
		{"SKU-1", "ACME", "sku", "The sku has already been taken."},
	} {
		_, err := orders.SetMapping(ctx, d.Bun, "woo", tc.sku, tc.product)
		verr, ok := fields.As(err)
		if !ok || verr.Map()[tc.field] != tc.msg {
			t.Errorf("%q → %q: %v", tc.sku, tc.product, err)
		}
	}
	list, err := orders.Mappings(ctx, d.Bun, "woo")
	if err != nil || len(list) != 1 || list[0].SKU != "SKU-1" || list[0].ProductRef != "ACME" || list[0].ProductName != "Acme CMS" {
		t.Fatalf("mappings: %+v %v", list, err)
	}
	if err := orders.DeleteMapping(ctx, d.Bun, "woo", "SKU-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.SetMapping(ctx, d.Bun, "woo", "SKU-1", "ACME"); err != nil {
		t.Fatalf("mapping again after delete: %v", err)
	}
}
