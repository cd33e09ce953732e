package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/app/webhooks"
)

// webhookEvents are the filter's choices: the events of docs/api/webhooks.md and the
// test event.
var webhookEvents = []string{
	webhooks.EventLicenseExpiring, webhooks.EventLicenseExpired, webhooks.EventLicenseUpdateSupportExpired,
	webhooks.EventLicenseCreated, webhooks.EventLicenseUpdated, webhooks.EventLicenseBlocked, webhooks.EventLicenseUnblocked,
	webhooks.EventActivationCreated, webhooks.EventActivationDeactivated, webhooks.EventActivationReleased, webhooks.EventCustomerCreated, webhooks.EventTest,
}

// webhookColumns are the delivery list's columns.
var webhookColumns = []web.Column{
	{Key: "created", Label: "Created"},
	{Key: "event", Label: "Event", Optional: true},
	{Key: "license", Label: "License", Optional: true},
	{Key: "status", Label: "Status", Optional: true},
	{Key: "attempts", Label: "Attempts", Class: "num", Optional: true},
	{Key: "response", Label: "Response", Optional: true},
	{Key: "duration", Label: "Time", Class: "num", Optional: true, Hidden: true},
}

// webhooksIndex lists deliveries newest first with their last response.
func (h *handlers) webhooksIndex(c fiber.Ctx) error {
	f := webhooks.Filter{Event: c.Query("event"), Status: c.Query("status"), Search: c.Query("q")}
	page := web.ListPage(c)
	ds, total, err := webhooks.List(c.Context(), h.db, f, page)
	if err != nil {
		return err
	}
	events := []web.Option{{Value: "", Label: "Any event"}}
	for _, e := range webhookEvents {
		events = append(events, web.Option{Value: e, Label: e})
	}
	statuses := []web.Option{{Value: "", Label: "Any status"}}
	for _, s := range []string{webhooks.StatusPending, webhooks.StatusSucceeded, webhooks.StatusFailed} {
		statuses = append(statuses, web.Option{Value: s, Label: s})
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "webhooks", Search: "Search license code", SearchValue: f.Search,
		Filters: []web.Filter{
			{Name: "event", Label: "Event", Type: "select", Options: events, Value: f.Event},
			{Name: "status", Label: "Status", Type: "select", Options: statuses, Value: f.Status},
		},
		Columns: webhookColumns,
	}), page, total)
	data := fiber.Map{"Title": "Webhooks", "Section": "webhooks", "Deliveries": ds, "Table": table}
	if h.settings != nil {
		set, err := h.settings.Get(c.Context())
		if err != nil {
			return err
		}
		data["Enabled"], data["URL"] = set.EnableWebhooks, set.WebhookURL
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/webhooks/index", Layout: "layouts/admin", Fragment: "admin/webhooks/index/results", Data: data,
	})
}

// webhookShow shows one delivery: the request as sent and every attempt
// with its response.
func (h *handlers) webhookShow(c fiber.Ctx) error {
	d, attempts, err := webhooks.Get(c.Context(), h.db, c.Params("id"))
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/webhooks/show", Layout: "layouts/admin",
		Data: fiber.Map{"Title": "Webhook " + d.Event, "Section": "webhooks", "Delivery": d, "Attempts": attempts, "Body": indent(d.Body)},
	})
}

// webhookResend sends a delivery again (same X-Webhook-Id and body).
func (h *handlers) webhookResend(c fiber.Ctx) error {
	if h.outbound == nil || h.settings == nil {
		return fiber.ErrServiceUnavailable
	}
	id := c.Params("id")
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.settings.Get(ctx)
		if err != nil {
			return err
		}
		return h.outbound.Webhooks.Resend(ctx, tx, source(c), set, id)
	})
	switch {
	case errors.Is(err, webhooks.ErrNoURL):
		web.AddFlash(c, web.FlashError, "Set a webhook URL in settings first.")
	case err != nil:
		return err
	default:
		web.AddFlash(c, web.FlashSuccess, "The webhook is queued to be sent again.")
	}
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/webhooks/"+id)
}

// webhookTest sends the test event to webhook_url.
func (h *handlers) webhookTest(c fiber.Ctx) error {
	if h.outbound == nil || h.settings == nil {
		return fiber.ErrServiceUnavailable
	}
	var id string
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.settings.Get(ctx)
		if err != nil {
			return err
		}
		id, err = h.outbound.Webhooks.SendTest(ctx, tx, set)
		return err
	})
	if errors.Is(err, webhooks.ErrNoURL) {
		web.AddFlash(c, web.FlashError, "Set a webhook URL in settings first.")
		return web.Redirect(c, fiber.StatusSeeOther, "/admin/webhooks")
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "A test event is queued.")
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/webhooks/"+id)
}

// inTx runs fn in one transaction.
func (h *handlers) inTx(c fiber.Ctx, fn func(ctx context.Context, tx bun.IDB) error) error {
	return h.db.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) })
}

// indent pretty-prints a JSON body for reading; the exact bytes sent are
// what was signed, and the page says so.
func indent(body string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(body), "", "  "); err != nil {
		return body
	}
	return b.String()
}
