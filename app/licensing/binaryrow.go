package licensing

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// binaryRow reads a hot read's row (verify's) from the values pgx received,
// in PostgreSQL's binary format (text as text), as pgx's Scan would: Scan plans every
// column again for each row, which costs a verify more than its decoding.
// A column in any other form (text results, unprepared behind a pooler;
// an unexpected type; a NULL where none is expected; a timestamp pgx would
// refuse) clears ok, and the caller scans the row with pgx instead.
type binaryRow struct {
	fields []pgconn.FieldDescription
	values [][]byte
	i      int
	ok     bool
}

func newBinaryRow(fields []pgconn.FieldDescription, values [][]byte) binaryRow {
	return binaryRow{fields: fields, values: values, ok: len(fields) == len(values)}
}

// next is the next column's value when it has type oid in binary format
// (nil for a NULL), and whether it has.
func (r *binaryRow) next(oid uint32) ([]byte, bool) {
	if !r.ok || r.i >= len(r.values) {
		r.ok = false
		return nil, false
	}
	f, v := r.fields[r.i], r.values[r.i]
	r.i++
	if f.Format != pgtype.BinaryFormatCode || f.DataTypeOID != oid {
		r.ok = false
		return nil, false
	}
	return v, true
}

// nextText is the next column's value when it is text: pgx asks for text
// in its text format, which is also its binary one.
func (r *binaryRow) nextText() ([]byte, bool) {
	if !r.ok || r.i >= len(r.values) {
		r.ok = false
		return nil, false
	}
	f, v := r.fields[r.i], r.values[r.i]
	r.i++
	if f.DataTypeOID != pgtype.TextOID && f.DataTypeOID != pgtype.VarcharOID {
		r.ok = false
		return nil, false
	}
	return v, true
}

func (r *binaryRow) int64() int64 {
	v, ok := r.next(pgtype.Int8OID)
	if !ok || len(v) != 8 {
		r.ok = false
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func (r *binaryRow) bool() bool {
	v, ok := r.next(pgtype.BoolOID)
	if !ok || len(v) != 1 {
		r.ok = false
		return false
	}
	return v[0] == 1
}

func (r *binaryRow) text() string {
	v, ok := r.nextText()
	if !ok || v == nil {
		r.ok = false
		return ""
	}
	return string(v)
}

func (r *binaryRow) optionalText() *string {
	v, ok := r.nextText()
	if !ok || v == nil {
		return nil
	}
	s := string(v)
	return &s
}

func (r *binaryRow) optionalInt() *int {
	v, ok := r.next(pgtype.Int4OID)
	if !ok || v == nil {
		return nil
	}
	if len(v) != 4 {
		r.ok = false
		return nil
	}
	n := int(int32(binary.BigEndian.Uint32(v)))
	return &n
}

// Timestamps in binary: microseconds since 2000-01-01 UTC, the infinities
// at the ends of int64 (which pgx refuses to scan into a time.Time).
const microsecondsUnixToY2K = 946_684_800 * 1_000_000

var (
	// pgx's valid range of timestamps (pgtype's minDateTime and
	// endTimestamp): outside it, its Scan reports the error.
	minTimestamp = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)
	endTimestamp = time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (r *binaryRow) optionalTime() *time.Time {
	v, ok := r.next(pgtype.TimestamptzOID)
	if !ok || v == nil {
		return nil
	}
	if len(v) != 8 {
		r.ok = false
		return nil
	}
	us := int64(binary.BigEndian.Uint64(v))
	if us == math.MaxInt64 || us == math.MinInt64 {
		r.ok = false
		return nil
	}
	// pgx's own arithmetic, so the time.Time is the same value (its
	// location the process's Local, as pgx leaves it).
	t := time.Unix(microsecondsUnixToY2K/1_000_000+us/1_000_000, (microsecondsUnixToY2K%1_000_000*1_000)+(us%1_000_000*1_000))
	if t.Before(minTimestamp) || !t.Before(endTimestamp) {
		r.ok = false
		return nil
	}
	return &t
}

// done reports whether every column was read as expected.
func (r *binaryRow) done() bool { return r.ok && r.i == len(r.values) }

// nullableInt64 is an int8 column's value and false for a NULL.
func (r *binaryRow) nullableInt64() (int64, bool) {
	v, ok := r.next(pgtype.Int8OID)
	if !ok || v == nil {
		return 0, false
	}
	if len(v) != 8 {
		r.ok = false
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), true
}

// nullableBool is a bool column's value and false for a NULL.
func (r *binaryRow) nullableBool() (bool, bool) {
	v, ok := r.next(pgtype.BoolOID)
	if !ok || v == nil {
		return false, false
	}
	if len(v) != 1 {
		r.ok = false
		return false, false
	}
	return v[0] == 1, true
}
