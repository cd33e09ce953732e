package external

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/filesend"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/web"
)

// The answers of a download link that cannot be used (api.md §4.12).
const (
	messageLinkNotFound = "Download link not found."
	messageLinkExpired  = "Download link has expired."
	messageLinkUsedUp   = "Download limit reached."
)

// linkError answers a link that cannot be used with the error envelope.
func linkError(c fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, downloads.ErrLinkNotFound):
		return pipeline.Error(c, fiber.StatusNotFound, messageLinkNotFound)
	case errors.Is(err, downloads.ErrLinkExpired):
		return pipeline.Error(c, fiber.StatusGone, messageLinkExpired)
	case errors.Is(err, downloads.ErrLinkUsedUp):
		return pipeline.Error(c, fiber.StatusForbidden, messageLinkUsedUp)
	}
	return err
}

// downloadLink is api.md §4.12: a public link made by the internal API.
// A full download (from byte 0) is counted atomically with the cap check;
// HEAD and requests resuming after byte 0 are not counted, except a resume
// of a link never downloaded, which counts as its first download (else a
// capped link could be fetched uncounted from byte 1).
func (h *handlers) downloadLink(c fiber.Ctx) error {
	now := h.now()
	link, err := downloads.FindLink(c.Context(), h.DB, c.Params("token"), now)
	if err != nil && !errors.Is(err, downloads.ErrLinkUsedUp) {
		return linkError(c, err)
	}
	v, verr := catalog.VersionByID(c.Context(), h.DB, link.ProductID, link.VersionID)
	if errors.Is(verr, catalog.ErrVersionNotFound) {
		return linkError(c, downloads.ErrLinkNotFound)
	}
	if verr != nil {
		return verr
	}
	p, perr := catalog.Get(c.Context(), h.DB, link.ProductID)
	if errors.Is(perr, catalog.ErrNotFound) {
		return linkError(c, downloads.ErrLinkNotFound)
	}
	if perr != nil {
		return perr
	}
	file := v.File(link.Type)
	if file == nil {
		return linkError(c, downloads.ErrLinkNotFound)
	}
	if err := filesend.Sized(c.Context(), h.Files, file); err != nil {
		return err
	}
	meta := filesend.Meta{File: file, Type: link.Type, ProductRef: p.ReferenceID, Version: v.Version}
	rng, rerr := filesend.ParseRange(c.Get(fiber.HeaderRange), file.Size)
	if errors.Is(rerr, filesend.ErrUnsatisfiable) {
		return filesend.Unsatisfiable(c, file.Size)
	}
	// Counted: a download from byte 0, or the first request of a link
	// (a resume of nothing counted yet). HEAD never counts.
	head := c.Method() == fiber.MethodHead
	counted := !head && (rng.Start == 0 || link.Downloads == 0)
	switch {
	case errors.Is(err, downloads.ErrLinkUsedUp) && (counted || head):
		return linkError(c, err)
	case counted:
		err := h.DB.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
			if err := downloads.Consume(ctx, tx, link.ID, now); err != nil {
				return err
			}
			_, err := downloads.Record(ctx, tx, downloads.Attempt{
				Source: downloads.SourceLink, ProductID: p.ID, VersionID: v.ID, Version: v.Version, Type: link.Type,
				IP: web.ClientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent), Valid: true,
			})
			return err
		})
		if err != nil {
			return linkError(c, err)
		}
	}
	return filesend.Send(c, h.Files, meta, rng)
}
