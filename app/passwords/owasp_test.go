package passwords

import "testing"

// owaspArgon2id are OWASP's minimum argon2id configurations (Password
// Storage Cheat Sheet): equal defences, trading memory for passes, all with
// one degree of parallelism.
var owaspArgon2id = []struct{ memoryKiB, passes uint32 }{
	{46 * 1024, 1},
	{19 * 1024, 2},
	{12 * 1024, 3},
	{9 * 1024, 4},
	{7 * 1024, 5},
}

// meetsOWASP reports whether argon2id with these parameters is at least one
// of OWASP's minimum configurations.
func meetsOWASP(memoryKiB, passes uint32, lanes uint8) bool {
	if lanes != 1 {
		return false
	}
	for _, c := range owaspArgon2id {
		if memoryKiB >= c.memoryKiB && passes >= c.passes {
			return true
		}
	}
	return false
}

// TestHashMeetsOWASP reads the parameters back from a hash as stored, so
// the test follows whatever Hash really does, not a constant beside it.
func TestHashMeetsOWASP(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parse(h)
	if err != nil {
		t.Fatal(err)
	}
	if !meetsOWASP(p.memory, p.passes, p.lanes) {
		t.Errorf("argon2id m=%d KiB, t=%d, p=%d is below OWASP's minimum (m ≥ 19 MiB with t ≥ 2, p = 1, or an equivalent pair)", p.memory, p.passes, p.lanes)
	}
	if len(p.salt) < 16 || len(p.key) < 32 {
		t.Errorf("salt %d bytes, key %d bytes: want at least 16 and 32", len(p.salt), len(p.key))
	}
	// The table itself: below each configuration is refused.
	for _, c := range owaspArgon2id {
		if meetsOWASP(c.memoryKiB-1, c.passes, 1) && c.passes == 1 {
			t.Errorf("m=%d t=%d accepted", c.memoryKiB-1, c.passes)
		}
	}
	if meetsOWASP(19*1024, 1, 1) || meetsOWASP(19*1024, 2, 2) || meetsOWASP(8*1024, 3, 1) {
		t.Error("a configuration below OWASP's minimum accepted")
	}
}
