package admin

import (
	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/web"
)

// read is the handle of a list or report: the read replicas
// (docs/deploy.md#read-replicas), unless this client changed something a
// moment ago (web.RecentWrite) and must see it.
func (h *handlers) read(c fiber.Ctx) bun.IDB {
	if h.reader == nil || web.RecentWrite(c) {
		return h.db
	}
	return h.reader
}
