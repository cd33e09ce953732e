package admin

import (
	"context"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
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
func (h *handlers) licensesBulk(c fiber.Ctx, verb string, do bulkStep) error {
	return h.bulkApply(c, bulkTarget{list: "/admin/licenses", one: "license", many: "licenses", gone: licensing.ErrNotFound, matching: h.licensesMatching}, verb+" %s.", do)
}
