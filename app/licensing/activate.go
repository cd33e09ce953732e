package licensing

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/settings"
)

// ActivateRequest is an activation as the external API received it, once
// its fields are valid (docs/api/external.md#activate step 1).
type ActivateRequest struct {
	// ProductRef is product_id, the product's reference id.
	ProductRef  string
	LicenseCode string
	ClientName  string
	// VerifyType names the marketplace a code with no local license is
	// checked with (step 4), through Marketplace (nil: none is asked).
	VerifyType  string
	Marketplace Marketplace
	Caller      Caller
	// Offline, when set, makes this an offline activation
	// (docs/api/verifying.md#offline-activation): bound to the request's
	// machine fingerprint, recorded in offline_activations.
	Offline *OfflineRequest
	// CheckOut makes this a floating seat's check-out
	// (docs/api/external.md#check-out-and-check-in): refused unless the
	// license is floating.
	CheckOut bool
}

// ActivateResult is the outcome of Activate: on success the new activation
// (sign its id and the product's reference id into the token) and the
// license as it now is; else the Failure to answer with.
type ActivateResult struct {
	Activation *Activation
	License    *License
	Failure    *Failure
	// Offline is the binding of an offline activation (nil otherwise).
	Offline *OfflineActivation
	// Cause says, for the log, why the marketplace refused the code or
	// could not be asked (step 4).
	Cause error
	// Heartbeat is the activation's heartbeat policy and HeartbeatDue its
	// first deadline (nil when no heartbeats are asked): the lease of a
	// floating seat.
	Heartbeat    HeartbeatPolicy
	HeartbeatDue *time.Time
}

// errActivationFailed rolls the activation transaction back on a Failure.
var errActivationFailed = errors.New("activation failed")

// Activate is docs/api/external.md#activate from step 1's blacklists on:
// a blacklisted code or client name is a *fields.Error (answered 422); a
// product missing or inactive, the FailProductNotFound failure; a code no
// license has, sent with a verify_type an enabled plugin serves, is asked
// of req.Marketplace (step 4); then activateProduct runs steps 5 and 6.
// An error is unexpected (answer 500).
func (s *Service) Activate(ctx context.Context, idb bun.IDB, set *settings.Values, req ActivateRequest) (*ActivateResult, error) {
	if err := CheckBlacklists(set, req.LicenseCode, req.ClientName); err != nil {
		return nil, err
	}
	product, err := s.activeProduct(ctx, idb, req.ProductRef)
	if errors.Is(err, catalog.ErrNotFound) {
		return &ActivateResult{Failure: failed(FailProductNotFound)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("activate license %s: %w", req.LicenseCode, err)
	}
	if res, err := fromMarketplace(ctx, idb, set, product, req); res != nil || err != nil {
		if err != nil {
			return nil, fmt.Errorf("activate license %s: %w", req.LicenseCode, err)
		}
		return res, nil
	}
	return s.activateProduct(ctx, idb, set, product, req)
}

// activeProduct is the active product with reference id ref, from the
// node's product cache when the service has one.
func (s *Service) activeProduct(ctx context.Context, idb bun.IDB, ref string) (*catalog.Product, error) {
	if s.products != nil {
		return s.products.ActiveByRef(ctx, ref)
	}
	p, err := catalog.ByRef(ctx, idb, ref)
	if err == nil && !p.IsActive {
		return nil, catalog.ErrNotFound
	}
	return p, err
}

// activateProduct runs steps 5 and 6 of docs/api/external.md#activate for
// product in one transaction: the
// license row is locked (SELECT … FOR UPDATE) so concurrent activations of
// one license, on any node, are serialised and never exceed its uses or
// parallel uses; then checks a–g in order, deactivate-old, first domain,
// the expiry clock, the activation row, the counters, the logs and the
// hooks. On a Failure everything is rolled back and, when the setting
// add_entries_for_failed_activation_attempts is on, the failed attempt is
// recorded afterwards. An error is unexpected (answer 500).
func (s *Service) activateProduct(ctx context.Context, idb bun.IDB, set *settings.Values, product *catalog.Product, req ActivateRequest) (*ActivateResult, error) {
	var res *ActivateResult
	var failedLicense *int64
	attempt := func(ctx context.Context, tx bun.IDB) error {
		var err error
		res, failedLicense, err = s.activate(ctx, tx, set, product, req)
		if err == nil && res.Failure != nil {
			return errActivationFailed
		}
		return err
	}
	var err error
	pool, onPool := idb.(*bun.DB)
	done := false
	if onPool && s.hooks.quietOnActivate(set) {
		// No hook will write: BEGIN goes with the lock and COMMIT with
		// the activation's statement, two round trips where a database/sql
		// transaction takes four (docs/benchmarks.md#activate). A hook
		// that writes after all (settings changed meanwhile) cannot
		// enqueue there: the activate runs again below, as before.
		err = db.RunPipelined(ctx, pool, !s.unprepared, func(ctx context.Context, p *db.Pipe) error {
			return attempt(ctx, pipelined{Conn: p.Bun(), pipe: p})
		})
		var hook *hookError
		done = !errors.As(err, &hook)
	}
	switch {
	case done:
	case onPool:
		// On a pool, activate's own statements go through pgx on the
		// transaction's connection (activateStatements).
		err = db.RunInTx(ctx, pool, func(ctx context.Context, tx db.Tx) error { return attempt(ctx, tx) })
	default:
		err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return attempt(ctx, tx) })
	}
	switch {
	case errors.Is(err, errActivationFailed):
		if set.AddEntriesForFailedActivationAttempts {
			if err := s.recordFailedAttempt(ctx, idb, product, req, failedLicense, res.Failure); err != nil {
				return nil, err
			}
		}
		return res, nil
	case err != nil:
		return nil, fmt.Errorf("activate license %s: %w", req.LicenseCode, err)
	}
	return res, nil
}

