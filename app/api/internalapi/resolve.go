package internalapi

import (
	"context"
	"errors"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
)

// The path resolvers of docs/api/internal.md (step 10 of
// docs/api/authentication.md#request-pipeline: they run before the body is
// read). The lookups themselves are the domain packages' Find functions, so the
// console and the API resolve references alike; here they only gain the 404
// message of their resource.

// Messages of a path resource that does not exist (docs/api/conventions.md#error-envelope).
const (
	msgProductNotFound    = "Product not found."
	msgVersionNotFound    = "Product version not found."
	msgLicenseNotFound    = "Product license not found."
	msgActivationNotFound = "Product activation not found."
	msgCustomerNotFound   = "Customer not found."
)

// notFoundError is a path resource that does not exist; respond answers it
// 404 with its message.
type notFoundError struct{ message string }

func (e *notFoundError) Error() string { return e.message }

// notFoundAs turns the domain's not-found error into a 404 with message.
func notFoundAs(err, domainErr error, message string) error {
	if errors.Is(err, domainErr) {
		return &notFoundError{message: message}
	}
	return err
}

// resolveProduct finds {product}: a reference id (any case), else a
// numeric id.
func resolveProduct(ctx context.Context, idb bun.IDB, ref string) (*catalog.Product, error) {
	p, err := catalog.Find(ctx, idb, ref)
	return p, notFoundAs(err, catalog.ErrNotFound, msgProductNotFound)
}

// resolveVersion finds {version} of product p: a version id, else a
// version string of that product.
func resolveVersion(ctx context.Context, idb bun.IDB, p *catalog.Product, ref string) (*catalog.Version, error) {
	v, err := catalog.GetVersion(ctx, idb, p.ID, ref)
	return v, notFoundAs(err, catalog.ErrVersionNotFound, msgVersionNotFound)
}

// resolveLicense finds {license}: a license code (any case), else a
// numeric id.
func resolveLicense(ctx context.Context, idb bun.IDB, ref string) (*licensing.License, error) {
	l, err := licensing.Find(ctx, idb, ref)
	return l, notFoundAs(err, licensing.ErrNotFound, msgLicenseNotFound)
}

// resolveActivation finds {activation}, an id.
func resolveActivation(ctx context.Context, idb bun.IDB, ref string) (*licensing.Activation, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 {
		return nil, &notFoundError{message: msgActivationNotFound}
	}
	a, err := licensing.GetActivation(ctx, idb, id)
	return a, notFoundAs(err, licensing.ErrActivationNotFound, msgActivationNotFound)
}

// resolveCustomer finds {customer}: a client id (any case), else a numeric
// id.
func resolveCustomer(ctx context.Context, idb bun.IDB, ref string) (*customers.Customer, error) {
	c, err := customers.Find(ctx, idb, ref)
	return c, notFoundAs(err, customers.ErrNotFound, msgCustomerNotFound)
}
