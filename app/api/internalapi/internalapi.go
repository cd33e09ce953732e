// Package internalapi serves the internal API (docs/api/internal.md): what the
// vendor's own servers (shop, back office) call with an internal key to
// manage products, licenses, activations and customers; and the legacy
// LicenseBox internal API (docs/api/legacy.md) under /api/<name> and /api_internal/<name>.
// Every route is listed in routes.go; each resource has its
// <resource>_handlers.go.
//
// The package is named internalapi rather than living at app/api/internal:
// Go's internal-directory rule would let only app/api/... import it, and
// the server assembly (app/server) must.
//
// Handlers are thin: the request pipeline (app/api/pipeline) authenticates
// and checks scopes, apirequest reads the fields, one domain call does the
// work inside a transaction, and a presenter (resources.go) shapes the
// answer.
package internalapi

import (
	"context"
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
)

// Deps are what the internal API needs, built by the server assembly.
type Deps struct {
	DB bun.IDB
	// Pipeline is the internal group's request pipeline.
	Pipeline *pipeline.Pipeline
	// Licenses is the node's licensing service, shared with the external
	// API so both run the same hooks.
	Licenses *licensing.Service
	// Products and Customers are the node's services (with the customer
	// hooks: customer.created, the welcome email).
	Products  *catalog.Service
	Customers *customers.Service
	// Signing signs license files.
	Signing *signing.KeyRing
	// Versions changes versions and stores their files; MaxUploadBytes
	// bounds a whole upload body (its files and fields).
	Versions       *catalog.VersionService
	MaxUploadBytes int64
	// Files is where version files are kept (server downloads).
	Files storage.Store
	// BaseURL is the public address of Licensor (config base_url): the
	// pagination links are built on it.
	BaseURL string
}

type handlers struct {
	db        bun.IDB
	pipeline  *pipeline.Pipeline
	products  *catalog.Service
	licenses  *licensing.Service
	customers *customers.Service
	signing   *signing.KeyRing
	files     storage.Store
	baseURL   string
	versions  *catalog.VersionService
	maxUpload int64
}

// guard wraps h in the pipeline with scope, and answers the errors of this
// package: a missing path resource (404 with its message), and a domain
// not-found met after the path was resolved (a concurrent delete). Every
// other domain error goes on to the pipeline (422) and the app's error
// handler (its kind's status).
func (h *handlers) guard(scope string, fn pipeline.Handler) fiber.Handler {
	return h.pipeline.Guard(scope, func(c fiber.Ctx, r *pipeline.Request) error {
		err := fn(c, r)
		var nf *notFoundError
		switch {
		case errors.As(err, &nf):
			return pipeline.Error(c, fiber.StatusNotFound, nf.message)
		case errors.Is(err, errkind.NotFound):
			return pipeline.Error(c, fiber.StatusNotFound, notFoundMessage(err))
		}
		return err
	})
}

// notFoundMessage names what a domain not-found error did not find.
func notFoundMessage(err error) string {
	for _, m := range []struct {
		err     error
		message string
	}{
		{catalog.ErrVersionNotFound, msgVersionNotFound},
		{catalog.ErrNotFound, msgProductNotFound},
		{licensing.ErrActivationNotFound, msgActivationNotFound},
		{licensing.ErrNotFound, msgLicenseNotFound},
		{customers.ErrNotFound, msgCustomerNotFound},
	} {
		if errors.Is(err, m.err) {
			return m.message
		}
	}
	return "Not found."
}

// inTx runs fn in one transaction, so a change, its activity-log entry and
// what its hooks enqueue commit together.
func (h *handlers) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.IDB) error) error {
	return h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) })
}

// source is who the activity log names for the request: the key and the
// caller IP (docs/api/internal.md).
func source(r *pipeline.Request) audit.Source {
	return audit.Source{Actor: r.Caller.Key, IP: r.Caller.IP}
}

// param is a path parameter as sent, percent-decoded (client ids may hold
// characters a client escapes).
func param(c fiber.Ctx, name string) string {
	raw := c.Params(name)
	if s, err := url.PathUnescape(raw); err == nil {
		return s
	}
	return raw
}

// dataResponse is a single resource, wrapped as docs/api/resources.md says.
type dataResponse[T any] struct {
	Data T `json:"data"`
}

// actionResponse answers the action endpoints of docs/api/internal.md.
type actionResponse struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
}

func respondData[T any](c fiber.Ctx, status int, v T) error {
	return c.Status(status).JSON(dataResponse[T]{Data: v})
}

func respondAction(c fiber.Ctx, message string) error {
	return c.JSON(actionResponse{Status: true, Message: message})
}

// connectionCheck: GET /api/internal/connection-check.
func (h *handlers) connectionCheck(c fiber.Ctx, r *pipeline.Request) error {
	return c.JSON(connectionResponse{Status: true, IsActive: true, Message: "Connection established."})
}

type connectionResponse struct {
	Status   bool   `json:"status"`
	IsActive bool   `json:"is_active"`
	Message  string `json:"message"`
}
