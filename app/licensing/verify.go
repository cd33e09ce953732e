package licensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/settings"
)

// VerifyRequest is a verification by activation token (docs/api/external.md#verify token
// path). The handler has already checked the token's signature (step 1)
// and resolved the active product (step 2, reported first).
type VerifyRequest struct {
	Product *catalog.Product
	// ActivationID and TokenProductRef are the token's aid and pid.
	ActivationID    int64
	TokenProductRef string
	ClientName      string
	Caller          Caller
	// Grace applies the product's grace period: the modern path's
	// verify. Legacy paths keep their answers (docs/api/legacy.md).
	// It also tells a released activation apart (FailReleased), which
	// legacy clients know as deactivated.
	Grace bool
}

// Verdict is what verify answers. A nil Failure means verified; then
// GraceUntil, when set, says the license has expired and is verified only
// because it is in its grace period until then
// (docs/api/external.md#grace-period).
type Verdict struct {
	Failure    *Failure
	GraceUntil *time.Time
	// Entitlements are the license's, on success
	// (docs/licensing.md#entitlements).
	Entitlements []string
	// Clocked says the license has an expiry clock (expiry days), and
	// ExpiresAt is then its expiry, started by this verify when the clock
	// waited for the first one (docs/licensing.md#expiry-clock).
	Clocked   bool
	ExpiresAt *time.Time
}

func failedVerdict(f *Failure) Verdict { return Verdict{Failure: f} }

// expiryVerdict is the expiry step of verify (docs/api/external.md#verify
// step 8): a license past its expires_at is expired, or, with grace and
// within the product's grace period, verified in grace.
func expiryVerdict(p *catalog.Product, expiresAt *time.Time, now time.Time, grace bool) (expired bool, graceUntil *time.Time) {
	if expiresAt == nil || expiresAt.After(now) {
		return false, nil
	}
	if until := p.GraceUntil(expiresAt); grace && until != nil && until.After(now) {
		return false, until
	}
	return true, nil
}

// VerifyCodeRequest is a verification by license code (docs/api/external.md#verify code path; also
// the legacy LicenseBox token, whose license and client take the places of
// LicenseCode and ClientName).
type VerifyCodeRequest struct {
	Product     *catalog.Product
	LicenseCode string
	ClientName  string
	Caller      Caller
	// Grace: as VerifyRequest's.
	Grace bool
}

// activationState is what verify and deactivate read of an activation and
// its license, in one indexed query.
type activationState struct {
	ID           int64      `bun:"id"`
	ProductID    int64      `bun:"product_id"`
	LicenseID    int64      `bun:"license_id"`
	ClientName   *string    `bun:"client_name"`
	Domain       *string    `bun:"domain"`
	IP           *string    `bun:"ip"`
	IsValid      bool       `bun:"is_valid"`
	IsActive     bool       `bun:"is_active"`
	LicenseValid bool       `bun:"license_valid"`
	ExpiresAt    *time.Time `bun:"expires_at"`
	// Entitlements are the license's names joined by commas (identifiers
	// hold none): a plain string scans alike through database/sql and bun.
	Entitlements string `bun:"entitlements"`
	// ExpiryDays are the license's expiry_days when it has a clock, and
	// ClockWaits says that clock waits for the first verify
	// (docs/licensing.md#expiry-clock).
	ExpiryDays *int `bun:"expiry_days"`
	ClockWaits bool `bun:"clock_waits"`
	// DeactivationReason tells a released activation (FailReleased);
	// the license's heartbeat overrides make the heartbeat's answer.
	DeactivationReason *string `bun:"deactivation_reason"`
	HeartbeatInterval  *int    `bun:"heartbeat_interval"`
	HeartbeatMissed    *string `bun:"heartbeat_missed"`
	Floating           bool    `bun:"floating"`
}

func (st *activationState) released() bool {
	return st.DeactivationReason != nil && *st.DeactivationReason == ReasonReleased
}

// policy is the activation's effective heartbeat policy under product p.
func (st *activationState) policy(p *catalog.Product) HeartbeatPolicy {
	return EffectivePolicy(p, st.HeartbeatInterval, st.HeartbeatMissed, st.Floating)
}

