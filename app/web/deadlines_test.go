package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// The timeouts of the lazy-deadline tests: short, so the tests are fast,
// and apart, so a deadline fired at the wrong one's time shows. late is
// how much after its timeout a connection may end, for a loaded machine.
const (
	lazyReadTimeout  = 300 * time.Millisecond
	lazyWriteTimeout = 400 * time.Millisecond
	lazyIdleTimeout  = 2 * time.Second
	late             = 600 * time.Millisecond
)

// lazyServer serves an app with the three timeouts on LazyDeadlines, and
// reports each connection the server closes.
func lazyServer(t *testing.T) (addr string, closed <-chan struct{}) {
	t.Helper()
	return lazyServerWriting(t, lazyWriteTimeout)
}

// lazyServerWriting is lazyServer with its write timeout.
func lazyServerWriting(t *testing.T, writeTimeout time.Duration) (addr string, closed <-chan struct{}) {
	t.Helper()
	big := make([]byte, 32<<20)
	file := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(file, big, 0o600); err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ReadTimeout: lazyReadTimeout, WriteTimeout: writeTimeout, IdleTimeout: lazyIdleTimeout})
	app.Get("/small", func(c fiber.Ctx) error { return c.SendString("ok") })
	// Too large for the sockets' buffers: its writing waits for the client.
	app.Get("/big", func(c fiber.Ctx) error { return c.Send(big) })
	// A file body reaches the connection's ReadFrom (sendfile).
	app.Get("/file", func(c fiber.Ctx) error {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		return c.SendStream(f, len(big))
	})
	ends := make(chan struct{}, 16)
	app.Server().ConnState = func(_ net.Conn, state fasthttp.ConnState) {
		if state == fasthttp.StateClosed {
			ends <- struct{}{}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(LazyDeadlines(ln), fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String(), ends
}

// lazyClient is a keep-alive connection to addr.
type lazyClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialLazy(t *testing.T, addr string) *lazyClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &lazyClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// get sends GET path and reads its answer, which must be a 200.
func (c *lazyClient) get(path string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		c.t.Fatalf("send %s: %v", path, err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatalf("answer to %s: %v", path, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("answer to %s: %d, %v", path, resp.StatusCode, err)
	}
}

// ended waits, at most until bound, for the server to end the connection
// (the client reads what is left and the end), and returns when it did.
func (c *lazyClient) ended(bound time.Duration) time.Time {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(bound))
	_, err := io.Copy(io.Discard, c.r)
	if err != nil && !strings.Contains(err.Error(), "connection reset") {
		c.t.Fatalf("connection not ended within %v: %v", bound, err)
	}
	return time.Now()
}

// within fails unless elapsed is at least timeout (the connection was not
// cut early) and at most timeout + late.
func within(t *testing.T, what string, elapsed, timeout time.Duration) {
	t.Helper()
	if elapsed < timeout || elapsed > timeout+late {
		t.Errorf("%s ended after %v, want %v to %v", what, elapsed, timeout, timeout+late)
	}
}

// pause lets part of a timeout pass between a connection's requests, so
// the deadline the first one armed comes before the next one's.
func pause(d time.Duration) { <-time.After(d) }

// TestLazyDeadlinesCutOffSlowClient: a client trickling its second
// request's headers, slower than the read timeout allows, is cut off
// within the read timeout of its first byte: neither at the earlier read
// deadline its first request armed, nor at the later idle deadline armed
// while it waited.
func TestLazyDeadlinesCutOffSlowClient(t *testing.T) {
	t.Parallel()
	for name, wait := range map[string]time.Duration{"armed earlier": lazyReadTimeout / 2, "armed later": lazyReadTimeout * 4 / 3} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, _ := lazyServer(t)
			c := dialLazy(t, addr)
			c.get("/small")
			pause(wait)

			start := time.Now()
			trickled := make(chan struct{})
			go func() {
				defer close(trickled)
				tick := time.NewTicker(lazyReadTimeout / 10)
				defer tick.Stop()
				for _, b := range []byte("GET /small HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("y", 200)) {
					if _, err := c.conn.Write([]byte{b}); err != nil {
						return // cut off
					}
					<-tick.C
				}
			}()
			end := c.ended(lazyReadTimeout + 5*time.Second)
			within(t, "a slow request", end.Sub(start), lazyReadTimeout)
			_ = c.conn.Close()
			<-trickled
		})
	}
}

// TestLazyDeadlinesCloseIdleConnection: a keep-alive connection left idle
// after its request is closed after the idle timeout, not at the read
// deadline its request armed.
func TestLazyDeadlinesCloseIdleConnection(t *testing.T) {
	t.Parallel()
	addr, _ := lazyServer(t)
	c := dialLazy(t, addr)
	c.get("/small")
	start := time.Now()
	end := c.ended(lazyIdleTimeout + 5*time.Second)
	// The server's idle time started before the client read the answer.
	within(t, "an idle connection", end.Sub(start)+50*time.Millisecond, lazyIdleTimeout)
}

// TestLazyDeadlinesKeepActiveClient: a client sending requests steadily on
// one connection for several times every timeout is never cut off,
// although the deadlines its first requests armed pass meanwhile, during
// a request and between two.
func TestLazyDeadlinesKeepActiveClient(t *testing.T) {
	t.Parallel()
	// Each answer must be written within the write timeout, 32 MB of
	// /big as well: 400 ms was seen to run out under make test's load,
	// a cut-off that was the timeout's, not an early deadline's. With
	// 2 s the write deadlines an earlier request armed still pass, and
	// fire, during the later requests and their writing.
	const writeTimeout = 2 * time.Second
	addr, _ := lazyServerWriting(t, writeTimeout)
	c := dialLazy(t, addr)
	gaps := []time.Duration{0, 10 * time.Millisecond, lazyReadTimeout / 3, lazyReadTimeout * 4 / 3}
	start := time.Now()
	for i := 0; time.Since(start) < 2*writeTimeout+lazyReadTimeout; i++ {
		c.get("/small")
		if i%7 == 0 {
			c.get("/big") // writes long enough for a write deadline to pass
		}
		pause(gaps[i%len(gaps)])
	}
}

// TestLazyDeadlinesCutOffClientNotReading: a client that stops reading its
// answer is cut off within the write timeout, not at the earlier write
// deadline its first request armed; a file sent by sendfile as well.
func TestLazyDeadlinesCutOffClientNotReading(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/big", "/file"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			addr, closed := lazyServer(t)
			c := dialLazy(t, addr)
			c.get("/small")
			pause(lazyWriteTimeout / 2)
			start := time.Now()
			if _, err := io.WriteString(c.conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-closed:
				within(t, "an unread answer", time.Since(start), lazyWriteTimeout)
			case <-time.After(lazyWriteTimeout + 5*time.Second):
				t.Fatal("the server did not end the connection")
			}
		})
	}
}
