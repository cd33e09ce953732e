package licensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

// Field limits of docs/api/internal.md#licenses.
const (
	codeMax       = 100
	typeMax       = 100
	customerIDMax = 155
	invoiceMax    = 255
	commentsMax   = 10000
)

// LicenseInput is what a create or an update sends. On create, fields not
// Set (or Set to nil) take the product's defaults where it has one; on
// update they keep their stored value, and a Set nil clears the field.
type LicenseInput struct {
	// ProductReferenceID is required on create and cannot change.
	ProductReferenceID fields.Optional[string]
	// LicenseCode is generated when empty on create and cannot change.
	LicenseCode fields.Optional[string]

	Type         fields.Optional[*string]
	CustomerID   fields.Optional[*string]
	Email        fields.Optional[*string]
	Invoice      fields.Optional[*string]
	Comments     fields.Optional[*string]
	Uses         fields.Optional[*int]
	ParallelUses fields.Optional[*int]
	ExpiryDays   fields.Optional[*int]
	// ExpiryStart: one of catalog.ExpiryStarts; empty takes the product's
	// default_expiry_start on create and keeps the stored value on update.
	ExpiryStart  fields.Optional[string]
	ExpiresAt    fields.Optional[*time.Time]
	UpdatesUntil fields.Optional[*time.Time]
	SupportUntil fields.Optional[*time.Time]
	Domains      fields.Optional[[]string]
	IPs          fields.Optional[[]string]
	// Entitlements: names the product defines (ignoring case); on create,
	// absent takes the product's default_entitlements.
	Entitlements fields.Optional[[]string]
	// IsValid false is blocked: on update it blocks or unblocks the
	// license with every effect of Block and Unblock.
	IsValid  fields.Optional[bool]
	IsEnvato fields.Optional[bool]
	// HeartbeatInterval and HeartbeatMissed override the product's policy
	// (nil or "": the product's); Floating: see License (on create, absent
	// takes the product's default_floating).
	HeartbeatInterval fields.Optional[*int]
	HeartbeatMissed   fields.Optional[*string]
	Floating          fields.Optional[bool]
}

// CreateLicense validates in and stores a new license with the product's
// defaults for what in leaves out, generating its code when none is given.
func (s *Service) CreateLicense(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, in LicenseInput) (*License, error) {
	var verr fields.Error
	ref := strings.TrimSpace(in.ProductReferenceID.Value)
	var product *catalog.Product
	if ref == "" {
		verr.Add("product_reference_id", fields.Required("product_reference_id"))
	} else {
		p, err := catalog.ByRef(ctx, idb, ref)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			verr.Add("product_reference_id", fields.Selected("product_reference_id"))
		case err != nil:
			return nil, err
		default:
			product = p
		}
	}
	now := s.now()
	l, code := prepareLicense(&verr, product, in, set, now)
	if err := verr.Err(); err != nil {
		return nil, err
	}

	l.CreatedAt, l.UpdatedAt = now, now
	for try := 0; ; try++ {
		l.LicenseCode = code
		if code == "" {
			generated, err := GenerateCode(set, now, s.rand)
			if err != nil {
				return nil, err
			}
			l.LicenseCode = generated
		}
		// DO NOTHING rather than an error: a conflict must not abort the
		// caller's transaction, since a generated code is simply retried.
		res, err := idb.NewInsert().Model(l).On("CONFLICT (license_code) DO NOTHING").Returning("id").Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("create license: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			break
		}
		if code != "" {
			return nil, fields.New("license_code", fields.Taken("license_code"))
		}
		if try == codeTries {
			return nil, fmt.Errorf("create license: no free license code after %d tries: %w", try, ErrCodesExhausted)
		}
	}
	created, err := Get(ctx, idb, l.ID)
	if err != nil {
		return nil, err
	}
	if err := logLicense(ctx, idb, by, "license.created", created, "created"); err != nil {
		return nil, err
	}
	return created, s.hooks.licenseCreated(ctx, idb, created)
}