// activate is one attempt inside the transaction. For a failure it returns
// the license id to record on the failed row, when the license was found
// for this product.
func (s *Service) activate(ctx context.Context, tx bun.IDB, set *settings.Values, product *catalog.Product, req ActivateRequest) (*ActivateResult, *int64, error) {
	fail := func(f Failure, licenseID *int64) (*ActivateResult, *int64, error) {
		return &ActivateResult{Failure: &f}, licenseID, nil
	}
	caller := req.Caller
	now := s.now()

	// a: the license must exist, be this product's, and when it is issued
	// to a customer be activated under that name.
	st, tx := s.activateStatements(tx)
	if st == nil {
		return nil, nil, fmt.Errorf("activate: %T has no database/sql handle", tx)
	}
	// What activate writes on every call (the license's counters, the
	// activation, the activity log) notifies no node's cache, so it need
	// not hold the caches' write fence (db.NoCacheChange); what it writes
	// on the rarer paths (deactivate-old, a release, the first domain, the
	// expiry clock, the hooks) goes through ctx and does.
	plain := db.NoCacheChange(ctx)
	locked, err := st.lock(plain, tx, req.LicenseCode)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(FailActivateInvalid, nil)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lock license: %w", err)
	}
	l := &locked.License
	// The statement that locked the license counted the new activation in
	// both counters already (lockLicenseSQL); the checks read them as they
	// were, and a failure rolls the count back with the transaction.
	l.TotalActivations--
	l.ActiveActivations--
	// Deactivate-old and a floating license's release read the license
	// back for their hooks (the webhooks' license, docs/api/webhooks.md),
	// which must not count an activation not yet made: on those rare paths
	// the count is taken back, and the activation's statement adds it
	// again.
	counted := true
	uncount := func() error {
		if !counted {
			return nil
		}
		counted = false
		if err := st.exec(plain, uncountLicenseSQL, l.ID); err != nil {
			return fmt.Errorf("uncount license: %w", err)
		}
		return nil
	}
	l.ProductHeartbeatInterval, l.ProductHeartbeatTolerance, l.ProductHeartbeatMissed =
		product.HeartbeatInterval, product.HeartbeatTolerance, product.HeartbeatMissed
	if l.ProductID != product.ID {
		// The failed row belongs to the product asked for; linking it to
		// another product's license would show it under the wrong product.
		return fail(FailActivateInvalid, nil)
	}
	id := &l.ID
	if req.CheckOut && !l.Floating {
		return fail(FailNotFloating, id)
	}
	// A floating seat is held only while heartbeats keep it, and an
	// offline machine sends none (docs/licensing.md#offline-activations-and-heartbeats).
	if req.Offline != nil && l.Floating {
		return fail(FailOfflineFloating, id)
	}
	if l.CustomerID != nil && !strings.EqualFold(strings.TrimSpace(req.ClientName), strings.TrimSpace(*l.CustomerID)) {
		return fail(FailActivateInvalid, id)
	}
	// b, c, d
	if !l.IsValid {
		return fail(FailBlocked, id)
	}
	if l.Expired(now) {
		return fail(FailExpired, id)
	}
	// A floating license's uses are its seats: each session's check-out
	// is an activation, so total uses are not counted against it.
	if l.Uses != nil && l.TotalActivations >= *l.Uses && !l.Floating {
		return fail(FailUsesExhausted, id)
	}
	// e: the license's counter, read with its lock: every change of its
	// activations takes the lock first (docs/architecture.md#counting-active-activations).
	active := l.ActiveActivations
	// A floating license counts live seats only: sessions past their
	// deadline are released now, under the license's lock, rather than at
	// the release job's next run.
	if l.Floating {
		released, err := s.releaseLicenseOverdue(ctx, tx, l.ID, now, uncount)
		if err != nil {
			return nil, nil, err
		}
		active -= released
	}
	free := 0
	if l.ParallelUses != nil && active >= *l.ParallelUses {
		if l.Floating {
			// A live seat is never taken from its session.
			return fail(FailSeatsExhausted, id)
		}
		if !set.DeactivateOldActivationsOnNewActivation || *l.ParallelUses == 0 {
			return fail(FailParallelExhausted, id)
		}
		free = active - *l.ParallelUses + 1
	}
	// f, g
	if len(l.Domains) > 0 && !DomainMatches(l.Domains, caller.Host) {
		return fail(FailDomainNotAllowed(l.Domains), id)
	}
	if len(l.IPs) > 0 && !IPMatches(l.IPs, caller.IP) {
		return fail(FailIPNotAllowed, id)
	}

	// 6.1 deactivate-old: the oldest active activations make room.
	if free > 0 {
		if err := uncount(); err != nil {
			return nil, nil, err
		}
		var oldest []*Activation
		if err := tx.NewSelect().Model(&oldest).Where("license_id = ? AND is_active", l.ID).
			OrderExpr("activated_at, id").Limit(int64(free)).Scan(ctx); err != nil {
			return nil, nil, fmt.Errorf("oldest activations: %w", err)
		}
		if _, err := s.deactivate(ctx, tx, oldest, ReasonReplaced); err != nil {
			return nil, nil, err
		}
	}
	// 6.2 first domain, 6.3 expiry clock.
	var changed []string
	if set.AddDomainOfFirstActivationAsLicensedDomain && len(l.Domains) == 0 && active == 0 && caller.Host != "" {
		l.Domains = []string{caller.Host}
		changed = append(changed, "domains")
	}
	// A clock waiting for the first verify keeps waiting
	// (docs/licensing.md#expiry-clock).
	if l.ExpiryStart != catalog.ExpiryStartVerify && l.startClock(now) {
		changed = append(changed, "expires_at", "expiry_started_at")
	}

	var offline *OfflineActivation
	if req.Offline != nil {
		if offline, err = s.offlineBinding(locked.NextActivationID, l, set, *req.Offline, now); err != nil {
			return nil, nil, err
		}
	}

	// The heartbeat deadline (docs/licensing.md#heartbeats-and-automatic-release);
	// an offline activation cannot send heartbeats and is exempt
	// (docs/licensing.md#offline-activations-and-heartbeats): no deadline,
	// and its answer asks for none.
	policy := l.Heartbeat()
	if req.Offline != nil {
		policy = HeartbeatPolicy{}
	}
	due := policy.Due(now)

	// 6.4 the activation and, 6.5, the activity log: one statement, its id
	// drawn, and the license's counters raised, with the lock.
	a := &Activation{
		ID: locked.NextActivationID, LicenseID: &l.ID, ProductID: product.ID, LicenseCode: l.LicenseCode,
		ClientName: nullable(strings.TrimSpace(req.ClientName)), URL: nullable(caller.URL), Domain: nullable(caller.Host),
		IP: nullable(caller.IP), UserAgent: nullable(caller.UserAgent),
		IsValid: true, IsActive: true, ActivatedAt: now, CreatedAt: now, UpdatedAt: now, HeartbeatDueAt: due,
		ProductReferenceID: product.ReferenceID,
	}
	if len(changed) > 0 {
		l.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(l).Set("domains = ?, expires_at = ?, expiry_started_at = ?, updated_at = ?", pgdialect.Array(l.Domains), l.ExpiresAt, l.ExpiryStartedAt, now).
			WherePK().Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("first activation's changes: %w", err)
		}
	}
	entry := audit.Entry{
		Type: "license.activated", Actor: caller.Key, IP: caller.IP,
		Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
		Message: fmt.Sprintf("License %s activated via API for product %s from %s (IP: %s).", l.LicenseCode, product.Name, caller.Host, caller.IP),
		Data:    map[string]any{"activation_id": a.ID},
	}
	if offline != nil {
		entry.Message = fmt.Sprintf("License %s activated offline %s for product %s on machine %s.", l.LicenseCode, caller.Key.Via(), product.Name, offline.Fingerprint)
		entry.Data["fingerprint"] = offline.Fingerprint
	}
	logged := audit.NewActivity(entry)
	data, err := json.Marshal(logged.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("activity data: %w", err)
	}
	insert := insertActivationSQL
	if !counted {
		insert = insertCountedActivationSQL
	}
	args := []any{
		a.ID, l.ID, a.ProductID, a.LicenseCode, a.ClientName, a.URL, a.Domain, a.IP, a.UserAgent, now,
		logged.Type, logged.ActorType, logged.ActorID, logged.ActorName, logged.IP, logged.SubjectType, logged.SubjectID, logged.Message, string(data),
		due,
	}
	l.TotalActivations++
	l.ProductReferenceID, l.ProductName = product.ReferenceID, product.Name
	l.ActiveActivations = active - free + 1

	// 6.6 customer activity and hooks.
	after := func() error {
		if err := recordCustomerActivity(ctx, tx, l, audit.CustomerLicenseActivated, caller.IP, a); err != nil {
			return err
		}
		if err := s.hooks.licenseUpdated(ctx, tx, l, changed); err != nil {
			return err
		}
		return s.hooks.activationCreated(ctx, tx, a, l)
	}
	if st.pipe != nil && offline == nil {
		// Pipelined (db.RunPipelined): the activation's statement goes
		// with COMMIT, so what else the transaction writes goes before
		// it. The customer's activity row does not refer to the
		// activation's; the hooks write nothing (Hooks.Quiet), or fail
		// and the activate runs again in a database/sql transaction.
		if err := after(); err != nil {
			return nil, nil, err
		}
		if err := st.pipe.ExecCommit(plain, insert, args...); err != nil {
			return nil, nil, fmt.Errorf("insert activation: %w", err)
		}
	} else {
		if err := st.exec(plain, insert, args...); err != nil {
			return nil, nil, fmt.Errorf("insert activation: %w", err)
		}
		if offline != nil {
			if err := insertOffline(ctx, tx, offline); err != nil {
				return nil, nil, err
			}
		}
		if err := after(); err != nil {
			return nil, nil, err
		}
	}
	return &ActivateResult{Activation: a, License: l, Offline: offline, Heartbeat: policy, HeartbeatDue: due}, nil, nil
}

