package external

import (
	"errors"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// The bodies of docs/api/external.md, connection check to license check, key
// for key in the order clients see them. status and is_active are always
// present (docs/api/conventions.md#responses).

type messageResponse struct {
	Status   bool   `json:"status"`
	IsActive bool   `json:"is_active"`
	Message  string `json:"message"`
}

// activateResponse: lic_response and data.license_data are the same token
// (LicenseBox-era clients read the first, current clients the second).
type activateResponse struct {
	Status      bool          `json:"status"`
	IsActive    bool          `json:"is_active"`
	Message     string        `json:"message"`
	StatusCode  string        `json:"status_code,omitempty"`
	LicResponse *string       `json:"lic_response"`
	Data        *activateData `json:"data"`
}

type activateData struct {
	LicenseData  string  `json:"license_data"`
	ExpiresAt    *string `json:"expires_at"`
	UpdatesUntil *string `json:"updates_until"`
	SupportUntil *string `json:"support_until"`
	// Entitlements: the modern path's, present when the license carries
	// some (docs/licensing.md#entitlements).
	Entitlements []string `json:"entitlements,omitempty"`
	// ExpiryStart and ExpiryDays: the modern path's, present while the
	// license's expiry clock waits for its first verify
	// (docs/licensing.md#expiry-clock).
	ExpiryStart string `json:"expiry_start,omitempty"`
	ExpiryDays  *int   `json:"expiry_days,omitempty"`
	// HeartbeatInterval and NextHeartbeatBefore: the modern path's, present
	// when the activation must send heartbeats (a floating seat's lease,
	// docs/api/external.md#heartbeat).
	HeartbeatInterval   *int    `json:"heartbeat_interval,omitempty"`
	NextHeartbeatBefore *string `json:"next_heartbeat_before,omitempty"`
}

type verifyResponse struct {
	Status     bool   `json:"status"`
	IsActive   bool   `json:"is_active"`
	Message    string `json:"message"`
	StatusCode string `json:"status_code,omitempty"`
	// GraceUntil: only in the grace period, on the modern path
	// (docs/api/external.md#grace-period).
	GraceUntil *string `json:"grace_until,omitempty"`
	// Data is null, or on the modern path the license's entitlements
	// when it carries some (docs/licensing.md#entitlements) and its
	// expires_at when it has an expiry clock (docs/licensing.md#expiry-clock).
	Data *verifyData `json:"data"`
}

// verifiedBody is verify's usual answer (no grace period, no data: the
// license has no entitlements and no expiry clock), encoded once: nearly
// every verify sends it.
var verifiedBody = mustEncode(verifyResponse{Status: true, IsActive: true, Message: licensing.MessageVerified})

func mustEncode(v any) []byte {
	b, err := web.JSONEncoder(v)
	if err != nil {
		panic(err)
	}
	return b
}

// sendJSON answers an encoded body as c.JSON does. body is shared: it is
// never written to (the signer's nonce makes a new body).
func sendJSON(c fiber.Ctx, body []byte) error {
	res := c.Response()
	res.SetBodyRaw(body)
	res.Header.SetContentType(fiber.MIMEApplicationJSONCharsetUTF8)
	return nil
}

type verifyData struct {
	Entitlements []string `json:"entitlements"`
	ExpiresAt    *string  `json:"expires_at,omitempty"`
}

// verifyDataOf is verify's data for a verdict: nil when the license
// carries no entitlements and has no expiry clock.
func verifyDataOf(v licensing.Verdict) *verifyData {
	if len(v.Entitlements) == 0 && !v.Clocked {
		return nil
	}
	d := &verifyData{Entitlements: v.Entitlements}
	if d.Entitlements == nil {
		d.Entitlements = []string{}
	}
	if v.Clocked {
		d.ExpiresAt = pipeline.TimestampOrNull(v.ExpiresAt)
	}
	return d
}

type deactivateResponse struct {
	Status     bool   `json:"status"`
	IsActive   bool   `json:"is_active"`
	Message    string `json:"message"`
	StatusCode string `json:"status_code,omitempty"`
}

type checkResponse struct {
	Status     bool   `json:"status"`
	IsActive   bool   `json:"is_active"`
	Message    string `json:"message"`
	StatusCode string `json:"status_code,omitempty"`
	// Data is a local license's *checkData, or a marketplace sale's
	// fields; absent from the failures without a license.
	Data any `json:"data,omitempty"`
}

// checkData is a license's state without personal data (docs/api/external.md#license-check).
type checkData struct {
	LicenseCode       string  `json:"license_code"`
	ProductID         string  `json:"product_id"`
	ProductName       string  `json:"product_name"`
	Type              *string `json:"type"`
	Status            string  `json:"status"`
	ExpiresAt         *string `json:"expires_at"`
	UpdatesUntil      *string `json:"updates_until"`
	SupportUntil      *string `json:"support_until"`
	Uses              *int    `json:"uses"`
	UsesLeft          *int    `json:"uses_left"`
	ParallelUses      *int    `json:"parallel_uses"`
	ParallelUsesLeft  *int    `json:"parallel_uses_left"`
	ActiveActivations int     `json:"active_activations"`
}

// productFailure is how a product lookup's error is answered: a product
// missing (or inactive, read through ActiveByRef) is the API's
// FailProductNotFound ("Product not found.", docs/api/external.md), so
// handlers answer it through their failure writer; ok is false for any
// other error, which stays an error.
func productFailure(err error) (f licensing.Failure, ok bool) {
	return licensing.FailProductNotFound, errors.Is(err, catalog.ErrNotFound)
}

// failureStatus is the HTTP status of a failure of activate or the license
// check, by its kind (docs/api/external.md#activate,
// docs/api/external.md#license-check); verify and deactivate answer every
// failure 200. Legacy paths then make 400 and 404 a 200 (legacy.status).
func failureStatus(f licensing.Failure) int {
	switch f.Kind {
	case licensing.NotFound:
		return fiber.StatusNotFound
	case licensing.Refused:
		return fiber.StatusBadRequest
	case licensing.Unavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusOK
}

// activateFailure answers a failed activation: the product and license
// failures of docs/api/external.md#activate with their HTTP status.
func activateFailure(c fiber.Ctx, status int, f licensing.Failure) error {
	setOutcome(c, f)
	return c.Status(status).JSON(activateResponse{Message: f.Message, StatusCode: f.StatusCode})
}

// checkFailure answers a license check that found no license to show
// (docs/api/external.md#license-check).
func checkFailure(c fiber.Ctx, paths legacy, f licensing.Failure) error {
	setOutcome(c, f)
	return c.Status(paths.status(failureStatus(f))).JSON(checkResponse{Message: f.Message, StatusCode: f.StatusCode})
}

func verifyFailure(c fiber.Ctx, f licensing.Failure) error {
	setOutcome(c, f)
	return c.JSON(verifyResponse{Message: f.Message, StatusCode: f.StatusCode})
}

func deactivateFailure(c fiber.Ctx, f licensing.Failure) error {
	setOutcome(c, f)
	return c.JSON(deactivateResponse{Message: f.Message, StatusCode: f.StatusCode})
}

func presentCheck(l *licensing.License, status string) *checkData {
	return &checkData{
		LicenseCode:       l.LicenseCode,
		ProductID:         l.ProductReferenceID,
		ProductName:       l.ProductName,
		Type:              l.Type,
		Status:            status,
		ExpiresAt:         pipeline.TimestampOrNull(l.ExpiresAt),
		UpdatesUntil:      pipeline.TimestampOrNull(l.UpdatesUntil),
		SupportUntil:      pipeline.TimestampOrNull(l.SupportUntil),
		Uses:              l.Uses,
		UsesLeft:          l.UsesLeft(),
		ParallelUses:      l.ParallelUses,
		ParallelUsesLeft:  l.ParallelUsesLeft(),
		ActiveActivations: l.ActiveActivations,
	}
}

// outcomeKey holds a license operation's failure code for counted.
type outcomeKey struct{}

func setOutcome(c fiber.Ctx, f licensing.Failure) {
	code := f.StatusCode
	if code == "" {
		code = "FAILED"
	}
	c.Locals(outcomeKey{}, code)
}

// counted counts each answer of a license operation (activate, verify,
// deactivate, check) on /metrics: "OK", the failure's status_code, or
// "ERROR" for a refusal answered with the error envelope (bad key, rate
// limit, invalid input, …).
func (h *handlers) counted(operation string, next fiber.Handler) fiber.Handler {
	if h.Metrics == nil {
		return next
	}
	counter := h.Metrics.LicenseCounter(operation)
	return func(c fiber.Ctx) error {
		err := next(c)
		result := "OK"
		if code, ok := c.Locals(outcomeKey{}).(string); ok {
			result = code
		} else if err != nil {
			result = "ERROR"
		}
		counter.Count(result)
		return err
	}
}
