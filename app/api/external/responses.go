package external

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/licensing"
)

// The bodies of api.md §4.2–4.6, key for key in the order clients see
// them. status and is_active are always present (§1.3).

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
}

type verifyResponse struct {
	Status     bool    `json:"status"`
	IsActive   bool    `json:"is_active"`
	Message    string  `json:"message"`
	StatusCode string  `json:"status_code,omitempty"`
	Data       *string `json:"data"`
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

// checkData is a license's state without personal data (§4.6).
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

// activateFailure answers a failed activation: the product and license
// failures of §4.3 with their HTTP status.
func activateFailure(c fiber.Ctx, status int, f licensing.Failure) error {
	return c.Status(status).JSON(activateResponse{Message: f.Message, StatusCode: f.StatusCode})
}

func verifyFailure(c fiber.Ctx, f licensing.Failure) error {
	return c.JSON(verifyResponse{Message: f.Message, StatusCode: f.StatusCode})
}

func deactivateFailure(c fiber.Ctx, f licensing.Failure) error {
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
