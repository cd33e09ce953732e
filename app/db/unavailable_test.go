package db

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestUnavailable(t *testing.T) {
	// A real refused connection: nothing listens on port 1.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgconn.Connect(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("connecting to port 1 succeeded")
	}
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{refused, true},
		{fmt.Errorf("load license: %w", refused), true},
		{&pgconn.PgError{Code: "57P01"}, true}, // terminating connection due to administrator command
		{&pgconn.PgError{Code: "57P03"}, true}, // the database system is starting up
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation: a fault in the data, not the server
		{&pgconn.PgError{Code: "42601"}, false}, // syntax error
		{errors.New("license not found"), false},
		{fmt.Errorf("store file: %w", &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}), false}, // a full disk is not the database
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
	}
	for _, c := range cases {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestServerGone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgconn.Connect(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	_, noSocket := pgconn.Connect(ctx, "host="+t.TempDir()+" user=nobody dbname=none sslmode=disable")
	cases := []struct {
		err  error
		want bool
	}{
		{refused, true},
		{noSocket, true},
		{&pgconn.PgError{Code: "57P01"}, true}, // terminating connection due to administrator command
		{&pgconn.PgError{Code: "57P03"}, true}, // shutting down, starting up
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "53300"}, false}, // too many connections: the server is there
		{&pgconn.PgError{Code: "28P01"}, false}, // a wrong password
		{&net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, false},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false},
		{context.DeadlineExceeded, false},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Fatal("a connection that should have failed succeeded")
		}
		if got := serverGone(c.err); got != c.want {
			t.Errorf("serverGone(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// timeoutError is a dial that timed out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
