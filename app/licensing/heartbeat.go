package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/settings"
)

// FloatingIntervalDefault is the heartbeat interval, in seconds, of a
// floating license whose license and product set none: its seats are held
// only while heartbeats keep them (docs/licensing.md#floating-licenses).
const FloatingIntervalDefault = 600

// HeartbeatPolicy is an activation's effective heartbeat policy
// (docs/licensing.md#heartbeats-and-automatic-release).
type HeartbeatPolicy struct {
	// Interval is in seconds; 0: no heartbeats asked.
	Interval int
	// Tolerance is how many seconds late a heartbeat may be.
	Tolerance int
	// Missed is catalog.HeartbeatRelease or catalog.HeartbeatKeep.
	Missed string
}

// On reports whether heartbeats are asked.
func (p HeartbeatPolicy) On() bool { return p.Interval > 0 }

// Due is the deadline after a sign of life at last (nil when no heartbeats
// are asked): migration 0083's licensor_heartbeat_due.
func (p HeartbeatPolicy) Due(last time.Time) *time.Time {
	if !p.On() {
		return nil
	}
	t := last.Add(time.Duration(p.Interval+p.Tolerance) * time.Second)
	return &t
}

// EffectivePolicy is the policy of a license with the given overrides of
// product p: the license's interval, else the product's, else, floating,
// FloatingIntervalDefault; a floating license's seats are always released.
func EffectivePolicy(p *catalog.Product, interval *int, missed *string, floating bool) HeartbeatPolicy {
	return policyOf(interval, missed, floating, p.HeartbeatInterval, p.HeartbeatTolerance, p.HeartbeatMissed)
}

func policyOf(interval *int, missed *string, floating bool, productInterval *int, tolerance int, productMissed string) HeartbeatPolicy {
	out := HeartbeatPolicy{Tolerance: tolerance, Missed: productMissed}
	switch {
	case interval != nil:
		out.Interval = *interval
	case productInterval != nil:
		out.Interval = *productInterval
	case floating:
		out.Interval = FloatingIntervalDefault
	}
	if missed != nil {
		out.Missed = *missed
	}
	if floating || out.Missed == "" {
		out.Missed = catalog.HeartbeatRelease
	}
	return out
}

// Heartbeat is the license's effective policy (from the product values
// selectLicenses reads).
func (l *License) Heartbeat() HeartbeatPolicy {
	return policyOf(l.HeartbeatInterval, l.HeartbeatMissed, l.Floating, l.ProductHeartbeatInterval, l.ProductHeartbeatTolerance, l.ProductHeartbeatMissed)
}

// Released reports whether a was released for want of heartbeats.
func (a *Activation) Released() bool {
	return !a.IsActive && a.DeactivationReason != nil && *a.DeactivationReason == ReasonReleased
}

// LastSignOfLife is the later of a's latest heartbeat or verify and its
// re-activation by an admin, else its activation (as the policy trigger
// counts, migration 0140).
func (a *Activation) LastSignOfLife() time.Time {
	last := a.ActivatedAt
	for _, t := range []*time.Time{a.LastHeartbeatAt, a.ReactivatedAt} {
		if t != nil && t.After(last) {
			last = *t
		}
	}
	return last
}

// Heartbeat answers POST /api/external/license/heartbeat
// (docs/api/external.md#heartbeat): the token steps of verify, then the
// license's state; a released activation is told to activate again
// (FailReleased). The heartbeat itself is handed to the VerifyRecorder,
// which writes it with the next batch: no write on the request path.
func (s *Service) Heartbeat(ctx context.Context, idb bun.IDB, set *settings.Values, req VerifyRequest) (HeartbeatVerdict, error) {
	st, f, err := s.tokenActivation(ctx, s.cachedLoader(idb), req.Product, req.ActivationID, req.TokenProductRef, req.ClientName, req.Caller)
	if err != nil || f != nil {
		return HeartbeatVerdict{Failure: f}, err
	}
	now := s.now()
	expired, _ := expiryVerdict(req.Product, st.ExpiresAt, now, true)
	switch {
	case !st.LicenseValid:
		return HeartbeatVerdict{Failure: failed(FailBlocked)}, nil
	case expired:
		return HeartbeatVerdict{Failure: failed(FailExpired)}, nil
	case !st.IsActive && st.released():
		return HeartbeatVerdict{Failure: failed(FailReleased)}, nil
	case !st.IsActive:
		return HeartbeatVerdict{Failure: failed(FailDeactivated)}, nil
	case set.VerifyLicenseIP && !sameOptional(st.IP, req.Caller.IP):
		return HeartbeatVerdict{Failure: failed(FailVerifyInvalid)}, nil
	}
	s.recorder.Heartbeat(st.ID, now)
	p := st.policy(req.Product)
	return HeartbeatVerdict{Policy: p, NextBefore: p.Due(now)}, nil
}

