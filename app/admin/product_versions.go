package admin

import (
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/filesend"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/storage"
	"github.com/licensor/licensor/app/web"
)

// uploadMemory is how much of a version upload's non-file parts is kept in
// memory; the files go to temporary files and stream on into storage.
const uploadMemory = 1 << 20

// versionForm is the version form as typed, kept when it is shown again.
type versionForm struct {
	Version, ReleasedAt, Summary, Changelog string
	Published, RemoveSQLFile                bool
}

func versionFormOf(v *catalog.Version) versionForm {
	f := versionForm{Version: v.Version, ReleasedAt: v.ReleasedAt.Format(time.DateOnly), Published: v.IsActive}
	if v.Summary != nil {
		f.Summary = *v.Summary
	}
	if v.Changelog != nil {
		f.Changelog = *v.Changelog
	}
	return f
}

func versionPath(productID, id int64) string {
	return fmt.Sprintf("/admin/products/%d/versions/%d", productID, id)
}

// versionNew shows the upload form of a new version of a product.
func (h *handlers) versionNew(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	form := versionForm{ReleasedAt: h.now().In(set.Location()).Format(time.DateOnly), Published: true}
	return h.renderVersionForm(c, fiber.StatusOK, p, nil, form, nil)
}

// versionCreate stores a new version with its files (streamed to storage).
func (h *handlers) versionCreate(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	return h.saveVersion(c, p, nil)
}

// versionEdit shows a version's form, for its metadata and new files.
func (h *handlers) versionEdit(c fiber.Ctx) error {
	p, v, err := h.versionOf(c)
	if err != nil {
		return err
	}
	return h.renderVersionForm(c, fiber.StatusOK, p, v, versionFormOf(v), nil)
}

// versionUpdate saves the edit form; files left empty are kept.
func (h *handlers) versionUpdate(c fiber.Ctx) error {
	p, v, err := h.versionOf(c)
	if err != nil {
		return err
	}
	return h.saveVersion(c, p, v)
}

// saveVersion reads the multipart form and creates (v nil) or updates v
// through the VersionService, which checks, stores and audits.
func (h *handlers) saveVersion(c fiber.Ctx, p *catalog.Product, v *catalog.Version) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	mf, cleanup, err := h.readUpload(c)
	defer cleanup()
	if err != nil {
		return err
	}
	value := func(name string) string {
		if vs := mf.Value[name]; len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
		return ""
	}
	form := versionForm{
		Version: value("version"), ReleasedAt: value("released_at"), Summary: value("summary"),
		Changelog: value("changelog"), Published: value("published") != "", RemoveSQLFile: value("remove_sql_file") != "",
	}
	var verr fields.Error
	in := catalog.VersionInput{
		Version:   fields.Some(form.Version),
		IsActive:  fields.Some(form.Published),
		Summary:   fields.Some(optionalText(form.Summary)),
		Changelog: fields.Some(optionalText(form.Changelog)),
	}
	if form.ReleasedAt != "" {
		d, err := time.ParseInLocation(time.DateOnly, form.ReleasedAt, set.Location())
		if err != nil {
			verr.Add("released_at", fields.Date("released_at"))
		} else {
			in.ReleasedAt = fields.Some(d)
		}
	}
	var opened []multipart.File
	defer func() {
		for _, f := range opened {
			_ = f.Close()
		}
	}()
	open := func(name string) *catalog.Upload {
		fhs := mf.File[name]
		if len(fhs) == 0 || fhs[0].Filename == "" {
			return nil // a file input left empty
		}
		f, err := fhs[0].Open()
		if err != nil {
			verr.Add(name, "The "+fields.Label(name)+" failed to upload.")
			return nil
		}
		opened = append(opened, f)
		return &catalog.Upload{Name: fhs[0].Filename, Body: f}
	}
	in.MainFile = open("main_file")
	in.SQLFile = open("sql_file")
	in.RemoveSQLFile = v != nil && in.SQLFile == nil && form.RemoveSQLFile

	err = verr.Err()
	var saved *catalog.Version
	if err == nil {
		if v == nil {
			saved, err = h.versions.CreateVersion(c.Context(), source(c), set, p, in)
		} else {
			saved, err = h.versions.UpdateVersion(c.Context(), source(c), set, p, v.ID, in)
		}
	}
	if fe, ok := fields.As(err); ok {
		return h.renderVersionForm(c, fiber.StatusUnprocessableEntity, p, v, form, fe.Map())
	}
	if err != nil {
		return err
	}
	verb := "uploaded"
	if v != nil {
		verb = "saved"
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Version %s of %s %s.", saved.Version, p.Name, verb))
	return web.Redirect(c, fiber.StatusSeeOther, versionPath(p.ID, saved.ID))
}

