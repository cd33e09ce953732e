// Package bench holds Go benchmarks of Licensor's hot paths; `make bench`
// runs them before the HTTP load script in bench/load.
package bench

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/licensor/licensor/app/signing"
)

var issuedAt = time.Date(2024, 2, 1, 9, 30, 0, 0, time.UTC)

// ring returns a key ring as a node holds it after one rotation: an active
// key and a retired one, built from raw keys (no database).
func ring(b *testing.B) *signing.KeyRing {
	b.Helper()
	active := signing.NewKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)), issuedAt)
	old := signing.NewKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)), issuedAt)
	retiredAt := issuedAt.Add(time.Hour)
	old.Status, old.RetiredAt, old.Private = signing.StatusRetired, &retiredAt, nil
	r, err := signing.NewKeyRing(active, old)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkIssueToken(b *testing.B) {
	r := ring(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := r.IssueToken(int64(i+1), "ACME-CMS", issuedAt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyToken is the first step of every verify request
// (docs/api/external.md#verify): a token of the active key, one of the retired key (tried second),
// and a forged one (every key tried, all fail).
func BenchmarkVerifyToken(b *testing.B) {
	r := ring(b)
	current, err := r.IssueToken(981, "ACME-CMS", issuedAt)
	if err != nil {
		b.Fatal(err)
	}
	oldRing, err := signing.NewKeyRing(signing.NewKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)), issuedAt))
	if err != nil {
		b.Fatal(err)
	}
	old, _ := oldRing.IssueToken(981, "ACME-CMS", issuedAt)
	forged := current[:len(current)-4] + "AAAA"
	for _, c := range []struct {
		name, token string
		valid       bool
	}{{"active", current, true}, {"retired", old, true}, {"forged", forged, false}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := r.VerifyToken(c.token)
				if (err == nil) != c.valid {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.VerifyToken(current); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
