package admin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// releaseKeysGroup is the settings tab that manages trusted release keys
// (docs/features.md#updates-and-downloads, docs/api/signing.md#release-integrity).
const releaseKeysGroup = "updates"

// releaseKeyForm is what the add form posts, kept when it fails.
type releaseKeyForm struct {
	Name, PublicKey string
}

// releaseKeyAdd trusts a release key; bad input re-renders the updates tab
// with the messages next to the fields.
func (h *handlers) releaseKeyAdd(c fiber.Ctx) error {
	form := releaseKeyForm{Name: c.FormValue("name"), PublicKey: c.FormValue("public_key")}
	var k *releasekeys.Key
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		k, err = releasekeys.Add(ctx, tx, source(c), form.Name, form.PublicKey, h.now())
		return err
	})
	if verr, ok := fields.As(err); ok {
		cur, err := settings.Load(c.Context(), h.db)
		if err != nil {
			return err
		}
		return h.renderSettingsPage(c, fiber.StatusUnprocessableEntity, releaseKeysGroup, groupDefinitions(releaseKeysGroup),
			valuesText(cur), nil, form, verr.Map())
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Release key %s (%s) is now trusted.", k.Name, k.KeyID))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/settings/"+releaseKeysGroup)
}

// releaseKeyRevoke stops a key from verifying releases.
func (h *handlers) releaseKeyRevoke(c fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	var k *releasekeys.Key
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		k, err = releasekeys.Revoke(ctx, tx, source(c), id, h.now())
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Release key %s revoked. Releases it signed are served unsigned.", k.Name))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/settings/"+releaseKeysGroup)
}