// splitEntitlements reads activationState.Entitlements's form.
func splitEntitlements(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// activationStateSQL is loadActivationState's query. Unlike bun's queries,
// whose texts embed their values, it passes the id as a parameter, so each
// connection prepares it once: verify is the API's hottest path.
const activationStateSQL = activationStateSelect + `
	WHERE a.id = $1`

// activationStatesSQL is activationStateSQL for many ids at once: a batch
// of the states verify reads (statebatch.go). An id with no activation has
// no row; an id given twice has one. Each activation's license is read in
// a LATERAL subquery that OFFSET 0 keeps from being flattened into a join:
// it refers to the activation's license_id, so the only plan is a nested
// loop, a primary-key lookup of the license per activation. As a plain
// join, once the licenses table has statistics and is small beside a
// batch (bench/load's 1,000 licenses, 32 ids), the planner hashed the
// whole licenses table for every batch, a sequential scan costing
// PostgreSQL more than the batch's lookups (docs/benchmarks.md).
const activationStatesSQL = `SELECT ` + activationStateColumns + `
	FROM activations AS a CROSS JOIN LATERAL (
		SELECT l.is_valid, l.expires_at, l.entitlements, l.expiry_days, l.expiry_start, l.heartbeat_interval, l.heartbeat_missed, l.floating
		FROM licenses AS l WHERE l.id = a.license_id OFFSET 0) AS l
	WHERE a.id = ANY($1::bigint[])`

const activationStateSelect = `SELECT ` + activationStateColumns + `
	FROM activations AS a JOIN licenses AS l ON l.id = a.license_id`

const activationStateColumns = `a.id, a.product_id, a.license_id, a.client_name, a.domain, a.ip, a.is_valid, a.is_active,
		l.is_valid AS license_valid, l.expires_at, array_to_string(l.entitlements, ',') AS entitlements,
		` + clockColumns + `,
		a.deactivation_reason, l.heartbeat_interval, l.heartbeat_missed, l.floating`

// clockColumns are the expiry clock's columns verify reads: the license's
// expiry days when it has a clock, and whether the clock waits for the
// first verify.
const clockColumns = `CASE WHEN l.expiry_days > 0 THEN l.expiry_days END AS expiry_days,
		(l.expires_at IS NULL AND l.expiry_days > 0 AND l.expiry_start = 'first_verify') AS clock_waits`

// loadActivationState reads an activation's state in one statement
// (activationStateSQL): through pgx itself on the pool under idb when idb
// is one (the primary's or the read replicas', directly, db.WithPgx), in a
// batch with the reads of other requests when the pool is busy
// (statebatch.go), else through database/sql in idb's transaction.
func (s *Service) loadActivationState(ctx context.Context, idb bun.IDB, id int64) (*activationState, error) {
	if pool := directPool(idb); pool != nil {
		st, err := s.stateBatcher(pool).Read(ctx, id)
		return activationStateResult(st, id, err)
	}
	return loadActivationStateSQL(ctx, idb, s.runner(idb), id)
}

// loadActivationStateSQL is loadActivationState in a transaction: through
// its database/sql handle r when it has one, else through bun.
func loadActivationStateSQL(ctx context.Context, idb bun.IDB, r sqlRunner, id int64) (*activationState, error) {
	if r == nil {
		var st activationState
		err := idb.NewRaw(strings.Replace(activationStateSQL, "$1", "?", 1), id).Scan(ctx, &st)
		return activationStateResult(&st, id, err)
	}
	row := r.QueryRowContext(ctx, activationStateSQL, pgx.QueryExecModeCacheStatement, id)
	var (
		st                                     activationState
		clientName, domain, ip, reason, missed sql.NullString
		expiresAt                              sql.NullTime
		expiryDays, interval                   sql.NullInt64
	)
	err := row.Scan(&st.ID, &st.ProductID, &st.LicenseID, &clientName, &domain, &ip, &st.IsValid, &st.IsActive, &st.LicenseValid, &expiresAt, &st.Entitlements,
		&expiryDays, &st.ClockWaits, &reason, &interval, &missed, &st.Floating)
	st.ExpiryDays = optionalInt(expiryDays)
	st.ClientName, st.Domain, st.IP = optionalString(clientName), optionalString(domain), optionalString(ip)
	st.DeactivationReason, st.HeartbeatMissed = optionalString(reason), optionalString(missed)
	if interval.Valid {
		n := int(interval.Int64)
		st.HeartbeatInterval = &n
	}
	if expiresAt.Valid {
		st.ExpiresAt = &expiresAt.Time
	}
	return activationStateResult(&st, id, err)
}

func activationStateResult(st *activationState, id int64, err error) (*activationState, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load activation %d: %w", id, err)
	}
	return st, nil
}

func optionalInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func optionalString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// VerifyActivation checks an activation token's activation (docs/api/external.md#verify token
// path, steps 3–10). It writes nothing: the verification is handed to the
// service's VerifyRecorder.
//
// Without the node's cache (api.verify_cache_size 0) it reads a read
// replica when the node has one that has replayed this node's writes,
// and asks the primary again unless the replica's answer is a success
// (uncachedVerify). With the cache, a miss reads idb, the primary: what
// it reads is cached, and a replica's state may predate a change whose
// notification the cache has already had, which would then stay cached
// (docs/deploy.md#read-replicas).
func (s *Service) VerifyActivation(ctx context.Context, idb bun.IDB, set *settings.Values, req VerifyRequest) (Verdict, error) {
	if s.activations == nil {
		return s.uncachedVerify(ctx, idb, func(ctx context.Context, read, write bun.IDB) (Verdict, error) {
			return s.verifyActivation(ctx, write, set, req, func(ctx context.Context, id int64) (*activationState, error) {
				return s.loadActivationState(ctx, read, id)
			})
		})
	}
	return s.verifyActivation(ctx, idb, set, req, s.cachedLoader(idb))
}

// uncachedVerify runs verify, which reads no cache, on a read replica
// when VerifyReplica offers one, then on the primary idb unless the
// replica's verdict was a success. So a refusal is always the primary's:
// an activation or a license just made, or an unblock, that the replica has
// not replayed yet is never refused; a success may be up to
// database.replica_max_lag old (a block, a deactivation or an expiry
// change made through another node verifies for that long), never older
// than this node's own writes (VerifyReplica checks the replica has
// replayed them). verify reads read and writes (an expiry clock's start)
// to write, nil on the replica: a verify that must write is the primary's.
func (s *Service) uncachedVerify(ctx context.Context, idb bun.IDB, verify func(ctx context.Context, read, write bun.IDB) (Verdict, error)) (Verdict, error) {
	if s.replica != nil {
		if rdb := s.replica(); rdb != nil {
			if v, err := verify(ctx, rdb, nil); err == nil && v.Failure == nil {
				return v, nil
			}
		}
	}
	return verify(ctx, idb, idb)
}

// errWritesOnPrimary ends a verify on a replica that would write: it is
// run again on the primary.
var errWritesOnPrimary = errors.New("licensing: this verify writes: the primary's")

func (s *Service) verifyActivation(ctx context.Context, idb bun.IDB, set *settings.Values, req VerifyRequest, load stateLoader) (Verdict, error) {
	st, f, err := s.tokenActivation(ctx, load, req.Product, req.ActivationID, req.TokenProductRef, req.ClientName, req.Caller)
	if err != nil || f != nil {
		return failedVerdict(f), err
	}
	now := s.now()
	expired, graceUntil := expiryVerdict(req.Product, st.ExpiresAt, now, req.Grace)
	switch {
	case !st.LicenseValid:
		// Blocking deactivates activations, so the block is reported
		// before the activation's own state.
		return failedVerdict(failed(FailBlocked)), nil
	case expired:
		return failedVerdict(failed(FailExpired)), nil
	case !st.IsActive && req.Grace && st.released():
		return failedVerdict(failed(FailReleased)), nil
	case !st.IsActive:
		return failedVerdict(failed(FailDeactivated)), nil
	case set.VerifyLicenseIP && !sameOptional(st.IP, req.Caller.IP):
		return failedVerdict(failed(FailVerifyInvalid)), nil
	}
	if st.ClockWaits && idb == nil {
		// Before recording: the primary's verify records it once.
		return Verdict{}, errWritesOnPrimary
	}
	s.recorder.Record(st.ID, now, req.Caller.IP)
	v := Verdict{GraceUntil: graceUntil, Entitlements: splitEntitlements(st.Entitlements), Clocked: st.ExpiryDays != nil, ExpiresAt: st.ExpiresAt}
	if st.ClockWaits {
		if v.ExpiresAt, err = s.startClockAtVerify(ctx, idb, st.LicenseID, *st.ExpiryDays, req.Caller, now); err != nil {
			return Verdict{}, err
		}
	}
	return v, nil
}

