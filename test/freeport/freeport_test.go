package freeport_test

import (
	"net"
	"testing"

	"github.com/licensor/licensor/test/freeport"
)

// A port comes from below the ephemeral range, and is free to listen on
// once Port returns.
func TestPortIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	t.Parallel()
	port := freeport.Port(t)
	if port < 10000 || port >= freeport.EphemeralLow() {
		t.Fatalf("port %d is not in [10000, %d)", port, freeport.EphemeralLow())
	}
	ln, err := net.Listen("tcp", freeport.Addr(t))
	if err != nil {
		t.Fatalf("listening on a port Addr gave: %v", err)
	}
	_ = ln.Close()
}

// Listen keeps the port: a second listener on its address fails.
func TestListenHoldsThePort(t *testing.T) {
	t.Parallel()
	ln, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	if port := ln.Addr().(*net.TCPAddr).Port; port >= freeport.EphemeralLow() {
		t.Fatalf("port %d is in the ephemeral range (from %d)", port, freeport.EphemeralLow())
	}
	if other, err := net.Listen("tcp", ln.Addr().String()); err == nil {
		_ = other.Close()
		t.Fatalf("a second listener took %s", ln.Addr())
	}
}