// The statements of activate, prepared once per connection (see
// preparedRunner). lockLicenseSQL locks the license by writing it: it
// raises total_activations and active_activations for the activation to
// come, draws that activation's id and names it in the transaction-local
// setting licensor.counted_activation, so that the activations insert
// trigger leaves the row out (migration 0135,
// docs/architecture.md#counting-active-activations). One statement locks
// and counts where a SELECT … FOR UPDATE and a later UPDATE each found,
// locked and wrote the row (docs/benchmarks.md); activate's checks then
// read the counters less the one just added, and any failure rolls the
// count back with the transaction. insertActivationSQL writes the
// activation and the activity log in one round trip;
// insertCountedActivationSQL also counts the activation in the license,
// after uncountLicenseSQL took lockLicenseSQL's count back.
const (
	lockLicenseSQL = `UPDATE licenses AS l
	SET total_activations = l.total_activations + 1, active_activations = l.active_activations + 1
	WHERE l.license_code = $1
	RETURNING l.*, set_config('licensor.counted_activation', nextval('activations_id_seq')::text, true)::bigint AS next_activation_id`
	insertActivationSQL = `WITH activation AS (
		INSERT INTO activations (id, license_id, product_id, license_code, client_name, url, domain, ip, user_agent,
			is_valid, is_active, activated_at, created_at, updated_at, heartbeat_due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, true, $10, $10, $10, $20)
	)
	INSERT INTO activity_log (type, actor_type, actor_id, actor_name, ip, subject_type, subject_id, message, data)
	VALUES ($11, $12, $13, $14, $15, $16, $17, $18, $19)`
	uncountLicenseSQL = `UPDATE licenses
	SET total_activations = total_activations - 1, active_activations = active_activations - 1
	WHERE id = $1`
	insertCountedActivationSQL = `WITH activation AS (
		INSERT INTO activations (id, license_id, product_id, license_code, client_name, url, domain, ip, user_agent,
			is_valid, is_active, activated_at, created_at, updated_at, heartbeat_due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, true, $10, $10, $10, $20)
	), counted AS (
		UPDATE licenses SET total_activations = total_activations + 1, active_activations = active_activations + 1
		WHERE id = $2
	)
	INSERT INTO activity_log (type, actor_type, actor_id, actor_name, ip, subject_type, subject_id, message, data)
	VALUES ($11, $12, $13, $14, $15, $16, $17, $18, $19)`
)

