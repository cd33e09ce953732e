// Package resources holds the JSON shapes of docs/api/resources.md (product, version,
// license, activation, customer) in the exact key order clients see. The
// internal API answers with them and webhook payloads carry them, so both
// build them here from the domain types: no database struct reaches JSON
// by accident, and the two cannot drift apart.
package resources

import (
	"strings"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
)

// timestampLayout is the resources' time format: RFC 3339 in UTC with
// microseconds (docs/api/conventions.md#responses).
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// Timestamp formats t as docs/api/conventions.md#responses says.
func Timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

// TimestampOrNull is Timestamp, or nil (JSON null) for no time.
func TimestampOrNull(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Timestamp(*t)
	return &s
}

type Product struct {
	ID                      int64    `json:"id"`
	Name                    string   `json:"name"`
	ReferenceID             string   `json:"reference_id"`
	EnvatoID                *string  `json:"envato_id"`
	Description             *string  `json:"description"`
	LicenseUpdate           bool     `json:"license_update"`
	ServeLatestUpdates      bool     `json:"serve_latest_updates"`
	IsActive                bool     `json:"is_active"`
	DefaultLicenseType      *string  `json:"default_license_type"`
	DefaultUses             *int     `json:"default_uses"`
	DefaultParallelUses     *int     `json:"default_parallel_uses"`
	DefaultExpiryDays       *int     `json:"default_expiry_days"`
	DefaultUpdatesUntilDays *int     `json:"default_updates_until_days"`
	DefaultSupportUntilDays *int     `json:"default_support_until_days"`
	DefaultComments         *string  `json:"default_comments"`
	DefaultExpiryStart      string   `json:"default_expiry_start"`
	GraceDays               *int     `json:"grace_days"`
	Entitlements            []string `json:"entitlements"`
	DefaultEntitlements     []string `json:"default_entitlements"`
	HeartbeatInterval       *int     `json:"heartbeat_interval"`
	HeartbeatTolerance      int      `json:"heartbeat_tolerance"`
	HeartbeatMissed         string   `json:"heartbeat_missed"`
	DefaultFloating         bool     `json:"default_floating"`
	LatestVersion           *string  `json:"latest_version"`
	CreatedAt               string   `json:"created_at"`
	UpdatedAt               string   `json:"updated_at"`
}

// NewProduct shapes p; latest is its newest active version, if any.
func NewProduct(p *catalog.Product, latest *catalog.LatestVersion) Product {
	r := Product{
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
		DefaultExpiryStart:      p.DefaultExpiryStart,
		GraceDays:               p.GraceDays,
		Entitlements:            NonNil(p.Entitlements),
		DefaultEntitlements:     NonNil(p.DefaultEntitlements),
		HeartbeatInterval:       p.HeartbeatInterval,
		HeartbeatTolerance:      p.HeartbeatTolerance,
		HeartbeatMissed:         p.HeartbeatMissed,
		DefaultFloating:         p.DefaultFloating,
		CreatedAt:               Timestamp(p.CreatedAt),
		UpdatedAt:               Timestamp(p.UpdatedAt),
	}
	if latest != nil {
		v := latest.Version
		r.LatestVersion = &v
	}
	return r
}

