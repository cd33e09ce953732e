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