// activateStatements sends activate's own statements (lockLicenseSQL and
// the activation's), prepared once per connection unless the service was
// built with Unprepared: through pgx itself on the transaction's connection
// when db.RunInTx began the transaction, which spares database/sql's
// conversion of every argument and column and bun's scan of the license by
// reflection (scanLockedLicense); else through database/sql (runner).
type activateStatements struct {
	run     sqlRunner
	withPgx func(func(*pgx.Conn) error) error
	mode    pgx.QueryExecMode
	// pipe, when set, sends them instead, BEGIN with the first and COMMIT
	// with the activation's (pipelined).
	pipe *db.Pipe
}

// pipelined is activate's transaction under db.RunPipelined: bun's
// statements on its connection (no *sql.Tx: the hooks are quiet), activate's
// own through the pipe.
type pipelined struct {
	bun.Conn
	pipe *db.Pipe
}

// activateStatements returns how to send activate's statements in tx, and
// the bun transaction for everything else (nil when tx has no database/sql
// handle).
func (s *Service) activateStatements(tx bun.IDB) (*activateStatements, bun.IDB) {
	if t, ok := tx.(pipelined); ok {
		return &activateStatements{pipe: t.pipe}, t.Conn
	}
	if t, ok := tx.(db.Tx); ok {
		return &activateStatements{withPgx: t.WithPgx, mode: s.execMode()}, t.Tx
	}
	if run := s.runner(tx); run != nil {
		return &activateStatements{run: run}, tx
	}
	return nil, tx
}

