package browsertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web/browsertest"
)

var system = audit.Source{Actor: audit.System}

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

// scalar runs a query returning one value.
func scalar[T any](t *testing.T, e *browsertest.Env, query string, args ...any) T {
	t.Helper()
	var v T
	if err := e.DB.Bun.NewRaw(query, args...).Scan(context.Background(), &v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}