// stateLoader reads an activation's state: from the database in a
// transaction, or through the node's cache for verify.
type stateLoader func(ctx context.Context, id int64) (*activationState, error)

// tokenActivation applies the token steps verify and deactivate share
// (docs/api/external.md#verify steps 3–6): token for this product, activation of this product and
// not a failed attempt, same client name when one is sent, same host.
func (s *Service) tokenActivation(ctx context.Context, load stateLoader, p *catalog.Product, activationID int64, tokenRef, clientName string, caller Caller) (*activationState, *Failure, error) {
	if !strings.EqualFold(tokenRef, p.ReferenceID) {
		return nil, failed(FailVerifyInvalid), nil
	}
	st, err := load(ctx, activationID)
	if err != nil {
		return nil, nil, err
	}
	if st == nil || st.ProductID != p.ID || !st.IsValid {
		return nil, failed(FailVerifyInvalid), nil
	}
	if name := strings.TrimSpace(clientName); name != "" && (st.ClientName == nil || !strings.EqualFold(name, strings.TrimSpace(*st.ClientName))) {
		return nil, failed(FailVerifyInvalid), nil
	}
	if !sameOptional(st.Domain, caller.Host) {
		return nil, failed(FailVerifyInvalid), nil
	}
	return st, nil, nil
}

// VerifyCode checks a license code from the caller's host
// (docs/api/external.md#verify code path). One prepared query, whose plan
// does not depend on statistics (see codeStateSQL). Nothing caches it: it
// reads a read replica as uncachedVerify says.
func (s *Service) VerifyCode(ctx context.Context, idb bun.IDB, set *settings.Values, req VerifyCodeRequest) (Verdict, error) {
	return s.uncachedVerify(ctx, idb, func(ctx context.Context, read, write bun.IDB) (Verdict, error) {
		return s.verifyCodeOn(ctx, read, write, set, req)
	})
}

func (s *Service) verifyCodeOn(ctx context.Context, read, idb bun.IDB, set *settings.Values, req VerifyCodeRequest) (Verdict, error) {
	st, err := s.loadCodeState(ctx, read, req.Product.ID, req.LicenseCode, req.ClientName, req.Caller.Host)
	if err != nil {
		return Verdict{}, err
	}
	if st != nil && st.clockWaits && idb == nil {
		// Before verifyCode records the verification: the primary's
		// verify records it once.
		return Verdict{}, errWritesOnPrimary
	}
	f, graceUntil := s.verifyCode(st, set, req)
	if f != nil {
		return failedVerdict(f), nil
	}
	v := Verdict{GraceUntil: graceUntil, Entitlements: splitEntitlements(st.entitlements), Clocked: st.expiryDays != nil, ExpiresAt: st.expiresAt}
	if st.clockWaits {
		if v.ExpiresAt, err = s.startClockAtVerify(ctx, idb, st.licenseID, *st.expiryDays, req.Caller, s.now()); err != nil {
			return Verdict{}, err
		}
	}
	return v, nil
}

