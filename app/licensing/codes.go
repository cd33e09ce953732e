package licensing

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"

	"github.com/licensor/licensor/app/settings"
)

const (
	digits  = "0123456789"
	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// codeTries bounds the retries when a generated code is taken. Real
	// formats almost never collide; a tiny custom pattern may run out.
	codeTries = 10
)

// GenerateCode makes a license code in the format of set
// (license_code_format, docs/features.md#licenses): uuid, ulid, random (of
// license_code_random_length letters and digits) or custom (%X a digit, %Y
// a letter, %Z either, other characters kept), then upper-cased,
// lower-cased or left as generated per license_code_case_insensitive.
// Randomness comes from r.
func GenerateCode(set *settings.Values, now time.Time, r io.Reader) (string, error) {
	var code string
	switch set.LicenseCodeFormat {
	case "ulid":
		u, err := ulid.New(ulid.Timestamp(now), r)
		if err != nil {
			return "", fmt.Errorf("generate license code: %w", err)
		}
		code = u.String()
	case "random":
		b := make([]byte, set.LicenseCodeRandomLength)
		for i := range b {
			c, err := pick(r, letters+digits)
			if err != nil {
				return "", err
			}
			b[i] = c
		}
		code = string(b)
	case "custom":
		var b strings.Builder
		f := set.LicenseCodeCustomFormat
		for i := 0; i < len(f); i++ {
			alphabet := ""
			if f[i] == '%' && i+1 < len(f) {
				switch f[i+1] {
				case 'X':
					alphabet = digits
				case 'Y':
					alphabet = letters
				case 'Z':
					alphabet = letters + digits
				}
			}
			if alphabet == "" {
				b.WriteByte(f[i])
				continue
			}
			c, err := pick(r, alphabet)
			if err != nil {
				return "", err
			}
			b.WriteByte(c)
			i++
		}
		code = b.String()
	default: // "uuid", and anything unknown
		u, err := uuid.NewRandomFromReader(r)
		if err != nil {
			return "", fmt.Errorf("generate license code: %w", err)
		}
		code = u.String()
	}
	switch set.LicenseCodeCase {
	case "uppercase":
		code = strings.ToUpper(code)
	case "lowercase":
		code = strings.ToLower(code)
	}
	return code, nil
}

// pick returns a uniformly chosen byte of alphabet, rejecting the random
// bytes that would bias the choice.
func pick(r io.Reader, alphabet string) (byte, error) {
	n := len(alphabet)
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("generate license code: %w", err)
		}
		if int(b[0]) < limit {
			return alphabet[int(b[0])%n], nil
		}
	}
}
