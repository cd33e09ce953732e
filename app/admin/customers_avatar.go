package admin

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/customers"
)

// customerAvatar serves a customer's avatar thumbnail (PNG) to admins;
// 404 when the customer has none (pages then show initials).
func (h *handlers) customerAvatar(c fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || h.avatars == nil {
		return fiber.ErrNotFound
	}
	cu, err := customers.Get(c.Context(), h.db, id)
	if err != nil {
		return fmt.Errorf("customer avatar: %w", err)
	}
	if cu.AvatarPath == nil || *cu.AvatarPath == "" {
		return fiber.ErrNotFound
	}
	data, err := h.avatars.Get(c.Context(), *cu.AvatarPath)
	if err != nil {
		return fmt.Errorf("customer avatar: %w", err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	return c.Send(data)
}
