package passwords

import (
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected PHC prefix: %s", h)
	}
	ok, err := Verify(h, "correct horse battery staple")
	if err != nil || !ok {
		t.Fatalf("Verify(right) = %v, %v", ok, err)
	}
	ok, err = Verify(h, "correct horse battery stapler")
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	if NeedsRehash(h) {
		t.Error("fresh hash reported as needing a rehash")
	}

	h2, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Error("two hashes of the same password are equal: salt is not random")
	}
}

func TestVerifyOtherParameters(t *testing.T) {
	// A hash made with other (older) parameters still verifies, and is
	// flagged for an upgrade.
	salt := []byte("somesaltsomesalt")
	key := argon2.IDKey([]byte("password123"), salt, 1, 8192, 1, 32)
	old := "$argon2id$v=19$m=8192,t=1,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	ok, err := Verify(old, "password123")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Error("hash with other parameters did not verify")
	}
	if !NeedsRehash(old) {
		t.Error("old parameters not flagged for rehash")
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, h := range []string{
		"",
		"plain",
		"$2y$10$abcdefghijklmnopqrstuv",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
	} {
		if ok, err := Verify(h, "x"); err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", h, ok, err)
		}
	}
}
