package webhooks

import (
	"strings"
	"time"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
)

// The resources of api.md §3 that webhook payloads carry, in the key order
// of the spec. They mirror app/api/internalapi's presenters, which a
// domain package cannot import; both must follow api.md §3 (the tests of
// each check the keys).

const timestampLayout = "2006-01-02T15:04:05.000000Z"

func timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

func timestampOrNull(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

type licenseResource struct {
	ID                 int64    `json:"id"`
	ProductReferenceID string   `json:"product_reference_id"`
	ProductName        string   `json:"product_name"`
	LicenseCode        string   `json:"license_code"`
	Type               *string  `json:"type"`
	IsEnvato           bool     `json:"is_envato"`
	Invoice            *string  `json:"invoice"`
	CustomerID         *string  `json:"customer_id"`
	Email              *string  `json:"email"`
	Comments           *string  `json:"comments"`
	IPs                []string `json:"ips"`
	Domains            []string `json:"domains"`
	SupportUntil       *string  `json:"support_until"`
	UpdatesUntil       *string  `json:"updates_until"`
	ExpiresAt          *string  `json:"expires_at"`
	ExpiryDays         *int     `json:"expiry_days"`
	Uses               *int     `json:"uses"`
	ParallelUses       *int     `json:"parallel_uses"`
	IsValid            bool     `json:"is_valid"`
	Status             string   `json:"status"`
	ActiveActivations  int      `json:"active_activations"`
	TotalActivations   int      `json:"total_activations"`
	UsesLeft           *int     `json:"uses_left"`
	ParallelUsesLeft   *int     `json:"parallel_uses_left"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
}

func presentLicense(l *licensing.License, now time.Time) licenseResource {
	return licenseResource{
		ID:                 l.ID,
		ProductReferenceID: l.ProductReferenceID,
		ProductName:        l.ProductName,
		LicenseCode:        l.LicenseCode,
		Type:               l.Type,
		IsEnvato:           l.IsEnvato,
		Invoice:            l.Invoice,
		CustomerID:         l.CustomerID,
		Email:              l.Email,
		Comments:           l.Comments,
		IPs:                nonNil(l.IPs),
		Domains:            nonNil(l.Domains),
		SupportUntil:       timestampOrNull(l.SupportUntil),
		UpdatesUntil:       timestampOrNull(l.UpdatesUntil),
		ExpiresAt:          timestampOrNull(l.ExpiresAt),
		ExpiryDays:         l.ExpiryDays,
		Uses:               l.Uses,
		ParallelUses:       l.ParallelUses,
		IsValid:            l.IsValid,
		Status:             l.Status(now),
		ActiveActivations:  l.ActiveActivations,
		TotalActivations:   l.TotalActivations,
		UsesLeft:           l.UsesLeft(),
		ParallelUsesLeft:   l.ParallelUsesLeft(),
		CreatedAt:          timestamp(l.CreatedAt),
		UpdatedAt:          timestamp(l.UpdatedAt),
	}
}

type activationResource struct {
	ID                 int64   `json:"id"`
	ProductReferenceID string  `json:"product_reference_id"`
	LicenseID          *int64  `json:"license_id"`
	LicenseCode        string  `json:"license_code"`
	ClientName         *string `json:"client_name"`
	URL                *string `json:"url"`
	Domain             *string `json:"domain"`
	IP                 *string `json:"ip"`
	UserAgent          *string `json:"user_agent"`
	IsValid            bool    `json:"is_valid"`
	IsActive           bool    `json:"is_active"`
	FailureReason      *string `json:"failure_reason"`
	ActivatedAt        string  `json:"activated_at"`
	DeactivatedAt      *string `json:"deactivated_at"`
	LastVerifiedAt     *string `json:"last_verified_at"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

func presentActivation(a *licensing.Activation, l *licensing.License) activationResource {
	ref := a.ProductReferenceID
	if ref == "" && l != nil {
		ref = l.ProductReferenceID
	}
	return activationResource{
		ID:                 a.ID,
		ProductReferenceID: ref,
		LicenseID:          a.LicenseID,
		LicenseCode:        a.LicenseCode,
		ClientName:         a.ClientName,
		URL:                a.URL,
		Domain:             a.Domain,
		IP:                 a.IP,
		UserAgent:          a.UserAgent,
		IsValid:            a.IsValid,
		IsActive:           a.IsActive,
		FailureReason:      a.FailureReason,
		ActivatedAt:        timestamp(a.ActivatedAt),
		DeactivatedAt:      timestampOrNull(a.DeactivatedAt),
		LastVerifiedAt:     timestampOrNull(a.LastVerifiedAt),
		CreatedAt:          timestamp(a.CreatedAt),
		UpdatedAt:          timestamp(a.UpdatedAt),
	}
}

type customerResource struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Email       string  `json:"email"`
	ClientID    string  `json:"client_id"`
	AvatarURL   *string `json:"avatar_url"`
	ConfirmedAt *string `json:"confirmed_at"`
	LastLoginAt *string `json:"last_login_at"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

func presentCustomer(c *customers.Customer, baseURL string) customerResource {
	r := customerResource{
		ID:          c.ID,
		Name:        c.Name,
		Email:       c.Email,
		ClientID:    c.ClientID,
		ConfirmedAt: timestampOrNull(c.ConfirmedAt),
		LastLoginAt: timestampOrNull(c.LastLoginAt),
		CreatedAt:   timestamp(c.CreatedAt),
		UpdatedAt:   timestamp(c.UpdatedAt),
	}
	if c.AvatarPath != nil && *c.AvatarPath != "" {
		u := strings.TrimSuffix(baseURL, "/") + "/avatars/" + strings.TrimPrefix(*c.AvatarPath, "/")
		r.AvatarURL = &u
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