// HeartbeatVerdict is what a heartbeat answers: a Failure, or the policy
// and the deadline of the next heartbeat (nil when none is asked).
type HeartbeatVerdict struct {
	Failure    *Failure
	Policy     HeartbeatPolicy
	NextBefore *time.Time
}

// cachedLoader reads activation states through the node's cache, as
// verify does.
func (s *Service) cachedLoader(idb bun.IDB) stateLoader {
	return func(ctx context.Context, id int64) (*activationState, error) {
		st, gen, ok := s.activations.get(id)
		if ok {
			return st, nil
		}
		st, err := s.loadActivationState(ctx, idb, id)
		if err == nil {
			s.activations.put(gen, st)
		}
		return st, err
	}
}

// ReleaseBatch is how many overdue activations one transaction of
// ReleaseOverdue handles.
const ReleaseBatch = 500

// ReleaseResult counts what ReleaseOverdue did.
type ReleaseResult struct {
	Released, Kept int
}

// overdue is an activation past its heartbeat deadline, with what its
// policy says to do.
type overdue struct {
	Activation `bun:",extend"`
	Missed     string `bun:"missed,scanonly"`
}

// notOffline keeps out offline activations (alias a): they send no
// heartbeats and are never released for want of them
// (docs/licensing.md#offline-activations-and-heartbeats). Activate, the
// verify batches and the policy trigger (migration 0121) give them no
// deadline; the release scans say so too, so a deadline set by hand does
// not release one either.
const notOffline = "NOT EXISTS (SELECT 1 FROM offline_activations AS oa WHERE oa.activation_id = a.id)"

// ReleaseOverdue handles every active activation past its heartbeat
// deadline (the release_activations job, docs/licensing.md#heartbeats-and-automatic-release):
// released ones free their slot (deactivation_reason released), get an
// activity line each and the activation.released hook; kept ones are
// marked (heartbeat_missed_at) and logged. Batches of ReleaseBatch, each
// one transaction with one UPDATE per outcome; rows another node is
// handling are skipped (SKIP LOCKED), so two runs never do one twice.
func (s *Service) ReleaseOverdue(ctx context.Context, idb bun.IDB) (ReleaseResult, error) {
	var total ReleaseResult
	for {
		var n int
		err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			var rows []*overdue
			err := tx.NewSelect().Model(&rows).ColumnExpr("a.*").
				ColumnExpr("CASE WHEN l.floating THEN 'release' ELSE coalesce(l.heartbeat_missed, p.heartbeat_missed) END AS missed").
				Join("JOIN licenses AS l ON l.id = a.license_id").
				Join("JOIN products AS p ON p.id = l.product_id").
				Where("a.is_active AND a.heartbeat_due_at < ?", s.now()).
				Where(notOffline).
				OrderExpr("a.heartbeat_due_at").Limit(ReleaseBatch).
				// The license's row too (lockLicenseOf): released rows
				// change its counter. Skipping never waits, so no order.
				For("UPDATE OF a, l SKIP LOCKED").Scan(ctx)
			if err != nil {
				return fmt.Errorf("overdue activations: %w", err)
			}
			n = len(rows)
			var release, keep []*Activation
			for _, r := range rows {
				if r.Missed == catalog.HeartbeatKeep {
					keep = append(keep, &r.Activation)
				} else {
					release = append(release, &r.Activation)
				}
			}
			if err := s.keepOverdue(ctx, tx, keep); err != nil {
				return err
			}
			total.Kept += len(keep)
			if err := s.release(ctx, tx, release); err != nil {
				return err
			}
			total.Released += len(release)
			return nil
		})
		if err != nil {
			return total, err
		}
		if n < ReleaseBatch {
			return total, nil
		}
	}
}