// NewLicense checks in by CreateLicense's rules for a license of product,
// except the uniqueness of its code (which needs the database), and returns
// the license CreateLicense would insert, its code generated when in has
// none. A nil product is reported as an unknown product_reference_id
// (required when in has none). Bulk imports build their rows with it,
// resolving products and checking codes for a whole batch at once.
func (s *Service) NewLicense(product *catalog.Product, in LicenseInput, set *settings.Values) (*License, error) {
	var verr fields.Error
	if product == nil {
		if strings.TrimSpace(in.ProductReferenceID.Value) == "" {
			verr.Add("product_reference_id", fields.Required("product_reference_id"))
		} else {
			verr.Add("product_reference_id", fields.Selected("product_reference_id"))
		}
	}
	now := s.now()
	l, code := prepareLicense(&verr, product, in, set, now)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	l.LicenseCode = code
	if code == "" {
		generated, err := GenerateCode(set, now, s.rand)
		if err != nil {
			return nil, err
		}
		l.LicenseCode = generated
	}
	l.CreatedAt, l.UpdatedAt = now, now
	return l, nil
}

// prepareLicense checks the code and the fields of in and builds the new
// license from product's defaults and in.
func prepareLicense(verr *fields.Error, product *catalog.Product, in LicenseInput, set *settings.Values, now time.Time) (*License, string) {
	code := strings.TrimSpace(in.LicenseCode.Value)
	if code != "" {
		checkCode(verr, code)
	}
	l := &License{IsValid: true, Domains: []string{}, IPs: []string{}, Entitlements: []string{}}
	if product != nil {
		l.ProductID = product.ID
		l.ProductReferenceID, l.ProductName = product.ReferenceID, product.Name
		l.ProductGraceDays, l.ProductEntitlements = product.GraceDays, product.Entitlements
		l.ProductHeartbeatInterval, l.ProductHeartbeatTolerance, l.ProductHeartbeatMissed =
			product.HeartbeatInterval, product.HeartbeatTolerance, product.HeartbeatMissed
		applyProductDefaults(l, product, now)
	}
	applyLicenseInput(verr, l, withoutNils(in), set)
	if l.ExpiryStart == "" {
		l.ExpiryStart = catalog.ExpiryStartActivation
	}
	applyClock(l, nil, now)
	return l, code
}

// UpdateLicense changes the Set fields of license id. Setting is_valid
// blocks or unblocks the license (see Block); the other changes are logged
// and reported to the license.updated hook with the changed field names.
func (s *Service) UpdateLicense(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, id int64, in LicenseInput) (*License, error) {
	var out *License
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		old, err := lockLicense(ctx, tx, "l.id = ?", id)
		if err != nil {
			return err
		}
		var verr fields.Error
		if in.ProductReferenceID.Set && !strings.EqualFold(strings.TrimSpace(in.ProductReferenceID.Value), old.ProductReferenceID) {
			verr.Add("product_reference_id", fields.Immutable("product_reference_id"))
		}
		if in.LicenseCode.Set && !strings.EqualFold(strings.TrimSpace(in.LicenseCode.Value), old.LicenseCode) {
			verr.Add("license_code", fields.Immutable("license_code"))
		}
		l := *old
		blockChange := in.IsValid.Set && in.IsValid.Value != old.IsValid
		in.IsValid = fields.Optional[bool]{}
		changed := applyLicenseInput(&verr, &l, in, set)
		if err := verr.Err(); err != nil {
			return err
		}
		changed = append(changed, applyClock(&l, old, s.now())...)
		if len(changed) > 0 {
			l.UpdatedAt = s.now()
			if _, err := tx.NewUpdate().Model(&l).Column(append(changed, "updated_at")...).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("update license %s: %w", l.LicenseCode, err)
			}
			updated, err := Get(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := logLicense(ctx, tx, by, "license.updated", updated, "updated"); err != nil {
				return err
			}
			if err := s.hooks.licenseUpdated(ctx, tx, updated, changed); err != nil {
				return err
			}
		}
		if blockChange {
			if _, err := s.setBlocked(ctx, tx, by, id, old.IsValid); err != nil {
				return err
			}
		}
		out, err = Get(ctx, tx, id)
		return err
	})
	return out, err
}

// Block marks license id blocked and, in the same transaction, deactivates
// every active activation of it (reason blocked). Unblock only clears the
// flag: clients activate again. Both are idempotent; changed is false when
// the license already had that state.
func (s *Service) Block(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (l *License, changed bool, err error) {
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		changed, err = s.setBlocked(ctx, tx, by, id, true)
		if err == nil {
			l, err = Get(ctx, tx, id)
		}
		return err
	})
	return l, changed, err
}

// Unblock clears the blocked flag of license id (see Block).
func (s *Service) Unblock(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (l *License, changed bool, err error) {
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		changed, err = s.setBlocked(ctx, tx, by, id, false)
		if err == nil {
			l, err = Get(ctx, tx, id)
		}
		return err
	})
	return l, changed, err
}

