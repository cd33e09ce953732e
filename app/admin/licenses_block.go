package admin

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// licenseBlock blocks a license; its active activations are deactivated
// in the same transaction. The flash offers Undo: unblocking and giving the
// freed activations their slots back.
func (h *handlers) licenseBlock(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back"), licensePath(l.ID))
	yes := true
	active, _, err := licensing.ListActivations(c.Context(), h.db, licensing.ActivationFilter{LicenseID: l.ID, IsActive: &yes}, "id",
		listing.Page{PerPage: listing.MaxPerPage})
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licensing.Block(ctx, tx, source(c), l.ID)
		return err
	})
	if err != nil {
		return err
	}
	undo := url.Values{"back": {back}}
	ids := make([]string, len(active))
	for i, a := range active {
		ids[i] = itoa(a.ID)
	}
	if len(ids) > 0 {
		undo.Set("restore", strings.Join(ids, ","))
	}
	web.AddUndoFlash(c, fmt.Sprintf("License %s blocked; %s freed.", l.LicenseCode, plural(l.ActiveActivations, "activation", "activations")),
		licensePath(l.ID)+"/unblock?"+undo.Encode())
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// licenseUnblock clears the blocked flag; clients activate again. With
// ?restore= (the Undo of a block) the activations that block freed get
// their slots back, in the same transaction.
func (h *handlers) licenseUnblock(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back", c.Query("back")), licensePath(l.ID))
	var restore []int64
	for _, raw := range strings.Split(c.Query("restore"), ",") {
		if id, err := strconv.ParseInt(raw, 10, 64); err == nil && id > 0 {
			restore = append(restore, id)
		}
	}
	restored := 0
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		if _, _, err := h.licensing.Unblock(ctx, tx, source(c), l.ID); err != nil {
			return err
		}
		for _, id := range restore {
			a, err := licensing.GetActivation(ctx, tx, id)
			if err := errkind.IgnoreNotFound(err); err != nil {
				return err
			}
			if a == nil { // deleted since the block: nothing to restore
				continue
			}
			// Only this license's activations that its block freed.
			if a.LicenseID == nil || *a.LicenseID != l.ID || a.IsActive || !a.IsValid {
				continue
			}
			if _, changed, err := h.licensing.MarkActivationActive(ctx, tx, source(c), id); err != nil {
				return err
			} else if changed {
				restored++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("License %s unblocked.", l.LicenseCode)
	if restored > 0 {
		msg = fmt.Sprintf("License %s unblocked; %s restored.", l.LicenseCode, plural(restored, "activation", "activations"))
	}
	web.AddFlash(c, web.FlashSuccess, msg)
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// licenseActivationDeactivate frees one activation of the license.
func (h *handlers) licenseActivationDeactivate(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("activation"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	a, err := licensing.GetActivation(c.Context(), h.db, id)
	if err != nil {
		return err
	}
	if a.LicenseID == nil || *a.LicenseID != l.ID {
		return fiber.ErrNotFound
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licensing.MarkActivationInactive(ctx, tx, source(c), id, licensing.ReasonAdmin)
		return err
	})
	if err != nil {
		return err
	}
	what := "Activation"
	if a.Domain != nil {
		what += " on " + *a.Domain
	}
	if !a.IsActive {
		web.AddFlash(c, web.FlashSuccess, what+" was already inactive.")
		return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
	}
	web.AddUndoFlash(c, what+" deactivated.",
		activationPath(a.ID)+"/activate?"+url.Values{"back": {licensePath(l.ID)}, "undo": {"1"}}.Encode())
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
}
