package admin

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// maxOfflineDocument bounds a pasted or uploaded activation request or
// release proof.
const maxOfflineDocument = 8 << 10

// offlinePage is the console's offline activation page
// (docs/api/verifying.md#offline-activation): any license, on an admin's
// behalf.
func (h *handlers) offlinePage(c fiber.Ctx) error {
	return h.renderOffline(c, fiber.StatusOK, "", "")
}

func (h *handlers) renderOffline(c fiber.Ctx, status int, requestErr, releaseErr string) error {
	return web.Render(c, status, web.View{
		Page: "admin/activations/offline", Layout: "layouts/admin",
		Data: fiber.Map{"Title": "Offline activation", "Section": "activations", "RequestError": requestErr, "ReleaseError": releaseErr,
			"Request": c.FormValue("request"), "Release": c.FormValue("release")},
	})
}

// offlineActivate activates a license for the machine whose request was
// pasted or uploaded and answers its license file.
func (h *handlers) offlineActivate(c fiber.Ctx) error {
	if h.licensing == nil || h.signing == nil {
		return errors.New("admin: no licensing service or key ring")
	}
	doc, err := web.FormDocument(c, "request", "request_file", maxOfflineDocument)
	if err != nil || doc == "" {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, offlineDocumentError(err, "Paste the activation request or choose its file."), "")
	}
	req, err := licensing.ParseOfflineRequest(doc)
	if err != nil {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, err.Error(), "")
	}
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	res, err := h.licensing.ActivateOffline(c.Context(), h.db, set, licensing.OfflineActivateRequest{Request: req, By: source(c)})
	if err != nil {
		return fmt.Errorf("console offline activation: %w", err)
	}
	if res.Failure != nil {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, res.Failure.Message, "")
	}
	name, file, err := licensing.OfflineLicenseFile(h.signing, res, nil, h.now())
	if err != nil {
		return fmt.Errorf("console offline license file: %w", err)
	}
	c.Attachment(name)
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(file)
}

// offlineRelease frees an offline activation's slot on its machine's
// release proof.
func (h *handlers) offlineRelease(c fiber.Ctx) error {
	if h.licensing == nil {
		return errors.New("admin: no licensing service")
	}
	doc, err := web.FormDocument(c, "release", "release_file", maxOfflineDocument)
	if err != nil || doc == "" {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, "", offlineDocumentError(err, "Paste the release proof or choose its file."))
	}
	proof, err := licensing.ParseReleaseProof(doc)
	if err != nil {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, "", err.Error())
	}
	a, err := h.licensing.ReleaseOffline(c.Context(), h.db, licensing.OfflineReleaseRequest{Proof: proof, By: source(c)})
	if msg := licensing.ReleaseMessageOf(err); msg != "" {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, "", msg)
	}
	if err != nil {
		return fmt.Errorf("console offline release: %w", err)
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Activation %d of license %s on machine %s was released; its slot is free.", a.ID, a.LicenseCode, proof.Fingerprint))
	return web.Redirect(c, fiber.StatusSeeOther, fmt.Sprintf("/admin/activations/%d", a.ID))
}

// offlineDocumentError is the form's message for a missing or oversized
// document.
func offlineDocumentError(err error, missing string) string {
	if errors.Is(err, web.ErrDocumentTooLarge) {
		return "The file is too large: an activation request or release proof is a few hundred bytes."
	}
	return missing
}
