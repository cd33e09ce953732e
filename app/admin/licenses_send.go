package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

const msgNoMailer = "Email is not set up on this node, so nothing was queued."

// licenseSendDetails queues the license-details email to the license's
// email address (a send_mail job in the same transaction). A license
// without an email is refused with a message saying how to fix it.
func (h *handlers) licenseSendDetails(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back"), licensePath(l.ID))
	if l.Email == nil || strings.TrimSpace(*l.Email) == "" {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("License %s has no email address, so its details cannot be sent. Edit the license to add one.", l.LicenseCode))
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	queued, _, err := h.queueLicenseDetails(c, []int64{l.ID})
	if err != nil {
		return err
	}
	if queued == 0 {
		web.AddFlash(c, web.FlashError, msgNoMailer)
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License details of %s queued for %s.", l.LicenseCode, *l.Email))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// licensesBulkSendDetails queues the license-details email for each
// selected license that has an email, and names the ones that have none.
func (h *handlers) licensesBulkSendDetails(c fiber.Ctx) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/licenses")
	if c.FormValue("all") == "1" {
		var err error
		if ids, err = h.licensesMatching(c); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the licenses first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	existing, err := licensing.GetMany(c.Context(), h.db, ids)
	if err != nil {
		return err
	}
	found := make([]int64, len(existing))
	codes := make(map[int64]string, len(existing))
	for i, l := range existing {
		found[i], codes[l.ID] = l.ID, l.LicenseCode
	}
	queued, noEmail, err := h.queueLicenseDetails(c, found)
	if err != nil {
		return err
	}
	if h.mailer() == nil {
		web.AddFlash(c, web.FlashError, msgNoMailer)
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	if queued > 0 {
		web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License details queued for %s.", plural(queued, "license", "licenses")))
	}
	if len(noEmail) > 0 {
		names := make([]string, len(noEmail))
		for i, id := range noEmail {
			names[i] = codes[id]
		}
		web.AddFlash(c, web.FlashError, fmt.Sprintf("Not sent: %s no email address (%s). Edit them to add one.",
			plural(len(noEmail), "license has", "licenses have"), strings.Join(names, ", ")))
	}
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// queueLicenseDetails queues the license-details emails of ids in one
// transaction through the mailer; without a mailer it queues nothing.
func (h *handlers) queueLicenseDetails(c fiber.Ctx, ids []int64) (queued int, noEmail []int64, err error) {
	m := h.mailer()
	if m == nil || len(ids) == 0 {
		return 0, nil, nil
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		queued, noEmail, err = m.LicenseDetails(ctx, tx, set, ids...)
		return err
	})
	return queued, noEmail, err
}
