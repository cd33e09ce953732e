// Package freeport picks loopback ports for tests that start a server, or
// a process, which listens later. Ports come from below the kernel's
// ephemeral range: a port from that range (what listening on port 0
// gives) may become the local port of an outgoing connection (to
// PostgreSQL, say) between the moment the test reserves it and the moment
// the server binds it, which then fails with "address already in use".
// Below the range, only another listener can take it, and the pick is
// random over some 20,000 ports, so two tests rarely meet.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowest is the first port tried; ports below it are left to well-known
// services and whatever else the machine runs.
const lowest = 10000

// Listen listens on 127.0.0.1 on a random port below the ephemeral range.
// It falls back to port 0 (an ephemeral port) only if 200 tries found
// nothing free.
func Listen() (net.Listener, error) {
	high := ephemeralLow()
	for range 200 {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lowest+rand.IntN(high-lowest))); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Port returns a port of 127.0.0.1 that was free a moment ago (Listen's,
// closed again), for a server or process that listens on it later.
func Port(t testing.TB) int {
	t.Helper()
	ln, err := Listen()
	if err != nil {
		t.Fatalf("freeport: %v", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is Port as "127.0.0.1:port".
func Addr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", Port(t))
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default, 32768, where /proc does not say or says something too low to
// leave room below it).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowest+1000 {
				low = n
			}
		}
	}
	return low
}
