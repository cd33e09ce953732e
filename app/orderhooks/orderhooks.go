// Package orderhooks is the HTTP end of order sync (issue 7): stores post
// their order webhooks to POST /api/orders/{plugin}/webhook; the plugin
// authenticates and reads the request, and its order events are queued as
// process_order jobs (app/orders).
package orderhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/plugins/sdk"
)

// MaxBody is the largest webhook body passed to a plugin; a larger one is
// answered 413 without calling it.
const MaxBody = 1 << 20

// Path is the route; the console shows base_url + it with the name filled in.
const Path = "/api/orders/:plugin/webhook"

// URL is the webhook URL of plugin on baseURL.
func URL(baseURL, plugin string) string { return baseURL + "/api/orders/" + plugin + "/webhook" }

// Deps are what the handler needs.
type Deps struct {
	DB      bun.IDB
	Queue   *jobqueue.Queue
	Plugins *orders.Plugins
	Logger  *slog.Logger
}

// Operation documents the webhook route in the OpenAPI document.
var Operation = openapi.Operation{
	Method: "POST", Path: "/api/orders/{plugin}/webhook", ID: "orderWebhook", Tags: []string{"Order sync"},
	Summary:     "A store's order webhook, handed to the order-sync plugin named in the path",
	Description: "No API key: the plugin checks the store's signature or secret. Accepted orders are processed once each, in the background.",
	Parameters:  []openapi.Parameter{{Name: "plugin", In: "path", Required: true, Description: "The order-sync plugin's name.", Schema: openapi.Schema{"type": "string"}}},
	Body:        openapi.Schema{"type": "string", "description": "The store's webhook body, as the store sends it (at most 1 MiB)."},
	Responses: map[string]openapi.Response{
		"200": {Description: "Accepted."},
		"401": {Description: "The plugin refused the signature or secret."},
		"404": {Description: "No such order-sync plugin."},
		"413": {Description: "The body is too large."},
		"503": {Description: "The plugin is not running."},
	},
}

// Register adds the webhook route to app.
func Register(app fiber.Router, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	app.Post(Path, d.webhook)
}

func (d Deps) webhook(c fiber.Ctx) error {
	name := c.Params("plugin")
	if !d.Plugins.IsOrderPlugin(name) {
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"message": "No such order sync plugin."})
	}
	body := c.Body()
	if len(body) > MaxBody {
		return c.Status(fiber.StatusRequestEntityTooLarge).JSON(fiber.Map{"message": "The body is too large."})
	}
	req := sdk.WebhookRequest{
		Method: c.Method(),
		Header: http.Header{},
		Query:  string(c.Request().URI().QueryString()),
		Body:   append([]byte(nil), body...),
	}
	for k, vs := range c.GetReqHeaders() {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	authentic, events, reason, err := d.Plugins.Webhook(c.Context(), name, req)
	switch {
	case errors.Is(err, orders.ErrNotOrderPlugin):
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"message": "No such order sync plugin."})
	case err != nil:
		// The store retries a failed delivery: say so rather than 200.
		d.Logger.Warn("order webhook: plugin failed", "plugin", name, "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"message": "The plugin is not available; try again later."})
	case !authentic:
		d.Logger.Info("order webhook refused", "plugin", name, "reason", reason)
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"message": "Not authentic."})
	}
	err = d.DB.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		return orders.Enqueue(ctx, d.Queue, tx, name, events)
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"queued": len(events), "message": reason})
}
