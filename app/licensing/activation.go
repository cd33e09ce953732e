package licensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
)

// Activation is one installation's use of a license, or a recorded failed
// attempt (IsValid false, FailureReason the status_code). IsActive means it
// holds a slot.
type Activation struct {
	bun.BaseModel `bun:"table:activations,alias:a"`

	ID          int64   `bun:"id,pk,autoincrement"`
	LicenseID   *int64  `bun:"license_id"`
	ProductID   int64   `bun:"product_id"`
	LicenseCode string  `bun:"license_code"`
	ClientName  *string `bun:"client_name"`
	URL         *string `bun:"url"`
	Domain      *string `bun:"domain"`
	IP          *string `bun:"ip"`
	// PeerIP is a failed attempt's connection address (Caller.Peer).
	PeerIP             *string    `bun:"peer_ip"`
	UserAgent          *string    `bun:"user_agent"`
	IsValid            bool       `bun:"is_valid"`
	IsActive           bool       `bun:"is_active"`
	FailureReason      *string    `bun:"failure_reason"`
	DeactivationReason *string    `bun:"deactivation_reason"`
	ActivatedAt        time.Time  `bun:"activated_at,nullzero,notnull,default:current_timestamp"`
	DeactivatedAt      *time.Time `bun:"deactivated_at"`
	LastVerifiedAt     *time.Time `bun:"last_verified_at"`
	// LastHeartbeatAt is the latest heartbeat or verify; HeartbeatDueAt
	// when an active activation under a heartbeat policy is overdue;
	// HeartbeatMissedAt the deadline a kept activation missed
	// (docs/licensing.md#heartbeats-and-automatic-release).
	LastHeartbeatAt   *time.Time `bun:"last_heartbeat_at"`
	HeartbeatDueAt    *time.Time `bun:"heartbeat_due_at"`
	HeartbeatMissedAt *time.Time `bun:"heartbeat_missed_at"`
	// ReactivatedAt is when an admin last made it active again
	// (MarkActivationActive): its heartbeat policy applies from then
	// (docs/licensing.md#re-activation-and-heartbeats).
	ReactivatedAt *time.Time `bun:"reactivated_at"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`

	ProductReferenceID string `bun:"product_reference_id,scanonly"`
	// OfflineFingerprint is the machine of an offline activation
	// (docs/api/verifying.md#offline-activation), nil for an online one.
	OfflineFingerprint *string `bun:"offline_fingerprint,scanonly"`
}

func selectActivations(idb bun.IDB, dst any) *bun.SelectQuery {
	return idb.NewSelect().Model(dst).
		ColumnExpr("a.*").
		ColumnExpr("p.reference_id AS product_reference_id").
		ColumnExpr("oa.fingerprint AS offline_fingerprint").
		Join("JOIN products AS p ON p.id = a.product_id").
		Join("LEFT JOIN offline_activations AS oa ON oa.activation_id = a.id")
}

// GetActivation returns activation id.
func GetActivation(ctx context.Context, idb bun.IDB, id int64) (*Activation, error) {
	a := new(Activation)
	if err := selectActivations(idb, a).Where("a.id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrActivationNotFound
		}
		return nil, fmt.Errorf("get activation %d: %w", id, err)
	}
	return a, nil
}

// ActivationFilter narrows ListActivations. Zero fields do not filter.
type ActivationFilter struct {
	ProductReferenceID string
	LicenseID          int64
	LicenseCode        string
	ClientName         string
	Domain             string
	IsActive           *bool
	IsValid            *bool
	// State keeps the activations in one of the ActivationStates (the
	// heartbeat states, docs/licensing.md#heartbeats-and-automatic-release).
	State string
	// Search matches license code, domain or IP.
	Search string
	// Customer keeps the activations of that customer's licenses (the
	// portal's activations page; linking rule).
	Customer *customers.Customer
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom, CreatedTo time.Time
	// LicenseState keeps the activations whose license is in grace at Now
	// (FilterInGrace) or has an expiry clock not started yet
	// (FilterClockPending).
	LicenseState string
	Now          time.Time
}

// The activation states of heartbeats and floating seats
// (docs/licensing.md#heartbeats-and-automatic-release), as ActivationFilter's
// State and the internal API's and console's status filters name them.
const (
	// StateReleased: released for want of heartbeats (no longer holds a
	// slot).
	StateReleased = "released"
	// StateCheckedIn: a floating seat given back by check-in.
	StateCheckedIn = "checked_in"
	// StateHeartbeatMissed: still active, kept by its policy
	// (heartbeat_missed keep) after it missed a heartbeat, until the next.
	StateHeartbeatMissed = "heartbeat_missed"
)

