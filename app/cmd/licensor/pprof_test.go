package main

import "testing"

func TestServePprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "localhost:0", "nonsense"} {
		if err := servePprof(addr); err == nil {
			t.Errorf("servePprof(%q) listened; want only loopback IPs", addr)
		}
	}
	if err := servePprof("127.0.0.1:0"); err != nil {
		t.Errorf("servePprof on loopback: %v", err)
	}
}
