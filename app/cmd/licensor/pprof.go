package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// pprofEnv names a loopback address (127.0.0.1:6060, [::1]:6060) on which
// `licensor serve` exposes Go's profiler under /debug/pprof/, for
// performance work (bench/load). Unset, nothing listens. Any other host is
// refused: profiles show request data and cost CPU.
const pprofEnv = "LICENSOR_PPROF_ADDR"

// startPprof serves the profiler on addr; empty addr starts nothing.
func startPprof(addr string) error {
	if addr == "" {
		return nil
	}
	return servePprof(addr)
}

func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }() //nolint:gosec // loopback only, for profiling
	return nil
}
