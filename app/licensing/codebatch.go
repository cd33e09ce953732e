package licensing

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/licensor/licensor/app/db"
)

// Verify by code's read outside a transaction (codeStateSQL) goes through
// a db.Batcher per pool, as verify by token's read of an activation's state
// does (statebatch.go, with the same in-flight and batch limits): alone when
// the pool is not busy, else together with the reads that came while it
// was, in one statement (codeStatesSQL). Unbatched, each verify by code was
// a round trip of its own, which cost the server and PostgreSQL more than
// the lookups (docs/benchmarks.md).

// codeKey is one verify by code's read: the code, the product, the
// caller's host ("" when none) and the client name as sent, trimmed ("":
// any).
type codeKey struct {
	productID              int64
	code, host, clientName string
}

// codeStatesSQL is codeStateSQL for many keys at once: one row per
// activation found, or one with NULL activation columns for a license
// without any on the host, each headed by its key's position in the
// arrays (1-based); a key with no license has no row.
//
// Each key's lookup is codeStateSQL's, in a LATERAL subquery that OFFSET 0
// keeps from being flattened into the join: the subquery refers to the
// key's columns, so the only plan is a nested loop over the keys, in their
// order, running the subquery's index lookups (licenses' license_code
// hash index, then activations_license_host_idx) once per key, whatever
// the statistics say (flattened, the planner could hash the keys against
// a sequential scan of licenses). A nested loop hands out each key's rows
// in the subquery's own order (activated_at, id), which verifyCode's
// choice of the activation it records relies on.
const codeStatesSQL = `SELECT k.i, s.* FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS k(code, product_id, host, client_name, i)
	CROSS JOIN LATERAL (
		SELECT l.id, l.is_valid, l.expires_at, l.customer_id::text, array_to_string(l.entitlements, ','), a.id, a.is_active, a.ip,
			` + clockColumns + `
		FROM licenses AS l
		LEFT JOIN activations AS a ON a.license_id = l.id AND a.product_id = l.product_id AND a.is_valid
			AND coalesce(a.domain, '') = k.host AND (k.client_name = '' OR lower(a.client_name) = lower(k.client_name))
		WHERE l.license_code = k.code::citext AND l.product_id = k.product_id
		ORDER BY a.activated_at, a.id
		OFFSET 0) AS s`

// codeBatcher is pool's batcher of verify by code's reads, made at its
// first read; as stateBatcher, a batch never mixes pools.
func (s *Service) codeBatcher(pool *sql.DB) *db.Batcher[codeKey, *codeState] {
	return poolBatcher(&s.codeBatchers, pool, s, codeStatesRead)
}

// codeStatesRead is codeBatcher's read in exec mode mode.
func codeStatesRead(mode pgx.QueryExecMode) db.BatchRead[codeKey, *codeState] {
	return func(ctx context.Context, c *pgx.Conn, keys []codeKey, states []*codeState, errs []error) error {
		return queryCodeStates(ctx, c, mode, keys, states, errs)
	}
}

