package external

import (
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web"
)

// Field limits of docs/api/external.md#activate.
const (
	productIDMax   = 100
	licenseCodeMax = 255
	clientNameMax  = 255
)

// verifyTypes are the verify_type values accepted without a plugin
// (docs/api/external.md#activate). With no enabled plugin serving envato or gumroad, a code they do
// not know locally fails as invalid at step 5, as the spec says happens
// "with no plugin for the type".
var verifyTypes = []string{"non_envato", "envato", "gumroad"}

// connectionCheck answers once the pipeline has passed (docs/api/external.md#connection-check).
func (h *handlers) connectionCheck(c fiber.Ctx, _ *pipeline.Request) error {
	return c.JSON(messageResponse{Status: true, IsActive: true, Message: "Connection established."})
}

// activate is docs/api/external.md#activate; on the legacy path its 400 and 404 failures
// are 200s.
func (h *handlers) activate(paths legacy) pipeline.Handler {
	return func(c fiber.Ctx, r *pipeline.Request) error {
		return h.activateOn(c, r, paths)
	}
}

func (h *handlers) activateOn(c fiber.Ctx, r *pipeline.Request, paths legacy) error {
	return h.activateAs(c, r, paths, false)
}

// activateAs is activate, or with checkOut a floating seat's check-out
// (docs/api/external.md#check-out-and-check-in).
func (h *handlers) activateAs(c fiber.Ctx, r *pipeline.Request, paths legacy, checkOut bool) error {
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
	res, err := h.Licensing.Activate(c.Context(), h.DB, r.Settings, licensing.ActivateRequest{
		ProductRef: productRef, LicenseCode: code, ClientName: clientName,
		VerifyType: verifyType, Marketplace: h.Marketplace, Caller: r.Caller, CheckOut: checkOut,
	})
	if _, invalid := fields.As(err); invalid {
		return err
	}
	if err != nil {
		return h.activateError(c, err)
	}
	if f := res.Failure; f != nil {
		if res.Cause != nil {
			h.Logger.WarnContext(c.Context(), "activate", "status_code", f.StatusCode, "error", res.Cause, "request_id", web.RequestIDOf(c))
		}
		return activateFailure(c, paths.status(failureStatus(*f)), *f)
	}
	// Entitlements, a waiting expiry clock and the heartbeat policy are the
	// modern path's: legacy answers and tokens keep their bytes.
	var (
		extras   signing.TokenExtras
		interval *int
		due      *string
	)
	if paths == modernPaths {
		extras.Entitlements = res.License.Entitlements
		if res.License.ClockPending() {
			extras.Clock = signing.Clock{Start: res.License.ExpiryStart, Days: *res.License.ExpiryDays}
		}
		extras.HeartbeatInterval, extras.Floating = res.Heartbeat.Interval, res.License.Floating
		if res.HeartbeatDue != nil {
			interval, due = intervalOrNull(res.Heartbeat), pipeline.TimestampOrNull(res.HeartbeatDue)
		}
	}
	token, err := h.Signing.IssueTokenWith(res.Activation.ID, res.Activation.ProductReferenceID, extras, r.Now)
	if err != nil {
		return h.activateError(c, err)
	}
	message := licensing.MessageActivated
	if checkOut {
		message = licensing.MessageCheckedOut
	}
	return c.JSON(activateResponse{
		Status: true, IsActive: true, Message: message,
		LicResponse: &token,
		Data: &activateData{
			LicenseData:         token,
			ExpiresAt:           pipeline.TimestampOrNull(res.License.ExpiresAt),
			UpdatesUntil:        pipeline.TimestampOrNull(res.License.UpdatesUntil),
			SupportUntil:        pipeline.TimestampOrNull(res.License.SupportUntil),
			Entitlements:        extras.Entitlements,
			ExpiryStart:         extras.Clock.Start,
			ExpiryDays:          extras.Clock.DaysOrNil(),
			HeartbeatInterval:   interval,
			NextHeartbeatBefore: due,
		},
	})
}

// activateError answers an unexpected error of activate with its own 500
// message (docs/api/external.md#activate), after logging it; while the database cannot be reached,
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

// verify is docs/api/external.md#verify; the grace period
// (docs/api/external.md#grace-period) is the modern path's: a legacy
// client is told the license has expired, as before.
func (h *handlers) verify(paths legacy) pipeline.Handler {
	return func(c fiber.Ctx, r *pipeline.Request) error {
		return h.verifyOn(c, r, paths)
	}
}

