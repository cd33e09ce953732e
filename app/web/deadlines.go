package web

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// LazyDeadlines wraps ln so that its TCP connections set a deadline on the
// socket only when the one asked for comes before the one already set.
// Serve the app on it (app.Listener) instead of on ln.
//
// fasthttp sets three socket deadlines per request when the server has
// timeouts (http.read_timeout, http.write_timeout, the idle timeout): the
// idle one before a keep-alive request's first byte, the read one after
// it, the write one before the answer. Each is a clock read and a change
// of the Go runtime's poller timer, about 1 µs a request together under
// load (docs/benchmarks.md#the-cached-verify-against-the-bare-endpoint),
// while on a busy keep-alive connection each new deadline only moves the
// last one later. Here a deadline that comes later than the armed one is
// only recorded: the armed one fires early, the read or write it stops
// sees that the deadline asked for has not passed, sets that one and
// goes on. So a socket's deadline changes about once per timeout on an
// active connection instead of three times a request, and the timeouts
// mean what they meant: a deadline asked for never fires later (it is
// armed at once when it comes first), nor does an early one end a read or
// write (it is retried).
//
// A connection's deadlines are kept without a lock: fasthttp serves a
// connection from one goroutine at a time (a hijacked one from the
// hijacker's, started after the server's last use), and reads and writes
// keep their deadlines apart, as net.Conn allows a reader and a writer at
// once. Close may come from anywhere; it touches no deadline.
func LazyDeadlines(ln net.Listener) net.Listener {
	return lazyListener{ln}
}

type lazyListener struct{ net.Listener }

func (l lazyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	return &lazyConn{TCPConn: tc}, nil
}

// lazyConn is a TCP connection whose deadlines are set lazily. It embeds
// the connection for the methods it leaves alone (Close, addresses,
// CloseWrite, which CloseUnreadBodies needs) and overrides every method
// that reads or writes, so none bypasses the retry: the TCP connection's
// WriteTo (a bufio.Reader's WriteTo would call it) reads through Read.
type lazyConn struct {
	*net.TCPConn
	read, write deadline
}

// deadline is one direction's: the one asked for last and the one set on
// the socket (zero: none). armed is never later than wanted, or an idle
// or slow client would keep its connection past its timeout.
type deadline struct{ wanted, armed time.Time }

// needsArming records t as wanted and reports whether it must be set on
// the socket now: only when it comes before the armed one (none counts as
// latest).
func (d *deadline) needsArming(t time.Time) bool {
	d.wanted = t
	if t.IsZero() {
		// An armed deadline fires early and is then cleared (early).
		return false
	}
	return d.armed.IsZero() || t.Before(d.armed)
}

// early reports whether err is a timeout of an armed deadline that came
// before the one wanted, which has not passed: the read or write is to be
// tried again once the wanted deadline is armed.
func (d *deadline) early(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return d.wanted.IsZero() || time.Now().Before(d.wanted)
}

func (c *lazyConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *lazyConn) SetReadDeadline(t time.Time) error {
	if !c.read.needsArming(t) {
		return nil
	}
	return c.armRead()
}

func (c *lazyConn) SetWriteDeadline(t time.Time) error {
	if !c.write.needsArming(t) {
		return nil
	}
	return c.armWrite()
}

func (c *lazyConn) armRead() error {
	if err := c.TCPConn.SetReadDeadline(c.read.wanted); err != nil {
		return err
	}
	c.read.armed = c.read.wanted
	return nil
}

func (c *lazyConn) armWrite() error {
	if err := c.TCPConn.SetWriteDeadline(c.write.wanted); err != nil {
		return err
	}
	c.write.armed = c.write.wanted
	return nil
}

func (c *lazyConn) Read(b []byte) (int, error) {
	for {
		n, err := c.TCPConn.Read(b)
		if err == nil || !c.read.early(err) {
			return n, err
		}
		if err := c.armRead(); err != nil {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (c *lazyConn) Write(b []byte) (int, error) {
	written := 0
	for {
		n, err := c.TCPConn.Write(b[written:])
		written += n
		if err == nil || !c.write.early(err) {
			return written, err
		}
		if err := c.armWrite(); err != nil {
			return written, err
		}
	}
}

// ReadFrom keeps the TCP connection's sendfile(2) for file downloads
// (app/api/filesend). It cannot retry after an early deadline: copying
// from a reader that is not a file, the TCP connection loses what it read
// and could not write. So the deadline wanted is armed first, exactly.
func (c *lazyConn) ReadFrom(r io.Reader) (int64, error) {
	if !c.write.armed.Equal(c.write.wanted) {
		if err := c.armWrite(); err != nil {
			return 0, err
		}
	}
	return c.TCPConn.ReadFrom(r)
}

// WriteTo hides the TCP connection's: it would read past Read's retry.
func (c *lazyConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, readerOnly{c})
}

// readerOnly hides its reader's WriteTo from io.Copy.
type readerOnly struct{ io.Reader }
