// Package expiry owns the expiry scan (docs/features.md#licenses): expiry warning
// emails at the expiration_warning_days thresholds, the license.expiring,
// license.expired and license.update_support_expired webhooks, and the
// activity-log line of each expiry.
//
// Each warning and each event happens once per license, kind, threshold
// and date however often the scan runs and on however many nodes: a batch
// claims its notices with INSERT … ON CONFLICT DO NOTHING RETURNING on
// expiry_notices, and sends (queues) only what it claimed, in the same
// transaction. Licenses are read in keyset order over indexed dates, a
// batch per transaction, so a scan of a million licenses stays in minutes
// and a scan that stops half-way is resumed by the next one.
package expiry

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
)

// Notice kinds (expiry_notices.kind).
const (
	kindWarningEmail         = "warning_email"
	kindExpiring             = "expiring"
	kindExpired              = "expired"
	kindUpdateSupportExpired = "update_support_expired"
)

const day = 24 * time.Hour

// Result counts what one scan did, as the console and the CLI show it.
type Result struct {
	WarningsSent   int // expiry warning emails queued
	ExpiredLogged  int // expiries written to the activity log
	UpdatesExpired int // updates periods found ended
	ExpiringEvents int // license.expiring webhooks emitted
}

// Scanner runs the scan.
type Scanner struct {
	db      bun.IDB
	mailer  *mail.Mailer
	emitter *webhooks.Emitter
	now     func() time.Time

	// BatchSize is the number of licenses per transaction (default 1000).
	BatchSize int
	// Lookback bounds how long ago an expiry may have happened and still be
	// announced (default 7 days): a scan missed for a few days catches up,
	// while a first scan on an imported database does not announce every
	// license that ever expired.
	Lookback time.Duration
}

// NewScanner returns a Scanner. now nil means time.Now.
func NewScanner(db bun.IDB, mailer *mail.Mailer, emitter *webhooks.Emitter, now func() time.Time) *Scanner {
	if now == nil {
		now = time.Now
	}
	return &Scanner{db: db, mailer: mailer, emitter: emitter, now: now, BatchSize: 1000, Lookback: 7 * day}
}

// Run scans once, with the settings as they are now, and logs a summary.
func (s *Scanner) Run(ctx context.Context) (Result, error) {
	set, err := settings.Load(ctx, s.db)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	var res Result
	if err := s.expiring(ctx, set, now, &res); err != nil {
		return res, err
	}
	if err := s.expired(ctx, set, now, &res); err != nil {
		return res, err
	}
	if err := s.updatesExpired(ctx, set, now, &res); err != nil {
		return res, err
	}
	err = audit.Record(ctx, s.db, audit.Entry{
		Type:  "expiry.scan",
		Actor: audit.System,
		Message: fmt.Sprintf("Expiry scan: %d warnings sent, %d expired licenses logged, %d updates periods ended.",
			res.WarningsSent, res.ExpiredLogged, res.UpdatesExpired),
		Data: map[string]any{"warnings_sent": res.WarningsSent, "expired_logged": res.ExpiredLogged,
			"updates_expired": res.UpdatesExpired, "expiring_events": res.ExpiringEvents},
	})
	return res, err
}

// candidate is a license in a scan window.
type candidate struct {
	ID    int64     `bun:"id"`
	Due   time.Time `bun:"due"`
	Email bool      `bun:"has_email"`
}