func (s *Service) verifyCode(st *codeState, set *settings.Values, req VerifyCodeRequest) (*Failure, *time.Time) {
	if st == nil {
		return failed(FailVerifyInvalid), nil
	}
	name := strings.TrimSpace(req.ClientName)
	if name != "" && st.customerID != nil && !strings.EqualFold(name, strings.TrimSpace(*st.customerID)) {
		return failed(FailVerifyInvalid), nil
	}
	now := s.now()
	if !st.isValid {
		return failed(FailBlocked), nil
	}
	expired, graceUntil := expiryVerdict(req.Product, st.expiresAt, now, req.Grace)
	if expired {
		return failed(FailExpired), nil
	}
	anyActive := false
	for _, a := range st.activations {
		if !a.isActive {
			continue
		}
		anyActive = true
		if !set.VerifyLicenseIP || sameOptional(a.ip, req.Caller.IP) {
			s.recorder.Record(a.id, now, req.Caller.IP)
			return nil, graceUntil
		}
	}
	if !anyActive && len(st.activations) > 0 {
		return failed(FailDeactivated), nil
	}
	return failed(FailVerifyInvalid), nil
}

// codeState is what the code path reads: the license of a code and its
// valid activations of the product on the caller's host.
type codeState struct {
	licenseID  int64
	isValid    bool
	expiresAt  *time.Time
	customerID *string
	// entitlements, expiryDays, clockWaits: as activationState's.
	entitlements string
	expiryDays   *int
	clockWaits   bool
	activations  []codeActivation
}

type codeActivation struct {
	id       int64
	isActive bool
	ip       *string
}

// codeStateSQL is the code path's one query. Its lookups are equalities on
// the leading columns of indexes made for them: licenses' license_code
// through its hash index (migration 0150: the probe lowercased once, not
// in each of the unique btree's comparisons; the match is citext's = all
// the same), then activations_license_host_idx (license, product, host)
// over valid rows (migration 0070). So its plan does not depend on
// statistics (a database after a bulk import, or with autovacuum off,
// plans it the same) and its cost does not grow with the product's
// activations. $3 is the caller's host, "" when none: an absent domain
// matches only an absent host, as in tokenActivation.
const codeStateSQL = `SELECT l.id, l.is_valid, l.expires_at, l.customer_id::text, array_to_string(l.entitlements, ','), a.id, a.is_active, a.ip,
		` + clockColumns + `
	FROM licenses AS l
	LEFT JOIN activations AS a ON a.license_id = l.id AND a.product_id = l.product_id AND a.is_valid
		AND coalesce(a.domain, '') = $3 AND ($4 = '' OR lower(a.client_name) = lower($4))
	WHERE l.license_code = $1 AND l.product_id = $2
	ORDER BY a.activated_at, a.id`

// loadCodeState reads what verify by code checks in one statement
// (codeStateSQL): through pgx itself on the pool under idb when idb is one,
// in a batch with the reads of other requests when the pool is busy
// (codebatch.go), as loadActivationState, else through database/sql in
// idb's transaction. nil: no license with that code.
func (s *Service) loadCodeState(ctx context.Context, idb bun.IDB, productID int64, code, clientName, host string) (*codeState, error) {
	pool := directPool(idb)
	if pool == nil {
		return loadCodeStateSQL(ctx, idb, s.runner(idb), productID, code, clientName, host)
	}
	st, err := s.codeBatcher(pool).Read(ctx, codeKey{productID: productID, code: code, host: host, clientName: strings.TrimSpace(clientName)})
	if err != nil {
		return nil, fmt.Errorf("license %q by code: %w", code, err)
	}
	return st, nil
}

// queryCodeState is loadCodeState's statement on c. decoded says every row
// was read by binaryRow rather than pgx's Scan.
func queryCodeState(ctx context.Context, c *pgx.Conn, mode pgx.QueryExecMode, productID int64, code, clientName, host string) (st *codeState, decoded bool, err error) {
	rows, err := c.Query(ctx, codeStateSQL, mode, code, productID, host, strings.TrimSpace(clientName))
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	decoded = true
	for rows.Next() {
		var row codeRow
		binary, err := row.scan(rows, false)
		if err != nil {
			return nil, false, err
		}
		decoded = decoded && binary
		st = row.add(st)
	}
	return st, decoded, rows.Err()
}

