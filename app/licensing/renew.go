package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
)

// RenewMaxDays bounds one renewal's period (about a hundred years).
const RenewMaxDays = 36500

// Renewal is one renewal of a license (table license_renewals,
// docs/licensing.md#renewals).
type Renewal struct {
	bun.BaseModel `bun:"table:license_renewals,alias:r"`

	ID            int64      `bun:"id,pk,autoincrement"`
	LicenseID     int64      `bun:"license_id"`
	Days          int        `bun:"days"`
	ExpiresBefore *time.Time `bun:"expires_before"`
	ExpiresAfter  *time.Time `bun:"expires_after"`
	UpdatesBefore *time.Time `bun:"updates_before"`
	UpdatesAfter  *time.Time `bun:"updates_after"`
	ActorType     string     `bun:"actor_type"`
	ActorName     string     `bun:"actor_name"`
	RenewedAt     time.Time  `bun:"renewed_at"`
}

// RenewLicense renews license id on the same key (docs/licensing.md#renewals):
// expires_at and updates_until move days later, counted from the later of
// now and their current value; a date that is null (never / lifetime) stays
// so. days nil takes the product's renewal period (its
// default_expiry_days). The license keeps its code and its activations,
// also when it had lapsed; blocked stays blocked. The renewal is recorded,
// logged and handed to the LicenseRenewed hook in one transaction.
func (s *Service) RenewLicense(ctx context.Context, idb bun.IDB, by audit.Source, id int64, days *int) (*License, *Renewal, error) {
	var (
		out *License
		rn  *Renewal
	)
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		l, err := lockLicense(ctx, tx, "l.id = ?", id)
		if err != nil {
			return err
		}
		if days == nil {
			p, err := catalog.Get(ctx, tx, l.ProductID)
			if err != nil {
				return err
			}
			days = p.DefaultExpiryDays
		}
		switch {
		case days == nil:
			return fields.New("days", "The days field is required: the product has no renewal period (default expiry days).")
		case *days < 1 || *days > RenewMaxDays:
			return fields.New("days", fmt.Sprintf("The days field must be between 1 and %d.", RenewMaxDays))
		}
		now := s.now()
		extend := func(t *time.Time) *time.Time {
			if t == nil {
				return nil
			}
			from := *t
			if from.Before(now) {
				from = now
			}
			next := from.AddDate(0, 0, *days)
			return &next
		}
		rn = &Renewal{
			LicenseID: l.ID, Days: *days,
			ExpiresBefore: l.ExpiresAt, ExpiresAfter: extend(l.ExpiresAt),
			UpdatesBefore: l.UpdatesUntil, UpdatesAfter: extend(l.UpdatesUntil),
			ActorType: by.Actor.Type, ActorName: by.Actor.Name, RenewedAt: now,
		}
		if _, err := tx.NewUpdate().Table("licenses").
			Set("expires_at = ?, updates_until = ?, updated_at = ?", rn.ExpiresAfter, rn.UpdatesAfter, now).
			Where("id = ?", l.ID).Exec(ctx); err != nil {
			return fmt.Errorf("renew license %s: %w", l.LicenseCode, err)
		}
		if _, err := tx.NewInsert().Model(rn).Exec(ctx); err != nil {
			return fmt.Errorf("record renewal of license %s: %w", l.LicenseCode, err)
		}
		if out, err = Get(ctx, tx, l.ID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			Type: "license.renewed", Actor: by.Actor, IP: by.IP,
			Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
			Message: fmt.Sprintf("License %s renewed for %d days %s.", l.LicenseCode, *days, by.Actor.Via()),
		}); err != nil {
			return err
		}
		return s.hooks.licenseRenewed(ctx, tx, out, rn)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, rn, nil
}

// Renewals returns license id's renewals, newest first.
func Renewals(ctx context.Context, idb bun.IDB, licenseID int64) ([]Renewal, error) {
	var out []Renewal
	if err := idb.NewSelect().Model(&out).Where("r.license_id = ?", licenseID).
		OrderExpr("r.renewed_at DESC, r.id DESC").Limit(100).Scan(ctx); err != nil {
		return nil, fmt.Errorf("renewals of license %d: %w", licenseID, err)
	}
	return out, nil
}