// lock locks the license with code (sql.ErrNoRows when there is none),
// counts the activation to come and draws its id (lockLicenseSQL).
func (st *activateStatements) lock(ctx context.Context, tx bun.IDB, code string) (*lockedLicense, error) {
	if st.pipe != nil && st.pipe.Prepared() {
		// Bound with its kept description (no Describe, no column names
		// decoded per call); the row comes binary, as decode reads it.
		var locked *lockedLicense
		err := st.pipe.QueryRaw(ctx, lockLicenseSQL, func(fields []pgconn.FieldDescription, values [][]byte) error {
			k := new(lockedLicense)
			if !k.decode(fields, values) {
				return errors.New("lock license: its row is not in the form decode reads")
			}
			locked = k
			return nil
		}, []byte(code))
		if err == nil && locked == nil {
			err = sql.ErrNoRows
		}
		return locked, err
	}
	if st.pipe != nil {
		var locked *lockedLicense
		err := st.pipe.Query(ctx, lockLicenseSQL, func(rows pgx.Rows) error {
			var err error
			locked, err = scanLockedLicense(rows)
			return err
		}, code)
		return locked, err
	}
	if st.withPgx == nil {
		return lockLicenseForActivation(ctx, tx, st.run, code)
	}
	var locked *lockedLicense
	err := st.withPgx(func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, lockLicenseSQL, st.mode, code)
		if err != nil {
			return err
		}
		locked, err = scanLockedLicense(rows)
		return err
	})
	return locked, err
}

