package internalapi

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
)

// Messages of edit_or_create_version (docs/api/legacy.md).
const (
	msgLegacyVersionCreated = "Version created successfully."
	msgLegacyVersionUpdated = "Version updated successfully."
)

type legacyVersion struct {
	VID         string `json:"vid"`
	Version     string `json:"version"`
	ReleaseDate string `json:"release_date"`
}

type legacyVersionResponse struct {
	Status  bool          `json:"status"`
	Message string        `json:"message"`
	Data    legacyVersion `json:"data"`
}

// legacyEditOrCreateVersion: POST /api/edit_or_create_version, multipart
// with main_file and sql_file streamed to storage. The product's version
// with that version string is updated when there is one, else created;
// the rules and their 422 messages are those of docs/api/internal.md#versions.
func (h *handlers) legacyEditOrCreateVersion(c fiber.Ctx, r *pipeline.Request) error {
	f, cleanup, err := h.pipeline.ReadUpload(c, h.maxUpload)
	defer cleanup()
	if err != nil {
		return err
	}
	ref, okProduct := f.String("product_id")
	name, okVersion := f.String("version")
	if !okProduct || !okVersion {
		return legacyMissing(c)
	}
	p, err := catalog.ByRef(c.Context(), h.db, ref)
	if err != nil {
		return legacyError(c, fiber.StatusNotFound, err)
	}
	existing, err := versionNamed(c.Context(), h.db, p.ID, name)
	if err != nil {
		return err
	}

	in, closeFiles := readVersion(f, r.Settings.Location())
	defer closeFiles()
	if err := f.Err(); err != nil {
		return err
	}
	var v *catalog.Version
	message := msgLegacyVersionCreated
	if existing == nil {
		v, err = h.versions.CreateVersion(c.Context(), source(r), r.Settings, p, in)
	} else {
		message = msgLegacyVersionUpdated
		v, err = h.versions.UpdateVersion(c.Context(), source(r), r.Settings, p, existing.ID, in)
	}
	if err != nil {
		return err
	}
	return c.JSON(legacyVersionResponse{Status: true, Message: message, Data: legacyVersion{
		VID: v.VersionID, Version: v.Version, ReleaseDate: *legacyDate(&v.ReleasedAt, r.Settings.Location()),
	}})
}

// versionNamed finds p's version whose version string is name (any case),
// or nil: unlike the modern path's {version}, a version id never matches.
func versionNamed(ctx context.Context, idb bun.IDB, productID int64, name string) (*catalog.Version, error) {
	vs, err := catalog.Versions(ctx, idb, productID)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if strings.EqualFold(vs[i].Version, name) {
			return &vs[i], nil
		}
	}
	return nil, nil
}
