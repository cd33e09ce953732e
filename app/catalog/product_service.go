package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

// ProductsChannel is NOTIFYed, in the transaction of every product change,
// with the changed product's lower-cased reference id, so every node's
// Cache drops it when the change commits.
const ProductsChannel = "licensor_products"

// Field limits of docs/api/internal.md#products.
const (
	productNameMax  = 255
	referenceIDMax  = 50
	envatoIDMax     = 100
	longTextMax     = 10000
	licenseTypeMax  = 100
	idGenerateTries = 10
)

// ProductInput is what a create or an update sends. On create, fields not
// Set take their defaults; on update they keep their stored value. A Set
// nil (or empty string) clears a nullable field.
type ProductInput struct {
	Name               fields.Optional[string]
	ReferenceID        fields.Optional[string]
	EnvatoID           fields.Optional[*string]
	Description        fields.Optional[*string]
	LicenseUpdate      fields.Optional[bool]
	ServeLatestUpdates fields.Optional[bool]
	IsActive           fields.Optional[bool]

	DefaultLicenseType      fields.Optional[*string]
	DefaultUses             fields.Optional[*int]
	DefaultParallelUses     fields.Optional[*int]
	DefaultExpiryDays       fields.Optional[*int]
	DefaultUpdatesUntilDays fields.Optional[*int]
	DefaultSupportUntilDays fields.Optional[*int]
	DefaultComments         fields.Optional[*string]
	// DefaultExpiryStart: one of ExpiryStarts; empty keeps the stored
	// value (first_activation on create).
	DefaultExpiryStart fields.Optional[string]
	// DefaultFloating: new licenses are floating unless created otherwise.
	DefaultFloating fields.Optional[bool]

	GraceDays fields.Optional[*int]

	Entitlements        fields.Optional[[]string]
	DefaultEntitlements fields.Optional[[]string]

	HeartbeatInterval  fields.Optional[*int]
	HeartbeatTolerance fields.Optional[*int]
	HeartbeatMissed    fields.Optional[string]
}

// Service changes products. Reads are package functions.
type Service struct {
	now func() time.Time
}

// NewService returns a Service; now nil means time.Now.
func NewService(now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{now: now}
}

