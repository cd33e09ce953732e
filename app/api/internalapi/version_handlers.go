package internalapi

import (
	"io"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
)

// msgVersionDeleted answers DELETE …/versions/{version} (docs/api/internal.md).
const msgVersionDeleted = "Product version deleted successfully."

// listVersions: GET /api/internal/products/{product}/versions, every
// version newest first, not paginated.
func (h *handlers) listVersions(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	vs, err := catalog.Versions(c.Context(), h.db, p.ID)
	if err != nil {
		return err
	}
	out := make([]versionResource, len(vs))
	for i := range vs {
		out[i] = presentVersion(&vs[i], p)
	}
	return respondData(c, fiber.StatusOK, out)
}

// getVersion: GET /api/internal/products/{product}/versions/{version}, a
// version id or a version string of that product.
func (h *handlers) getVersion(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	v, err := resolveVersion(c.Context(), h.db, p, param(c, "version"))
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentVersion(v, p))
}

// createVersion: POST /api/internal/products/{product}/versions, multipart
// with main_file (and sql_file); the files stream to storage (docs/api/internal.md#versions).
func (h *handlers) createVersion(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	f, cleanup, err := h.pipeline.ReadUpload(c, h.maxUpload)
	defer cleanup()
	if err != nil {
		return err
	}
	in, closeFiles := readVersion(f, r.Settings.Location())
	defer closeFiles()
	if err := f.Err(); err != nil {
		return err
	}
	v, err := h.versions.CreateVersion(c.Context(), source(r), r.Settings, p, in)
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusCreated, presentVersion(v, p))
}

// updateVersion: POST, PUT or PATCH /api/internal/products/{product}/
// versions/{version}; partial, multipart when files are replaced (POST,
// since PHP clients cannot send multipart PUTs), JSON or form otherwise.
func (h *handlers) updateVersion(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	v, err := resolveVersion(c.Context(), h.db, p, param(c, "version"))
	if err != nil {
		return err
	}
	f, cleanup, err := h.pipeline.ReadUpload(c, h.maxUpload)
	defer cleanup()
	if err != nil {
		return err
	}
	in, closeFiles := readVersion(f, r.Settings.Location())
	defer closeFiles()
	if err := f.Err(); err != nil {
		return err
	}
	updated, err := h.versions.UpdateVersion(c.Context(), source(r), r.Settings, p, v.ID, in)
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentVersion(updated, p))
}

// deleteVersion: DELETE /api/internal/products/{product}/versions/{version},
// with the files no other version uses.
func (h *handlers) deleteVersion(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	v, err := resolveVersion(c.Context(), h.db, p, param(c, "version"))
	if err != nil {
		return err
	}
	err = h.versions.DeleteVersion(c.Context(), source(r), p, v.ID)
	// Deleted meanwhile is deleted all the same.
	if err := errkind.IgnoreNotFound(err); err != nil {
		return err
	}
	return respondAction(c, msgVersionDeleted)
}

// readVersion reads the fields of docs/api/internal.md#versions; the rules between them are
// the catalog's. closeFiles closes the uploads' readers.
func readVersion(f *apirequest.Fields, loc *time.Location) (in catalog.VersionInput, closeFiles func()) {
	in = catalog.VersionInput{
		Version:   optString(f, "version"),
		VersionID: optString(f, "version_id"),
		Summary:   optText(f, "summary"),
		Changelog: optText(f, "changelog"),
		IsActive:  optBool(f, "is_active"),
	}
	released := "released_at"
	if !f.Sent(released) && f.Sent("released") {
		released = "released"
	}
	if d := optDate(f, released, loc); d.Set && d.Value != nil {
		in.ReleasedAt = fields.Some(*d.Value)
	}
	if !in.IsActive.Set && f.Has("version_status") {
		in.IsActive = optBool(f, "version_status")
	}
	if del := optBool(f, "delete_old_versions"); del.Set {
		in.DeleteOldVersions = del.Value
	}
	in.Signature, _ = f.String("signature")
	in.KeyID, _ = f.String("key_id")
	in.Manifest, _ = f.String("manifest", apirequest.KeepSpace())

	var opened []io.Closer
	open := func(name string) *catalog.Upload {
		fh, ok := f.File(name)
		if !ok {
			return nil
		}
		file, err := fh.Open()
		if err != nil {
			f.Fail(name, "The "+fields.Label(name)+" failed to upload.")
			return nil
		}
		opened = append(opened, file)
		return &catalog.Upload{Name: fh.Filename, Body: file}
	}
	in.MainFile = open("main_file")
	in.SQLFile = open("sql_file")
	// sql_file sent empty (not a file) removes the stored one.
	if in.SQLFile == nil && f.Sent("sql_file") && !f.Has("sql_file") {
		in.RemoveSQLFile = true
	}
	return in, func() {
		for _, c := range opened {
			_ = c.Close()
		}
	}
}
