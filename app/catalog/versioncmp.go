package catalog

import (
	"regexp"
	"strings"
)

// versionPattern is the shape of a version string a vendor may publish
// (docs/api/internal.md#versions). Go's \w and \d are ASCII-only, as PCRE's are without /u.
var versionPattern = regexp.MustCompile(`^v?\d+\.\d+(\.\d+)?(-[\w-]+)?\z`)

// ValidVersion reports whether s may be published as a version:
// ^v?\d+\.\d+(\.\d+)?(-[\w-]+)?$ ("1.2", "v1.2.3", "2.0.0-beta-2").
// Versions sent by clients (current_version) are not held to it.
func ValidVersion(s string) bool { return versionPattern.MatchString(s) }

// CompareVersions compares two version strings as PHP's version_compare
// does (docs/api/version-comparison.md) and returns -1, 0 or 1. A single leading "v" or "V"
// followed by a digit is removed first, so "v1.2.0" equals "1.2.0".
//
// It gives PHP's answer for every pair of strings but one kind: PHP treats
// an empty trailing part (a version ending in ".", "-", "+", …) as smaller
// than anything when it is on the left only, so version_compare("1.", "1.")
// is -1 and the answer depends on the order of the arguments. Here such a
// part is an unnamed word (rank -1), which keeps the order total: a version
// always equals itself, and swapping the arguments flips the sign. Numbers
// are compared at any length, where PHP clamps at 2^63-1.
func CompareVersions(a, b string) int {
	return phpVersionCompare(trimV(a), trimV(b))
}

// trimV drops one leading "v"/"V" when a digit follows.
func trimV(s string) string {
	if len(s) >= 2 && (s[0] == 'v' || s[0] == 'V') && isDigit(s[1]) {
		return s[1:]
	}
	return s
}

// numberForm is the part PHP compares a number against when the other
// side is a word, and a missing part against when the longer side goes on
// with a word.
const numberForm = "#N#"

func phpVersionCompare(a, b string) int {
	// PHP receives C strings: nothing after a NUL byte is seen.
	a, _, _ = strings.Cut(a, "\x00")
	b, _, _ = strings.Cut(b, "\x00")
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; ; i++ {
		switch {
		case i == len(pa) && i == len(pb):
			return 0
		case i == len(pa):
			return -restAgainstNumber(pb[i:])
		case i == len(pb):
			return restAgainstNumber(pa[i:])
		}
		if c := comparePart(pa[i], pb[i]); c != 0 {
			return c
		}
	}
}

// versionParts canonicalises s (unless it starts with "#", as PHP does)
// and splits it on ".".
func versionParts(s string) []string {
	if s[0] != '#' {
		s = canonicalVersion(s)
	}
	return strings.Split(s, ".")
}

// restAgainstNumber compares the parts left over on the longer side with
// the end of the shorter one: a number wins outright, a word is ranked
// against a number ("1.0.1" > "1.0", "1.0-beta" < "1.0", "1.0pl1" > "1.0").
func restAgainstNumber(rest []string) int {
	if startsWithDigit(rest[0]) {
		return 1
	}
	if c := comparePart(rest[0], numberForm); c != 0 {
		return c
	}
	if len(rest) == 1 {
		return 0
	}
	return restAgainstNumber(rest[1:])
}

func comparePart(x, y string) int {
	dx, dy := startsWithDigit(x), startsWithDigit(y)
	switch {
	case dx && dy:
		return compareNumbers(leadingDigits(x), leadingDigits(y))
	case dx:
		return compareInts(specialFormRank(numberForm), specialFormRank(y))
	case dy:
		return compareInts(specialFormRank(x), specialFormRank(numberForm))
	default:
		return compareInts(specialFormRank(x), specialFormRank(y))
	}
}

// specialForms are matched as prefixes, first match wins, case-sensitively.
var specialForms = []struct {
	prefix string
	rank   int
}{
	{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2},
	{"RC", 3}, {"rc", 3}, {"#", 4}, {"pl", 5}, {"p", 5},
}

func specialFormRank(part string) int {
	for _, f := range specialForms {
		if strings.HasPrefix(part, f.prefix) {
			return f.rank
		}
	}
	return -1
}

// canonicalVersion is PHP's php_canonicalize_version, byte for byte:
// "-", "_" and "+" become "."; a "." is inserted where a digit meets a
// non-digit (either order, the non-digit being kept even when it is not
// alphanumeric); any other non-alphanumeric byte becomes "."; never two
// dots in a row; the first byte is copied as it is.
func canonicalVersion(s string) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	b.WriteByte(s[0])
	last := s[0] // last byte written
	prev := s[0] // previous input byte
	put := func(c byte) {
		b.WriteByte(c)
		last = c
	}
	dot := func() {
		if last != '.' {
			put('.')
		}
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '_' || c == '+':
			dot()
		case isNonDigit(prev) && isDigit(c) || isDigit(prev) && isNonDigit(c):
			dot()
			put(c)
		case !isAlnum(c):
			dot()
		default:
			put(c)
		}
		prev = c
	}
	return b.String()
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isNonDigit(c byte) bool { return !isDigit(c) && c != '.' }
func isAlnum(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func startsWithDigit(s string) bool { return s != "" && isDigit(s[0]) }

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}

// compareNumbers compares two runs of decimal digits by value.
func compareNumbers(x, y string) int {
	x = strings.TrimLeft(x, "0")
	y = strings.TrimLeft(y, "0")
	if len(x) != len(y) {
		return compareInts(len(x), len(y))
	}
	return strings.Compare(x, y)
}

func compareInts(x, y int) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
