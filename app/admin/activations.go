package admin

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// activationColumns are the activation list's columns.
var activationColumns = []web.Column{
	{Key: "license", Label: "License", SortKey: "license_code"},
	{Key: "product", Label: "Product", Optional: true},
	{Key: "client", Label: "Client", Optional: true, Hidden: true},
	{Key: "domain", Label: "Domain", SortKey: "domain", Optional: true},
	{Key: "ip", Label: "IP", Optional: true, Hidden: true},
	{Key: "activated", Label: "Activated", SortKey: "activated_at", Optional: true},
	{Key: "verified", Label: "Last verified", SortKey: "last_verified_at", Optional: true, Hidden: true},
	{Key: "heartbeat", Label: "Last heartbeat", SortKey: "last_heartbeat_at", Optional: true, Hidden: true},
	{Key: "outcome", Label: "Outcome", Optional: true},
}

// activationsFilter is the list's query besides the page.
type activationsFilter struct {
	Search, Product, Customer, Active, Outcome, Sort string
	// License is the license-state filter: in grace, expiry clock not
	// started (docs/licensing.md).
	License string
	createdRange
}

// activationRow is one line of the list: the activation and its
// product's name.
type activationRow struct {
	licensing.Activation
	ProductName string
}

// DeactivateQuestion is what the deactivate action asks.
func (r activationRow) DeactivateQuestion() string {
	on := ""
	if r.Domain != nil && *r.Domain != "" {
		on = " on " + *r.Domain
	}
	return fmt.Sprintf("Deactivate license %s%s? Its slot is freed.", r.LicenseCode, on)
}

// DeleteQuestion is what the delete action asks.
func (r activationRow) DeleteQuestion() string {
	freed := ""
	if r.IsActive {
		freed = " Its slot is freed."
	}
	return fmt.Sprintf("Delete activation %d of license %s?%s This cannot be undone.", r.ID, r.LicenseCode, freed)
}

// activationsFilterOf reads the activation list's query.
func (h *handlers) activationsFilterOf(c fiber.Ctx) (activationsFilter, licensing.ActivationFilter, error) {
	q := activationsFilter{
		Search: strings.TrimSpace(c.Query("q")), Product: c.Query("product"),
		Customer: strings.TrimSpace(c.Query("customer")),
		Active:   c.Query("active"), Outcome: c.Query("outcome"), Sort: c.Query("sort"),
		License: c.Query("license"),
	}
	var err error
	if q.createdRange, err = h.createdRangeOf(c); err != nil {
		return q, licensing.ActivationFilter{}, err
	}
	f := licensing.ActivationFilter{Search: q.Search, ProductReferenceID: q.Product, IsActive: yesNo(q.Active),
		CreatedFrom: q.fromAt, CreatedTo: q.beforeAt, Now: h.now()}
	switch q.License {
	case licensing.FilterInGrace, licensing.FilterClockPending:
		f.LicenseState = q.License
	default:
		q.License = ""
	}
	if q.Customer != "" {
		cu, err := customers.Filtering(c.Context(), h.db, q.Customer)
		if err != nil {
			return q, f, err
		}
		f.Customer = cu
	}
	switch {
	case slices.Contains(licensing.ActivationStates, q.Active):
		// The heartbeat states (docs/licensing.md#heartbeats-and-automatic-release).
		f.State = q.Active
	case f.IsActive == nil:
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
	if !web.IsSort(q.Sort, activationColumns) {
		q.Sort = ""
	}
	return q, f, nil
}

// activationsIndex lists activations and recorded failed attempts:
// search (code, domain, IP), product, customer, active and valid/failed
// filters, sort, page and page size come from the URL.
func (h *handlers) activationsIndex(c fiber.Ctx) error {
	q, f, err := h.activationsFilterOf(c)
	if err != nil {
		return err
	}
	page := web.ListPage(c)
	list, total, err := licensing.ListActivations(c.Context(), h.read(c), f, q.Sort, page)
	if err != nil {
		return err
	}
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(products))
	productOptions := []web.Option{{Value: "", Label: "All products"}}
	for _, p := range products {
		names[p.ID] = p.Name
		productOptions = append(productOptions, web.Option{Value: p.ReferenceID, Label: p.Name})
	}
	rows := make([]activationRow, len(list))
	for i, a := range list {
		rows[i] = activationRow{Activation: a, ProductName: names[a.ProductID]}
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "activations", Search: "Search code, domain or IP", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "product", Label: "Product", Type: "select", Options: productOptions, Value: q.Product},
			{Name: "customer", Label: "Customer", Type: "text", Placeholder: "Email or client ID", Value: q.Customer},
			{Name: "active", Label: "State", Type: "select", Value: q.Active, Options: []web.Option{
				{Value: "", Label: "Active or not"}, {Value: "yes", Label: "Active"}, {Value: "no", Label: "Inactive"},
				{Value: licensing.StateReleased, Label: "Released (no heartbeat)"},
				{Value: licensing.StateCheckedIn, Label: "Checked in (floating seat given back)"},
				{Value: licensing.StateHeartbeatMissed, Label: "Missed its heartbeat (kept)"}}},
			{Name: "outcome", Label: "Outcome", Type: "select", Value: q.Outcome, Options: []web.Option{
				{Value: "", Label: "Valid or failed"}, {Value: "valid", Label: "Valid"}, {Value: "failed", Label: "Failed attempts"}}},
			{Name: "license", Label: "License", Type: "select", Value: q.License, Options: []web.Option{
				{Value: "", Label: "Any license"}, {Value: licensing.FilterInGrace, Label: "License in grace"},
				{Value: licensing.FilterClockPending, Label: "Expiry clock not started"}}},
			{Name: "from", Label: "Created from", Type: "date", Value: q.From},
			{Name: "to", Label: "Created to", Type: "date", Value: q.To},
		},
		Columns: activationColumns, Sort: q.Sort, RowActions: true,
		Links: []web.Link{{Label: "Offline activation", URL: "/admin/offline-activation"}},
		Bulk: []web.BulkAction{
			{Label: "Deactivate", Action: "/admin/activations/bulk-deactivate", Confirm: "Deactivate {n} selected activation(s)? Their slots are freed."},
			{Label: "Delete", Action: "/admin/activations/bulk-delete", Danger: true, Confirm: "Delete {n} selected activation record(s)? This cannot be undone."},
		},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/activations/index", Layout: "layouts/admin", Fragment: "admin/activations/index/results",
		Data: fiber.Map{"Title": "Activations", "Section": "activations", "Activations": rows, "Table": table},
	})
}

