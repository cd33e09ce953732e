package licensing

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/licensor/licensor/app/db"
)

// Verify's read of an activation's state (uncached verify, a cache miss,
// a heartbeat) outside a transaction goes through a db.Batcher per pool:
// alone when the pool is not busy, else together with the reads that came
// while it was, in one statement (activationStatesSQL). One round trip per
// verify costs the server and PostgreSQL more than the read itself
// (docs/benchmarks.md); a batch shares it.
const (
	// stateReadsInFlight batches at once per pool: enough for the
	// database's cores to work while the server decodes a batch, few
	// enough that the reads arriving meanwhile make batches.
	stateReadsInFlight = 2
	// stateMinOverlap reads must wait before a batch goes beside the one
	// out: fewer go after it, together with those coming meanwhile.
	// Under bench/load's cache-off verify (32 connections, 2 cores) a
	// second batch for any waiting read made about 60% of the round
	// trips a single read, 4.2-6.3 reads a batch; waiting for 16 made
	// 6.2 and cost PostgreSQL 12-13 µs per verify instead of 16-17
	// (docs/benchmarks.md#batch-sizes). A batch coming back while
	// another is out leaves fewer than this many to that one
	// (docs/benchmarks.md#cache-off-hand-off).
	stateMinOverlap = 16
	// stateBatchMax caps a batch, so that one round trip's rows stay
	// small and its waiters' wait short.
	stateBatchMax = 64
)

// stateBatcher is pool's batcher of activation states, made at its first
// read. The pool is chosen before (the primary's, or the replicas' when
// the write fence lets verify read them): a batch never mixes pools.
func (s *Service) stateBatcher(pool *sql.DB) *db.Batcher[int64, *activationState] {
	return poolBatcher(&s.stateBatchers, pool, s, activationStatesRead)
}

// activationStatesRead is stateBatcher's read in exec mode mode.
func activationStatesRead(mode pgx.QueryExecMode) db.BatchRead[int64, *activationState] {
	return func(ctx context.Context, c *pgx.Conn, ids []int64, states []*activationState, errs []error) error {
		return queryActivationStates(ctx, c, mode, ids, states, errs)
	}
}

// poolBatcher is pool's batcher in m (pool → *db.Batcher[K, V]), made at
// the pool's first read with the limits above and the read newRead makes
// for s's exec mode. newRead is a plain function, so a read of a pool
// whose batcher exists allocates nothing here.
func poolBatcher[K, V any](m *sync.Map, pool *sql.DB, s *Service, newRead func(pgx.QueryExecMode) db.BatchRead[K, V]) *db.Batcher[K, V] {
	if b, ok := m.Load(pool); ok {
		return b.(*db.Batcher[K, V])
	}
	b, _ := m.LoadOrStore(pool, db.NewBatcher(pool, stateReadsInFlight, stateMinOverlap, stateBatchMax, newRead(s.execMode())))
	return b.(*db.Batcher[K, V])
}

// queryActivationStates reads the states of ids on c in one statement:
// states[i] is ids[i]'s (nil: no such activation), errs[i] set when its row
// holds a value verify cannot read (an infinite expiry), which fails that
// read alone. One id is read by activationStateSQL, the statement of a
// read alone, many by activationStatesSQL.
func queryActivationStates(ctx context.Context, c *pgx.Conn, mode pgx.QueryExecMode, ids []int64, states []*activationState, errs []error) error {
	var rows pgx.Rows
	var err error
	if len(ids) == 1 {
		rows, err = c.Query(ctx, activationStateSQL, mode, ids[0])
	} else {
		rows, err = c.Query(ctx, activationStatesSQL, mode, ids)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		st := new(activationState)
		_, rowErr := scanActivationState(rows, st)
		if rowErr != nil && !errors.Is(rowErr, errUnreadableState) {
			return rowErr
		}
		given := false
		for i, id := range ids {
			switch {
			case id != st.ID:
			case rowErr != nil:
				errs[i] = rowErr
			case given:
				// The same id twice: each caller gets a state of its own.
				cp := *st
				states[i] = &cp
			default:
				states[i], given = st, true
			}
		}
	}
	return rows.Err()
}

// queryActivationState reads activation id's state into st on c in one
// statement, pgx.ErrNoRows when there is none. decoded says its row was
// read by binaryRow rather than pgx's Scan.
func queryActivationState(ctx context.Context, c *pgx.Conn, mode pgx.QueryExecMode, id int64, st *activationState) (decoded bool, err error) {
	rows, err := c.Query(ctx, activationStateSQL, mode, id)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return false, err
		}
		return false, pgx.ErrNoRows
	}
	if decoded, err = scanActivationState(rows, st); err != nil {
		return false, err
	}
	rows.Close()
	return decoded, rows.Err()
}

// errUnreadableState is a row of activationStateSelect that verify cannot
// read, though the others of its batch may be.
var errUnreadableState = errors.New("an infinite expiry")

// scanActivationState reads the current row of activationStateSelect into
// st: by binaryRow when it can (decoded), else by pgx's Scan. A row
// whose expiry is infinite (no time.Time holds it; the database/sql path
// refuses it too) is errUnreadableState, with st.ID read, and rows stay
// readable.
func scanActivationState(rows pgx.Rows, st *activationState) (decoded bool, err error) {
	r := newBinaryRow(rows.FieldDescriptions(), rows.RawValues())
	st.ID, st.ProductID, st.LicenseID = r.int64(), r.int64(), r.int64()
	st.ClientName, st.Domain, st.IP = r.optionalText(), r.optionalText(), r.optionalText()
	st.IsValid, st.IsActive, st.LicenseValid = r.bool(), r.bool(), r.bool()
	st.ExpiresAt, st.Entitlements, st.ExpiryDays, st.ClockWaits = r.optionalTime(), r.text(), r.optionalInt(), r.bool()
	st.DeactivationReason, st.HeartbeatInterval, st.HeartbeatMissed, st.Floating = r.optionalText(), r.optionalInt(), r.optionalText(), r.bool()
	if r.done() {
		return true, nil
	}
	// pgx scans a NULL into a nil pointer. The expiry goes through
	// pgtype.Timestamptz, which holds an infinity where a time.Time's
	// Scan fails and ends the rows, the rest of a batch with them.
	var expiresAt pgtype.Timestamptz
	err = rows.Scan(&st.ID, &st.ProductID, &st.LicenseID, &st.ClientName, &st.Domain, &st.IP, &st.IsValid, &st.IsActive, &st.LicenseValid,
		&expiresAt, &st.Entitlements, &st.ExpiryDays, &st.ClockWaits, &st.DeactivationReason, &st.HeartbeatInterval, &st.HeartbeatMissed, &st.Floating)
	if err != nil {
		return false, err
	}
	st.ExpiresAt = nil
	switch {
	case !expiresAt.Valid:
	case expiresAt.InfinityModifier != pgtype.Finite:
		return false, errUnreadableState
	default:
		st.ExpiresAt = &expiresAt.Time
	}
	return false, nil
}
