package fields

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// MaxEmailLen is the longest email address accepted anywhere.
const MaxEmailLen = 254

// Length counts characters, not bytes, as the rules' messages promise.
func Length(s string) int { return utf8.RuneCountInString(s) }

// IsEmail reports whether s is a bare address (no display name, no angle
// brackets) with a local part and a domain.
func IsEmail(s string) bool {
	if s == "" || len(s) > MaxEmailLen || strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// IsIdentifier reports whether s matches [A-Za-z0-9._-]+, the alphabet of
// reference ids, license codes and version ids.
func IsIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckLen adds MinLen/MaxLen failures for value under field.
func (e *Error) CheckLen(field, value string, min, max int) {
	n := Length(value)
	switch {
	case min > 0 && n < min:
		e.Add(field, MinLen(field, min))
	case max > 0 && n > max:
		e.Add(field, MaxLen(field, max))
	}
}

// CheckMin adds a Min failure when a non-nil value is below min.
func (e *Error) CheckMin(field string, value *int, min int) {
	if value != nil && *value < min {
		e.Add(field, Min(field, min))
	}
}