// CreateProduct validates in and stores a new product. A reference id left
// empty is generated in the product_unique_id_format of set.
func (s *Service) CreateProduct(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, in ProductInput) (*Product, error) {
	p := &Product{ServeLatestUpdates: true, IsActive: true, DefaultExpiryStart: ExpiryStartActivation, Entitlements: []string{}, DefaultEntitlements: []string{},
		HeartbeatTolerance: HeartbeatToleranceDefault, HeartbeatMissed: HeartbeatRelease}
	var verr fields.Error
	if !in.Name.Set || strings.TrimSpace(in.Name.Value) == "" {
		verr.Add("name", fields.Required("name"))
	}
	explicitRef := in.ReferenceID.Set && strings.TrimSpace(in.ReferenceID.Value) != ""
	if explicitRef {
		p.ReferenceID = strings.TrimSpace(in.ReferenceID.Value)
		checkReferenceID(&verr, p.ReferenceID)
	}
	apply(&verr, p, in, nil)
	if err := verr.Err(); err != nil {
		return nil, err
	}

	now := s.now()
	p.CreatedAt, p.UpdatedAt = now, now
	for try := 0; ; try++ {
		if !explicitRef {
			ref, err := NewID(set.ProductUniqueIDFormat, now)
			if err != nil {
				return nil, err
			}
			p.ReferenceID = ref
		}
		// DO NOTHING rather than an error: a conflict must not abort the
		// caller's transaction, since a generated id is simply retried.
		res, err := idb.NewInsert().Model(p).On("CONFLICT (reference_id) DO NOTHING").Returning("*").Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("create product: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			break
		}
		if explicitRef {
			return nil, fields.New("reference_id", fields.Taken("reference_id"))
		}
		if try == idGenerateTries {
			return nil, fmt.Errorf("create product: no free reference id after %d tries", try)
		}
	}
	if err := s.changed(ctx, idb, by, "product.created", p, "created"); err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateProduct changes the Set fields of product id. The reference id
// cannot change: the vendor's shipped software knows it.
func (s *Service) UpdateProduct(ctx context.Context, idb bun.IDB, by audit.Source, id int64, in ProductInput) (*Product, error) {
	p := new(Product)
	if err := idb.NewSelect().Model(p).Where("p.id = ?", id).For("UPDATE").Scan(ctx); err != nil {
		return nil, notFoundOr(err, "update product")
	}
	var verr fields.Error
	var cols []string
	if in.Name.Set && strings.TrimSpace(in.Name.Value) == "" {
		verr.Add("name", fields.Required("name"))
	}
	if in.ReferenceID.Set && !strings.EqualFold(strings.TrimSpace(in.ReferenceID.Value), p.ReferenceID) {
		verr.Add("reference_id", fields.Immutable("reference_id"))
	}
	apply(&verr, p, in, &cols)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.now()
	cols = append(cols, "updated_at")
	if _, err := idb.NewUpdate().Model(p).Column(cols...).WherePK().Exec(ctx); err != nil {
		return nil, fmt.Errorf("update product %d: %w", id, err)
	}
	if in.Entitlements.Set {
		// Names the product no longer defines leave its licenses.
		if _, err := idb.NewRaw(`UPDATE licenses SET entitlements = ARRAY(
				SELECT e FROM unnest(entitlements) AS e WHERE lower(e) IN (SELECT lower(x) FROM unnest(?::text[]) AS x))
			WHERE product_id = ? AND cardinality(entitlements) > 0`, pgdialect.Array(p.Entitlements), id).Exec(ctx); err != nil {
			return nil, fmt.Errorf("drop product %d's removed entitlements from its licenses: %w", id, err)
		}
	}
	if err := s.changed(ctx, idb, by, "product.updated", p, "updated"); err != nil {
		return nil, err
	}
	return p, nil
}

// SetProductActive activates or deactivates product id. It is idempotent:
// changed is false (and nothing is logged) when the flag already had that
// value. An inactive product answers "not found" to the external API except
// deactivation (docs/features.md#products-and-versions).
func (s *Service) SetProductActive(ctx context.Context, idb bun.IDB, by audit.Source, id int64, active bool) (p *Product, changed bool, err error) {
	p = new(Product)
	res, err := idb.NewUpdate().Model(p).
		Set("is_active = ?", active).Set("updated_at = ?", s.now()).
		Where("id = ? AND is_active <> ?", id, active).
		Returning("*").Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("set product %d active: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		p, err = Get(ctx, idb, id)
		return p, false, err
	}
	typ, verb := "product.activated", "activated"
	if !active {
		typ, verb = "product.deactivated", "deactivated"
	}
	return p, true, s.changed(ctx, idb, by, typ, p, verb)
}

// DeleteProduct deletes product id with its versions, licenses and
// activations (the foreign keys cascade). Version files are left to their
// owner's clean-up.
func (s *Service) DeleteProduct(ctx context.Context, idb bun.IDB, by audit.Source, id int64) error {
	p := new(Product)
	if err := idb.NewDelete().Model(p).Where("id = ?", id).Returning("*").Scan(ctx); err != nil {
		return notFoundOr(err, "delete product")
	}
	return s.changed(ctx, idb, by, "product.deleted", p, "deleted")
}

// Impact counts what deleting product id takes with it, for the console's
// confirmation.
type Impact struct {
	Versions, Licenses, Activations int
}

// DeleteImpact returns the Impact of deleting product id.
func DeleteImpact(ctx context.Context, idb bun.IDB, id int64) (Impact, error) {
	var im Impact
	err := idb.NewRaw(`SELECT
		(SELECT count(*) FROM product_versions WHERE product_id = ?0) AS versions,
		(SELECT count(*) FROM licenses WHERE product_id = ?0) AS licenses,
		(SELECT count(*) FROM activations WHERE product_id = ?0) AS activations`, id).
		Scan(ctx, &im.Versions, &im.Licenses, &im.Activations)
	if err != nil {
		return im, fmt.Errorf("count what product %d holds: %w", id, err)
	}
	return im, nil
}

// changed logs a product change and tells every node's cache to drop the
// product when the transaction commits.
func (s *Service) changed(ctx context.Context, idb bun.IDB, by audit.Source, typ string, p *Product, verb string) error {
	if _, err := idb.ExecContext(ctx, "SELECT pg_notify(?, ?)", ProductsChannel, cacheKey(p.ReferenceID)); err != nil {
		return fmt.Errorf("notify product change: %w", err)
	}
	return audit.Record(ctx, idb, audit.Entry{
		Type:    typ,
		Actor:   by.Actor,
		IP:      by.IP,
		Subject: &audit.Subject{Type: audit.SubjectProduct, ID: p.ID},
		Message: fmt.Sprintf("Product %s %s %s.", p.Name, verb, by.Actor.Via()),
	})
}

// apply validates the fields of in other than name and reference id and
// copies the Set ones into p, naming the columns in cols when it is given.
func apply(verr *fields.Error, p *Product, in ProductInput, cols *[]string) {
	col := func(c string) {
		if cols != nil {
			*cols = append(*cols, c)
		}
	}
	if in.Name.Set {
		p.Name = strings.TrimSpace(in.Name.Value)
		verr.CheckLen("name", p.Name, 0, productNameMax)
		col("name")
	}
	text := func(f fields.Optional[*string], name string, max int, dst **string) {
		if !f.Set {
			return
		}
		*dst = emptyToNil(f.Value)
		if *dst != nil {
			verr.CheckLen(name, **dst, 0, max)
		}
		col(name)
	}
	text(in.EnvatoID, "envato_id", envatoIDMax, &p.EnvatoID)
	text(in.Description, "description", longTextMax, &p.Description)
	text(in.DefaultLicenseType, "default_license_type", licenseTypeMax, &p.DefaultLicenseType)
	text(in.DefaultComments, "default_comments", longTextMax, &p.DefaultComments)
	flag := func(f fields.Optional[bool], name string, dst *bool) {
		if f.Set {
			*dst = f.Value
			col(name)
		}
	}
	flag(in.LicenseUpdate, "license_update", &p.LicenseUpdate)
	flag(in.ServeLatestUpdates, "serve_latest_updates", &p.ServeLatestUpdates)
	flag(in.IsActive, "is_active", &p.IsActive)
	flag(in.DefaultFloating, "default_floating", &p.DefaultFloating)
	count := func(f fields.Optional[*int], name string, dst **int, check func(string, *int)) {
		if f.Set {
			*dst = f.Value
			check(name, f.Value)
			col(name)
		}
	}
	counts := func(name string, v *int) { verr.CheckCount(name, v, 0) }
	count(in.DefaultUses, "default_uses", &p.DefaultUses, counts)
	count(in.DefaultParallelUses, "default_parallel_uses", &p.DefaultParallelUses, counts)
	count(in.DefaultExpiryDays, "default_expiry_days", &p.DefaultExpiryDays, verr.CheckDays)
	count(in.DefaultUpdatesUntilDays, "default_updates_until_days", &p.DefaultUpdatesUntilDays, verr.CheckDays)
	count(in.DefaultSupportUntilDays, "default_support_until_days", &p.DefaultSupportUntilDays, verr.CheckDays)
	count(in.GraceDays, "grace_days", &p.GraceDays, verr.CheckDays)
	if in.DefaultExpiryStart.Set {
		if start := CheckExpiryStart(verr, "default_expiry_start", in.DefaultExpiryStart.Value); start != "" {
			p.DefaultExpiryStart = start
			col("default_expiry_start")
		}
	}
	count(in.HeartbeatInterval, "heartbeat_interval", &p.HeartbeatInterval, func(name string, v *int) { CheckHeartbeatInterval(verr, name, v) })
	if in.HeartbeatTolerance.Set {
		v := in.HeartbeatTolerance.Value
		switch {
		case v == nil:
			p.HeartbeatTolerance = HeartbeatToleranceDefault
		case *v < 0:
			verr.Add("heartbeat_tolerance", fields.Min("heartbeat_tolerance", 0))
		case *v > HeartbeatToleranceMax:
			verr.Add("heartbeat_tolerance", fields.Max("heartbeat_tolerance", HeartbeatToleranceMax))
		default:
			p.HeartbeatTolerance = *v
		}
		col("heartbeat_tolerance")
	}
	if in.HeartbeatMissed.Set {
		switch v := strings.TrimSpace(in.HeartbeatMissed.Value); v {
		case "":
			p.HeartbeatMissed = HeartbeatRelease
		case HeartbeatRelease, HeartbeatKeep:
			p.HeartbeatMissed = v
		default:
			verr.Add("heartbeat_missed", fields.Selected("heartbeat_missed"))
		}
		col("heartbeat_missed")
	}
	applyEntitlements(verr, p, in, col)
}

// CheckHeartbeatInterval checks a heartbeat interval in seconds (nil: none)
// against the bounds of migration 0083.
func CheckHeartbeatInterval(verr *fields.Error, name string, v *int) {
	switch {
	case v == nil:
	case *v < HeartbeatIntervalMin:
		verr.Add(name, fields.Min(name, HeartbeatIntervalMin))
	case *v > HeartbeatIntervalMax:
		verr.Add(name, fields.Max(name, HeartbeatIntervalMax))
	}
}

// applyEntitlements sets the product's entitlement names and defaults; a
// default must be one of the names (docs/licensing.md#entitlements).
func applyEntitlements(verr *fields.Error, p *Product, in ProductInput, col func(string)) {
	if in.Entitlements.Set {
		p.Entitlements = NormalizeEntitlements(verr, "entitlements", in.Entitlements.Value)
		col("entitlements")
	}
	if in.DefaultEntitlements.Set {
		p.DefaultEntitlements = NormalizeEntitlements(verr, "default_entitlements", in.DefaultEntitlements.Value)
		col("default_entitlements")
	}
	known, unknown := p.Entitled(p.DefaultEntitlements)
	if len(unknown) > 0 && !verr.Has("default_entitlements") {
		if !in.DefaultEntitlements.Set {
			// Names removed from the product leave its defaults too.
			p.DefaultEntitlements = known
			col("default_entitlements")
			return
		}
		verr.Add("default_entitlements", "The default entitlements field may only hold the product's entitlements (not "+strings.Join(unknown, ", ")+").")
		return
	}
	p.DefaultEntitlements = known
}

func checkReferenceID(verr *fields.Error, ref string) {
	switch {
	case fields.Length(ref) > referenceIDMax:
		verr.Add("reference_id", fields.MaxLen("reference_id", referenceIDMax))
	case !fields.IsIdentifier(ref):
		verr.Add("reference_id", fields.Format("reference_id"))
	}
}

// emptyToNil treats an empty or blank string as absent (docs/api/conventions.md#requests).
func emptyToNil(s *string) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	return s
}

func notFoundOr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}
