package portal

import (
	"errors"
	"fmt"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// captchaWidget is the CAPTCHA markup form shows under the current
// settings ("" when it shows none). A provider that cannot draw (a plugin
// that is down) is logged and shown as a notice; the form then refuses to
// go through until it is back (checkCaptcha).
func (h *handlers) captchaWidget(c fiber.Ctx, form string) (template.HTML, error) {
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return "", err
	}
	p, err := h.captcha.For(set, form)
	if err == nil && p != nil {
		var w template.HTML
		if w, err = p.Widget(ctx, form); err == nil {
			// A plugin's widget loads from its provider's origins.
			if o, ok := p.(interface{ Origins() []string }); ok {
				web.AllowOrigins(c, o.Origins())
			}
			return w, nil
		}
	}
	if err != nil {
		h.logger.ErrorContext(ctx, "captcha widget", "form", form, "error", err)
		return template.HTML(`<p class="form-error captcha-unavailable">` + template.HTMLEscapeString(captcha.MsgUnavailable) + `</p>`), nil //nolint:gosec // escaped constant
	}
	return "", nil
}

// checkCaptcha verifies the CAPTCHA of form when the settings show one. It
// returns the message to show next to the CAPTCHA ("" when it passed or
// there is none) and the reason for the log and sign-in history.
func (h *handlers) checkCaptcha(c fiber.Ctx, set *settings.Values, form string) (msg, reason string, err error) {
	ctx := c.Context()
	p, err := h.captcha.For(set, form)
	if errors.Is(err, captcha.ErrUnknownProvider) {
		h.logger.ErrorContext(ctx, "captcha provider", "form", form, "error", err)
		return captcha.MsgUnavailable, "captcha unavailable", nil
	}
	if err != nil || p == nil {
		return "", "", err
	}
	res, err := p.Verify(ctx, form, captchaFields(c), web.ClientIP(c))
	if err != nil {
		h.logger.ErrorContext(ctx, "captcha verify", "form", form, "error", err)
		return captcha.MsgUnavailable, "captcha unavailable", nil
	}
	if res.OK {
		return "", "", nil
	}
	h.logger.InfoContext(ctx, "captcha refused", "form", form, "reason", res.Reason)
	if res.Reason == captcha.ReasonMissing {
		return captcha.MsgMissing, "captcha " + res.Reason, nil
	}
	return captcha.MsgWrong, "captcha " + res.Reason, nil
}

// captchaFields are the posted fields a provider may read: all but the
// passwords and the CSRF token.
func captchaFields(c fiber.Ctx) map[string]string {
	out := map[string]string{}
	for k, v := range c.Request().PostArgs().All() {
		if key := string(k); key != "_csrf" && !strings.Contains(key, "password") {
			out[key] = string(v)
		}
	}
	if mf, err := c.MultipartForm(); err == nil && mf != nil {
		for k, v := range mf.Value {
			if k != "_csrf" && !strings.Contains(k, "password") && len(v) > 0 {
				out[k] = v[0]
			}
		}
	}
	return out
}

// captchaImage serves a challenge image of the built-in image CAPTCHA
// (?reload=… draws new digits under the same id). Unknown or expired ids
// are 404. Never cached: a reload must reach the server.
func (h *handlers) captchaImage(c fiber.Ctx) error {
	img := h.captcha.Image()
	id := c.Params("id")
	if img == nil || id == "" || len(id) > 64 {
		return fiber.ErrNotFound
	}
	var buf strings.Builder
	ok, err := img.WriteImage(c.Context(), &buf, id, c.Query("reload") != "")
	if err != nil {
		return fmt.Errorf("portal captcha image: %w", err)
	}
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "image/png")
	return c.SendString(buf.String())
}