// loadCodeStateSQL is loadCodeState in a transaction: through its
// database/sql handle r when it has one, else through bun.
func loadCodeStateSQL(ctx context.Context, idb bun.IDB, r sqlRunner, productID int64, code, clientName, host string) (*codeState, error) {
	args := []any{code, productID, host, strings.TrimSpace(clientName)}
	var (
		rows *sql.Rows
		err  error
	)
	if r != nil {
		rows, err = r.QueryContext(ctx, codeStateSQL, append([]any{pgx.QueryExecModeCacheStatement}, args...)...)
	} else {
		q := codeStateSQL
		for _, n := range []string{"$1", "$2", "$3", "$4"} {
			q = strings.ReplaceAll(q, n, "?")
		}
		rows, err = idb.QueryContext(ctx, q, args[0], args[1], args[2], args[3], args[3])
	}
	if err != nil {
		return nil, fmt.Errorf("license %q by code: %w", code, err)
	}
	defer func() { _ = rows.Close() }()
	var st *codeState
	for rows.Next() {
		var (
			licenseID      int64
			isValid        bool
			expiresAt      sql.NullTime
			customerID, ip sql.NullString
			entitlements   string
			activationID   sql.NullInt64
			isActive       sql.NullBool
			expiryDays     sql.NullInt64
			clockWaits     bool
		)
		if err := rows.Scan(&licenseID, &isValid, &expiresAt, &customerID, &entitlements, &activationID, &isActive, &ip, &expiryDays, &clockWaits); err != nil {
			return nil, fmt.Errorf("license %q by code: %w", code, err)
		}
		if st == nil {
			st = &codeState{licenseID: licenseID, isValid: isValid, customerID: optionalString(customerID), entitlements: entitlements,
				expiryDays: optionalInt(expiryDays), clockWaits: clockWaits}
			if expiresAt.Valid {
				st.expiresAt = &expiresAt.Time
			}
		}
		if activationID.Valid {
			st.activations = append(st.activations, codeActivation{id: activationID.Int64, isActive: isActive.Bool, ip: optionalString(ip)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("license %q by code: %w", code, err)
	}
	return st, nil
}

// codeLicense finds the license of the code path: this product's, and,
// when a client name is sent and the license is issued to a customer, that
// customer's.
func codeLicense(ctx context.Context, idb bun.IDB, p *catalog.Product, code, clientName string) (*License, *Failure, error) {
	l := new(License)
	err := idb.NewSelect().Model(l).ColumnExpr("l.*").
		Where("l.license_code = ? AND l.product_id = ?", code, p.ID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, failed(FailVerifyInvalid), nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("license by code: %w", err)
	}
	name := strings.TrimSpace(clientName)
	if name != "" && l.CustomerID != nil && !strings.EqualFold(name, strings.TrimSpace(*l.CustomerID)) {
		return nil, failed(FailVerifyInvalid), nil
	}
	return l, nil, nil
}

// hostActivations returns the valid activations of license on the caller's
// host (both absent counts as the same host) with the sent client name,
// when one is sent. forUpdate locks them.
func hostActivations(ctx context.Context, idb bun.IDB, licenseID, productID int64, clientName, host string, forUpdate bool) ([]*Activation, error) {
	var out []*Activation
	q := idb.NewSelect().Model(&out).
		// The form of codeStateSQL's conditions, for the same index.
		Where("a.license_id = ? AND a.product_id = ? AND a.is_valid", licenseID, productID).
		Where("coalesce(a.domain, '') = ?", host).
		OrderExpr("a.activated_at, a.id")
	if name := strings.TrimSpace(clientName); name != "" {
		q = q.Where("lower(a.client_name) = lower(?)", name)
	}
	if forUpdate {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("activations on host %q: %w", host, err)
	}
	return out, nil
}

// sameOptional compares a stored optional value with the caller's, where
// absent equals absent (docs/api/external.md#verify step 6). Hosts and IPs are stored normalised.
func sameOptional(stored *string, caller string) bool {
	if stored == nil || *stored == "" {
		return caller == ""
	}
	return strings.EqualFold(*stored, caller)
}
