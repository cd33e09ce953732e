// Package storewebhooks is the HTTP end of order sync: the webhooks stores
// send to Licensor (incoming; app/webhooks sends Licensor's own). Stores post
// their order webhooks to POST /api/external/webhooks/{name}/{secret}
// (docs/api/external.md#store-webhooks); Licensor checks the secret, the plugin authenticates and
// reads the request, and its order events are queued as process_order
// jobs (app/orders).
package storewebhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/plugins/sdk"
)

// MaxBody is the largest webhook body passed to a plugin; a larger one is
// answered 413 without calling it.
const MaxBody = 1 << 20

// MinSecret is the shortest secret the path may carry (docs/api/external.md#store-webhooks).
const MinSecret = 16

// Path is the route.
const Path = "/api/external/webhooks/:name/:secret"

// URL is the webhook URL of plugin on baseURL, the one the console shows.
func URL(baseURL, plugin, secret string) string {
	return strings.TrimRight(baseURL, "/") + "/api/external/webhooks/" + url.PathEscape(plugin) + "/" + url.PathEscape(secret)
}

// Deps are what the handler needs.
type Deps struct {
	DB      bun.IDB
	Queue   *jobqueue.Queue
	Plugins *orders.Plugins
	Logger  *slog.Logger
}

// Operation documents the webhook route in the OpenAPI document.
var Operation = openapi.Operation{
	Method: "POST", Path: "/api/external/webhooks/{name}/{secret}", ID: "storeWebhook", Tags: []string{"Order sync"},
	Summary:     "A store's order webhook, handed to the order-sync plugin named in the path",
	Description: "No API key: {secret} is the plugin's webhook secret shown on its console page, and the plugin checks the store's own signature or secret. Accepted orders are processed once each, in the background.",
	Parameters: []openapi.Parameter{
		{Name: "name", In: "path", Required: true, Description: "The order-sync plugin's name.", Schema: openapi.Schema{"type": "string"}},
		{Name: "secret", In: "path", Required: true, Description: "The plugin's webhook secret.", Schema: openapi.Schema{"type": "string", "minLength": MinSecret}},
	},
	Body: openapi.Schema{"type": "string", "description": "The store's webhook body, as the store sends it (at most 1 MiB)."},
	Responses: map[string]openapi.Response{
		"200": {Description: "Accepted; the message is the plugin's answer (\"Accepted.\", \"Ignored: …\").", Schema: openapi.Object(map[string]openapi.Schema{
			"status": {"type": "boolean", "const": true}, "message": openapi.String("The plugin's answer."),
		}, "status", "message")},
		"401": {Description: "The plugin refused the store's signature or secret: Not authentic.", Schema: openapi.Ref("Error")},
		"404": {Description: "No enabled order-sync plugin of that name, or the wrong secret: Not found.", Schema: openapi.Ref("Error")},
		"413": {Description: "The request body is too large.", Schema: openapi.Ref("Error")},
		"503": {Description: "The plugin is not available; try again later.", Schema: openapi.Ref("Error")},
	},
}

// Register adds the webhook route to app.
func Register(app fiber.Router, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	app.Post(Path, d.webhook)
}

// accepted is the 200 answer of docs/api/external.md#store-webhooks.
type accepted struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
}

func (d Deps) webhook(c fiber.Ctx) error {
	name, secret := d.Plugins.Resolve(c.Params("name")), c.Params("secret")
	if len(secret) < MinSecret {
		return pipeline.Error(c, fiber.StatusNotFound, "Not found.")
	}
	ok, err := d.Plugins.Accepts(c.Context(), name, secret)
	if err != nil {
		return err
	}
	if !ok {
		return pipeline.Error(c, fiber.StatusNotFound, "Not found.")
	}
	// As sent: Fiber's Body would undo a Content-Encoding in memory
	// without a bound (web.BodyLimit refuses those anyway, 415).
	body := c.Request().Body()
	if len(body) > MaxBody {
		return pipeline.Error(c, fiber.StatusRequestEntityTooLarge, "The request body is too large.")
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
		return pipeline.Error(c, fiber.StatusNotFound, "Not found.")
	case err != nil:
		// The store retries a failed delivery: say so rather than 200.
		d.Logger.Warn("order webhook: plugin failed", "plugin", name, "err", err)
		return pipeline.Error(c, fiber.StatusServiceUnavailable, "The plugin is not available; try again later.")
	case !authentic:
		d.Logger.Info("order webhook refused", "plugin", name, "reason", reason)
		return pipeline.Error(c, fiber.StatusUnauthorized, "Not authentic.")
	}
	err = d.DB.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		return orders.Enqueue(ctx, d.Queue, tx, name, events)
	})
	if err != nil {
		return err
	}
	return c.JSON(accepted{Status: true, Message: answer(reason, len(events))})
}

// answer is the message of an accepted webhook: the plugin's reason when
// it gave one, else what happened.
func answer(reason string, events int) string {
	switch {
	case reason != "" && events == 0:
		return "Ignored: " + reason + "."
	case reason != "":
		return reason
	case events == 0:
		return "Ignored."
	}
	return "Accepted."
}
