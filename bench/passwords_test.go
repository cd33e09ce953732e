package bench

import (
	"testing"

	"github.com/licensor/licensor/app/passwords"
)

// BenchmarkPasswordHash times one argon2id hash with the production
// parameters (what each sign-up, reset and password change costs);
// docs/deploy.md's sizing section records the result.
func BenchmarkPasswordHash(b *testing.B) {
	for b.Loop() {
		if _, err := passwords.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordVerify times one sign-in's password check, right or
// wrong costing the same.
func BenchmarkPasswordVerify(b *testing.B) {
	h, err := passwords.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := passwords.Verify(h, "wrong horse battery staple"); err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}
