package dbtest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Tap is a TCP proxy in front of a PostgreSQL server that records what its
// clients send, round trip by round trip: how many statements a request
// costs, prepared or not, counted on the wire rather than estimated
// (docs/benchmarks.md: one prepared statement per uncached verify). It
// reads the frontend protocol without TLS (sslmode=disable, as the tests'
// server URL has it).
type Tap struct {
	// URL is the dsn given to StartTap, pointing at the proxy.
	URL string

	mu    sync.Mutex
	trips []Trip
	// statements are the texts of named prepared statements, by name
	// (pgx names them after their text, the same on every connection).
	statements map[string]string
	// cutAfterCommit: the next COMMIT's answer is followed by a FATAL
	// error and the end of the connection (CutAfterNextCommit).
	cutAfterCommit atomic.Bool
}

// CutAfterNextCommit makes the proxy pass on the next COMMIT's answer
// (CommandComplete), then, where the server's ReadyForQuery would follow,
// send the client a FATAL error (57P01) and close its connection: what a
// client sees when PostgreSQL shuts down right after committing a
// pipelined transaction, whose Sync is read after the COMMIT has run.
func (t *Tap) CutAfterNextCommit() { t.cutAfterCommit.Store(true) }

// Trip is one round trip: the messages a client sent up to a Sync, or one
// simple-protocol Query.
type Trip struct {
	// Parsed: the trip prepared a statement (named or unnamed).
	Parsed bool
	// Statement is the bound prepared statement's name ("" for the unnamed
	// one, or a simple query).
	Statement string
	// Binds counts the trip's executions.
	Binds int
	// SQL is the text of what the trip ran (of the named statement when
	// it was prepared on an earlier trip).
	SQL string
	// Simple: sent with the simple protocol (Query).
	Simple bool
	// Statements are the texts of what the trip ran, one per Bind (or the
	// simple Query's text): a pipeline's statements, in order.
	Statements []string
	// Described are the texts of the statements whose Bind was followed by
	// a Describe of its portal: the server sends their row's description
	// (column names and types) with the rows, and the client decodes it.
	Described []string
}

// Last is the text of the trip's last statement.
func (t Trip) Last() string {
	if len(t.Statements) == 0 {
		return t.SQL
	}
	return t.Statements[len(t.Statements)-1]
}

// StartTap starts a Tap in front of dsn's server for t and returns it;
// it stops when t ends.
func StartTap(t testing.TB, dsn string) *Tap {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tap := &Tap{statements: map[string]string{}}
	u.Host = ln.Addr().String()
	tap.URL = u.String()
	var conns sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		_ = ln.Close()
		conns.Wait()
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				done := make(chan struct{})
				go func() {
					_ = tap.answer(client, server)
					_ = client.Close()
					close(done)
				}()
				_ = tap.relay(server, client)
				_ = server.Close()
				select {
				case <-done:
				case <-stop:
					_ = client.Close()
					<-done
				}
			}()
		}
	}()
	return tap
}

// Take returns the round trips recorded since the last Take.
func (t *Tap) Take() []Trip {
	t.mu.Lock()
	defer t.mu.Unlock()
	trips := t.trips
	t.trips = nil
	return trips
}

// Frontend codes of untyped startup packets.
const (
	sslRequest    = 80877103
	gssencRequest = 80877104
)

