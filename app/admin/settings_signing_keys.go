package admin

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web"
)

// signingKeysGroup is the settings tab of the signing keys page.
const signingKeysGroup = "signing-keys"

const signingKeysPath = "/admin/settings/" + signingKeysGroup

// signingKeyRow is one key as the page shows it.
type signingKeyRow struct {
	signing.Key
	PublicBase64 string
}

// signingKeys lists the server's Ed25519 signing keys: the active one
// signs tokens and license files, retired ones keep verifying what they
// signed (docs/api/signing.md#signing-keys).
func (h *handlers) signingKeys(c fiber.Ctx) error {
	keys, err := signing.List(c.Context(), h.db)
	if err != nil {
		return err
	}
	rows := make([]signingKeyRow, len(keys))
	for i, k := range keys {
		rows[i] = signingKeyRow{Key: k, PublicBase64: base64.StdEncoding.EncodeToString(k.Public)}
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/settings/signing_keys", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": "Settings", "Section": "settings", "Tabs": allowedTabs(currentAdmin(c)), "Group": signingKeysGroup,
			"Keys": rows, "CanRotate": h.signing != nil,
		},
	})
}

// signingKeysRotate does what `licensor keys rotate` does: a new active
// key, the previous one retired (still verifying), every node told within
// a second; the activity log records it in the same transaction.
func (h *handlers) signingKeysRotate(c fiber.Ctx) error {
	if h.signing == nil {
		web.AddFlash(c, web.FlashError, "This node has no key ring to rotate; run licensor keys rotate instead.")
		return web.Redirect(c, fiber.StatusSeeOther, signingKeysPath)
	}
	var k signing.Key
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		k, err = h.signing.Rotate(ctx, tx, source(c), h.now())
		return err
	})
	if err != nil {
		return err
	}
	// Other nodes reload on the notification; this one at once.
	if err := h.signing.Reload(c.Context(), h.db); err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("New active signing key %s. Older keys keep verifying what they signed.", k.KID))
	return web.Redirect(c, fiber.StatusSeeOther, signingKeysPath)
}
