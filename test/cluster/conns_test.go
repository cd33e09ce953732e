package cluster

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// The cluster tests share one PostgreSQL server with every other package
// of make test (docs/testing.md#connections), and a node that the server
// refuses a connection answers 503 (app/db.Unavailable: "sorry, too many
// clients already"). So each node holds at most nodeConnBudget
// connections: the harness gives it a pool of nodePool, and a node opens
// at most its pool, River's share of it (app/db.Open: a quarter, at least
// 4) and the two sessions taken out of that share for good (the NOTIFY
// listener's and River's own LISTEN). A burst of requests then queues for
// the node's connections, as it does in production, instead of asking the
// shared server for more.
const (
	nodePool       = 8
	nodeConnBudget = nodePool + 4 + 2
)

// connCounter is a TCP relay between the nodes and the test's PostgreSQL
// that counts the connections open through it, so a test can show the
// nodes kept within their budget however busy the machine is: on a loaded
// machine the same overdraft ends in refused connections (503s) only when
// other tests happen to hold the rest of the server's.
type connCounter struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	open     map[net.Conn]bool // the nodes' ends
	peak     int
	closed   bool
	wg       sync.WaitGroup
}

// countConns starts a relay to dsn's server and returns it with the DSN
// that goes through it. It stops when the test ends.
func countConns(t *testing.T, dsn string) (*connCounter, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cc := &connCounter{ln: ln, upstream: u.Host, open: map[net.Conn]bool{}}
	cc.wg.Go(cc.accept)
	t.Cleanup(func() {
		// Whatever is still open (a process the test left running) is
		// cut, so that the test's database can be dropped.
		_ = ln.Close()
		cc.mu.Lock()
		cc.closed = true
		for conn := range cc.open {
			_ = conn.Close()
		}
		cc.mu.Unlock()
		cc.wg.Wait()
	})
	u.Host = ln.Addr().String()
	return cc, u.String()
}

func (cc *connCounter) accept() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		client, err := cc.ln.Accept()
		if err != nil {
			return
		}
		conns.Go(func() { cc.relay(client) })
	}
}

// relay copies one connection both ways and counts it open until either
// side closes.
func (cc *connCounter) relay(client net.Conn) {
	defer func() { _ = client.Close() }()
	server, err := net.Dial("tcp", cc.upstream)
	if err != nil {
		return
	}
	defer func() { _ = server.Close() }()
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return
	}
	cc.open[client] = true
	cc.peak = max(cc.peak, len(cc.open))
	cc.mu.Unlock()
	defer func() {
		cc.mu.Lock()
		delete(cc.open, client)
		cc.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
	// Either side gone: close both, which ends the other copy.
	_ = client.Close()
	_ = server.Close()
	<-done
}

// Peak is the most connections that were open at once.
func (cc *connCounter) Peak() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.peak
}

// checkConnBudget fails t when the nodes held more connections at once
// than nodeConnBudget each: every node started counts (a node killed and
// replaced counts twice, as its connections may overlap its
// successor's).
func (c *cluster) checkConnBudget(t *testing.T) {
	t.Helper()
	if c.conns == nil {
		return
	}
	if peak := c.conns.Peak(); peak > c.connBudget {
		t.Errorf("the %d nodes held %d database connections at once, over their budget of %d each (%d)", len(c.nodes), peak, nodeConnBudget, c.connBudget)
	}
}