// readUpload returns the request's multipart form. Its body was left
// unread until the admin was signed in and the CSRF token, from the
// X-CSRF-Token header (the upload script) or the form action's query (no
// JavaScript), checked (web.BodyLimit): it streams from the connection
// here, bounded by the upload limit, with the files spooled to temporary
// files.
func (h *handlers) readUpload(c fiber.Ctx) (*multipart.Form, func(), error) {
	cleanup := func() {}
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, cleanup, fiber.NewError(fiber.StatusBadRequest, "The form must be sent as multipart/form-data.")
	}
	req := c.Request()
	if n := req.Header.ContentLength(); n > 0 && int64(n) > h.maxUpload {
		return nil, cleanup, fiber.ErrRequestEntityTooLarge
	}
	var body = req.BodyStream()
	if !req.IsBodyStream() {
		body = strings.NewReader(string(req.Body()))
	}
	mf, err := multipart.NewReader(storage.Limit(body, h.maxUpload), params["boundary"]).ReadForm(uploadMemory)
	if errors.Is(err, storage.ErrTooLarge) {
		return nil, cleanup, fiber.ErrRequestEntityTooLarge
	}
	if err != nil {
		return nil, cleanup, fiber.NewError(fiber.StatusBadRequest, "The upload could not be read.")
	}
	return mf, func() { _ = mf.RemoveAll() }, nil
}

// optionalText is nil for blank text.
func optionalText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (h *handlers) renderVersionForm(c fiber.Ctx, status int, p *catalog.Product, v *catalog.Version, form versionForm, errs map[string]string) error {
	action, title := fmt.Sprintf("/admin/products/%d/versions", p.ID), "New version of "+p.Name
	if v != nil {
		action, title = versionPath(p.ID, v.ID)+"/edit", "Edit version "+v.Version+" of "+p.Name
	}
	return web.Render(c, status, web.View{
		Page: "admin/products/version_form", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": title, "Section": "products", "Product": p, "Version": v,
			"Form": form, "Errors": errs, "Action": action, "MaxFileBytes": h.maxFile,
		},
	})
}

// versionShow is a version's page with its files and rendered changelog.
func (h *handlers) versionShow(c fiber.Ctx) error {
	p, v, err := h.versionOf(c)
	if err != nil {
		return err
	}
	var changelog template.HTML
	if v.Changelog != nil {
		// Stored sanitised; sanitised again whatever wrote the row.
		changelog = template.HTML(catalog.SanitizeHTML(*v.Changelog)) //nolint:gosec // sanitised by bluemonday
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/products/version_show", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": p.Name + " " + v.Version, "Section": "products", "Product": p, "Version": v,
			"Changelog": changelog, "Main": v.File(catalog.FileMain), "SQL": v.File(catalog.FileSQL),
		},
	})
}

// versionPublish and versionUnpublish set the published flag.
func (h *handlers) versionPublish(c fiber.Ctx) error   { return h.setVersionPublished(c, true) }
func (h *handlers) versionUnpublish(c fiber.Ctx) error { return h.setVersionPublished(c, false) }

func (h *handlers) setVersionPublished(c fiber.Ctx, on bool) error {
	p, v, err := h.versionOf(c)
	if err != nil {
		return err
	}
	_, _, err = h.versions.SetVersionPublished(c.Context(), source(c), p, v.ID, on)
	if err != nil {
		return err
	}
	state := "published"
	if !on {
		state = "unpublished"
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Version %s %s.", v.Version, state))
	return web.Redirect(c, fiber.StatusSeeOther, versionPath(p.ID, v.ID))
}

// versionDelete deletes a version and the files no other version uses;
// the button asks first.
func (h *handlers) versionDelete(c fiber.Ctx) error {
	p, v, err := h.versionOf(c)
	if err != nil {
		return err
	}
	err = h.versions.DeleteVersion(c.Context(), source(c), p, v.ID)
	// Deleted meanwhile (another tab, another admin) is deleted all the same.
	if err := errkind.IgnoreNotFound(err); err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Version %s deleted.", v.Version))
	return web.Redirect(c, fiber.StatusSeeOther, productPath(p.ID)+"#product-versions")
}

// versionOf loads the product of :id and its version :vid (a row id).
func (h *handlers) versionOf(c fiber.Ctx) (*catalog.Product, *catalog.Version, error) {
	p, err := h.productOf(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(c.Params("vid"), 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, fiber.ErrNotFound
	}
	v, err := catalog.VersionByID(c.Context(), h.db, p.ID, id)
	return p, v, err
}

// versionFile downloads a version's main or SQL file (:type) as the API's
// download endpoints name and send it (one Range served), without logging
// an update download: the admin is not a licensee.
func (h *handlers) versionFile(c fiber.Ctx) error {
	p, v, err := h.versionOf(c)
	if err != nil {
		return err
	}
	typ := c.Params("type")
	if typ != catalog.FileMain && typ != catalog.FileSQL {
		return fiber.ErrNotFound
	}
	f := v.File(typ)
	if f == nil || h.versions == nil {
		return fiber.NewError(fiber.StatusNotFound, "This version has no such file.")
	}
	store := h.versions.Store()
	// A file the version names but storage lacks says so, rather than the
	// not-found page that a wrong address gets.
	if err := filesend.Sized(c.Context(), store, f); errors.Is(err, storage.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "The stored file of this version is missing.")
	} else if err != nil {
		return err
	}
	rng, err := filesend.ParseRange(c.Get(fiber.HeaderRange), f.Size)
	if errors.Is(err, filesend.ErrUnsatisfiable) {
		return filesend.Unsatisfiable(c, f.Size)
	}
	return filesend.Send(c, store, filesend.Meta{File: f, Type: typ, ProductRef: p.ReferenceID, Version: v.Version}, rng)
}