// ActivationStates are the States ActivationFilter accepts, in the order
// filters list them.
var ActivationStates = []string{StateReleased, StateCheckedIn, StateHeartbeatMissed}

var activationSorts = listing.Sorts{
	"id": "a.id", "created_at": "a.created_at", "updated_at": "a.updated_at",
	"activated_at": "a.activated_at", "license_code": "a.license_code", "domain": "a.domain",
	"last_verified_at": "a.last_verified_at", "last_heartbeat_at": "a.last_heartbeat_at",
}

// ListActivations returns one page of activations and the number matching f.
func ListActivations(ctx context.Context, idb bun.IDB, f ActivationFilter, sort string, page listing.Page) ([]Activation, int, error) {
	var out []Activation
	q := selectActivations(idb, &out)
	if f.ProductReferenceID != "" {
		q = q.Where("p.reference_id = ?", f.ProductReferenceID)
	}
	if f.LicenseID != 0 {
		q = q.Where("a.license_id = ?", f.LicenseID)
	}
	if f.LicenseCode != "" {
		q = q.Where("lower(a.license_code) = lower(?)", f.LicenseCode)
	}
	if f.ClientName != "" {
		q = q.Where("lower(a.client_name) = lower(?)", f.ClientName)
	}
	if f.Domain != "" {
		q = q.Where("a.domain = ?", f.Domain)
	}
	if f.IsActive != nil {
		q = q.Where("a.is_active = ?", *f.IsActive)
	}
	if f.IsValid != nil {
		q = q.Where("a.is_valid = ?", *f.IsValid)
	}
	switch f.State {
	case StateReleased:
		q = q.Where("a.deactivation_reason = ?", ReasonReleased)
	case StateCheckedIn:
		q = q.Where("a.deactivation_reason = ?", ReasonCheckedIn)
	case StateHeartbeatMissed:
		// activations_heartbeat_missed_idx (migration 0122).
		q = q.Where("a.is_active AND a.heartbeat_missed_at IS NOT NULL")
	}
	if f.Search != "" {
		p := listing.Contains(f.Search)
		q = q.Where("(a.license_code ILIKE ? OR a.domain ILIKE ? OR a.ip ILIKE ?)", p, p, p)
	}
	if f.Customer != nil {
		q = q.Join("JOIN licenses AS l ON l.id = a.license_id")
		q = customers.WhereLinked(q, "l", f.Customer)
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("a.created_at >= ?", f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("a.created_at < ?", f.CreatedTo)
	}
	if f.LicenseState == FilterInGrace || f.LicenseState == FilterClockPending {
		// The license's state as the license list filters it.
		q = q.Where("a.license_id IN (?)", filterLicenses(idb.NewSelect().TableExpr("licenses AS l").Column("l.id"),
			LicenseFilter{Status: f.LicenseState}, f.Now))
	}
	q = page.Apply(listing.Order(q, sort, activationSorts, "a.created_at", "a.id"))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list activations: %w", err)
	}
	return out, int(total), nil
}

// MarkActivationActive sets activation id active without checking any
// limit: an explicit admin override (docs/api/internal.md#activations), logged as such. Failed
// attempts cannot be activated. It is idempotent: changed is false when the
// activation was already active. Every way an admin makes an activation
// active again (console, internal API, the Undo of a block) comes here, so
// the heartbeat rule lives here once: the license's policy applies again
// from now (reactivationDue).
func (s *Service) MarkActivationActive(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (a *Activation, changed bool, err error) {
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if a, err = lockActivation(ctx, tx, id); err != nil {
			return err
		}
		if !a.IsValid {
			return fields.New("activation", "Failed activation attempts cannot be activated.")
		}
		if a.IsActive {
			return nil
		}
		now := s.now()
		due, err := reactivationDue(ctx, tx, a, now)
		if err != nil {
			return err
		}
		a.IsActive, a.DeactivatedAt, a.DeactivationReason, a.UpdatedAt = true, nil, nil, now
		a.ReactivatedAt, a.HeartbeatDueAt, a.HeartbeatMissedAt = &now, due, nil
		if _, err := tx.NewUpdate().Model(a).Column("is_active", "deactivated_at", "deactivation_reason", "updated_at",
			"reactivated_at", "heartbeat_due_at", "heartbeat_missed_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("activate activation %d: %w", id, err)
		}
		changed = true
		return audit.Record(ctx, tx, audit.Entry{
			Type: "activation.activated", Actor: by.Actor, IP: by.IP,
			Subject: &audit.Subject{Type: audit.SubjectActivation, ID: a.ID},
			Message: fmt.Sprintf("Activation %d of license %s marked active %s, without checking the license's limits.", a.ID, a.LicenseCode, by.Actor.Via()),
		})
	})
	if err != nil {
		return nil, false, err
	}
	return a, changed, nil
}

