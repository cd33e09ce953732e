package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

const activationsPerPage = 25

// activationSortable are the columns the activation list sorts by.
var activationSortable = []sortColumn{
	{"license_code", "License code"}, {"domain", "Domain"},
	{"activated_at", "Activated"}, {"last_verified_at", "Last verified"},
}

// activationsFilter is the list's query besides the page.
type activationsFilter struct {
	Search, Product, Customer, Active, Outcome, Sort string
	createdRange
}

// activationRow is one line of the list: the activation and its
// product's name.
type activationRow struct {
	licensing.Activation
	ProductName string
}

// activationsIndex lists activations and recorded failed attempts:
// search (code, domain, IP), product, active and valid/failed filters,
// sort and page come from the URL.
func (h *handlers) activationsIndex(c fiber.Ctx) error {
	q := activationsFilter{
		Search: strings.TrimSpace(c.Query("q")), Product: c.Query("product"),
		Customer: strings.TrimSpace(c.Query("customer")),
		Active:   c.Query("active"), Outcome: c.Query("outcome"), Sort: c.Query("sort"),
	}
	var err error
	if q.createdRange, err = h.createdRangeOf(c); err != nil {
		return err
	}
	f := licensing.ActivationFilter{Search: q.Search, ProductReferenceID: q.Product, IsActive: yesNo(q.Active),
		CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}
	if q.Customer != "" {
		// A customer account by email or client ID (its licenses by the
		// linking rule); else licenses whose customer_id is what was typed.
		cu, err := customers.ByLogin(c.Context(), h.db, q.Customer)
		if errors.Is(err, customers.ErrNotFound) {
			cu, err = &customers.Customer{ClientID: q.Customer}, nil
		}
		if err != nil {
			return err
		}
		f.Customer = cu
	}
	if f.IsActive == nil {
		q.Active = ""
	}
	switch q.Outcome {
	case "valid":
		f.IsValid = yesNo("yes")
	case "failed":
		f.IsValid = yesNo("no")
	default:
		q.Outcome = ""
	}
	if !isSort(q.Sort, activationSortable) {
		q.Sort = ""
	}
	page := web.PageOf(c, activationsPerPage)
	list, total, err := licensing.ListActivations(c.Context(), h.db, f, q.Sort, page)
	if err != nil {
		return err
	}
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(products))
	for _, p := range products {
		names[p.ID] = p.Name
	}
	rows := make([]activationRow, len(list))
	for i, a := range list {
		rows[i] = activationRow{Activation: a, ProductName: names[a.ProductID]}
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/activations/index", Layout: "layouts/admin", Fragment: "admin/activations/index/results",
		Data: fiber.Map{
			"Title": "Activations", "Section": "activations", "Activations": rows, "Filter": q, "Products": products,
			"Filtered":   q.Search != "" || q.Product != "" || q.Customer != "" || q.Active != "" || q.Outcome != "" || q.set(),
			"Sorts":      sortHeaders(c, q.Sort, activationSortable),
			"Back":       c.OriginalURL(),
			"Pagination": web.Paginate(c, page, total),
		},
	})
}

// activationShow is one activation's page with its actions.
func (h *handlers) activationShow(c fiber.Ctx) error {
	a, err := h.activationOf(c)
	if err != nil {
		return err
	}
	return h.renderActivation(c, fiber.StatusOK, a, "")
}

func (h *handlers) renderActivation(c fiber.Ctx, status int, a *licensing.Activation, problem string) error {
	var productName string
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	for _, p := range products {
		if p.ID == a.ProductID {
			productName = p.Name
		}
	}
	return web.Render(c, status, web.View{
		Page: "admin/activations/show", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": fmt.Sprintf("Activation %d", a.ID), "Section": "activations",
			"Activation": a, "ProductName": productName, "Problem": problem,
		},
	})
}

// activationMarkActive is the explicit admin override: the activation
// holds a slot again without any limit being checked. Failed attempts are
// refused with the service's message.
func (h *handlers) activationMarkActive(c fiber.Ctx) error {
	a, err := h.activationOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licensing.MarkActivationActive(ctx, tx, source(c), a.ID)
		return err
	})
	if verr, ok := fields.As(err); ok {
		msg := ""
		for _, m := range verr.Map() {
			msg = m
		}
		return h.renderActivation(c, fiber.StatusUnprocessableEntity, a, msg)
	}
	if errors.Is(err, licensing.ErrActivationNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Activation %d marked active; the license's limits were not checked.", a.ID))
	return web.Redirect(c, fiber.StatusSeeOther, activationPath(a.ID))
}

// activationMarkInactive frees the activation's slot.
func (h *handlers) activationMarkInactive(c fiber.Ctx) error {
	a, err := h.activationOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licensing.MarkActivationInactive(ctx, tx, source(c), a.ID, licensing.ReasonAdmin)
		return err
	})
	if errors.Is(err, licensing.ErrActivationNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Activation %d marked inactive; its slot is free.", a.ID))
	return web.Redirect(c, fiber.StatusSeeOther, activationPath(a.ID))
}

// activationDelete removes the activation record (an active one frees its
// slot).
func (h *handlers) activationDelete(c fiber.Ctx) error {
	a, err := h.activationOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return h.licensing.DeleteActivation(ctx, tx, source(c), a.ID)
	})
	if errors.Is(err, licensing.ErrActivationNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Activation %d of license %s deleted.", a.ID, a.LicenseCode))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/activations")
}

// activationsBulkDeactivate frees the slots of the selected activations.
func (h *handlers) activationsBulkDeactivate(c fiber.Ctx) error {
	return h.activationsBulk(c, "Deactivated", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		_, changed, err := h.licensing.MarkActivationInactive(ctx, tx, source(c), id, licensing.ReasonAdmin)
		return changed, err
	})
}

// activationsBulkDelete deletes the selected activation records.
func (h *handlers) activationsBulkDelete(c fiber.Ctx) error {
	return h.activationsBulk(c, "Deleted", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		return true, h.licensing.DeleteActivation(ctx, tx, source(c), id)
	})
}

// activationsBulk applies do to each selected activation in one
// transaction, skipping ids already gone, and goes back to the list as it
// was.
func (h *handlers) activationsBulk(c fiber.Ctx, verb string, do bulkStep) error {
	return h.bulkApply(c, bulkTarget{list: "/admin/activations", one: "activation", many: "activations", gone: licensing.ErrActivationNotFound}, verb+" %s.", do)
}

// activationOf loads the activation named by the :id parameter, or 404.
func (h *handlers) activationOf(c fiber.Ctx) (*licensing.Activation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	a, err := licensing.GetActivation(c.Context(), h.db, id)
	if errors.Is(err, licensing.ErrActivationNotFound) {
		return nil, fiber.ErrNotFound
	}
	return a, err
}

func activationPath(id int64) string { return fmt.Sprintf("/admin/activations/%d", id) }
