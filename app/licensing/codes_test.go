package licensing

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

func TestGenerateCodeFormats(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		format, custom, letterCase string
		length                     int
		want                       *regexp.Regexp
	}{
		{"uuid", "", "uppercase", 0, regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)},
		{"uuid", "", "lowercase", 0, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
		{"ulid", "", "uppercase", 0, regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)},
		{"ulid", "", "lowercase", 0, regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{26}$`)},
		{"random", "", "uppercase", 20, regexp.MustCompile(`^[A-Z0-9]{20}$`)},
		{"random", "", "lowercase", 100, regexp.MustCompile(`^[a-z0-9]{100}$`)},
		{"random", "", "mix", 64, regexp.MustCompile(`^[A-Za-z0-9]{64}$`)},
		{"custom", "LIC-%X%X%X-%Y%Y-%Z%Z%Z%Z", "uppercase", 0, regexp.MustCompile(`^LIC-[0-9]{3}-[A-Z]{2}-[A-Z0-9]{4}$`)},
		{"custom", "lic_%Y%Y.%X", "lowercase", 0, regexp.MustCompile(`^lic_[a-z]{2}\.[0-9]$`)},
		{"custom", "%Y%Y%Y%Y%Y%Y%Y%Y", "mix", 0, regexp.MustCompile(`^[A-Za-z]{8}$`)},
	}
	for _, c := range cases {
		set := settings.Defaults()
		set.LicenseCodeFormat, set.LicenseCodeCustomFormat, set.LicenseCodeCase, set.LicenseCodeRandomLength = c.format, c.custom, c.letterCase, c.length
		seenMixed := false
		for range 20 {
			code, err := GenerateCode(set, now, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if !c.want.MatchString(code) {
				t.Errorf("%s/%s: %q", c.format, c.letterCase, code)
			}
			if !fields.IsIdentifier(code) {
				t.Errorf("%q is not a valid license code", code)
			}
			seenMixed = seenMixed || (strings.ToUpper(code) != code && strings.ToLower(code) != code)
		}
		if c.letterCase == "mix" && !seenMixed {
			t.Errorf("%s mix: never produced both cases", c.format)
		}
	}
}

// A generated code that is taken is regenerated, in the caller's
// transaction, without failing it.
func TestGeneratedCodeCollisionIsRetried(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.set.LicenseCodeFormat, f.set.LicenseCodeCustomFormat = "custom", "K%X"
	f.license("K0", LicenseInput{})
	// The generator's randomness: 0 → "K0" (taken), then 1 → "K1".
	f.s.rand = bytes.NewReader([]byte{0, 1, 2})
	l, err := f.s.CreateLicense(f.ctx, f.d.Bun, testAdmin, f.set, LicenseInput{ProductReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	if l.LicenseCode != "K1" {
		t.Fatalf("code %q, want K1", l.LicenseCode)
	}

	// When every try collides, the error says so instead of looping.
	f.s.rand = bytes.NewReader(make([]byte, 100))
	if _, err := f.s.CreateLicense(f.ctx, f.d.Bun, testAdmin, f.set, LicenseInput{ProductReferenceID: fields.Some("ACME")}); err == nil || !strings.Contains(err.Error(), "no free license code") {
		t.Fatal(err)
	}
}
