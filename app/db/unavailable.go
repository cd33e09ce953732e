package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err means the database cannot be reached
// right now (server down or restarting, connection refused or cut, too many
// connections), as opposed to a fault in the query or the data. Callers
// answer such errors with 503 and Retry-After, so clients and load
// balancers retry instead of treating it as a bug.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	// A network operation that failed (refused, reset, timed out). Not the
	// net.Error interface: every syscall.Errno has its methods, ENOSPC too.
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// pgx reports a connection lost mid-query as "conn closed" or
	// "failed to receive message" wrapping the network error; a pool that
	// cannot connect within the request's time reports the deadline.
	if pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "broken pipe")
}
