package db

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A cluster listening on TCP (its folder too deep for a unix socket) picks
// a free port and binds it only when the server is up; meanwhile another
// socket can take it (an outgoing connection's local port). The test hands
// the cluster a taken port first: the start tries another.
func TestEmbeddedTCPPortTakenBeforeTheServerBindsIt(t *testing.T) {
	if _, err := FindPostgresBin(""); err != nil {
		t.Skipf("no PostgreSQL binaries on this machine: %v", err)
	}
	t.Parallel()
	base := t.TempDir()
	// Traversable by the postgres user when the tests run as root.
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, strings.Repeat("deep", 20), "postgres")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var picked []int
	pick := func() (int, error) {
		port, err := freePort()
		if len(picked) == 0 {
			port = taken.Addr().(*net.TCPAddr).Port
		}
		picked = append(picked, port)
		return port, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := StartEmbedded(ctx, EmbeddedOptions{Dir: dir, freePort: pick})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	if c.host != "127.0.0.1" || len(picked) != 2 || c.port != picked[1] {
		t.Fatalf("listening on %s:%d after picking %v: want the second port on 127.0.0.1", c.host, c.port, picked)
	}
	if err := c.ping(ctx); err != nil {
		t.Fatal(err)
	}
}