func (h *handlers) verifyOn(c fiber.Ctx, r *pipeline.Request, paths legacy) error {
	productRef, proof, err := h.readProof(c)
	if err != nil {
		return err
	}
	// The token is checked before any database work: a forged token costs
	// no query (docs/api/external.md#verify step 1).
	var tok checkedToken
	if proof.token != "" {
		tok = h.tokens.check(proof.token, r.Settings)
		if tok.legacy {
			proof.code, proof.clientName = tok.licenseCode, tok.clientName
		}
	}
	if proof.token == "" || tok.legacy {
		if err := licensing.CheckBlacklists(r.Settings, proof.code, proof.clientName); err != nil {
			return err
		}
	} else if err := licensing.CheckBlacklists(r.Settings, "", proof.clientName); err != nil {
		return err
	}

	ctx := c.Context() // once: each call scans the request's user values
	product, err := h.Products.ActiveByRef(ctx, productRef)
	if f, ok := productFailure(err); ok {
		return verifyFailure(c, f)
	}
	if err != nil {
		return err
	}
	var v licensing.Verdict
	grace := paths == modernPaths
	switch {
	case proof.token != "" && !tok.ok:
		v.Failure = &licensing.FailVerifyInvalid
	case proof.token != "" && !tok.legacy:
		v, err = h.Licensing.VerifyActivation(ctx, h.DB, r.Settings, licensing.VerifyRequest{
			Product: product, ActivationID: tok.activationID, TokenProductRef: tok.productRef,
			ClientName: proof.clientName, Caller: r.Caller, Grace: grace,
		})
	case proof.code != "":
		v, err = h.Licensing.VerifyCode(ctx, h.DB, r.Settings, licensing.VerifyCodeRequest{
			Product: product, LicenseCode: proof.code, ClientName: proof.clientName, Caller: r.Caller, Grace: grace,
		})
	default:
		v.Failure = &licensing.FailDataRequired
	}
	if err != nil {
		return err
	}
	if v.Failure != nil {
		return verifyFailure(c, *v.Failure)
	}
	data := verifyDataOf(v)
	if paths == legacyPaths || (v.GraceUntil == nil && data == nil) {
		return sendJSON(c, verifiedBody)
	}
	if v.GraceUntil != nil {
		return c.JSON(verifyResponse{
			Status: true, IsActive: true, Message: licensing.MessageInGrace,
			StatusCode: licensing.CodeLicenseInGrace, GraceUntil: pipeline.TimestampOrNull(v.GraceUntil),
			Data: data,
		})
	}
	return c.JSON(verifyResponse{Status: true, IsActive: true, Message: licensing.MessageVerified, Data: data})
}

// deactivate is docs/api/external.md#deactivate. It works for inactive products and for
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
	if f, ok := productFailure(err); ok {
		return deactivateFailure(c, f)
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
	// token when it is truthy (docs/api/external.md#deactivate).
	return c.JSON(deactivateResponse{Status: true, IsActive: true, Message: licensing.MessageDeactivated})
}

// check is docs/api/external.md#license-check; on the legacy path its 400 and 404 failures are
// 200s.
func (h *handlers) check(paths legacy) pipeline.Handler {
	return func(c fiber.Ctx, r *pipeline.Request) error {
		return h.checkOn(c, r, paths)
	}
}

func (h *handlers) checkOn(c fiber.Ctx, r *pipeline.Request, paths legacy) error {
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
	if err := licensing.CheckBlacklists(r.Settings, code, ""); err != nil {
		return err
	}

	var product *catalog.Product
	if productRef != "" {
		product, err = h.Products.ActiveByRef(c.Context(), productRef)
		if f, ok := productFailure(err); ok {
			return checkFailure(c, paths, f)
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
			f := licensing.MarketplaceFailure(orders.OutcomeOf(v, err), marketplace, licensing.FailCheckInvalid)
			if f == nil {
				data := v.Sale.Data
				if data == nil {
					data = map[string]string{}
				}
				return c.JSON(checkResponse{Status: true, IsActive: true, Message: licensing.MessageVerified, Data: data})
			}
			return checkFailure(c, paths, *f)
		}
		return checkFailure(c, paths, licensing.FailCheckInvalid)
	}
	data := presentCheck(res.License, res.License.Status(r.Now))
	if res.Failure != nil {
		setOutcome(c, *res.Failure)
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