// walk calls fn with batches of the licenses whose dateCol is in
// (from, to], in (date, id) order, each batch in its own transaction.
func (s *Scanner) walk(ctx context.Context, dateCol string, from, to time.Time, validOnly bool,
	fn func(ctx context.Context, tx bun.Tx, batch []candidate) error) error {
	var after *candidate
	for {
		var batch []candidate
		q := s.db.NewSelect().TableExpr("licenses AS l").
			ColumnExpr("l.id").
			ColumnExpr("? AS due", bun.Ident("l."+dateCol)).
			ColumnExpr("coalesce(l.email, '') <> '' AS has_email").
			Where("? > ? AND ? <= ?", bun.Ident("l."+dateCol), from, bun.Ident("l."+dateCol), to).
			OrderExpr("? , l.id", bun.Ident("l."+dateCol)).
			Limit(int64(s.BatchSize))
		if validOnly {
			q = q.Where("l.is_valid")
		}
		if after != nil {
			q = q.Where("(?, l.id) > (?, ?)", bun.Ident("l."+dateCol), after.Due, after.ID)
		}
		if err := q.Scan(ctx, &batch); err != nil {
			return fmt.Errorf("expiry scan: read licenses by %s: %w", dateCol, err)
		}
		if len(batch) == 0 {
			return nil
		}
		if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx, batch) }); err != nil {
			return err
		}
		if len(batch) < s.BatchSize {
			return nil
		}
		after = &batch[len(batch)-1]
	}
}

// claim inserts notices of kind and returns the license ids this call
// inserted: the ones it is now responsible for. A notice another scan
// holds uncommitted makes this one wait for it, then skip it.
func claim(ctx context.Context, tx bun.Tx, kind string, ids []int64, thresholds []int, dues []time.Time) (map[int64]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var claimed []int64
	err := tx.NewRaw(`INSERT INTO expiry_notices (license_id, kind, threshold, due_at)
		SELECT u.id, ?, u.threshold, u.due FROM unnest(?::bigint[], ?::int[], ?::timestamptz[]) AS u (id, threshold, due)
		ON CONFLICT DO NOTHING
		RETURNING license_id`, kind, pgdialect.Array(ids), pgdialect.Array(thresholds), pgdialect.Array(dues)).Scan(ctx, &claimed)
	if err != nil {
		return nil, fmt.Errorf("expiry scan: claim %s notices: %w", kind, err)
	}
	out := make(map[int64]bool, len(claimed))
	for _, id := range claimed {
		out[id] = true
	}
	return out, nil
}

// expiring sends the warnings and license.expiring events of valid
// licenses expiring within the largest threshold. A license gets the
// smallest threshold it is within (days left, rounded up, ≤ threshold).
func (s *Scanner) expiring(ctx context.Context, set *settings.Values, now time.Time, res *Result) error {
	thresholds := slices.Clone(set.ExpirationWarningDays)
	slices.Sort(thresholds)
	if len(thresholds) == 0 {
		return nil
	}
	warn := set.SendExpirationWarnings
	events := set.WebhookEventEnabled(webhooks.EventLicenseExpiring)
	if !warn && !events {
		return nil
	}
	horizon := now.Add(time.Duration(thresholds[len(thresholds)-1]) * day)
	return s.walk(ctx, "expires_at", now, horizon, true, func(ctx context.Context, tx bun.Tx, batch []candidate) error {
		var ids, mailIDs []int64
		var ths, mailThs []int
		var dues, mailDues []time.Time
		days := map[int64]int{}
		for _, c := range batch {
			d := daysLeft(now, c.Due)
			i, _ := slices.BinarySearch(thresholds, d)
			if i == len(thresholds) {
				continue // beyond the horizon: cannot happen, as the window ends there
			}
			days[c.ID] = d
			ids, ths, dues = append(ids, c.ID), append(ths, thresholds[i]), append(dues, c.Due)
			if c.Email {
				mailIDs, mailThs, mailDues = append(mailIDs, c.ID), append(mailThs, thresholds[i]), append(mailDues, c.Due)
			}
		}
		var toMail, toEmit map[int64]bool
		var err error
		if warn {
			if toMail, err = claim(ctx, tx, kindWarningEmail, mailIDs, mailThs, mailDues); err != nil {
				return err
			}
		}
		if events {
			if toEmit, err = claim(ctx, tx, kindExpiring, ids, ths, dues); err != nil {
				return err
			}
		}
		ls, err := licensing.GetMany(ctx, tx, union(toMail, toEmit))
		if err != nil {
			return err
		}
		var ws []mail.ExpiryWarning
		var evs []webhooks.Event
		for i := range ls {
			l := &ls[i]
			if toMail[l.ID] {
				ws = append(ws, mail.ExpiryWarning{License: l, Days: days[l.ID]})
			}
			if toEmit[l.ID] {
				evs = append(evs, webhooks.Expiring(set, l, days[l.ID]))
			}
		}
		n, err := s.mailer.ExpiryWarnings(ctx, tx, set, ws)
		if err != nil {
			return err
		}
		m, err := s.emitter.Emit(ctx, tx, set, evs...)
		res.WarningsSent += n
		res.ExpiringEvents += m
		return err
	})
}

