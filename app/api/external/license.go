package external

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/apirequest"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// Field limits of api.md §4.3.
const (
	productIDMax   = 100
	licenseCodeMax = 255
	clientNameMax  = 255
)

// The blacklist messages of api.md §1.5, on license_code and client_name.
const (
	messageCodeBlacklisted  = "The license code is blacklisted."
	messageBuyerBlacklisted = "The client name is blacklisted."
)

// verifyTypes are the verify_type values accepted without a plugin
// (§4.3). With no enabled plugin serving envato or gumroad, a code they do
// not know locally fails as invalid at step 5, as the spec says happens
// "with no plugin for the type".
var verifyTypes = []string{"non_envato", "envato", "gumroad"}

// connectionCheck answers once the pipeline has passed (§4.2).
func (h *handlers) connectionCheck(c fiber.Ctx, _ *pipeline.Request) error {
	return c.JSON(messageResponse{Status: true, IsActive: true, Message: "Connection established."})
}

// activate is api.md §4.3.
func (h *handlers) activate(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	productRef, _ := f.String("product_id", apirequest.Required(), apirequest.MaxLen(productIDMax))
	code, _ := f.String("license_code", apirequest.Required(), apirequest.MaxLen(licenseCodeMax))
	clientName, _ := f.String("client_name", apirequest.MaxLen(clientNameMax))
	verifyType, _ := f.String("verify_type")
	if verifyType != "" && !h.knownVerifyType(verifyType) {
		f.Fail("verify_type", fields.Selected("verify_type"))
	}
	if err := f.Err(); err != nil {
		return err
	}
	if err := checkBlacklists(r.Settings, code, clientName); err != nil {
		return err
	}

	product, err := h.Products.ActiveByRef(c.Context(), productRef)
	if errors.Is(err, catalog.ErrNotFound) {
		return activateFailure(c, fiber.StatusNotFound, licensing.FailProductNotFound)
	}
	if err != nil {
		return h.activateError(c, err)
	}
	failure, status, err := h.fromMarketplace(c, r, product, code, clientName, verifyType)
	if err != nil {
		return h.activateError(c, err)
	}
	if failure != nil {
		return activateFailure(c, status, *failure)
	}
	res, err := h.Licensing.Activate(c.Context(), h.DB, r.Settings, licensing.ActivateRequest{
		Product: product, LicenseCode: code, ClientName: clientName, Caller: r.Caller,
	})
	if err != nil {
		return h.activateError(c, err)
	}
	if res.Failure != nil {
		return activateFailure(c, fiber.StatusOK, *res.Failure)
	}
	token, err := h.Signing.IssueToken(res.Activation.ID, product.ReferenceID, r.Now)
	if err != nil {
		return h.activateError(c, err)
	}
	return c.JSON(activateResponse{
		Status: true, IsActive: true, Message: licensing.MessageActivated,
		LicResponse: &token,
		Data: &activateData{
			LicenseData:  token,
			ExpiresAt:    pipeline.TimestampOrNull(res.License.ExpiresAt),
			UpdatesUntil: pipeline.TimestampOrNull(res.License.UpdatesUntil),
			SupportUntil: pipeline.TimestampOrNull(res.License.SupportUntil),
		},
	})
}

// activateError answers an unexpected error of activate with its own 500
// message (§4.3), after logging it; while the database cannot be reached,
// the common 503 instead.
func (h *handlers) activateError(c fiber.Ctx, err error) error {
	if db.Unavailable(err) {
		return err
	}
	h.Logger.ErrorContext(c.Context(), "activate", "error", err, "request_id", web.RequestIDOf(c))
	return c.Status(fiber.StatusInternalServerError).JSON(activateResponse{Message: licensing.MessageActivateError})
}

// licenseProof is what verify and deactivate were sent to identify an
// activation: a token (license_data, or its legacy name license_file), else
// a license code.
type licenseProof struct {
	token, code, clientName string
}