func (s *Service) setBlocked(ctx context.Context, tx bun.IDB, by audit.Source, id int64, blocked bool) (bool, error) {
	// Locking the license row serialises this with activations of the
	// license, so none can slip in between the flag and the deactivation.
	l, err := lockLicense(ctx, tx, "l.id = ?", id)
	if err != nil {
		return false, err
	}
	if l.IsValid == !blocked {
		return false, nil
	}
	now := s.now()
	if _, err := tx.NewUpdate().Model(l).Set("is_valid = ?, updated_at = ?", !blocked, now).WherePK().Exec(ctx); err != nil {
		return false, fmt.Errorf("set license %s blocked=%v: %w", l.LicenseCode, blocked, err)
	}
	l.IsValid, l.UpdatedAt = !blocked, now
	if !blocked {
		if err := logLicense(ctx, tx, by, "license.unblocked", l, "unblocked"); err != nil {
			return false, err
		}
		return true, s.hooks.licenseUnblocked(ctx, tx, l)
	}
	var active []*Activation
	if err := tx.NewSelect().Model(&active).Where("license_id = ? AND is_active", l.ID).OrderExpr("activated_at, id").Scan(ctx); err != nil {
		return false, fmt.Errorf("active activations of %s: %w", l.LicenseCode, err)
	}
	if _, err := s.deactivate(ctx, tx, active, ReasonBlocked); err != nil {
		return false, err
	}
	l.ActiveActivations = 0
	if err := logLicense(ctx, tx, by, "license.blocked", l, "blocked"); err != nil {
		return false, err
	}
	return true, s.hooks.licenseBlocked(ctx, tx, l)
}

// DeleteLicense deletes license id and its activations (cascade).
func (s *Service) DeleteLicense(ctx context.Context, idb bun.IDB, by audit.Source, id int64) error {
	l, err := Get(ctx, idb, id)
	if err != nil {
		return err
	}
	if _, err := idb.NewDelete().Model((*License)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete license %s: %w", l.LicenseCode, err)
	}
	return logLicense(ctx, idb, by, "license.deleted", l, "deleted")
}

// lockLicense reads one license with its derived values and locks its row
// (FOR UPDATE OF l: the product row is not locked).
func lockLicense(ctx context.Context, tx bun.IDB, where string, arg any) (*License, error) {
	l := new(License)
	if err := selectLicenses(tx, l).Where(where, arg).For("UPDATE OF l").Scan(ctx); err != nil {
		return nil, notFoundOr(err, "lock license")
	}
	return l, nil
}

func logLicense(ctx context.Context, idb bun.IDB, by audit.Source, typ string, l *License, verb string) error {
	return audit.Record(ctx, idb, audit.Entry{
		Type: typ, Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
		Message: fmt.Sprintf("License %s %s %s.", l.LicenseCode, verb, by.Actor.Via()),
	})
}

// applyProductDefaults fills a new license from its product (docs/api/internal.md#licenses):
// type, uses, parallel uses, expiry days and comments, the expiry clock's
// start, floating and entitlements; updates and support periods counted
// from now.
func applyProductDefaults(l *License, p *catalog.Product, now time.Time) {
	l.Type, l.Uses, l.ParallelUses, l.ExpiryDays, l.Comments =
		p.DefaultLicenseType, p.DefaultUses, p.DefaultParallelUses, p.DefaultExpiryDays, p.DefaultComments
	l.ExpiryStart, l.Floating = p.DefaultExpiryStart, p.DefaultFloating
	days := func(n *int) *time.Time {
		if n == nil {
			return nil
		}
		t := fields.AddDays(now, *n)
		return &t
	}
	l.UpdatesUntil = days(p.DefaultUpdatesUntilDays)
	l.SupportUntil = days(p.DefaultSupportUntilDays)
	l.Entitlements = []string{}
	for _, e := range p.Entitlements {
		if slices.Contains(p.DefaultEntitlements, e) {
			l.Entitlements = append(l.Entitlements, e)
		}
	}
}

