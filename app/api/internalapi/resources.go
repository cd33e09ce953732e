package internalapi

import (
	"strings"
	"time"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
)

// The resources of api.md §3, in the exact key order clients see. Each is
// built from its domain type by a present function, so no database struct
// reaches the JSON by accident.

var (
	timestamp       = pipeline.Timestamp
	timestampOrNull = pipeline.TimestampOrNull
)

type productResource struct {
	ID                      int64   `json:"id"`
	Name                    string  `json:"name"`
	ReferenceID             string  `json:"reference_id"`
	EnvatoID                *string `json:"envato_id"`
	Description             *string `json:"description"`
	LicenseUpdate           bool    `json:"license_update"`
	ServeLatestUpdates      bool    `json:"serve_latest_updates"`
	IsActive                bool    `json:"is_active"`
	DefaultLicenseType      *string `json:"default_license_type"`
	DefaultUses             *int    `json:"default_uses"`
	DefaultParallelUses     *int    `json:"default_parallel_uses"`
	DefaultExpiryDays       *int    `json:"default_expiry_days"`
	DefaultUpdatesUntilDays *int    `json:"default_updates_until_days"`
	DefaultSupportUntilDays *int    `json:"default_support_until_days"`
	DefaultComments         *string `json:"default_comments"`
	LatestVersion           *string `json:"latest_version"`
	CreatedAt               string  `json:"created_at"`
	UpdatedAt               string  `json:"updated_at"`
}

// presentProduct shapes p; latest is its newest active version, if any.
func presentProduct(p *catalog.Product, latest *catalog.LatestVersion) productResource {
	r := productResource{
		ID:                      p.ID,
		Name:                    p.Name,
		ReferenceID:             p.ReferenceID,
		EnvatoID:                p.EnvatoID,
		Description:             p.Description,
		LicenseUpdate:           p.LicenseUpdate,
		ServeLatestUpdates:      p.ServeLatestUpdates,
		IsActive:                p.IsActive,
		DefaultLicenseType:      p.DefaultLicenseType,
		DefaultUses:             p.DefaultUses,
		DefaultParallelUses:     p.DefaultParallelUses,
		DefaultExpiryDays:       p.DefaultExpiryDays,
		DefaultUpdatesUntilDays: p.DefaultUpdatesUntilDays,
		DefaultSupportUntilDays: p.DefaultSupportUntilDays,
		DefaultComments:         p.DefaultComments,
		CreatedAt:               timestamp(p.CreatedAt),
		UpdatedAt:               timestamp(p.UpdatedAt),
	}
	if latest != nil {
		v := latest.Version
		r.LatestVersion = &v
	}
	return r
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

// presentLicense shapes l; now decides its derived status.
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

func presentActivation(a *licensing.Activation) activationResource {
	return activationResource{
		ID:                 a.ID,
		ProductReferenceID: a.ProductReferenceID,
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

// presentCustomer shapes c. baseURL makes the avatar's address absolute.
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

// nonNil keeps empty lists as [] in JSON: clients iterate them.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// versionResource leaves out the release-integrity fields (file_size,
// checksum, signature): they are omitted while unknown (api.md §1.3), and
// the catalog holds no file facts until the updates work stores them.
type versionResource struct {
	VersionID          string  `json:"version_id"`
	ProductReferenceID string  `json:"product_reference_id"`
	Version            string  `json:"version"`
	ReleasedAt         string  `json:"released_at"`
	Summary            *string `json:"summary"`
	Changelog          *string `json:"changelog"`
	MainFile           *string `json:"main_file"`
	SQLFile            *string `json:"sql_file"`
	IsActive           bool    `json:"is_active"`
	HasSQL             bool    `json:"has_sql"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

func presentVersion(v *catalog.Version, p *catalog.Product) versionResource {
	return versionResource{
		VersionID:          v.VersionID,
		ProductReferenceID: p.ReferenceID,
		Version:            v.Version,
		ReleasedAt:         timestamp(v.ReleasedAt),
		Summary:            v.Summary,
		Changelog:          v.Changelog,
		MainFile:           v.MainFile,
		SQLFile:            v.SQLFile,
		IsActive:           v.IsActive,
		HasSQL:             v.SQLFile != nil,
		CreatedAt:          timestamp(v.CreatedAt),
		UpdatedAt:          timestamp(v.UpdatedAt),
	}
}
