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

// Private keys are stored sealed (docs/api/signing.md#signing-keys: "stored encrypted with the
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

func sealAEAD(secret []byte) (cipher.AEAD, error) { return sealAEADFor(secret, sealInfo) }

func sealAEADFor(secret []byte, info string) (cipher.AEAD, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	k, err := hkdf.Key(sha256.New, secret, nil, info, sealKeySize)
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

// Seal encrypts plaintext that other packages keep in the database under
// the instance secret (plugin secrets), in the scheme of the signing keys
// but with its own key: HKDF info purpose (e.g. "licensor plugin secrets
// v1"). ad is bound to the result (the row's identity), so a sealed value
// copied onto another row does not open.
func Seal(secret []byte, purpose, ad string, plaintext []byte, rand io.Reader) ([]byte, error) {
	aead, err := sealAEADFor(secret, purpose)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+sealNonce, 1+sealNonce+len(plaintext)+aead.Overhead())
	out[0] = sealScheme
	if _, err := io.ReadFull(rand, out[1:]); err != nil {
		return nil, fmt.Errorf("signing: nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, []byte(ad)), nil
}

// Open decrypts what Seal made with the same purpose and ad; ErrWrongSecret
// when it does not open.
func Open(secret []byte, purpose, ad string, sealed []byte) ([]byte, error) {
	aead, err := sealAEADFor(secret, purpose)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+sealNonce || sealed[0] != sealScheme {
		return nil, ErrWrongSecret
	}
	plain, err := aead.Open(nil, sealed[1:1+sealNonce], sealed[1+sealNonce:], []byte(ad))
	if err != nil {
		return nil, ErrWrongSecret
	}
	return plain, nil
}