// applyClock keeps the expiry clock's state true after a create (old nil)
// or an update of l (docs/licensing.md#expiry-clock): an expires_at cleared
// by hand leaves the clock waiting again, and a license whose clock starts
// at creation has it started whenever it waits. It returns the columns it
// changed.
func applyClock(l, old *License, now time.Time) []string {
	var changed []string
	if l.ExpiresAt == nil && l.ExpiryStartedAt != nil {
		l.ExpiryStartedAt = nil
		changed = append(changed, "expiry_started_at")
	}
	if l.ExpiryStart == catalog.ExpiryStartCreation && l.startClock(now) {
		changed = append(changed, "expiry_started_at")
		if old == nil || old.ExpiresAt == nil {
			changed = append(changed, "expires_at")
		}
	}
	return slices.Compact(changed)
}

// withoutNils unsets the nullable fields sent as nil, so that on create
// they take the product's default like absent ones (an empty value counts
// as absent, docs/api/conventions.md#requests).
func withoutNils(in LicenseInput) LicenseInput {
	unsetNil(&in.Type)
	unsetNil(&in.CustomerID)
	unsetNil(&in.Email)
	unsetNil(&in.Invoice)
	unsetNil(&in.Comments)
	unsetNil(&in.Uses)
	unsetNil(&in.ParallelUses)
	unsetNil(&in.ExpiryDays)
	unsetNil(&in.ExpiresAt)
	unsetNil(&in.UpdatesUntil)
	unsetNil(&in.SupportUntil)
	unsetNil(&in.HeartbeatInterval)
	unsetNil(&in.HeartbeatMissed)
	return in
}

func unsetNil[T any](f *fields.Optional[*T]) {
	if f.Set && f.Value == nil {
		*f = fields.Optional[*T]{}
	}
}

// MaxHosts is the most domains, or IPs, a license lists.
const MaxHosts = 1000

// applyLicenseInput validates the fields of in other than product and code
// and copies the Set ones into l. It returns the columns whose value
// changed.
func applyLicenseInput(verr *fields.Error, l *License, in LicenseInput, set *settings.Values) []string {
	var changed []string
	text := func(f fields.Optional[*string], col string, max int, dst **string) {
		if !f.Set {
			return
		}
		v := f.Value
		if v != nil {
			t := strings.TrimSpace(*v)
			if v = &t; t == "" {
				v = nil
			}
		}
		if v != nil {
			verr.CheckLen(col, *v, 0, max)
		}
		if !equalPtr(*dst, v) {
			changed = append(changed, col)
		}
		*dst = v
	}
	text(in.Type, "type", typeMax, &l.Type)
	text(in.CustomerID, "customer_id", customerIDMax, &l.CustomerID)
	text(in.Email, "email", fields.MaxEmailLen, &l.Email)
	if in.Email.Set && l.Email != nil && !verr.Has("email") && !fields.IsEmail(*l.Email) {
		verr.Add("email", fields.Email("email"))
	}
	text(in.Invoice, "invoice", invoiceMax, &l.Invoice)
	text(in.Comments, "comments", commentsMax, &l.Comments)

	count := func(f fields.Optional[*int], col string, dst **int) {
		if !f.Set {
			return
		}
		if col == "expiry_days" {
			verr.CheckDays(col, f.Value)
		} else {
			verr.CheckCount(col, f.Value, 0)
		}
		if !equalPtr(*dst, f.Value) {
			changed = append(changed, col)
		}
		*dst = f.Value
	}
	count(in.Uses, "uses", &l.Uses)
	count(in.ParallelUses, "parallel_uses", &l.ParallelUses)
	count(in.ExpiryDays, "expiry_days", &l.ExpiryDays)
	if f := in.HeartbeatInterval; f.Set {
		catalog.CheckHeartbeatInterval(verr, "heartbeat_interval", f.Value)
		if !equalPtr(l.HeartbeatInterval, f.Value) {
			changed = append(changed, "heartbeat_interval")
		}
		l.HeartbeatInterval = f.Value
	}
	if f := in.HeartbeatMissed; f.Set {
		var v *string
		if f.Value != nil {
			switch t := strings.TrimSpace(*f.Value); t {
			case "":
			case catalog.HeartbeatRelease, catalog.HeartbeatKeep:
				v = &t
			default:
				verr.Add("heartbeat_missed", fields.Selected("heartbeat_missed"))
			}
		}
		if !equalPtr(l.HeartbeatMissed, v) {
			changed = append(changed, "heartbeat_missed")
		}
		l.HeartbeatMissed = v
	}

	if in.ExpiryStart.Set {
		if start := catalog.CheckExpiryStart(verr, "expiry_start", in.ExpiryStart.Value); start != "" && start != l.ExpiryStart {
			changed = append(changed, "expiry_start")
			l.ExpiryStart = start
		}
	}

	date := func(f fields.Optional[*time.Time], col string, dst **time.Time) {
		if !f.Set {
			return
		}
		verr.CheckDate(col, f.Value)
		if !equalTime(*dst, f.Value) {
			changed = append(changed, col)
		}
		*dst = f.Value
	}
	date(in.ExpiresAt, "expires_at", &l.ExpiresAt)
	date(in.UpdatesUntil, "updates_until", &l.UpdatesUntil)
	date(in.SupportUntil, "support_until", &l.SupportUntil)

	// A bounded list (docs/deploy.md#informational-findings): 20,000
	// domains were accepted and checked on every activation.
	if in.Domains.Set && len(in.Domains.Value) > MaxHosts {
		verr.Add("domains", fmt.Sprintf("The domains field must not have more than %d items.", MaxHosts))
		in.Domains = fields.Optional[[]string]{}
	}
	if in.IPs.Set && len(in.IPs.Value) > MaxHosts {
		verr.Add("ips", fmt.Sprintf("The ips field must not have more than %d items.", MaxHosts))
		in.IPs = fields.Optional[[]string]{}
	}
	if in.Domains.Set {
		domains := normalizeDomainList(verr, in.Domains.Value, set.NormalizeDomainVariants)
		if !slices.Equal(domains, l.Domains) {
			changed = append(changed, "domains")
		}
		l.Domains = domains
	}
	if in.IPs.Set {
		ips := normalizeIPList(verr, in.IPs.Value)
		if !slices.Equal(ips, l.IPs) {
			changed = append(changed, "ips")
		}
		l.IPs = ips
	}
	if in.Entitlements.Set {
		ents := entitlementsOf(verr, l, in.Entitlements.Value)
		if !slices.Equal(ents, l.Entitlements) {
			changed = append(changed, "entitlements")
		}
		l.Entitlements = ents
	}
	flag := func(f fields.Optional[bool], col string, dst *bool) {
		if f.Set && f.Value != *dst {
			changed = append(changed, col)
			*dst = f.Value
		}
	}
	flag(in.IsValid, "is_valid", &l.IsValid)
	flag(in.IsEnvato, "is_envato", &l.IsEnvato)
	flag(in.Floating, "floating", &l.Floating)
	return changed
}

