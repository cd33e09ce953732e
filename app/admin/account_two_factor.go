package admin

import (
	"context"
	"errors"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

const twoFactorPath = "/admin/account/two-factor"

// twoFactorSetup shows two-factor sign-in: how to turn it on (the QR code
// and secret of an enrolment begun, and the code that confirms it), or,
// when on, the recovery codes left and the ways to renew them or turn it
// off.
func (h *handlers) twoFactorSetup(c fiber.Ctx) error {
	return h.renderTwoFactor(c, fiber.StatusOK, "")
}

func (h *handlers) renderTwoFactor(c fiber.Ctx, status int, errMsg string) error {
	ctx := c.Context()
	a := currentAdmin(c)
	acct := twofactor.AdminAccount(a.ID)
	set, err := h.currentSettings(ctx)
	if err != nil {
		return err
	}
	data := fiber.Map{"Title": "Two-factor sign-in", "Section": "account", "Error": errMsg, "Required": set.RequireAdmin2FA}
	on, err := h.twoFactor.Enabled(ctx, h.db, acct)
	if err != nil {
		return err
	}
	data["Enabled"] = on
	if on {
		left, err := h.twoFactor.RecoveryCodesLeft(ctx, h.db, acct)
		if err != nil {
			return err
		}
		data["CodesLeft"] = left
	} else {
		en, err := h.twoFactor.Pending(ctx, h.db, acct, set.AppName, a.Email)
		if err != nil && !errors.Is(err, twofactor.ErrNotEnrolled) {
			return err
		}
		if en != nil {
			svg, err := twofactor.QRCodeSVG(en.URI, "QR code to scan with your authenticator app")
			if err != nil {
				return err
			}
			// The SVG is drawn by us from the URI alone; nothing typed by
			// a user reaches it unescaped.
			data["QR"] = template.HTML(svg) //nolint:gosec // see above
			data["Secret"] = groupSecret(en.Secret)
			// The page holds the secret: no cache may keep it.
			c.Set(fiber.HeaderCacheControl, "no-store")
		}
	}
	return web.Render(c, status, web.View{Page: "admin/account/two_factor", Layout: "layouts/admin", Data: data})
}

// groupSecret shows a base32 secret in groups of four, as apps print it.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// twoFactorEnrol begins (or restarts) an enrolment: a new secret, shown
// as a QR code on the set-up page.
func (h *handlers) twoFactorEnrol(c fiber.Ctx) error {
	ctx := c.Context()
	a := currentAdmin(c)
	set, err := h.currentSettings(ctx)
	if err != nil {
		return err
	}
	_, err = h.twoFactor.Begin(ctx, h.db, twofactor.AdminAccount(a.ID), set.AppName, a.Email)
	if errors.Is(err, twofactor.ErrAlreadyEnabled) {
		return web.Redirect(c, fiber.StatusSeeOther, twoFactorPath)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, fiber.StatusSeeOther, twoFactorPath)
}

// twoFactorConfirm checks the first code of the enrolment and turns
// two-factor sign-in on; the ten recovery codes are shown once.
func (h *handlers) twoFactorConfirm(c fiber.Ctx) error {
	a := currentAdmin(c)
	var codes []string
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		codes, err = admins.ConfirmTwoFactor(ctx, tx, h.twoFactor, source(c), a, c.FormValue("code"))
		return err
	})
	if errors.Is(err, twofactor.ErrInvalidCode) {
		return h.renderTwoFactor(c, fiber.StatusUnprocessableEntity, "This code is not valid. Enter the current 6-digit code your app shows for this account.")
	}
	if errors.Is(err, twofactor.ErrNotEnrolled) || errors.Is(err, twofactor.ErrAlreadyEnabled) {
		return web.Redirect(c, fiber.StatusSeeOther, twoFactorPath)
	}
	if err != nil {
		return err
	}
	return h.renderRecoveryCodes(c, codes, "Two-factor sign-in is on")
}

// renderRecoveryCodes shows new recovery codes, once.
func (h *handlers) renderRecoveryCodes(c fiber.Ctx, codes []string, title string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/account/recovery_codes", Layout: "layouts/admin",
		Data: fiber.Map{"Title": title, "Section": "account", "Codes": codes, "Text": strings.Join(codes, "\n")},
	})
}

// twoFactorNewRecoveryCodes replaces the recovery codes, after the
// current password.
func (h *handlers) twoFactorNewRecoveryCodes(c fiber.Ctx) error {
	a := currentAdmin(c)
	msg, status, err := h.checkCurrentPassword(c, a, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		return h.renderTwoFactor(c, status, msg)
	}
	var codes []string
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		codes, err = admins.NewRecoveryCodes(ctx, tx, h.twoFactor, source(c), a)
		return err
	})
	if errors.Is(err, twofactor.ErrNotEnrolled) {
		return web.Redirect(c, fiber.StatusSeeOther, twoFactorPath)
	}
	if err != nil {
		return err
	}
	return h.renderRecoveryCodes(c, codes, "New recovery codes")
}

// twoFactorDisable turns two-factor sign-in off after the current
// password, unless the console requires it.
func (h *handlers) twoFactorDisable(c fiber.Ctx) error {
	ctx := c.Context()
	a := currentAdmin(c)
	set, err := h.currentSettings(ctx)
	if err != nil {
		return err
	}
	if set.RequireAdmin2FA {
		return h.renderTwoFactor(c, fiber.StatusUnprocessableEntity, "This console requires two-factor sign-in for every admin, so it cannot be turned off. You can make new recovery codes instead.")
	}
	msg, status, err := h.checkCurrentPassword(c, a, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		return h.renderTwoFactor(c, status, msg)
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return admins.DisableTwoFactor(ctx, tx, h.twoFactor, source(c), a)
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "Two-factor sign-in is off.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

// enrolmentAllowed are the pages an admin who must set up two-factor
// sign-in can still open.
func enrolmentAllowed(path string) bool {
	return path == twoFactorPath || strings.HasPrefix(path, twoFactorPath+"/") || path == "/admin/logout"
}
