package external

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/filesend"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/web"
)

// The answers of a download link that cannot be used (docs/api/external.md#download-links).
const (
	messageLinkNotFound = "Download link not found."
	messageLinkExpired  = "Download link has expired."
	messageLinkUsedUp   = "Download limit reached."
)

// linkError answers a link that cannot be used with the error envelope.
func linkError(c fiber.Ctx, err error) error {
	switch {
	// The link, or the version or product it names, is gone.
	case errors.Is(err, errkind.NotFound):
		return pipeline.Error(c, fiber.StatusNotFound, messageLinkNotFound)
	case errors.Is(err, downloads.ErrLinkExpired):
		return pipeline.Error(c, fiber.StatusGone, messageLinkExpired)
	case errors.Is(err, downloads.ErrLinkUsedUp):
		return pipeline.Error(c, fiber.StatusForbidden, messageLinkUsedUp)
	}
	return err
}

// downloadLink is docs/api/external.md#download-links: a public link made by the internal API.
// Every GET is claimed atomically with the cap check (downloads.Consume):
// a download from byte 0, or the first request of a link, counts as a
// download; a resume (a Range after byte 0) counts only its bytes, so once
// the cap is used it is refused like a download
// (docs/deploy.md#download-links-and-range), and the bytes a cut-off
// answer did not send are given back for its resume. HEAD is not counted.
func (h *handlers) downloadLink(c fiber.Ctx) error {
	now := h.now()
	link, err := downloads.FindLink(c.Context(), h.DB, c.Params("token"), now)
	if err != nil && !errors.Is(err, downloads.ErrLinkUsedUp) {
		return linkError(c, err)
	}
	v, verr := catalog.VersionByID(c.Context(), h.DB, link.ProductID, link.VersionID)
	if verr != nil {
		return linkError(c, verr)
	}
	p, perr := catalog.Get(c.Context(), h.DB, link.ProductID)
	if perr != nil {
		return linkError(c, perr)
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
	if c.Method() == fiber.MethodHead {
		if err != nil {
			return linkError(c, err)
		}
		return filesend.Send(c, h.Files, meta, rng)
	}
	claim := downloads.Claim{Bytes: rng.Length(), FileSize: file.Size, Download: rng.Start == 0 || link.Downloads == 0}
	if err != nil && claim.Download {
		return linkError(c, err)
	}
	err = h.DB.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		if err := downloads.Consume(ctx, tx, link.ID, now, claim); err != nil {
			return err
		}
		if !claim.Download {
			return nil
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
	if link.MaxDownloads != nil {
		id, db := link.ID, h.DB
		meta.Done = func(unsent int64) {
			if unsent <= 0 {
				return
			}
			// The request's context has ended with its answer.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := downloads.Release(ctx, db, id, unsent); err != nil {
				h.Logger.Warn("download link: bytes not given back", "link", id, "err", err)
			}
		}
	}
	return filesend.Send(c, h.Files, meta, rng)
}