// entitlementsOf checks names against the entitlements of l's product and
// returns them as the product spells them, in its order
// (docs/licensing.md#entitlements).
func entitlementsOf(verr *fields.Error, l *License, names []string) []string {
	names = catalog.NormalizeEntitlements(verr, "entitlements", names)
	p := catalog.Product{Entitlements: l.ProductEntitlements}
	known, unknown := p.Entitled(names)
	if len(unknown) > 0 {
		verr.Add("entitlements", "The entitlements field may only hold the product's entitlements (not "+strings.Join(unknown, ", ")+").")
		return l.Entitlements
	}
	out := []string{}
	for _, d := range p.Entitlements {
		if slices.Contains(known, d) {
			out = append(out, d)
		}
	}
	return out
}

// normalizeDomainList stores licensed domains normalised
// (docs/api/authentication.md#hosts-and-ips), wildcard entries keeping their
// "*.", without duplicates.
func normalizeDomainList(verr *fields.Error, in []string, dropWWW bool) []string {
	out := []string{}
	for i, raw := range in {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		d, err := NormalizeDomainEntry(raw, dropWWW)
		if err != nil {
			f := fmt.Sprintf("domains.%d", i)
			verr.Add(f, fields.Domain(f))
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// normalizeIPList stores licensed IPs canonical: IPs, CIDR ranges, and
// trailing-* IPv4 patterns turned into ranges (docs/api/authentication.md#hosts-and-ips).
func normalizeIPList(verr *fields.Error, in []string) []string {
	out := []string{}
	for i, raw := range in {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		e, err := NormalizeIPEntry(raw)
		if err != nil {
			f := fmt.Sprintf("ips.%d", i)
			verr.Add(f, fields.IP(f))
			continue
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func checkCode(verr *fields.Error, code string) {
	switch {
	case fields.Length(code) > codeMax:
		verr.Add("license_code", fields.MaxLen("license_code", codeMax))
	case !fields.IsIdentifier(code):
		verr.Add("license_code", fields.Format("license_code"))
	}
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func notFoundOr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}