type License struct {
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
	Entitlements       []string `json:"entitlements"`
	SupportUntil       *string  `json:"support_until"`
	UpdatesUntil       *string  `json:"updates_until"`
	ExpiresAt          *string  `json:"expires_at"`
	ExpiryDays         *int     `json:"expiry_days"`
	ExpiryStart        string   `json:"expiry_start"`
	ExpiryStartedAt    *string  `json:"expiry_started_at"`
	Uses               *int     `json:"uses"`
	ParallelUses       *int     `json:"parallel_uses"`
	Floating           bool     `json:"floating"`
	HeartbeatInterval  *int     `json:"heartbeat_interval"`
	HeartbeatMissed    *string  `json:"heartbeat_missed"`
	IsValid            bool     `json:"is_valid"`
	Status             string   `json:"status"`
	ActiveActivations  int      `json:"active_activations"`
	TotalActivations   int      `json:"total_activations"`
	UsesLeft           *int     `json:"uses_left"`
	ParallelUsesLeft   *int     `json:"parallel_uses_left"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
}

// NewLicense shapes l; now decides its derived status.
func NewLicense(l *licensing.License, now time.Time) License {
	return License{
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
		IPs:                NonNil(l.IPs),
		Domains:            NonNil(l.Domains),
		Entitlements:       NonNil(l.Entitlements),
		SupportUntil:       TimestampOrNull(l.SupportUntil),
		UpdatesUntil:       TimestampOrNull(l.UpdatesUntil),
		ExpiresAt:          TimestampOrNull(l.ExpiresAt),
		ExpiryDays:         l.ExpiryDays,
		ExpiryStart:        l.ExpiryStart,
		ExpiryStartedAt:    TimestampOrNull(l.ExpiryStartedAt),
		Uses:               l.Uses,
		ParallelUses:       l.ParallelUses,
		Floating:           l.Floating,
		HeartbeatInterval:  l.HeartbeatInterval,
		HeartbeatMissed:    l.HeartbeatMissed,
		IsValid:            l.IsValid,
		Status:             l.Status(now),
		ActiveActivations:  l.ActiveActivations,
		TotalActivations:   l.TotalActivations,
		UsesLeft:           l.UsesLeft(),
		ParallelUsesLeft:   l.ParallelUsesLeft(),
		CreatedAt:          Timestamp(l.CreatedAt),
		UpdatedAt:          Timestamp(l.UpdatedAt),
	}
}

type Activation struct {
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
	DeactivationReason *string `json:"deactivation_reason"`
	LastHeartbeatAt    *string `json:"last_heartbeat_at"`
	HeartbeatDueAt     *string `json:"heartbeat_due_at"`
	HeartbeatMissedAt  *string `json:"heartbeat_missed_at"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

func NewActivation(a *licensing.Activation) Activation {
	return Activation{
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
		ActivatedAt:        Timestamp(a.ActivatedAt),
		DeactivatedAt:      TimestampOrNull(a.DeactivatedAt),
		LastVerifiedAt:     TimestampOrNull(a.LastVerifiedAt),
		DeactivationReason: a.DeactivationReason,
		LastHeartbeatAt:    TimestampOrNull(a.LastHeartbeatAt),
		HeartbeatDueAt:     TimestampOrNull(a.HeartbeatDueAt),
		HeartbeatMissedAt:  TimestampOrNull(a.HeartbeatMissedAt),
		CreatedAt:          Timestamp(a.CreatedAt),
		UpdatedAt:          Timestamp(a.UpdatedAt),
	}
}

type Customer struct {
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

// NewCustomer shapes c. baseURL makes the avatar's address absolute.
func NewCustomer(c *customers.Customer, baseURL string) Customer {
	r := Customer{
		ID:          c.ID,
		Name:        c.Name,
		Email:       c.Email,
		ClientID:    c.ClientID,
		ConfirmedAt: TimestampOrNull(c.ConfirmedAt),
		LastLoginAt: TimestampOrNull(c.LastLoginAt),
		CreatedAt:   Timestamp(c.CreatedAt),
		UpdatedAt:   Timestamp(c.UpdatedAt),
	}
	if c.AvatarPath != nil && *c.AvatarPath != "" {
		u := strings.TrimSuffix(baseURL, "/") + "/avatars/" + strings.TrimPrefix(*c.AvatarPath, "/")
		r.AvatarURL = &u
	}
	return r
}

// nonNil keeps empty lists as [] in JSON: clients iterate them.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Version is the version resource. The release-integrity fields
// (file_size, checksum, signature) are omitted while unknown (docs/api/conventions.md#responses):
// file_size and checksum describe the main file.
type Version struct {
	VersionID          string    `json:"version_id"`
	ProductReferenceID string    `json:"product_reference_id"`
	Version            string    `json:"version"`
	ReleasedAt         string    `json:"released_at"`
	Summary            *string   `json:"summary"`
	Changelog          *string   `json:"changelog"`
	MainFile           *string   `json:"main_file"`
	SQLFile            *string   `json:"sql_file"`
	IsActive           bool      `json:"is_active"`
	HasSQL             bool      `json:"has_sql"`
	FileSize           *int64    `json:"file_size,omitempty"`
	Checksum           *Checksum `json:"checksum,omitempty"`
	CreatedAt          string    `json:"created_at"`
	UpdatedAt          string    `json:"updated_at"`
}

// Checksum is a file's digest (docs/api/signing.md#release-integrity).
type Checksum struct {
	Algo  string `json:"algo"`
	Value string `json:"value"`
}

func NewVersion(v *catalog.Version, p *catalog.Product) Version {
	out := Version{
		VersionID:          v.VersionID,
		ProductReferenceID: p.ReferenceID,
		Version:            v.Version,
		ReleasedAt:         Timestamp(v.ReleasedAt),
		Summary:            v.Summary,
		Changelog:          v.Changelog,
		MainFile:           v.FileName(catalog.FileMain),
		SQLFile:            v.FileName(catalog.FileSQL),
		IsActive:           v.IsActive,
		HasSQL:             v.File(catalog.FileSQL) != nil,
		CreatedAt:          Timestamp(v.CreatedAt),
		UpdatedAt:          Timestamp(v.UpdatedAt),
	}
	if f := v.File(catalog.FileMain); f != nil && f.Checked() {
		out.FileSize = &f.Size
		out.Checksum = &Checksum{Algo: "sha256", Value: f.SHA256}
	}
	return out
}
