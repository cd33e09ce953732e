package admin

import (
	"errors"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/autoblacklist"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/web"
)

// cronPage is the manual cron (docs/operations.md#manual-cron): run the expiry scan or the
// auto-blacklist now and see what it did.
func (h *handlers) cronPage(c fiber.Ctx) error {
	return h.renderCron(c, nil, nil)
}

// cronExpiryScan runs the expiry scan now.
func (h *handlers) cronExpiryScan(c fiber.Ctx) error {
	if h.expiry == nil {
		return fiber.ErrServiceUnavailable
	}
	res, err := h.expiry.Run(c.Context())
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "The expiry scan has run.")
	return h.renderCron(c, &res, nil)
}

// cronBlacklistScan runs the auto-blacklist now.
func (h *handlers) cronBlacklistScan(c fiber.Ctx) error {
	res, err := autoblacklist.Run(c.Context(), h.db, h.now())
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "The auto-blacklist has run.")
	return h.renderCron(c, nil, &res)
}

// cronUnblock removes one entry the auto-blacklist added, in one click
// (docs/deploy.md#auto-blacklist).
func (h *handlers) cronUnblock(c fiber.Ctx) error {
	kind, item := c.FormValue("kind"), c.FormValue("item")
	if err := autoblacklist.Unblock(c.Context(), h.db, source(c), kind, item); errors.Is(err, autoblacklist.ErrNotBlocked) {
		web.AddFlash(c, web.FlashError, item+" is not blacklisted any more.")
	} else if err != nil {
		return err
	} else {
		web.AddFlash(c, web.FlashSuccess, item+" was removed from the blacklist.")
	}
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/tools/cron")
}

func (h *handlers) renderCron(c fiber.Ctx, scan *expiry.Result, bl *autoblacklist.Result) error {
	blocked, err := autoblacklist.ListBlocked(c.Context(), h.db)
	if err != nil {
		return err
	}
	data := fiber.Map{"Title": "Manual cron", "Section": "cron", "Expiry": scan, "Blacklist": bl, "CanScan": h.expiry != nil, "Blocked": blocked}
	if h.settings != nil {
		set, err := h.settings.Get(c.Context())
		if err != nil {
			return err
		}
		data["Settings"] = set
	}
	fragment := ""
	if scan != nil || bl != nil {
		fragment = "admin/tools/cron/results"
	}
	return web.Render(c, fiber.StatusOK, web.View{Page: "admin/tools/cron", Layout: "layouts/admin", Fragment: fragment, Data: data})
}