// expired logs each license that expired within the lookback and emits
// license.expired.
func (s *Scanner) expired(ctx context.Context, set *settings.Values, now time.Time, res *Result) error {
	return s.walk(ctx, "expires_at", now.Add(-s.Lookback), now, false, func(ctx context.Context, tx bun.Tx, batch []candidate) error {
		ids, ths, dues := columns(batch)
		claimed, err := claim(ctx, tx, kindExpired, ids, ths, dues)
		if err != nil {
			return err
		}
		ls, err := licensing.GetMany(ctx, tx, union(claimed))
		if err != nil {
			return err
		}
		entries := make([]audit.Entry, len(ls))
		evs := make([]webhooks.Event, len(ls))
		for i := range ls {
			l := &ls[i]
			entries[i] = audit.Entry{
				Type:    "license.expired",
				Actor:   audit.System,
				Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
				Message: fmt.Sprintf("License %s (%s) expired on %s.", l.LicenseCode, l.ProductName, l.ExpiresAt.In(set.Location()).Format("2006-01-02")),
			}
			evs[i] = webhooks.Expired(set, l)
		}
		if err := audit.RecordAll(ctx, tx, entries); err != nil {
			return err
		}
		if _, err := s.emitter.Emit(ctx, tx, set, evs...); err != nil {
			return err
		}
		res.ExpiredLogged += len(ls)
		return nil
	})
}

// updatesExpired emits license.update_support_expired for each license
// whose updates period ended within the lookback.
func (s *Scanner) updatesExpired(ctx context.Context, set *settings.Values, now time.Time, res *Result) error {
	return s.walk(ctx, "updates_until", now.Add(-s.Lookback), now, false, func(ctx context.Context, tx bun.Tx, batch []candidate) error {
		ids, ths, dues := columns(batch)
		claimed, err := claim(ctx, tx, kindUpdateSupportExpired, ids, ths, dues)
		if err != nil {
			return err
		}
		var evs []webhooks.Event
		if set.WebhookEventEnabled(webhooks.EventLicenseUpdateSupportExpired) {
			ls, err := licensing.GetMany(ctx, tx, union(claimed))
			if err != nil {
				return err
			}
			for i := range ls {
				evs = append(evs, webhooks.UpdateSupportExpired(set, &ls[i]))
			}
		}
		if _, err := s.emitter.Emit(ctx, tx, set, evs...); err != nil {
			return err
		}
		res.UpdatesExpired += len(claimed)
		return nil
	})
}

// daysLeft is the whole days from now to due, rounded up.
func daysLeft(now, due time.Time) int {
	return int((due.Sub(now) + day - 1) / day)
}

func columns(batch []candidate) ([]int64, []int, []time.Time) {
	ids := make([]int64, len(batch))
	ths := make([]int, len(batch))
	dues := make([]time.Time, len(batch))
	for i, c := range batch {
		ids[i], dues[i] = c.ID, c.Due
	}
	return ids, ths, dues
}

func union(sets ...map[int64]bool) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, s := range sets {
		for id := range s {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// PruneNotices deletes notices about dates before t. The scan never looks
// further back than its lookback, so a notice older than that can no
// longer stop a repeat; retention calls this with a margin.
func PruneNotices(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().TableExpr("expiry_notices").Where("due_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune expiry notices: %w", err)
	}
	return res.RowsAffected()
}