// reactivationDue is the heartbeat deadline of activation a made active
// again at now (docs/licensing.md#re-activation-and-heartbeats): its
// license's policy applies from now, as for a new activation; nil when the
// policy asks none, and for an offline activation, which is exempt
// (docs/licensing.md#offline-activations-and-heartbeats). Whatever
// deadline it had when it was freed is stale: kept, the release job would
// free it again at once.
func reactivationDue(ctx context.Context, tx bun.IDB, a *Activation, now time.Time) (*time.Time, error) {
	if a.OfflineFingerprint != nil || a.LicenseID == nil {
		return nil, nil
	}
	l, err := Get(ctx, tx, *a.LicenseID)
	if err != nil {
		return nil, fmt.Errorf("policy of activation %d: %w", a.ID, err)
	}
	return l.Heartbeat().Due(now), nil
}

// MarkActivationInactive frees the slot of activation id (console, internal
// API: reason admin; portal: reason customer). It is idempotent.
func (s *Service) MarkActivationInactive(ctx context.Context, idb bun.IDB, by audit.Source, id int64, reason string) (a *Activation, changed bool, err error) {
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if a, err = lockActivation(ctx, tx, id); err != nil {
			return err
		}
		if !a.IsActive {
			return nil
		}
		// A customer's button would free the slot of a machine that keeps
		// its file: its release proof does (ReleaseOffline). Admins may.
		if reason == ReasonCustomer && a.OfflineFingerprint != nil {
			return ErrOfflineNeedsRelease
		}
		changed = true
		l, err := s.deactivate(ctx, tx, []*Activation{a}, reason)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			Type: "activation.deactivated", Actor: by.Actor, IP: by.IP,
			Subject: &audit.Subject{Type: audit.SubjectActivation, ID: a.ID},
			Message: fmt.Sprintf("Activation %d of license %s deactivated %s.", a.ID, a.LicenseCode, by.Actor.Via()),
		}); err != nil {
			return err
		}
		if reason == ReasonCustomer && l != nil {
			return recordCustomerActivity(ctx, tx, l, audit.CustomerLicenseDeactivated, by.IP, a)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return a, changed, nil
}

// DeactivateLicenseActivations frees every slot of license id at an
// admin's request (reason admin; the legacy deactivate_license_activations).
// It returns how many activations it deactivated: 0 when none was active,
// and then nothing is logged.
func (s *Service) DeactivateLicenseActivations(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (int, error) {
	var n int
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The license row lock serialises this with activations of it.
		l, err := lockLicense(ctx, tx, "l.id = ?", id)
		if err != nil {
			return err
		}
		var active []*Activation
		if err := tx.NewSelect().Model(&active).Where("license_id = ? AND is_active", l.ID).OrderExpr("activated_at, id").Scan(ctx); err != nil {
			return fmt.Errorf("active activations of %s: %w", l.LicenseCode, err)
		}
		if n = len(active); n == 0 {
			return nil
		}
		if _, err := s.deactivate(ctx, tx, active, ReasonAdmin); err != nil {
			return err
		}
		ids := make([]int64, n)
		for i, a := range active {
			ids[i] = a.ID
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "license.deactivated", Actor: by.Actor, IP: by.IP,
			Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
			Message: fmt.Sprintf("License %s deactivated %s (%d activations).", l.LicenseCode, by.Actor.Via(), n),
			Data:    map[string]any{"activation_ids": ids},
		})
	})
	return n, err
}