// relay copies the client's messages to the server, recording them.
func (t *Tap) relay(server io.Writer, client io.Reader) error {
	r := bufio.NewReader(client)
	// The startup packets: length, code, rest; an encryption request is
	// answered (no) by the server and followed by the startup message.
	for {
		var head [8]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n < 8 || n > 1<<20 {
			return fmt.Errorf("dbtest: tap: startup packet of %d bytes", n)
		}
		rest := make([]byte, n-8)
		if _, err := io.ReadFull(r, rest); err != nil {
			return err
		}
		if _, err := server.Write(append(head[:], rest...)); err != nil {
			return err
		}
		if code := binary.BigEndian.Uint32(head[4:]); code != sslRequest && code != gssencRequest {
			break
		}
	}
	var trip Trip
	unnamed := ""
	for {
		var head [5]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(head[1:])
		if n < 4 || n > 1<<30 {
			return fmt.Errorf("dbtest: tap: message of %d bytes", n)
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		// Recorded before it goes on: once the server has it, its answer
		// can reach the client, and the client's test take the trips,
		// before this goroutine runs again (under load a trip then
		// landed in the next Take, one statement too many there).
		switch head[0] {
		case 'P': // Parse: name, text, parameter types
			name, text := cstrings(body)
			trip.Parsed = true
			trip.SQL = text
			if name == "" {
				unnamed = text
			}
			if name != "" {
				t.mu.Lock()
				t.statements[name] = text
				t.mu.Unlock()
			}
		case 'B': // Bind: portal, statement, …
			_, name := cstrings(body)
			trip.Binds++
			trip.Statement = name
			text := unnamed
			if name != "" {
				t.mu.Lock()
				text = t.statements[name]
				t.mu.Unlock()
			}
			if trip.SQL == "" {
				trip.SQL = text
			}
			trip.Statements = append(trip.Statements, text)
		case 'D': // Describe: 'P' (portal) or 'S' (statement), name
			if len(body) > 0 && body[0] == 'P' && len(trip.Statements) > 0 {
				trip.Described = append(trip.Described, trip.Statements[len(trip.Statements)-1])
			}
		case 'Q': // Query: text
			text, _ := cstrings(body)
			t.record(Trip{SQL: text, Simple: true, Statements: []string{text}})
		case 'S': // Sync
			t.record(trip)
			trip = Trip{}
		case 'X': // Terminate
			_, err := server.Write(append(head[:], body...))
			return err
		}
		if _, err := server.Write(append(head[:], body...)); err != nil {
			return err
		}
	}
}

// answer copies the server's messages to the client, cutting the
// connection after a COMMIT's answer when CutAfterNextCommit asked for it.
func (t *Tap) answer(client io.Writer, server io.Reader) error {
	r := bufio.NewReader(server)
	// The answer to an encryption request is one byte, not a message.
	startup := true
	for {
		if startup {
			b, err := r.Peek(1)
			if err != nil {
				return err
			}
			if b[0] == 'N' || b[0] == 'S' || b[0] == 'G' {
				if _, err := r.Discard(1); err != nil {
					return err
				}
				if _, err := client.Write(b[:1:1]); err != nil {
					return err
				}
				continue
			}
			startup = false
		}
		var head [5]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(head[1:])
		if n < 4 || n > 1<<30 {
			return fmt.Errorf("dbtest: tap: server message of %d bytes", n)
		}
		msg := make([]byte, 5+n-4)
		copy(msg, head[:])
		if _, err := io.ReadFull(r, msg[5:]); err != nil {
			return err
		}
		if _, err := client.Write(msg); err != nil {
			return err
		}
		if head[0] == 'C' && strings.HasPrefix(string(msg[5:]), "COMMIT\x00") && t.cutAfterCommit.CompareAndSwap(true, false) {
			_, err := client.Write(fatalShutdown())
			if err == nil {
				err = errors.New("dbtest: tap: connection cut after COMMIT")
			}
			return err
		}
	}
}

// fatalShutdown is the ErrorResponse of a backend terminated by a fast
// shutdown.
func fatalShutdown() []byte {
	var body []byte
	for _, f := range []struct {
		code byte
		text string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', "57P01"}, {'M', "terminating connection due to administrator command"}} {
		body = append(append(append(body, f.code), f.text...), 0)
	}
	body = append(body, 0)
	msg := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(msg[1:], uint32(4+len(body)))
	return append(msg, body...)
}

func (t *Tap) record(trip Trip) {
	t.mu.Lock()
	t.trips = append(t.trips, trip)
	t.mu.Unlock()
}

// cstrings are the first two NUL-terminated strings of b.
func cstrings(b []byte) (string, string) {
	first, rest, _ := strings.Cut(string(b), "\x00")
	second, _, _ := strings.Cut(rest, "\x00")
	return first, second
}