// exec runs one of activate's statements that returns no rows.
func (st *activateStatements) exec(ctx context.Context, query string, args ...any) error {
	if st.pipe != nil {
		return st.pipe.Exec(ctx, query, args...)
	}
	if st.withPgx == nil {
		_, err := st.run.ExecContext(ctx, query, append([]any{pgx.QueryExecModeCacheStatement}, args...)...)
		return err
	}
	return st.withPgx(func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, query, append([]any{st.mode}, args...)...)
		return err
	})
}

// lockLicenseForActivation is lock through database/sql and bun's scan.
func lockLicenseForActivation(ctx context.Context, tx bun.IDB, run sqlRunner, code string) (*lockedLicense, error) {
	locked := new(lockedLicense)
	rows, err := run.QueryContext(ctx, lockLicenseSQL, pgx.QueryExecModeCacheStatement, code)
	if err != nil {
		return nil, err
	}
	return locked, tx.NewSelect().DB().ScanRows(ctx, rows, locked)
}

// lockedLicense is the license as activate locks it, with the id its
// activation will have, drawn in the same round trip.
type lockedLicense struct {
	License          `bun:",extend"`
	NextActivationID int64 `bun:"next_activation_id,scanonly"`
}

// scanLockedLicense reads lockLicenseSQL's row from pgx itself
// (sql.ErrNoRows when there is none), as bun's scan of it through
// database/sql would (TestLockedLicenseScansAsBun): the driver adapter
// converts every column to a driver.Value and bun converts it again by
// reflection, about 95 allocations per activate for this one row. A
// column it does not know is an error, as it is for bun.
func scanLockedLicense(rows pgx.Rows) (*lockedLicense, error) {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	k := new(lockedLicense)
	if !k.decode(rows.FieldDescriptions(), rows.RawValues()) {
		*k = lockedLicense{}
		if err := k.scan(rows); err != nil {
			return nil, err
		}
	}
	rows.Close()
	return k, rows.Err()
}