// DeleteActivation removes activation id (an active one frees its slot).
func (s *Service) DeleteActivation(ctx context.Context, idb bun.IDB, by audit.Source, id int64) error {
	return idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := lockLicenseOf(ctx, tx, id); err != nil {
			return err
		}
		a := new(Activation)
		if err := tx.NewDelete().Model(a).Where("id = ?", id).Returning("*").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrActivationNotFound
			}
			return fmt.Errorf("delete activation %d: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "activation.deleted", Actor: by.Actor, IP: by.IP,
			Subject: &audit.Subject{Type: audit.SubjectActivation, ID: a.ID},
			Message: fmt.Sprintf("Activation %d of license %s deleted %s.", a.ID, a.LicenseCode, by.Actor.Via()),
		})
	})
}

// lockLicenseOf locks the license of activation id, if it has one.
// Whatever changes a license's activations locks the license first, then
// them: the trigger keeping the license's active_activations updates it
// last, on a row already held, so two such changes never wait on each
// other in opposite orders (docs/architecture.md#counting-active-activations).
func lockLicenseOf(ctx context.Context, tx bun.IDB, id int64) error {
	if _, err := tx.NewRaw("SELECT 1 FROM licenses WHERE id = (SELECT license_id FROM activations WHERE id = ?) FOR UPDATE", id).
		Exec(ctx); err != nil {
		return fmt.Errorf("lock the license of activation %d: %w", id, err)
	}
	return nil
}

// lockLicenseRow locks license id's row (see lockLicenseOf).
func lockLicenseRow(ctx context.Context, tx bun.IDB, id int64) error {
	if _, err := tx.NewRaw("SELECT 1 FROM licenses WHERE id = ? FOR UPDATE", id).Exec(ctx); err != nil {
		return fmt.Errorf("lock license %d: %w", id, err)
	}
	return nil
}

// lockActivation locks activation id, after its license (lockLicenseOf).
func lockActivation(ctx context.Context, tx bun.IDB, id int64) (*Activation, error) {
	if err := lockLicenseOf(ctx, tx, id); err != nil {
		return nil, err
	}
	a := new(Activation)
	if err := selectActivations(tx, a).Where("a.id = ?", id).For("UPDATE OF a").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrActivationNotFound
		}
		return nil, fmt.Errorf("lock activation %d: %w", id, err)
	}
	return a, nil
}

// deactivate frees the slots of the given active activations of one
// license (updating them in place) and calls the activation.deactivated
// hook for each. It returns their license (nil for activations without one).
func (s *Service) deactivate(ctx context.Context, tx bun.IDB, as []*Activation, reason string) (*License, error) {
	if len(as) == 0 {
		return nil, nil
	}
	now := s.now()
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
		a.IsActive, a.DeactivatedAt, a.DeactivationReason, a.UpdatedAt = false, &now, &reason, now
	}
	_, err := tx.NewUpdate().Model((*Activation)(nil)).
		Set("is_active = false, deactivated_at = ?0, deactivation_reason = ?1, updated_at = ?0", now, reason).
		Where("id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("deactivate activations %v: %w", ids, err)
	}
	if as[0].LicenseID == nil {
		return nil, nil
	}
	l, err := Get(ctx, tx, *as[0].LicenseID)
	if err != nil {
		return nil, err
	}
	return l, s.hooks.activationsDeactivated(ctx, tx, as, l, reason)
}

// recordCustomerActivity writes a customer activity entry when l links to a
// customer (linking rule).
func recordCustomerActivity(ctx context.Context, tx bun.IDB, l *License, typ, ip string, a *Activation) error {
	cond, arg, ok := customers.LinkedCondition(l.CustomerID, l.Email)
	if !ok {
		return nil
	}
	data := map[string]any{"license_code": l.LicenseCode, "product": l.ProductReferenceID}
	if a != nil {
		data["activation_id"] = a.ID
		if a.Domain != nil {
			data["domain"] = *a.Domain
		}
	}
	// One round trip: the customer is found by the insert itself.
	return audit.RecordCustomerWhere(ctx, tx, audit.CustomerActivity{Type: typ, IP: nullable(ip), Data: data}, cond, arg)
}

// CustomerActivation returns activation id when its license is c's
// (linking rule), else ErrActivationNotFound: the portal checks every
// activation id in a URL this way.
func CustomerActivation(ctx context.Context, idb bun.IDB, c *customers.Customer, id int64) (*Activation, error) {
	a := new(Activation)
	q := selectActivations(idb, a).Join("JOIN licenses AS l ON l.id = a.license_id").Where("a.id = ?", id)
	if err := customers.WhereLinked(q, "l", c).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrActivationNotFound
		}
		return nil, fmt.Errorf("get customer's activation %d: %w", id, err)
	}
	return a, nil
}
