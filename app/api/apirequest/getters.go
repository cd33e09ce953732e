package apirequest

import (
	"encoding/json"
	"math"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor/app/fields"
)

// Rule is a validation rule given to a getter. Each getter documents the
// rules it applies; the others are ignored. A value, not a function: a
// getter reads its rules without anything escaping to the heap (verify
// reads five fields per request).
type Rule struct {
	kind  ruleKind
	n     int
	other string
	t     time.Time
}

type ruleKind uint8

const (
	ruleRequired ruleKind = iota + 1
	ruleWithout
	ruleMinLen
	ruleMaxLen
	ruleMin
	ruleMax
	ruleAfter
	ruleKeepSpace
)

type rules struct {
	required       bool
	without        []string
	minLen         int
	maxLen         int
	min, max       int
	hasMin, hasMax bool
	after          time.Time
	hasAfter       bool
	keepSpace      bool
}

// Required: the field must be present and not empty ("The f field is
// required.").
func Required() Rule { return Rule{kind: ruleRequired} }

// RequiredWithout: the field is required when other is absent ("The f
// field is required when other is not present.").
func RequiredWithout(other string) Rule { return Rule{kind: ruleWithout, other: other} }

// MinLen: a string (or each list item) has at least n characters.
func MinLen(n int) Rule { return Rule{kind: ruleMinLen, n: n} }

// MaxLen: a string (or each list item) has at most n characters.
func MaxLen(n int) Rule { return Rule{kind: ruleMaxLen, n: n} }

// Min: an integer is at least n.
func Min(n int) Rule { return Rule{kind: ruleMin, n: n} }

// Max: an integer is at most n.
func Max(n int) Rule { return Rule{kind: ruleMax, n: n} }

// After: a date is after t ("The f field must be a date after now.").
func After(t time.Time) Rule { return Rule{kind: ruleAfter, t: t} }

// KeepSpace: a string keeps its surrounding white space (passwords).
// Strings are otherwise trimmed, and a string of spaces is empty.
func KeepSpace() Rule { return Rule{kind: ruleKeepSpace} }

func collect(rs []Rule) rules {
	var r rules
	for _, x := range rs {
		switch x.kind {
		case ruleRequired:
			r.required = true
		case ruleWithout:
			r.without = append(r.without, x.other)
		case ruleMinLen:
			r.minLen = x.n
		case ruleMaxLen:
			r.maxLen = x.n
		case ruleMin:
			r.min, r.hasMin = x.n, true
		case ruleMax:
			r.max, r.hasMax = x.n, true
		case ruleAfter:
			r.after, r.hasAfter = x.t, true
		case ruleKeepSpace:
			r.keepSpace = true
		}
	}
	return r
}

// mustBeString is the "string" message of
// docs/api/conventions.md#validation-messages, which package fields does not
// carry (domain input is typed before it gets there).
func mustBeString(f string) string {
	return "The " + fields.Label(f) + " field must be a string."
}

// Item is the name of item i of list field name in messages ("domains.0").
func Item(name string, i int) string { return name + "." + strconv.Itoa(i) }

// Err returns the failures recorded so far as an error (*Errors), or nil.
func (f *Fields) Err() error { return f.errs.Err() }

// Errors returns the failures recorded so far; handlers may Add their own.
func (f *Fields) Errors() *Errors { return &f.errs }

// Fail records message for field, for rules the getters do not know.
func (f *Fields) Fail(field, message string) { f.errs.Add(field, message) }

// lookup finds name in the body, else in the query string.
func (f *Fields) lookup(name string) (value, bool) {
	if fl, ok := f.flatLookup(name); ok {
		return fl.value(), true
	}
	if v, ok := f.body[name]; ok {
		return v, true
	}
	v, ok := f.query[name]
	return v, ok
}

// Sent reports whether name was sent at all, even as null or "": partial
// updates clear a nullable field that is sent empty (docs/api/internal.md).
func (f *Fields) Sent(name string) bool {
	_, ok := f.lookup(name)
	return ok
}

