package main

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"testing"
	"time"
)

// TestMain lets the test binary be the bare endpoint's process, as
// startBareServer starts it (os.Executable -bare-server).
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "-bare-server") {
		if err := runBareServer(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// Started from a shell's background job, bench/load and its children
// ignore SIGINT: the bare endpoint must still stop, or bench/load never
// ends.
func TestBareServerStopsWhenStartedWithInterruptIgnored(t *testing.T) {
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	cmd, _, _, err := startBareServer(1)
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { stopBareServer(cmd); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the bare endpoint did not stop")
	}
}
