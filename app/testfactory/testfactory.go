// Package testfactory inserts products, customers, licenses and
// activations for tests, in the manner of River's testfactory: each
// function takes the test, a database handle and an options struct whose
// nil fields get a default unique within the test binary (a reference,
// an email, a code), inserts one row directly, without the domain
// services' rules, hooks, audit entries or emails, and returns it read
// back. What a test does not name it does not depend on.
//
//	lic := testfactory.License(t, e.DB.Bun, &testfactory.LicenseOpts{Email: testfactory.Ptr("ann@example.com")})
//	testfactory.Activation(t, e.DB.Bun, &testfactory.ActivationOpts{License: lic})
//
// Use the services (catalog, customers, licensing) instead when the test
// is about what they do on creation.
package testfactory

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
)

// Ptr returns a pointer to v, for the options' fields.
func Ptr[T any](v T) *T { return &v }

// seq numbers the defaults, so rows made without options never collide,
// in one test's database or across the parallel tests of a binary.
var seq atomic.Int64

func next() int64 { return seq.Add(1) }

// ProductOpts are a product's columns; nil ones get defaults.
type ProductOpts struct {
	Name        *string // default "Product N"
	ReferenceID *string // default "PN"
	IsActive    *bool   // default true
	// LicenseUpdate and ServeLatestUpdates default to false.
	LicenseUpdate      *bool
	ServeLatestUpdates *bool
	GraceDays          *int
}

// Product inserts a product.
func Product(tb testing.TB, idb bun.IDB, opts *ProductOpts) *catalog.Product {
	tb.Helper()
	if opts == nil {
		opts = &ProductOpts{}
	}
	n := next()
	p := &catalog.Product{
		Name:               or(opts.Name, fmt.Sprintf("Product %d", n)),
		ReferenceID:        or(opts.ReferenceID, fmt.Sprintf("P%d", n)),
		IsActive:           or(opts.IsActive, true),
		LicenseUpdate:      or(opts.LicenseUpdate, false),
		ServeLatestUpdates: or(opts.ServeLatestUpdates, false),
		GraceDays:          opts.GraceDays,
		// bun writes a nil slice as NULL; the columns want an empty array.
		Entitlements:        []string{},
		DefaultEntitlements: []string{},
	}
	insert(tb, idb, p)
	out, err := catalog.Get(context.Background(), idb, p.ID)
	if err != nil {
		tb.Fatalf("testfactory: read product back: %v", err)
	}
	return out
}

// CustomerOpts are a customer's columns; nil ones get defaults.
type CustomerOpts struct {
	Name     *string // default "Customer N"
	Email    *string // default "customer-N@example.com"
	ClientID *string // default "CUST-N"
	// PasswordHash is stored as given (hash with app/passwords); default
	// none, so the customer cannot sign in with a password.
	PasswordHash *string
	// ConfirmedAt is when the email was confirmed; default now. Unconfirmed
	// leaves it empty.
	ConfirmedAt *time.Time
	Unconfirmed bool
	// Unproven leaves the email unproven (a self-registration's, never
	// confirmed by its link) though the account may be confirmed; by
	// default the email is proven when the account is confirmed, as an
	// admin's or the API's customer is, so it links licenses by email.
	Unproven bool
}

// Customer inserts a customer.
func Customer(tb testing.TB, idb bun.IDB, opts *CustomerOpts) *customers.Customer {
	tb.Helper()
	if opts == nil {
		opts = &CustomerOpts{}
	}
	n := next()
	c := &customers.Customer{
		Name:         or(opts.Name, fmt.Sprintf("Customer %d", n)),
		Email:        or(opts.Email, fmt.Sprintf("customer-%d@example.com", n)),
		ClientID:     or(opts.ClientID, fmt.Sprintf("CUST-%d", n)),
		PasswordHash: opts.PasswordHash,
		ConfirmedAt:  opts.ConfirmedAt,
	}
	if c.ConfirmedAt == nil && !opts.Unconfirmed {
		c.ConfirmedAt = Ptr(time.Now().UTC())
	}
	if !opts.Unproven {
		c.EmailProvenAt = c.ConfirmedAt
	}
	insert(tb, idb, c)
	out, err := customers.Get(context.Background(), idb, c.ID)
	if err != nil {
		tb.Fatalf("testfactory: read customer back: %v", err)
	}
	return out
}

