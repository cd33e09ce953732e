package admin

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/storewebhooks"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/plugins/sdk"
)

// ordersPerPage is the length of a page of the processed orders log.
const ordersPerPage = 50

// mappingForm is the SKU → product form as submitted, with its errors.
type mappingForm struct {
	SKU, Product string
	Errors       map[string]string
}

// orderSyncData adds an order sync plugin's parts to its page: the webhook
// URL for the store, the SKU mapping and the processed orders log.
func (h *handlers) orderSyncData(c fiber.Ctx, p plugins.Plugin, form mappingForm, data fiber.Map) error {
	ctx := c.Context()
	secret, err := h.plugins.WebhookSecret(ctx, p.Name)
	if err != nil {
		// Sealed with another instance secret: rotating makes a new one.
		h.logger.Warn("plugin webhook secret", "plugin", p.Name, "err", err)
		data["WebhookError"] = "The webhook secret cannot be read (was the instance secret changed?). Rotate it and update the store."
	} else {
		data["WebhookURL"] = storewebhooks.URL(h.baseURL, p.Name, secret)
	}
	mappings, err := orders.Mappings(ctx, h.db, p.Name)
	if err != nil {
		return err
	}
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	page := web.PageOf(c, ordersPerPage)
	log, total, err := orders.Log(ctx, h.db, p.Name, page.PerPage, page.Offset())
	if err != nil {
		return err
	}
	data["OrderSync"], data["Mappings"], data["ProductOptions"], data["MappingForm"] = true, mappings, productOptions(products, false), form
	data["Orders"], data["Pagination"] = log, web.Paginate(c, page, total)
	return nil
}

// orderPlugin is the order sync plugin of the URL, else 404.
func (h *handlers) orderPlugin(c fiber.Ctx) (plugins.Plugin, error) {
	p, err := h.plugin(c)
	if err == nil && p.Manifest.Kind != sdk.KindOrderSync {
		return p, fiber.ErrNotFound
	}
	return p, err
}

// pluginRotateSecret replaces an order sync plugin's webhook secret.
func (h *handlers) pluginRotateSecret(c fiber.Ctx) error {
	p, err := h.orderPlugin(c)
	if err != nil {
		return err
	}
	if _, err := h.plugins.RotateWebhookSecret(c.Context(), p.Name, source(c)); err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "Webhook secret rotated: paste the new webhook URL into the store; the old one no longer works.")
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/plugins/"+p.Name)
}

// pluginMappingAdd maps a SKU to a product.
func (h *handlers) pluginMappingAdd(c fiber.Ctx) error {
	p, err := h.orderPlugin(c)
	if err != nil {
		return err
	}
	form := mappingForm{SKU: c.FormValue("sku"), Product: c.FormValue("product")}
	m, err := orders.SetMapping(c.Context(), h.db, p.Name, form.SKU, form.Product)
	if verr, ok := fields.As(err); ok {
		form.Errors = verr.Map()
		return h.renderPlugin(c, fiber.StatusUnprocessableEntity, p, nil, nil, form)
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("SKU %s now issues licenses of %s.", m.SKU, m.ProductName))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/plugins/"+p.Name+"#mappings")
}

// pluginMappingDelete removes a SKU's mapping; the SKU is a form field
// because SKUs may hold slashes.
func (h *handlers) pluginMappingDelete(c fiber.Ctx) error {
	p, err := h.orderPlugin(c)
	if err != nil {
		return err
	}
	sku := strings.TrimSpace(c.FormValue("sku"))
	if err := orders.DeleteMapping(c.Context(), h.db, p.Name, sku); err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("SKU %s is no longer mapped.", sku))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/plugins/"+p.Name+"#mappings")
}
