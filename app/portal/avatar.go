package portal

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/avatars"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/web"
)

// avatarURL is where the portal serves customer id's avatar (to that
// customer only; the console serves it to admins at
// /admin/customers/{id}/avatar).
func avatarURL(cu *customers.Customer) string {
	if cu.AvatarPath == nil || *cu.AvatarPath == "" {
		return ""
	}
	// The key changes with every upload, so it versions the URL.
	return "/customer/avatar/" + strconv.FormatInt(cu.ID, 10) + "?v=" + *cu.AvatarPath
}

// uploadAvatar replaces the customer's avatar with the uploaded picture
// (field avatar), checked by content and size and stored as a square PNG
// thumbnail; the previous file is removed.
func (h *handlers) uploadAvatar(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	fail := func(msg string) error {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "avatar", map[string]string{"avatar": msg}, "")
	}
	fh, err := c.FormFile("avatar")
	if err != nil || fh == nil || fh.Size == 0 {
		return fail(avatars.Message(avatars.ErrEmpty, h.avatarMax))
	}
	if fh.Size > h.avatarMax {
		return fail(avatars.Message(avatars.ErrTooLarge, h.avatarMax))
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("portal avatar: open upload: %w", err)
	}
	thumb, err := avatars.Process(f, h.avatarMax)
	_ = f.Close()
	if msg := avatars.Message(err, h.avatarMax); msg != "" {
		return fail(msg)
	}
	if err != nil {
		return fmt.Errorf("portal avatar: %w", err)
	}
	key, err := avatars.NewKey(cu.ID)
	if err != nil {
		return err
	}
	if err := h.avatars.Put(ctx, key, thumb); err != nil {
		return fmt.Errorf("portal avatar: %w", err)
	}
	old, err := customers.SetAvatar(ctx, h.db, cu.ID, &key)
	if err != nil {
		_ = h.avatars.Delete(ctx, key)
		return fmt.Errorf("portal avatar: %w", err)
	}
	h.dropAvatarFile(ctx, old)
	web.AddFlash(c, web.FlashSuccess, "Your picture has been saved.")
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
}

// removeAvatar goes back to initials.
func (h *handlers) removeAvatar(c fiber.Ctx) error {
	ctx := c.Context()
	old, err := customers.SetAvatar(ctx, h.db, current(c).ID, nil)
	if err != nil {
		return fmt.Errorf("portal avatar: %w", err)
	}
	h.dropAvatarFile(ctx, old)
	web.AddFlash(c, web.FlashSuccess, "Your picture has been removed.")
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
}

// dropAvatarFile deletes a replaced file; a failure only leaves an orphan
// file, so it is logged.
func (h *handlers) dropAvatarFile(ctx context.Context, key *string) {
	if key == nil || *key == "" {
		return
	}
	if err := h.avatars.Delete(ctx, *key); err != nil {
		h.logger.WarnContext(ctx, "delete replaced avatar", "key", *key, "error", err)
	}
}

// avatar serves a customer's thumbnail to that customer only: any other
// id, or a customer without a picture, is 404.
func (h *handlers) avatar(c fiber.Ctx) error {
	cu := current(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id != cu.ID || cu.AvatarPath == nil || *cu.AvatarPath == "" {
		return fiber.ErrNotFound
	}
	return serveAvatar(c, h.avatars, *cu.AvatarPath)
}

// serveAvatar writes the stored thumbnail key (a PNG) privately cached; a
// missing file is 404.
func serveAvatar(c fiber.Ctx, store avatars.Storage, key string) error {
	data, err := store.Get(c.Context(), key)
	if err != nil {
		return fmt.Errorf("serve avatar: %w", err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	c.Set("X-Content-Type-Options", "nosniff")
	return c.Send(data)
}