// queryCodeStates reads keys' code states on c in one statement:
// states[i] is keys[i]'s (nil: no license of that code and product),
// errs[i] set when its license holds a value verify cannot read (an
// infinite expiry), which fails that read alone. One key is read by
// codeStateSQL, the statement of a read alone, many by codeStatesSQL.
func queryCodeStates(ctx context.Context, c *pgx.Conn, mode pgx.QueryExecMode, keys []codeKey, states []*codeState, errs []error) error {
	if len(keys) == 1 {
		k := keys[0]
		st, _, err := queryCodeState(ctx, c, mode, k.productID, k.code, k.clientName, k.host)
		if errors.Is(err, errUnreadableState) {
			errs[0] = err
			return nil
		}
		states[0] = st
		return err
	}
	codes, products, hosts, clients := codeKeyArrays(keys)
	rows, err := c.Query(ctx, codeStatesSQL, mode, codes, products, hosts, clients)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var row codeRow
		if _, err := row.scan(rows, true); err != nil && !errors.Is(err, errUnreadableState) {
			return err
		} else if i := row.key - 1; i < 0 || i >= int64(len(keys)) {
			return errors.New("a code state of no key")
		} else if err != nil {
			errs[i] = err
		} else {
			states[i] = row.add(states[i])
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range errs {
		if errs[i] != nil {
			states[i] = nil
		}
	}
	return nil
}

// codeRow is one row of codeStateSQL (or codeStatesSQL, headed by its
// key's position).
type codeRow struct {
	key           int64
	license       codeState
	activation    codeActivation
	hasActivation bool
}

// add adds the row to st, its key's state so far (nil before its first
// row), and returns the state.
func (r *codeRow) add(st *codeState) *codeState {
	if st == nil {
		st = new(codeState)
		*st = r.license
	}
	if r.hasActivation {
		st.activations = append(st.activations, r.activation)
	}
	return st
}

// scan reads rows' current row, headed by a key's position when keyed: by
// binaryRow when it can (decoded), else by pgx's Scan. A license whose
// expiry is infinite (no time.Time holds it; the database/sql path refuses
// it too) is errUnreadableState, with the key read, and rows stay readable.
func (r *codeRow) scan(rows pgx.Rows, keyed bool) (decoded bool, err error) {
	l, a := &r.license, &r.activation
	b := newBinaryRow(rows.FieldDescriptions(), rows.RawValues())
	if keyed {
		r.key = b.int64()
	}
	// The activation's columns are NULL when the license has none on the
	// caller's host (LEFT JOIN); a NULL is_active reads false.
	l.licenseID, l.isValid, l.expiresAt, l.customerID, l.entitlements = b.int64(), b.bool(), b.optionalTime(), b.optionalText(), b.text()
	a.id, r.hasActivation = b.nullableInt64()
	a.isActive, _ = b.nullableBool()
	a.ip, l.expiryDays, l.clockWaits = b.optionalText(), b.optionalInt(), b.bool()
	if b.done() {
		return true, nil
	}
	// pgx scans a NULL into a nil pointer. The expiry goes through
	// pgtype.Timestamptz, as in scanActivationState.
	var (
		activationID *int64
		isActive     *bool
		expiresAt    pgtype.Timestamptz
	)
	dest := []any{&l.licenseID, &l.isValid, &expiresAt, &l.customerID, &l.entitlements, &activationID, &isActive, &a.ip, &l.expiryDays, &l.clockWaits}
	if keyed {
		dest = append([]any{&r.key}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return false, err
	}
	a.id, r.hasActivation = 0, activationID != nil
	if r.hasActivation {
		a.id = *activationID
	}
	a.isActive = isActive != nil && *isActive
	l.expiresAt = nil
	switch {
	case !expiresAt.Valid:
	case expiresAt.InfinityModifier != pgtype.Finite:
		return false, errUnreadableState
	default:
		l.expiresAt = &expiresAt.Time
	}
	return false, nil
}

// codeKeyArrays are keys' codes, products, hosts and client names as
// PostgreSQL's text form of an array each, which pgx sends as it is (a
// string parameter goes in text format). Given slices, pgx encoded each
// element through its generic array plan, boxing every string: about a
// fifth of the batch goroutine's CPU under bench/load's verify by code
// (docs/benchmarks.md#cache-off-hand-off). Every element is quoted, so
// spaces at its ends stay and a code NULL is not a null.
func codeKeyArrays(keys []codeKey) (codes, products, hosts, clients string) {
	var c, p, h, n []byte
	for i, k := range keys {
		if i == 0 {
			c, p, h, n = append(c, '{'), append(p, '{'), append(h, '{'), append(n, '{')
		} else {
			c, p, h, n = append(c, ','), append(p, ','), append(h, ','), append(n, ',')
		}
		c, h, n = appendArrayText(c, k.code), appendArrayText(h, k.host), appendArrayText(n, k.clientName)
		p = strconv.AppendInt(p, k.productID, 10)
	}
	return string(append(c, '}')), string(append(p, '}')), string(append(h, '}')), string(append(n, '}'))
}

// appendArrayText appends s as an array element in text form: quoted, its
// quotes and backslashes escaped.
func appendArrayText(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
