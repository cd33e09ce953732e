package admin

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/sdk"
)

// captchaSetting is the portal's CAPTCHA provider setting; a plugin is
// chosen as "plugin:<name>".
const captchaSetting = "captcha_provider"

// pluginRow is one plugin on the pages: the service's view plus what the
// templates ask.
type pluginRow struct {
	plugins.Plugin
	// StatusClass picks the badge colour.
	StatusClass string
	// PortalCaptcha is true when this plugin is the portal's provider.
	PortalCaptcha bool
	IsCaptcha     bool
}

func (h *handlers) pluginRow(p plugins.Plugin, provider string) pluginRow {
	class := "pending"
	switch p.Status {
	case host.StatusRunning:
		class = "valid"
	case host.StatusCrashed, host.StatusChecksumMismatch, host.StatusInvalid:
		class = "blocked"
	case host.StatusDisabled:
		class = "expired"
	}
	return pluginRow{
		Plugin: p, StatusClass: class,
		IsCaptcha:     p.Manifest.Kind == sdk.KindCaptcha,
		PortalCaptcha: provider == "plugin:"+p.Name,
	}
}

func (h *handlers) captchaProvider(c fiber.Ctx) (string, error) {
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return "", err
	}
	return set.CaptchaProvider, nil
}

// pluginsIndex lists the installed plugins.
func (h *handlers) pluginsIndex(c fiber.Ctx) error {
	data := fiber.Map{"Title": "Plugins", "Section": "plugins"}
	if h.plugins != nil {
		list, err := h.plugins.List(c.Context())
		if err != nil {
			return err
		}
		provider, err := h.captchaProvider(c)
		if err != nil {
			return err
		}
		rows := make([]pluginRow, len(list))
		for i, p := range list {
			rows[i] = h.pluginRow(p, provider)
		}
		data["Plugins"], data["Available"] = rows, true
	}
	return web.Render(c, fiber.StatusOK, web.View{Page: "admin/plugins/index", Layout: "layouts/admin", Data: data})
}

// pluginField is one settings field on the form.
type pluginField struct {
	sdk.ConfigField
	Label, Value, Error string
	// Stored is true for a secret that has a saved value (never shown).
	Stored bool
}

// pluginShow shows a plugin with its settings form.
func (h *handlers) pluginShow(c fiber.Ctx) error {
	p, err := h.plugin(c)
	if err != nil {
		return err
	}
	return h.renderPlugin(c, fiber.StatusOK, p, nil, nil, mappingForm{})
}

func (h *handlers) plugin(c fiber.Ctx) (plugins.Plugin, error) {
	if h.plugins == nil {
		return plugins.Plugin{}, fiber.ErrNotFound
	}
	p, err := h.plugins.Get(c.Context(), c.Params("name"))
	return p, err
}

// renderPlugin draws the plugin page; typed is what the admin submitted
// in the settings form (kept on errors), errs the messages by field, and
// mapping the SKU mapping form of an order sync plugin.
func (h *handlers) renderPlugin(c fiber.Ctx, status int, p plugins.Plugin, typed map[string]string, errs map[string]string, mapping mappingForm) error {
	provider, err := h.captchaProvider(c)
	if err != nil {
		return err
	}
	var form []pluginField
	for _, f := range p.Manifest.Config {
		pf := pluginField{ConfigField: f, Label: f.Label, Error: errs[f.Name], Stored: f.Secret && p.SecretSet[f.Name]}
		if pf.Label == "" {
			pf.Label = f.Name
		}
		switch {
		case f.Secret:
			// Never shown again, not even after a failed save.
		case typed != nil:
			pf.Value = typed[f.Name]
		default:
			v, ok := p.Values[f.Name]
			if !ok {
				v = f.Default
			}
			pf.Value = v
		}
		form = append(form, pf)
	}
	data := fiber.Map{
		"Title": "Plugin " + p.Name, "Section": "plugins", "Plugin": h.pluginRow(p, provider),
		"Fields": form, "FormError": errs[""],
	}
	if p.Manifest.Kind == sdk.KindOrderSync {
		if err := h.orderSyncData(c, p, mapping, data); err != nil {
			return err
		}
	}
	return web.Render(c, status, web.View{Page: "admin/plugins/show", Layout: "layouts/admin", Data: data})
}

// pluginSave stores the settings: checked against the manifest, then by
// the plugin itself when enabled.
func (h *handlers) pluginSave(c fiber.Ctx) error {
	p, err := h.plugin(c)
	if err != nil {
		return err
	}
	typed := map[string]string{}
	for _, f := range p.Manifest.Config {
		typed[f.Name] = c.FormValue(f.Name)
	}
	err = h.plugins.Save(c.Context(), p.Name, typed, source(c))
	if verr, ok := fields.As(err); ok {
		return h.renderPlugin(c, fiber.StatusUnprocessableEntity, p, typed, verr.Map(), mappingForm{})
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Settings of %s saved.", p.Name))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/plugins/"+p.Name)
}

func (h *handlers) pluginEnable(c fiber.Ctx) error  { return h.pluginSetEnabled(c, true) }
func (h *handlers) pluginDisable(c fiber.Ctx) error { return h.pluginSetEnabled(c, false) }

func (h *handlers) pluginSetEnabled(c fiber.Ctx, enabled bool) error {
	p, err := h.plugin(c)
	if err != nil {
		return err
	}
	if err := h.plugins.SetEnabled(c.Context(), p.Name, enabled, source(c)); err != nil {
		return err
	}
	msg := fmt.Sprintf("Plugin %s enabled: it starts on first use.", p.Name)
	if !enabled {
		msg = fmt.Sprintf("Plugin %s disabled.", p.Name)
		if provider, err := h.captchaProvider(c); err == nil && provider == "plugin:"+p.Name {
			msg += " It is still the portal's CAPTCHA provider: the portal's forms cannot show a CAPTCHA until you enable it again or choose another provider."
		}
	}
	web.AddFlash(c, web.FlashSuccess, msg)
	return web.Redirect(c, fiber.StatusSeeOther, backTo(c, p.Name))
}

// pluginUseCaptcha makes a CAPTCHA plugin the portal's provider.
func (h *handlers) pluginUseCaptcha(c fiber.Ctx) error {
	p, err := h.plugin(c)
	if err != nil {
		return err
	}
	if p.Manifest.Kind != sdk.KindCaptcha {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("%s is not a CAPTCHA plugin.", p.Name))
		return web.Redirect(c, fiber.StatusSeeOther, "/admin/plugins/"+p.Name)
	}
	if !p.Enabled {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("Enable %s before choosing it for the portal.", p.Name))
		return web.Redirect(c, fiber.StatusSeeOther, backTo(c, p.Name))
	}
	_, err = h.saveSettings(c, map[string]string{captchaSetting: "plugin:" + p.Name})
	if verr, ok := fields.As(err); ok {
		web.AddFlash(c, web.FlashError, verr.First())
		return web.Redirect(c, fiber.StatusSeeOther, backTo(c, p.Name))
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("The portal's CAPTCHA provider is now %s.", p.Name))
	return web.Redirect(c, fiber.StatusSeeOther, backTo(c, p.Name))
}

// backTo is where an action returns: the list when posted from it.
func backTo(c fiber.Ctx, name string) string {
	if strings.TrimSpace(c.FormValue("from")) == "list" {
		return "/admin/plugins"
	}
	return "/admin/plugins/" + name
}
