package signing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// Private keys are stored sealed (api.md §7.4: "stored encrypted with the
// instance secret"):
//
//	private_key = 0x01 ‖ nonce (12 bytes) ‖ AES-256-GCM(seed, additional data = kid)
//	AES key     = HKDF-SHA256(instance secret, no salt, info "licensor signing key seal v1", 32 bytes)
//
// The plaintext is the 32-byte Ed25519 seed. The key id is the additional
// data, so a sealed key copied onto another row does not open. The leading
// byte numbers the scheme, so it can change without guessing.

const (
	sealScheme  = 0x01
	sealInfo    = "licensor signing key seal v1"
	sealNonce   = 12
	sealKeySize = 32
)

// ErrNoSecret is returned when the instance secret is empty.
var ErrNoSecret = errors.New("signing: the instance secret is empty")

// ErrWrongSecret is returned when a stored private key does not open with
// the instance secret given (the secret changed, or the row was altered).
var ErrWrongSecret = errors.New("signing: a private key does not open with this instance secret")

func sealAEAD(secret []byte) (cipher.AEAD, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	k, err := hkdf.Key(sha256.New, secret, nil, sealInfo, sealKeySize)
	if err != nil {
		return nil, fmt.Errorf("signing: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealSeed encrypts an Ed25519 seed for the row of key kid.
func sealSeed(secret []byte, kid string, seed []byte, rand io.Reader) ([]byte, error) {
	aead, err := sealAEAD(secret)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+sealNonce, 1+sealNonce+len(seed)+aead.Overhead())
	out[0] = sealScheme
	if _, err := io.ReadFull(rand, out[1:]); err != nil {
		return nil, fmt.Errorf("signing: nonce: %w", err)
	}
	return aead.Seal(out, out[1:], seed, []byte(kid)), nil
}

// openSeed decrypts what sealSeed made.
func openSeed(secret []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := sealAEAD(secret)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+sealNonce || sealed[0] != sealScheme {
		return nil, ErrWrongSecret
	}
	seed, err := aead.Open(nil, sealed[1:1+sealNonce], sealed[1+sealNonce:], []byte(kid))
	if err != nil {
		return nil, ErrWrongSecret
	}
	return seed, nil
}
