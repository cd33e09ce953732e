package internalapi

import (
	"context"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/customers"
)

const msgCustomerDeleted = "Customer deleted successfully."

// listCustomers: GET /api/internal/customers, filters search (name, email,
// client id) and confirmed.
func (h *handlers) listCustomers(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	var filter customers.Filter
	filter.Search, _ = f.String("search")
	filter.Confirmed = optFilterBool(f, "confirmed")
	sort, _ := f.String("sort")
	if err := f.Err(); err != nil {
		return err
	}
	page := h.pageRequest(c)
	list, total, err := customers.List(c.Context(), h.db, filter, sort, page.Page)
	if err != nil {
		return err
	}
	out := make([]customerResource, len(list))
	for i := range list {
		out[i] = presentCustomer(&list[i], h.baseURL)
	}
	return c.JSON(newPage(out, total, page))
}

// createCustomer: POST /api/internal/customers. Customers made by the
// vendor's systems are confirmed unless confirmed is false.
func (h *handlers) createCustomer(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	p := customers.CreateParams{}
	p.Name, _ = f.String("name")
	p.Email, _ = f.String("email")
	p.ClientID, _ = f.String("client_id")
	p.Password, _ = f.String("password", apirequest.KeepSpace())
	if b := optBool(f, "confirmed"); b.Set {
		p.Confirmed = &b.Value
	}
	if err := f.Err(); err != nil {
		return err
	}
	var cust *customers.Customer
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		cust, err = h.customers.Create(ctx, tx, source(r), r.Settings, p)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusCreated, presentCustomer(cust, h.baseURL))
}

// getCustomer: GET /api/internal/customers/{customer}.
func (h *handlers) getCustomer(c fiber.Ctx, r *pipeline.Request) error {
	cust, err := resolveCustomer(c.Context(), h.db, param(c, "customer"))
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentCustomer(cust, h.baseURL))
}

// updateCustomer: PUT or PATCH /api/internal/customers/{customer}; both
// are partial. Changing the client id or the confirmation relinks licenses
// by the linking rule.
func (h *handlers) updateCustomer(c fiber.Ctx, r *pipeline.Request) error {
	cust, err := resolveCustomer(c.Context(), h.db, param(c, "customer"))
	if err != nil {
		return err
	}
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	p := customers.UpdateParams{
		Name:      optString(f, "name"),
		Email:     optString(f, "email"),
		ClientID:  optString(f, "client_id"),
		Password:  optString(f, "password", apirequest.KeepSpace()),
		Confirmed: optBool(f, "confirmed"),
	}
	if err := f.Err(); err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		cust, err = h.customers.Update(ctx, tx, source(r), r.Settings, cust.ID, p)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentCustomer(cust, h.baseURL))
}

// deleteCustomer: DELETE /api/internal/customers/{customer}; the account,
// its sessions and login history go, its licenses stay.
func (h *handlers) deleteCustomer(c fiber.Ctx, r *pipeline.Request) error {
	cust, err := resolveCustomer(c.Context(), h.db, param(c, "customer"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		return h.customers.Delete(ctx, tx, source(r), cust.ID)
	})
	if err != nil {
		return err
	}
	return respondAction(c, msgCustomerDeleted)
}
