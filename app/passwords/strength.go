package passwords

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// commonList is common.txt: the 10,000 most common passwords, one a line,
// lower-cased (its header says where they come from).
//
//go:embed common.txt
var commonList string

// commonSet is built from commonList on first use; it is read-only after.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for _, line := range strings.Split(commonList, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
})

// IsCommon reports whether pw, ignoring case, is one of the 10,000 most
// common passwords.
func IsCommon(pw string) bool {
	_, ok := commonSet()[strings.ToLower(pw)]
	return ok
}

// Messages of Weakness, shown next to the password field.
const (
	MsgCommon      = "This password is too common: it is among the most used passwords. Choose another one."
	MsgPersonal    = "The password must not contain your email address or name."
	MsgOneSymbol   = "The password must not be a single repeated character."
	MsgSimpleChain = "The password must not be a simple sequence such as 1234567890 or abcdefghij."
)

// Weakness returns why pw is refused beyond its length (which the caller
// checks against password_min_length with its own message), or "" when it
// passes: a common password, one character repeated, a plain run of
// consecutive characters, or one containing any of personal (the account's
// email, its local part, its name; entries shorter than 4 characters are
// ignored).
func Weakness(pw string, personal ...string) string {
	if pw == "" {
		return ""
	}
	lower := strings.ToLower(pw)
	if IsCommon(lower) {
		return MsgCommon
	}
	runes := []rune(lower)
	same, up, down := true, true, true
	for i := 1; i < len(runes); i++ {
		same = same && runes[i] == runes[0]
		up = up && runes[i] == runes[i-1]+1
		down = down && runes[i] == runes[i-1]-1
	}
	if len(runes) > 1 && same {
		return MsgOneSymbol
	}
	if len(runes) > 2 && (up || down) {
		return MsgSimpleChain
	}
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		if local, _, ok := strings.Cut(p, "@"); ok {
			if hasPersonal(lower, local) {
				return MsgPersonal
			}
		}
		if hasPersonal(lower, p) {
			return MsgPersonal
		}
	}
	return ""
}

// hasPersonal: pw contains p, p long enough to mean something.
func hasPersonal(pw, p string) bool {
	if len([]rune(p)) < 4 {
		return false
	}
	return strings.Contains(pw, p) || strings.Contains(strings.Map(dropSpace, pw), strings.Map(dropSpace, p))
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}