func (h *handlers) readProof(c fiber.Ctx) (productRef string, p licenseProof, err error) {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return "", p, err
	}
	productRef, _ = f.String("product_id", apirequest.Required())
	field := "license_data"
	if !f.Has(field) {
		field = "license_file"
	}
	p.token, _ = f.String(field)
	p.code, _ = f.String("license_code")
	p.clientName, _ = f.String("client_name")
	return productRef, p, f.Err()
}

// verify is api.md §4.4.
func (h *handlers) verify(c fiber.Ctx, r *pipeline.Request) error {
	productRef, proof, err := h.readProof(c)
	if err != nil {
		return err
	}
	// The token is checked before any database work: a forged token costs
	// no query (§4.4 step 1).
	var tok checkedToken
	if proof.token != "" {
		tok = h.tokens.check(proof.token, r.Settings)
		if tok.legacy {
			proof.code, proof.clientName = tok.licenseCode, tok.clientName
		}
	}
	if proof.token == "" || tok.legacy {
		if err := checkBlacklists(r.Settings, proof.code, proof.clientName); err != nil {
			return err
		}
	} else if err := checkBlacklists(r.Settings, "", proof.clientName); err != nil {
		return err
	}

	product, err := h.Products.ActiveByRef(c.Context(), productRef)
	if errors.Is(err, catalog.ErrNotFound) {
		return verifyFailure(c, licensing.FailProductNotFound)
	}
	if err != nil {
		return err
	}
	var failure *licensing.Failure
	switch {
	case proof.token != "" && !tok.ok:
		failure = &licensing.FailVerifyInvalid
	case proof.token != "" && !tok.legacy:
		failure, err = h.Licensing.VerifyActivation(c.Context(), h.DB, r.Settings, licensing.VerifyRequest{
			Product: product, ActivationID: tok.activationID, TokenProductRef: tok.productRef,
			ClientName: proof.clientName, Caller: r.Caller,
		})
	case proof.code != "":
		failure, err = h.Licensing.VerifyCode(c.Context(), h.DB, r.Settings, licensing.VerifyCodeRequest{
			Product: product, LicenseCode: proof.code, ClientName: proof.clientName, Caller: r.Caller,
		})
	default:
		failure = &licensing.FailDataRequired
	}
	if err != nil {
		return err
	}
	if failure != nil {
		return verifyFailure(c, *failure)
	}
	return c.JSON(verifyResponse{Status: true, IsActive: true, Message: licensing.MessageVerified})
}

// deactivate is api.md §4.5. It works for inactive products and for
// blocked or expired licenses.
func (h *handlers) deactivate(c fiber.Ctx, r *pipeline.Request) error {
	productRef, proof, err := h.readProof(c)
	if err != nil {
		return err
	}
	var tok checkedToken
	if proof.token != "" {
		tok = h.tokens.check(proof.token, r.Settings)
		if tok.legacy {
			proof.code, proof.clientName = tok.licenseCode, tok.clientName
		}
	}
	product, err := h.Products.ByRef(c.Context(), productRef)
	if errors.Is(err, catalog.ErrNotFound) {
		return deactivateFailure(c, licensing.FailProductNotFound)
	}
	if err != nil {
		return err
	}
	var failure *licensing.Failure
	switch {
	case proof.token != "" && !tok.ok:
		failure = &licensing.FailVerifyInvalid
	case proof.token != "" && !tok.legacy:
		failure, err = h.Licensing.DeactivateActivation(c.Context(), h.DB, licensing.VerifyRequest{
			Product: product, ActivationID: tok.activationID, TokenProductRef: tok.productRef,
			ClientName: proof.clientName, Caller: r.Caller,
		})
	case proof.code != "":
		failure, err = h.Licensing.DeactivateCode(c.Context(), h.DB, licensing.VerifyCodeRequest{
			Product: product, LicenseCode: proof.code, ClientName: proof.clientName, Caller: r.Caller,
		})
	default:
		failure = &licensing.FailDataRequired
	}
	if err != nil {
		return err
	}
	if failure != nil {
		return deactivateFailure(c, *failure)
	}
	// is_active is true on success: current clients delete their stored
	// token when it is truthy (§4.5).
	return c.JSON(deactivateResponse{Status: true, IsActive: true, Message: licensing.MessageDeactivated})
}