// keepOverdue marks activations whose policy keeps them (heartbeat_missed
// keep): their deadline becomes heartbeat_missed_at until the next
// heartbeat.
func (s *Service) keepOverdue(ctx context.Context, tx bun.IDB, as []*Activation) error {
	if len(as) == 0 {
		return nil
	}
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	if _, err := tx.NewUpdate().Model((*Activation)(nil)).
		Set("heartbeat_missed_at = heartbeat_due_at, heartbeat_due_at = NULL").
		Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return fmt.Errorf("mark missed heartbeats %v: %w", ids, err)
	}
	for _, a := range as {
		if err := audit.Record(ctx, tx, audit.Entry{
			Type: "activation.heartbeat_missed", Actor: audit.System,
			Subject: &audit.Subject{Type: audit.SubjectActivation, ID: a.ID},
			Message: fmt.Sprintf("Activation %d of license %s missed its heartbeat (none since %s); kept, as its policy says.",
				a.ID, a.LicenseCode, a.LastSignOfLife().UTC().Format(time.RFC3339)),
		}); err != nil {
			return err
		}
	}
	return nil
}

// release frees the slots of active activations that missed their
// heartbeat: one UPDATE, then per activation an activity line and the
// activation.released hook (with its license, read once per license).
func (s *Service) release(ctx context.Context, tx bun.IDB, as []*Activation) error {
	if len(as) == 0 {
		return nil
	}
	now := s.now()
	reason := ReasonReleased
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
		a.IsActive, a.DeactivatedAt, a.DeactivationReason, a.UpdatedAt, a.HeartbeatDueAt = false, &now, &reason, now, nil
	}
	if _, err := tx.NewUpdate().Model((*Activation)(nil)).
		Set("is_active = false, deactivated_at = ?0, deactivation_reason = ?1, updated_at = ?0, heartbeat_due_at = NULL", now, reason).
		Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return fmt.Errorf("release activations %v: %w", ids, err)
	}
	licenses := map[int64]*License{}
	for _, a := range as {
		if err := audit.Record(ctx, tx, audit.Entry{
			Type: "activation.released", Actor: audit.System,
			Subject: &audit.Subject{Type: audit.SubjectActivation, ID: a.ID},
			Message: fmt.Sprintf("Activation %d of license %s released: no heartbeat since %s.",
				a.ID, a.LicenseCode, a.LastSignOfLife().UTC().Format(time.RFC3339)),
		}); err != nil {
			return err
		}
		if a.LicenseID == nil {
			continue
		}
		l, ok := licenses[*a.LicenseID]
		if !ok {
			var err error
			if l, err = Get(ctx, tx, *a.LicenseID); err != nil {
				return err
			}
			licenses[l.ID] = l
		}
		if err := s.hooks.activationReleased(ctx, tx, a, l); err != nil {
			return err
		}
	}
	return nil
}

// releaseLicenseOverdue releases, under the license's lock, the overdue
// activations of one license: a floating license's checkout frees the
// seats of dead sessions at once rather than at the job's next run.
// before, when there is any to release, runs first.
func (s *Service) releaseLicenseOverdue(ctx context.Context, tx bun.IDB, licenseID int64, now time.Time, before func() error) (int, error) {
	var stale []*Activation
	if err := tx.NewSelect().Model(&stale).
		Where("a.license_id = ? AND a.is_active AND a.heartbeat_due_at < ?", licenseID, now).
		Where(notOffline).
		For("UPDATE").Scan(ctx); err != nil {
		return 0, fmt.Errorf("overdue seats: %w", err)
	}
	if len(stale) == 0 {
		return 0, nil
	}
	if err := before(); err != nil {
		return 0, err
	}
	return len(stale), s.release(ctx, tx, stale)
}

// CheckIn gives a floating seat back (POST /api/external/license/checkin,
// docs/api/external.md#check-out-and-check-in): deactivate's token steps,
// then the activation is deactivated with reason checked_in.
func (s *Service) CheckIn(ctx context.Context, idb bun.IDB, req VerifyRequest) (*Failure, error) {
	return s.deactivateToken(ctx, idb, req, ReasonCheckedIn)
}