// scan reads the current row of rows with pgx's Scan.
func (k *lockedLicense) scan(rows pgx.Rows) error {
	fields := rows.FieldDescriptions()
	dest := make([]any, len(fields))
	for i, f := range fields {
		if dest[i] = k.column(f.Name); dest[i] == nil {
			return fmt.Errorf("scan locked license: no field for column %q", f.Name)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("scan locked license: %w", err)
	}
	return nil
}

// decode reads lockLicenseSQL's row from the values pgx received, by
// column name, as pgx's Scan would (binaryRow), when each column comes in
// the form the prepared statement returns it: binary, and text-like
// columns as text (citext, which pgx does not know, comes as text). Scan
// plans every column of every row again, about 40 allocations for this
// one. Any other form (text results, unprepared behind a pooler; an
// unexpected type; a NULL where none is allowed) reports false, and the
// caller scans the row with pgx instead.
func (k *lockedLicense) decode(fields []pgconn.FieldDescription, values [][]byte) bool {
	if len(fields) != len(values) {
		return false
	}
	l := &k.License
	for i, f := range fields {
		r := binaryRow{fields: fields, values: values, i: i, ok: true}
		ok := true
		switch f.Name {
		case "id":
			l.ID = r.int64()
		case "product_id":
			l.ProductID = r.int64()
		case "license_code":
			l.LicenseCode, ok = textValue(f, values[i], false)
		case "type":
			l.Type, ok = optionalTextValue(f, values[i])
		case "customer_id":
			l.CustomerID, ok = optionalTextValue(f, values[i])
		case "email":
			l.Email, ok = optionalTextValue(f, values[i])
		case "invoice":
			l.Invoice, ok = optionalTextValue(f, values[i])
		case "uses":
			l.Uses = r.optionalInt()
		case "parallel_uses":
			l.ParallelUses = r.optionalInt()
		case "expires_at":
			l.ExpiresAt = r.optionalTime()
		case "expiry_days":
			l.ExpiryDays = r.optionalInt()
		case "expiry_start":
			l.ExpiryStart, ok = textValue(f, values[i], false)
		case "expiry_started_at":
			l.ExpiryStartedAt = r.optionalTime()
		case "updates_until":
			l.UpdatesUntil = r.optionalTime()
		case "support_until":
			l.SupportUntil = r.optionalTime()
		case "domains":
			l.Domains, ok = textArray(f, values[i])
		case "ips":
			l.IPs, ok = textArray(f, values[i])
		case "entitlements":
			l.Entitlements, ok = textArray(f, values[i])
		case "comments":
			l.Comments, ok = optionalTextValue(f, values[i])
		case "heartbeat_interval":
			l.HeartbeatInterval = r.optionalInt()
		case "heartbeat_missed":
			l.HeartbeatMissed, ok = optionalTextValue(f, values[i])
		case "floating":
			l.Floating = r.bool()
		case "is_valid":
			l.IsValid = r.bool()
		case "is_envato":
			l.IsEnvato = r.bool()
		case "total_activations":
			ok = requiredInt(&r, &l.TotalActivations)
		case "active_activations":
			ok = requiredInt(&r, &l.ActiveActivations)
		case "created_at":
			ok = requiredTime(&r, &l.CreatedAt)
		case "updated_at":
			ok = requiredTime(&r, &l.UpdatedAt)
		case "next_activation_id":
			k.NextActivationID = r.int64()
		default:
			return false
		}
		if !ok || !r.ok {
			return false
		}
	}
	return true
}

func requiredInt(r *binaryRow, dst *int) bool {
	v := r.optionalInt()
	if v == nil {
		return false
	}
	*dst = *v
	return true
}

func requiredTime(r *binaryRow, dst *time.Time) bool {
	v := r.optionalTime()
	if v == nil {
		return false
	}
	*dst = *v
	return true
}

// textValue is a text-like column's value: text or varchar in either
// format (their binary form is their text), or any type sent as text (a
// citext). A NULL is "" and null: refused unless the column allows it.
func textValue(f pgconn.FieldDescription, v []byte, null bool) (string, bool) {
	if f.Format != pgtype.TextFormatCode && f.DataTypeOID != pgtype.TextOID && f.DataTypeOID != pgtype.VarcharOID {
		return "", false
	}
	if v == nil {
		return "", null
	}
	return string(v), true
}

func optionalTextValue(f pgconn.FieldDescription, v []byte) (*string, bool) {
	s, ok := textValue(f, v, true)
	if !ok || v == nil {
		return nil, ok
	}
	return &s, true
}

// textArray is a text[] column's value in binary format (one dimension,
// no NULL element): an empty array is an empty slice, as pgx scans it.
func textArray(f pgconn.FieldDescription, v []byte) ([]string, bool) {
	if f.Format != pgtype.BinaryFormatCode || f.DataTypeOID != pgtype.TextArrayOID || len(v) < 12 {
		return nil, false
	}
	ndim := int32(binary.BigEndian.Uint32(v[0:]))
	elem := binary.BigEndian.Uint32(v[8:])
	if ndim == 0 {
		return []string{}, len(v) == 12
	}
	if ndim != 1 || (elem != pgtype.TextOID && elem != pgtype.VarcharOID) || len(v) < 20 {
		return nil, false
	}
	n := int32(binary.BigEndian.Uint32(v[12:]))
	if n < 0 || int(n) > len(v) {
		return nil, false
	}
	out := make([]string, n)
	rest := v[20:]
	for i := range out {
		if len(rest) < 4 {
			return nil, false
		}
		size := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		if size < 0 || int(size) > len(rest) {
			return nil, false // a NULL element, or a short value
		}
		out[i] = string(rest[:size])
		rest = rest[size:]
	}
	return out, len(rest) == 0
}

// column is where lockLicenseSQL's column name is scanned to, nil for
// none.
func (k *lockedLicense) column(name string) any {
	l := &k.License
	switch name {
	case "id":
		return &l.ID
	case "product_id":
		return &l.ProductID
	case "license_code":
		return &l.LicenseCode
	case "type":
		return &l.Type
	case "customer_id":
		return &l.CustomerID
	case "email":
		return &l.Email
	case "invoice":
		return &l.Invoice
	case "uses":
		return &l.Uses
	case "parallel_uses":
		return &l.ParallelUses
	case "expires_at":
		return &l.ExpiresAt
	case "expiry_days":
		return &l.ExpiryDays
	case "expiry_start":
		return &l.ExpiryStart
	case "expiry_started_at":
		return &l.ExpiryStartedAt
	case "updates_until":
		return &l.UpdatesUntil
	case "support_until":
		return &l.SupportUntil
	case "domains":
		return &l.Domains
	case "ips":
		return &l.IPs
	case "entitlements":
		return &l.Entitlements
	case "comments":
		return &l.Comments
	case "heartbeat_interval":
		return &l.HeartbeatInterval
	case "heartbeat_missed":
		return &l.HeartbeatMissed
	case "floating":
		return &l.Floating
	case "is_valid":
		return &l.IsValid
	case "is_envato":
		return &l.IsEnvato
	case "total_activations":
		return &l.TotalActivations
	case "active_activations":
		return &l.ActiveActivations
	case "created_at":
		return &l.CreatedAt
	case "updated_at":
		return &l.UpdatedAt
	case "next_activation_id":
		return &k.NextActivationID
	}
	return nil
}

// recordFailedAttempt writes the failed row that feeds the console and the
// auto-blacklist: the code as sent, the caller, and the status_code.
func (s *Service) recordFailedAttempt(ctx context.Context, idb bun.IDB, product *catalog.Product, req ActivateRequest, licenseID *int64, f *Failure) error {
	now := s.now()
	reason := f.StatusCode
	a := &Activation{
		LicenseID: licenseID, ProductID: product.ID, LicenseCode: req.LicenseCode,
		ClientName: nullable(strings.TrimSpace(req.ClientName)), URL: nullable(req.Caller.URL), Domain: nullable(req.Caller.Host),
		IP: nullable(req.Caller.IP), PeerIP: nullable(req.Caller.Peer), UserAgent: nullable(req.Caller.UserAgent),
		IsValid: false, IsActive: false, FailureReason: &reason, ActivatedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := idb.NewInsert().Model(a).Exec(ctx); err != nil {
		return fmt.Errorf("record failed activation of %s: %w", req.LicenseCode, err)
	}
	return nil
}