// LicenseOpts are a license's columns; nil ones get defaults.
type LicenseOpts struct {
	// Product is the license's product; default a new one.
	Product     *catalog.Product
	LicenseCode *string // default "TF-N-LICENSE"
	// Customer links the license by its client ID (and email, unless
	// Email is set); default none.
	Customer     *customers.Customer
	Email        *string
	Type         *string
	Uses         *int
	ParallelUses *int
	ExpiresAt    *time.Time
	UpdatesUntil *time.Time
	SupportUntil *time.Time
	Domains      []string
	IPs          []string
	IsValid      *bool // default true
}

// License inserts a license.
func License(tb testing.TB, idb bun.IDB, opts *LicenseOpts) *licensing.License {
	tb.Helper()
	if opts == nil {
		opts = &LicenseOpts{}
	}
	product := opts.Product
	if product == nil {
		product = Product(tb, idb, nil)
	}
	n := next()
	l := &licensing.License{
		ProductID:    product.ID,
		LicenseCode:  or(opts.LicenseCode, fmt.Sprintf("TF-%d-LICENSE", n)),
		Type:         opts.Type,
		Email:        opts.Email,
		Uses:         opts.Uses,
		ParallelUses: opts.ParallelUses,
		ExpiresAt:    opts.ExpiresAt,
		UpdatesUntil: opts.UpdatesUntil,
		SupportUntil: opts.SupportUntil,
		Domains:      orSlice(opts.Domains),
		IPs:          orSlice(opts.IPs),
		IsValid:      or(opts.IsValid, true),
		Entitlements: []string{},
	}
	if c := opts.Customer; c != nil {
		l.CustomerID = Ptr(c.ClientID)
		if l.Email == nil {
			l.Email = Ptr(c.Email)
		}
	}
	insert(tb, idb, l)
	out, err := licensing.Get(context.Background(), idb, l.ID)
	if err != nil {
		tb.Fatalf("testfactory: read license back: %v", err)
	}
	return out
}

// ActivationOpts are an activation's columns; nil ones get defaults.
type ActivationOpts struct {
	// License is the activated license; default a new one.
	License    *licensing.License
	ClientName *string // default "Client N"
	Domain     *string // default "site-N.example.com"
	IP         *string // default none
	// IsValid false records a failed attempt with FailureReason; default
	// true. IsActive defaults to IsValid.
	IsValid       *bool
	IsActive      *bool
	FailureReason *string
}

// Activation inserts an activation. A successful one counts in its
// license's total_activations, as an activation through the API does.
func Activation(tb testing.TB, idb bun.IDB, opts *ActivationOpts) *licensing.Activation {
	tb.Helper()
	if opts == nil {
		opts = &ActivationOpts{}
	}
	lic := opts.License
	if lic == nil {
		lic = License(tb, idb, nil)
	}
	n := next()
	valid := or(opts.IsValid, true)
	a := &licensing.Activation{
		LicenseID:     &lic.ID,
		ProductID:     lic.ProductID,
		LicenseCode:   lic.LicenseCode,
		ClientName:    Ptr(or(opts.ClientName, fmt.Sprintf("Client %d", n))),
		Domain:        Ptr(or(opts.Domain, fmt.Sprintf("site-%d.example.com", n))),
		IP:            opts.IP,
		IsValid:       valid,
		IsActive:      or(opts.IsActive, valid),
		FailureReason: opts.FailureReason,
	}
	ctx := context.Background()
	insert(tb, idb, a)
	if valid {
		if _, err := idb.NewUpdate().TableExpr("licenses").Set("total_activations = total_activations + 1").
			Where("id = ?", lic.ID).Exec(ctx); err != nil {
			tb.Fatalf("testfactory: count the activation: %v", err)
		}
	}
	out, err := licensing.GetActivation(ctx, idb, a.ID)
	if err != nil {
		tb.Fatalf("testfactory: read activation back: %v", err)
	}
	return out
}

func insert(tb testing.TB, idb bun.IDB, model any) {
	tb.Helper()
	if _, err := idb.NewInsert().Model(model).Returning("id").Exec(context.Background()); err != nil {
		tb.Fatalf("testfactory: insert %T: %v", model, err)
	}
}

func or[T any](p *T, def T) T {
	if p != nil {
		return *p
	}
	return def
}

func orSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