// Has reports whether name was sent with a value: not null, not a blank
// string, not an empty list.
func (f *Fields) Has(name string) bool {
	if fl, ok := f.flatLookup(name); ok {
		return fl.kind == flatTrue || fl.kind == flatFalse || fl.kind == flatString && strings.TrimSpace(fl.s) != ""
	}
	v, ok := f.lookup(name)
	return ok && !empty(v.v)
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// Alias makes name take the value of the first alias sent, when name
// itself was not sent (docs/api/internal.md: "type (alias license_type)"). Messages
// then name the field by name.
func (f *Fields) Alias(name string, aliases ...string) {
	if f.Sent(name) {
		return
	}
	for _, a := range aliases {
		if fl, ok := f.flatLookup(a); ok {
			fl.k = name
			f.flat = append(f.flat, fl)
			return
		}
		if v, ok := f.body[a]; ok {
			f.body[name] = v
			return
		}
		if v, ok := f.query[a]; ok {
			f.query[name] = v
			return
		}
	}
}

// present returns name's value, or records Required / RequiredWithout when
// it is absent.
func (f *Fields) present(name string, r rules) (any, bool) {
	v, ok := f.lookup(name)
	if ok && !empty(v.v) {
		return v.v, true
	}
	f.missing(name, r)
	return nil, false
}

// missing records the failure of an absent field, if its rules require it.
func (f *Fields) missing(name string, r rules) {
	if r.required {
		f.errs.Add(name, fields.Required(name))
		return
	}
	for _, other := range r.without {
		if !f.Has(other) {
			f.errs.Add(name, fields.RequiredWithout(name, other))
			return
		}
	}
}

// String returns a string field, trimmed (see KeepSpace). Rules: Required,
// RequiredWithout, MinLen, MaxLen, KeepSpace. A JSON number is read as its
// text; other non-strings fail with "must be a string". ok is false when
// the field is absent or failed.
func (f *Fields) String(name string, rs ...Rule) (s string, ok bool) {
	r := collect(rs)
	if fl, found := f.flatLookup(name); found && fl.kind == flatString {
		// present and text on a string, without boxing it.
		s = fl.s
		trimmed := strings.TrimSpace(s)
		if trimmed == "" {
			f.missing(name, r)
			return "", false
		}
		if !r.keepSpace {
			s = trimmed
		}
		if !f.checkLen(name, s, r) {
			return "", false
		}
		return s, true
	}
	v, ok := f.present(name, r)
	if !ok {
		return "", false
	}
	s, ok = f.text(name, v, r)
	if !ok || !f.checkLen(name, s, r) {
		return "", false
	}
	return s, true
}

func (f *Fields) text(label string, v any, r rules) (string, bool) {
	switch x := v.(type) {
	case string:
		if !r.keepSpace {
			x = strings.TrimSpace(x)
		}
		return x, true
	case json.Number:
		return x.String(), true
	}
	f.errs.Add(label, mustBeString(label))
	return "", false
}

func (f *Fields) checkLen(label, s string, r rules) bool {
	if r.minLen <= 0 && r.maxLen <= 0 {
		// No bound to check: a token's few hundred characters are not
		// counted on every verify.
		return true
	}
	n := fields.Length(s)
	switch {
	case r.minLen > 0 && n < r.minLen:
		f.errs.Add(label, fields.MinLen(label, r.minLen))
	case r.maxLen > 0 && n > r.maxLen:
		f.errs.Add(label, fields.MaxLen(label, r.maxLen))
	default:
		return true
	}
	return false
}

// Int returns an integer field: a JSON number with no fraction, or a
// decimal string ("42", "-7", "+3"), at most fields.MaxCount. Rules:
// Required, RequiredWithout, Min, Max.
func (f *Fields) Int(name string, rs ...Rule) (int, bool) {
	r := collect(rs)
	v, ok := f.present(name, r)
	if !ok {
		return 0, false
	}
	n, ok := parseInt(v)
	if !ok {
		f.errs.Add(name, fields.Integer(name))
		return 0, false
	}
	if r.hasMin && n < r.min {
		f.errs.Add(name, fields.Min(name, r.min))
		return 0, false
	}
	if r.hasMax && n > r.max {
		f.errs.Add(name, fields.Max(name, r.max))
		return 0, false
	}
	// Every integer the API stores is a PostgreSQL integer: past it, the
	// field is named here rather than the insert failing.
	if n > fields.MaxCount {
		f.errs.Add(name, fields.Max(name, fields.MaxCount))
		return 0, false
	}
	return n, true
}

// maxExactFloat is the largest integer a JSON number in exponent or
// fraction form ("1e3", "2.0") is trusted to carry exactly.
const maxExactFloat = 1 << 53

func parseInt(v any) (int, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(x.String(), 10, 0); err == nil {
			return int(n), true
		}
		fl, err := strconv.ParseFloat(x.String(), 64)
		if err != nil || fl != math.Trunc(fl) || math.Abs(fl) > maxExactFloat {
			return 0, false
		}
		return int(fl), true
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 0)
	return int(n), err == nil
}

