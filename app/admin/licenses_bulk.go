package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// licensesBulkBlock blocks the selected licenses, freeing their
// activations.
func (h *handlers) licensesBulkBlock(c fiber.Ctx) error {
	return h.licensesBulk(c, "Blocked", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		_, changed, err := h.licensing.Block(ctx, tx, source(c), id)
		return changed, err
	})
}

// licensesBulkUnblock unblocks the selected licenses.
func (h *handlers) licensesBulkUnblock(c fiber.Ctx) error {
	return h.licensesBulk(c, "Unblocked", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		_, changed, err := h.licensing.Unblock(ctx, tx, source(c), id)
		return changed, err
	})
}

// licensesBulkDelete deletes the selected licenses with their activations.
func (h *handlers) licensesBulkDelete(c fiber.Ctx) error {
	return h.licensesBulk(c, "Deleted", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		return true, h.licensing.DeleteLicense(ctx, tx, source(c), id)
	})
}

// licensesBulk applies do to each selected license in one transaction,
// skipping ids already gone, and goes back to the list as it was.
func (h *handlers) licensesBulk(c fiber.Ctx, verb string, do func(ctx context.Context, tx bun.IDB, id int64) (bool, error)) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/licenses")
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the licenses first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	n := 0
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		for _, id := range ids {
			changed, err := do(ctx, tx, id)
			if errors.Is(err, licensing.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if changed {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("%s %s.", verb, plural(n, "license", "licenses")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