// activationsMatching are the ids of every activation the list's query
// matches.
func (h *handlers) activationsMatching(c fiber.Ctx) ([]int64, error) {
	q, f, err := h.activationsFilterOf(c)
	if err != nil {
		return nil, err
	}
	return allIDs(c.Context(), func(ctx context.Context, p listing.Page) ([]int64, int, error) {
		list, total, err := licensing.ListActivations(ctx, h.db, f, q.Sort, p)
		ids := make([]int64, len(list))
		for i := range list {
			ids[i] = list[i].ID
		}
		return ids, total, err
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
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back", c.Query("back")), activationPath(a.ID))
	msg := fmt.Sprintf("Activation %d marked active; the license's limits were not checked.", a.ID)
	if c.Query("undo") == "1" {
		msg = fmt.Sprintf("Activation %d is active again.", a.ID)
	}
	web.AddFlash(c, web.FlashSuccess, msg)
	return web.Redirect(c, fiber.StatusSeeOther, back)
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
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back"), activationPath(a.ID))
	if !a.IsActive {
		web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Activation %d was already inactive.", a.ID))
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	web.AddUndoFlash(c, fmt.Sprintf("Activation %d marked inactive; its slot is free.", a.ID),
		activationPath(a.ID)+"/activate?"+url.Values{"back": {back}, "undo": {"1"}}.Encode())
	return web.Redirect(c, fiber.StatusSeeOther, back)
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
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Activation %d of license %s deleted.", a.ID, a.LicenseCode))
	back := web.LocalPath(c.FormValue("back"), "/admin/activations")
	if own := activationPath(a.ID); back == own || strings.HasPrefix(back, own+"?") {
		back = "/admin/activations"
	}
	return web.Redirect(c, fiber.StatusSeeOther, back)
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
	return h.bulkApply(c, bulkTarget{list: "/admin/activations", one: "activation", many: "activations", gone: licensing.ErrActivationNotFound, matching: h.activationsMatching}, verb+" %s.", do)
}

// activationOf loads the activation named by the :id parameter, or 404.
func (h *handlers) activationOf(c fiber.Ctx) (*licensing.Activation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	a, err := licensing.GetActivation(c.Context(), h.db, id)
	return a, err
}

func activationPath(id int64) string { return fmt.Sprintf("/admin/activations/%d", id) }