// Bool returns a boolean field: true/false, 1/0 (numbers or strings), and
// the strings "true"/"false", "on"/"off", "yes"/"no" in any case. Rules:
// Required, RequiredWithout.
func (f *Fields) Bool(name string, rs ...Rule) (b bool, ok bool) {
	r := collect(rs)
	v, ok := f.present(name, r)
	if !ok {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case json.Number:
		switch x.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "on", "yes":
			return true, true
		case "0", "false", "off", "no":
			return false, true
		}
	}
	f.errs.Add(name, fields.Boolean(name))
	return false, false
}

// List returns a list field: a JSON array, repeated form keys ("domains[]"
// or "domains"), or one string split on commas and newlines. Items are
// trimmed; empty items and duplicates are dropped; JSON numbers are read
// as their text. Rules: Required, RequiredWithout, and MinLen / MaxLen on
// each item (messages name the item: "domains.0"). An empty list is absent.
func (f *Fields) List(name string, rs ...Rule) ([]string, bool) {
	r := collect(rs)
	v, ok := f.present(name, r)
	if !ok {
		return nil, false
	}
	raw, _ := f.lookup(name)
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case string:
		if raw.many != nil {
			for _, s := range raw.many {
				items = append(items, s)
			}
			break
		}
		for _, s := range strings.FieldsFunc(x, func(c rune) bool { return c == ',' || c == '\n' || c == '\r' }) {
			items = append(items, s)
		}
	case json.Number:
		items = []any{x}
	default:
		f.errs.Add(name, mustBeString(name))
		return nil, false
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		if it == nil {
			continue
		}
		// Messages name items by their place in the list as sent.
		s, good := f.text(Item(name, i), it, rules{})
		if !good {
			ok = false
			continue
		}
		if s == "" || contains(out, s) {
			continue
		}
		if !f.checkLen(Item(name, i), s, r) {
			ok = false
		}
		out = append(out, s)
	}
	if !ok {
		return nil, false
	}
	if len(out) == 0 {
		f.missing(name, r)
		return nil, false
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Date layouts accepted besides RFC 3339 (docs/api/conventions.md#requests), read in the
// caller's time zone.
const (
	dateLayout     = "2006-01-02"
	dateTimeLayout = "2006-01-02 15:04:05"
)

// Date returns a date field: "Y-m-d" (the start of that day) or
// "Y-m-d H:i:s", both in loc (setting timezone), or RFC 3339 with its own
// offset. Unix timestamps are refused, and so are dates outside the years
// fields.MinYear–MaxYear in UTC (docs/deploy.md#day-counts-and-dates). Rules: Required, RequiredWithout,
// After.
func (f *Fields) Date(name string, loc *time.Location, rs ...Rule) (time.Time, bool) {
	r := collect(rs)
	v, ok := f.present(name, r)
	if !ok {
		return time.Time{}, false
	}
	s, isString := v.(string) // a number would be a Unix timestamp
	t, ok := parseDate(strings.TrimSpace(s), loc)
	if !isString || !ok {
		f.errs.Add(name, fields.Date(name))
		return time.Time{}, false
	}
	if !fields.DateInRange(t) {
		f.errs.Add(name, fields.DateRange(name))
		return time.Time{}, false
	}
	if r.hasAfter && !t.After(r.after) {
		f.errs.Add(name, fields.FutureDate(name))
		return time.Time{}, false
	}
	return t, true
}

func parseDate(s string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range []string{dateLayout, dateTimeLayout} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// Email returns an email address field (a bare address, at most 254
// characters). Rules: Required, RequiredWithout, MaxLen.
func (f *Fields) Email(name string, rs ...Rule) (string, bool) {
	r := collect(rs)
	v, ok := f.present(name, r)
	if !ok {
		return "", false
	}
	s, ok := f.text(name, v, r)
	if !ok {
		return "", false
	}
	if !fields.IsEmail(s) {
		f.errs.Add(name, fields.Email(name))
		return "", false
	}
	if !f.checkLen(name, s, r) {
		return "", false
	}
	return s, true
}

// Enum returns a field whose value must be one of allowed, compared
// exactly ("The selected f is invalid."). Rules: Required,
// RequiredWithout.
func (f *Fields) Enum(name string, allowed []string, rs ...Rule) (string, bool) {
	r := collect(rs)
	v, ok := f.present(name, r)
	if !ok {
		return "", false
	}
	s, ok := f.text(name, v, r)
	if !ok {
		return "", false
	}
	if !contains(allowed, s) {
		f.errs.Add(name, fields.Selected(name))
		return "", false
	}
	return s, true
}

// File returns the first file uploaded under name in a multipart body.
func (f *Fields) File(name string) (*multipart.FileHeader, bool) {
	hs := f.files[name]
	if len(hs) == 0 {
		return nil, false
	}
	return hs[0], true
}
