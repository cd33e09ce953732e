package admin

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/web"
)

// importForm is what the upload form sent, kept when it is shown again.
type importForm struct {
	Kind string
}

// importsIndex shows the upload form, the example files and the latest
// imports.
func (h *handlers) importsIndex(c fiber.Ctx) error {
	return h.renderImports(c, fiber.StatusOK, importForm{Kind: c.Query("kind", string(imports.Customers))}, nil)
}

func (h *handlers) renderImports(c fiber.Ctx, status int, form importForm, errs map[string]string) error {
	recent, err := h.imports.Recent(c.Context(), 20)
	if err != nil {
		return err
	}
	formats := h.imports.Formats().All()
	var accept []string
	for _, f := range formats {
		accept = append(accept, f.Extensions...)
	}
	// The kinds of file this admin may import.
	var kinds []web.Option
	a := currentAdmin(c)
	if a.Can(admins.CustomersImport) {
		kinds = append(kinds, web.Option{Value: string(imports.Customers), Label: "Customers"})
	}
	if a.Can(admins.LicensesImport) {
		kinds = append(kinds, web.Option{Value: string(imports.Licenses), Label: "Licenses"})
	}
	return web.Render(c, status, web.View{
		Page: "admin/imports/index", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": "Import", "Section": "imports", "Form": form, "Errors": errs, "Recent": recent,
			"Formats": formats, "Accept": strings.Join(accept, ","), "KindOptions": kinds,
			"MaxMB": h.imports.MaxBytes() >> 20, "CustomerFields": imports.CustomerFields, "LicenseFields": imports.LicenseFields,
		},
	})
}

// importUpload stores and validates an uploaded file, then shows its
// preview. A file that cannot be used is named next to the file field.
func (h *handlers) importUpload(c fiber.Ctx) error {
	form := importForm{Kind: c.FormValue("kind")}
	kind := imports.Kind(form.Kind)
	if !kind.Valid() {
		return h.renderImports(c, fiber.StatusUnprocessableEntity, form, map[string]string{"kind": "Choose customers or licenses."})
	}
	if p := importPermission(kind); !currentAdmin(c).Can(p) {
		return h.refuse(c, currentAdmin(c), p)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return h.renderImports(c, fiber.StatusUnprocessableEntity, form, map[string]string{"file": "Choose a file to import."})
	}
	if fh.Size > int64(h.imports.MaxBytes()) {
		return h.renderImports(c, fiber.StatusUnprocessableEntity, form,
			map[string]string{"file": fmt.Sprintf("The file is larger than %d MB.", h.imports.MaxBytes()>>20)})
	}
	content, err := readUpload(fh)
	if err != nil {
		return err
	}
	im, err := h.imports.Upload(c.Context(), source(c), kind, fh.Filename, content)
	var fe *imports.FileError
	if errors.As(err, &fe) {
		return h.renderImports(c, fiber.StatusUnprocessableEntity, form, map[string]string{"file": fe.Message})
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, fiber.StatusSeeOther, fmt.Sprintf("/admin/imports/%d", im.ID))
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("open upload: %w", err)
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(f)
}

// importShow is the preview of a validated import (every bad row, a sample
// of good ones, the choices), or the progress and report of a started one.
// htmx polls it every second while the job runs and gets the progress
// fragment alone.
func (h *handlers) importShow(c fiber.Ctx) error {
	im, err := h.importOf(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/imports/show", Layout: "layouts/admin", Fragment: "admin/imports/show/progress",
		Data: fiber.Map{
			"Title": "Import #" + strconv.FormatInt(im.ID, 10), "Section": "imports", "Import": im,
			"Fields": imports.Kind(im.Kind).Fields(), "NoQueue": h.outbound == nil,
		},
	})
}

// importStart runs the import: the good rows, or all or nothing.
func (h *handlers) importStart(c fiber.Ctx) error {
	im, err := h.importOf(c)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/admin/imports/%d", im.ID)
	err = h.imports.Start(c.Context(), source(c), im.ID, c.FormValue("on_duplicate"), c.FormValue("mode") == "all")
	switch {
	case errors.Is(err, imports.ErrHasBadRows):
		web.AddFlash(c, web.FlashError, fmt.Sprintf("Nothing was imported: the file has %s and you chose all or nothing. Fix the file and upload it again, or import the good rows.", plural(im.BadRows, "bad row", "bad rows")))
	case errors.Is(err, imports.ErrNotPending):
		web.AddFlash(c, web.FlashError, "This import was already started or cancelled.")
	case errors.Is(err, imports.ErrNoQueue):
		web.AddFlash(c, web.FlashError, "This node cannot run background jobs, so the import cannot start.")
	case err != nil:
		return err
	default:
		web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Import started: %s.", plural(im.GoodRows, "good row", "good rows")))
	}
	return web.Redirect(c, fiber.StatusSeeOther, path)
}

// importCancel is "import nothing".
func (h *handlers) importCancel(c fiber.Ctx) error {
	im, err := h.importOf(c)
	if err != nil {
		return err
	}
	err = h.imports.Cancel(c.Context(), source(c), im.ID)
	switch {
	case errors.Is(err, imports.ErrNotPending):
		web.AddFlash(c, web.FlashError, "This import was already started or cancelled.")
	case err != nil:
		return err
	default:
		web.AddFlash(c, web.FlashSuccess, "Nothing was imported.")
	}
	return web.Redirect(c, fiber.StatusSeeOther, fmt.Sprintf("/admin/imports/%d", im.ID))
}

// importExample serves the example file of a kind in a format.
func (h *handlers) importExample(c fiber.Ctx) error {
	kind := imports.Kind(c.Params("kind"))
	f, ok := h.imports.Formats().Get(c.Params("format"))
	if !kind.Valid() || !ok || f.Example == nil {
		return fiber.ErrNotFound
	}
	ext := ""
	if len(f.Extensions) > 0 {
		ext = f.Extensions[0]
	}
	c.Attachment(fmt.Sprintf("%s-example%s", kind, ext))
	c.Set(fiber.HeaderContentType, f.ContentType) // after Attachment's own: one charset
	return c.Send(f.Example(kind))
}

func (h *handlers) importOf(c fiber.Ctx) (*imports.Import, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	im, err := h.imports.Get(c.Context(), id)
	if err != nil {
		return nil, err
	}
	if p := importPermission(imports.Kind(im.Kind)); !currentAdmin(c).Can(p) {
		return nil, h.refuse(c, currentAdmin(c), p)
	}
	return im, nil
}

// importPermission is what an import of kind needs.
func importPermission(kind imports.Kind) admins.Permission {
	if kind == imports.Customers {
		return admins.CustomersImport
	}
	return admins.LicensesImport
}
