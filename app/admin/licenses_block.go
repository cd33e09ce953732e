package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// licenseBlock blocks a license; its active activations are deactivated
// in the same transaction.
func (h *handlers) licenseBlock(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	freed := l.ActiveActivations
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licensing.Block(ctx, tx, source(c), l.ID)
		return err
	})
	if errors.Is(err, licensing.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s blocked; %s freed.", l.LicenseCode, plural(freed, "activation", "activations")))
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
}

// licenseUnblock clears the blocked flag; clients activate again.
func (h *handlers) licenseUnblock(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licensing.Unblock(ctx, tx, source(c), l.ID)
		return err
	})
	if errors.Is(err, licensing.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s unblocked.", l.LicenseCode))
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
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
	if errors.Is(err, licensing.ErrActivationNotFound) || (err == nil && (a.LicenseID == nil || *a.LicenseID != l.ID)) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
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
	web.AddFlash(c, web.FlashSuccess, what+" deactivated.")
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
}
