// Package passwords hashes and verifies account passwords with argon2id,
// stored as PHC strings: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
//
// The parameters are OWASP's recommended minimum for argon2id (19 MiB, two
// passes, one lane): on a 2-core server a hash costs a few tens of
// milliseconds and ~19 MiB, so a burst of sign-ins does not exhaust memory.
// Verify reads the parameters from the stored hash, so raising them later
// keeps old hashes working; NeedsRehash tells when to upgrade one.
package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The production parameters. There is deliberately no way to lower them:
// tests pay the same cost as production.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
)

// Bounds for parameters read back from a stored hash, so a corrupted or
// hostile row cannot make Verify allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxPasses    = 16
	maxLanes     = 16
)

// ErrMalformedHash is returned by Verify for a string that is not an
// argon2id PHC hash this package can check.
var ErrMalformedHash = errors.New("passwords: malformed argon2id hash")

var b64 = base64.RawStdEncoding

type params struct {
	memory  uint32
	passes  uint32
	lanes   uint8
	salt    []byte
	key     []byte
	version int
}

// Hash returns the PHC string for pw with a fresh random salt.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwords: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, passes, memoryKiB, lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches hash. A mismatch is (false, nil); an
// error means the hash itself could not be used.
func Verify(hash, pw string) (bool, error) {
	p, err := parse(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.passes, p.memory, p.lanes, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// IsHash reports whether hash is an argon2id hash Verify can use (an
// import taking hashes from an export checks them with it).
func IsHash(hash string) bool {
	_, err := parse(hash)
	return err == nil
}

// NeedsRehash reports whether hash was made with parameters other than the
// current ones (or cannot be parsed), so the caller can store a new hash
// after a successful sign-in.
func NeedsRehash(hash string) bool {
	p, err := parse(hash)
	if err != nil {
		return true
	}
	return p.version != argon2.Version || p.memory != memoryKiB || p.passes != passes ||
		p.lanes != lanes || len(p.key) != keyLen || len(p.salt) != saltLen
}

func parse(hash string) (params, error) {
	var p params
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &p.version); err != nil || p.version != argon2.Version {
		return p, ErrMalformedHash
	}
	var lanes uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.passes, &lanes); err != nil || n != 3 {
		return p, ErrMalformedHash
	}
	if p.memory < 8 || p.memory > maxMemoryKiB || p.passes < 1 || p.passes > maxPasses || lanes < 1 || lanes > maxLanes {
		return p, ErrMalformedHash
	}
	p.lanes = uint8(lanes)
	var err error
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, ErrMalformedHash
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, ErrMalformedHash
	}
	return p, nil
}