// check is api.md §4.6.
func (h *handlers) check(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.Pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	var code string
	switch {
	case f.Has("license_code"):
		code, _ = f.String("license_code", apirequest.MaxLen(licenseCodeMax))
	case f.Has("purchase_code"):
		code, _ = f.String("purchase_code", apirequest.MaxLen(licenseCodeMax))
	default:
		f.Fail("license_code", fields.RequiredWithout("license_code", "purchase_code"))
	}
	productRef, _ := f.String("product_id", apirequest.MaxLen(productIDMax))
	// verify_type names an order-sync plugin to ask when no local license
	// matches.
	verifyType, _ := f.String("verify_type")
	if err := f.Err(); err != nil {
		return err
	}
	if err := checkBlacklists(r.Settings, code, ""); err != nil {
		return err
	}

	var product *catalog.Product
	if productRef != "" {
		product, err = h.Products.ActiveByRef(c.Context(), productRef)
		if errors.Is(err, catalog.ErrNotFound) {
			f := licensing.FailProductNotFound
			return c.Status(fiber.StatusNotFound).JSON(checkResponse{Message: f.Message, StatusCode: f.StatusCode})
		}
		if err != nil {
			return err
		}
	}
	res, err := licensing.Check(c.Context(), h.DB, code, product, r.Now)
	if err != nil {
		return err
	}
	if res.License == nil {
		if plugin, marketplace, ok := h.Marketplace.Serving(verifyType); ok {
			// The plugin step: its sale object becomes data.
			v, err := h.askMarketplace(c, plugin, product, code, "")
			f, status := marketplaceFailure(v, err, marketplace, licensing.FailCheckInvalid)
			if f == nil {
				data := v.Sale.Data
				if data == nil {
					data = map[string]string{}
				}
				return c.JSON(checkResponse{Status: true, IsActive: true, Message: licensing.MessageVerified, Data: data})
			}
			return c.Status(status).JSON(checkResponse{Message: f.Message, StatusCode: f.StatusCode})
		}
		f := licensing.FailCheckInvalid
		return c.Status(fiber.StatusBadRequest).JSON(checkResponse{Message: f.Message, StatusCode: f.StatusCode})
	}
	data := presentCheck(res.License, res.License.Status(r.Now))
	if res.Failure != nil {
		return c.JSON(checkResponse{Message: res.Failure.Message, StatusCode: res.Failure.StatusCode, Data: data})
	}
	return c.JSON(checkResponse{Status: true, IsActive: true, Message: licensing.MessageVerified, Data: data})
}

// knownVerifyType: one of verifyTypes, or served by an enabled plugin.
func (h *handlers) knownVerifyType(t string) bool {
	for _, v := range verifyTypes {
		if strings.EqualFold(t, v) {
			return true
		}
	}
	_, _, ok := h.Marketplace.Serving(t)
	return ok
}

// checkBlacklists applies the license-code and buyer-name blacklists
// (§2.6) to the values sent ("" is not checked): 422 on the field.
func checkBlacklists(set *settings.Values, code, clientName string) error {
	var errs apirequest.Errors
	if code != "" && licensing.BlacklistMatch(set.BlacklistedLicenseCodes, code) {
		errs.Add("license_code", messageCodeBlacklisted)
	}
	if clientName != "" && licensing.BlacklistMatch(set.BlacklistedBuyerNames, clientName) {
		errs.Add("client_name", messageBuyerBlacklisted)
	}
	return errs.Err()
}
