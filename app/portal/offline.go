package portal

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

// offlinePage is the offline activation page
// (docs/api/verifying.md#offline-activation): a machine's activation
// request in, its license file out; its release proof frees the slot.
func (h *handlers) offlinePage(c fiber.Ctx) error {
	return h.renderOffline(c, fiber.StatusOK, "", "")
}

func (h *handlers) renderOffline(c fiber.Ctx, status int, requestErr, releaseErr string) error {
	return web.Render(c, status, web.View{
		Page: "portal/offline", Layout: "layouts/portal",
		Data: fiber.Map{"Title": "Offline activation", "RequestError": requestErr, "ReleaseError": releaseErr,
			"Request": c.FormValue("request"), "Release": c.FormValue("release")},
	})
}

// offlineActivate activates one of the customer's licenses for the machine
// whose request was pasted or uploaded and answers its license file.
func (h *handlers) offlineActivate(c fiber.Ctx) error {
	if h.licensing == nil || h.signing == nil {
		return errors.New("portal: no licensing service or key ring")
	}
	doc, err := web.FormDocument(c, "request", "request_file", maxOfflineDocument)
	if err != nil || doc == "" {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, documentError(err, "Paste the activation request or choose its file."), "")
	}
	req, err := licensing.ParseOfflineRequest(doc)
	if err != nil {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, err.Error(), "")
	}
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	cu := current(c)
	res, err := h.licensing.ActivateOffline(c.Context(), h.db, set, licensing.OfflineActivateRequest{Request: req, Customer: cu, By: source(c, cu)})
	if err != nil {
		return fmt.Errorf("portal offline activation: %w", err)
	}
	if res.Failure != nil {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, res.Failure.Message, "")
	}
	name, file, err := licensing.OfflineLicenseFile(h.signing, res, cu, h.now())
	if err != nil {
		return fmt.Errorf("portal offline license file: %w", err)
	}
	c.Attachment(name)
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(file)
}

// offlineRelease frees the slot of one of the customer's offline
// activations on its machine's release proof.
func (h *handlers) offlineRelease(c fiber.Ctx) error {
	if h.licensing == nil {
		return errors.New("portal: no licensing service")
	}
	doc, err := web.FormDocument(c, "release", "release_file", maxOfflineDocument)
	if err != nil || doc == "" {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, "", documentError(err, "Paste the release proof or choose its file."))
	}
	proof, err := licensing.ParseReleaseProof(doc)
	if err != nil {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, "", err.Error())
	}
	cu := current(c)
	a, err := h.licensing.ReleaseOffline(c.Context(), h.db, licensing.OfflineReleaseRequest{Proof: proof, Customer: cu, By: source(c, cu)})
	if msg := licensing.ReleaseMessageOf(err); msg != "" {
		return h.renderOffline(c, fiber.StatusUnprocessableEntity, "", msg)
	}
	if err != nil {
		return fmt.Errorf("portal offline release: %w", err)
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("The offline activation of license %s on machine %s was released; its slot is free.", maskCode(a.LicenseCode), proof.Fingerprint))
	return web.Redirect(c, fiber.StatusSeeOther, "/customer/offline-activation")
}

// documentError is the form's message for a missing or oversized document.
func documentError(err error, missing string) string {
	if errors.Is(err, web.ErrDocumentTooLarge) {
		return "The file is too large: an activation request or release proof is a few hundred bytes."
	}
	return missing
}
