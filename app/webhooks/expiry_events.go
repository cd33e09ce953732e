package webhooks

import (
	"time"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// The expiry events' payloads are kept exactly as existing receivers
// expect (docs/api/webhooks.md), odd names included: product_reference_id carries the
// product's name and product_id its reference id; customer is the license's
// customer_id string.

type expiringPayload struct {
	LicenseCode        string  `json:"license_code"`
	ProductReferenceID string  `json:"product_reference_id"`
	ProductID          string  `json:"product_id"`
	Customer           *string `json:"customer"`
	Email              *string `json:"email"`
	ExpiresAt          string  `json:"expires_at"`
	DaysUntilExpiry    int     `json:"days_until_expiry"`
}

type expiredPayload struct {
	LicenseCode        string  `json:"license_code"`
	ProductReferenceID string  `json:"product_reference_id"`
	ProductID          string  `json:"product_id"`
	Customer           *string `json:"customer"`
	Email              *string `json:"email"`
	ExpiresAt          string  `json:"expires_at"`
	IsValid            bool    `json:"is_valid"`
}

// Expiring is license.expiring for l, expiring in days whole days
// (rounded up).
func Expiring(set *settings.Values, l *licensing.License, days int) Event {
	return Event{Type: EventLicenseExpiring, License: ref(l), Payload: expiringPayload{
		LicenseCode: l.LicenseCode, ProductReferenceID: l.ProductName, ProductID: l.ProductReferenceID,
		Customer: l.CustomerID, Email: l.Email, ExpiresAt: day(set, l.ExpiresAt), DaysUntilExpiry: days,
	}}
}

// Expired is license.expired for l.
func Expired(set *settings.Values, l *licensing.License) Event {
	return Event{Type: EventLicenseExpired, License: ref(l), Payload: expiredPayload{
		LicenseCode: l.LicenseCode, ProductReferenceID: l.ProductName, ProductID: l.ProductReferenceID,
		Customer: l.CustomerID, Email: l.Email, ExpiresAt: day(set, l.ExpiresAt), IsValid: l.IsValid,
	}}
}

// UpdateSupportExpired is license.update_support_expired for l. Its
// expires_at is the date the updates period ended (updates_until): the
// date the event is about, which a lifetime license would otherwise not
// carry.
func UpdateSupportExpired(set *settings.Values, l *licensing.License) Event {
	return Event{Type: EventLicenseUpdateSupportExpired, License: ref(l), Payload: expiredPayload{
		LicenseCode: l.LicenseCode, ProductReferenceID: l.ProductName, ProductID: l.ProductReferenceID,
		Customer: l.CustomerID, Email: l.Email, ExpiresAt: day(set, l.UpdatesUntil), IsValid: l.IsValid,
	}}
}

func day(set *settings.Values, t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(set.Location()).Format("2006-01-02")
}
