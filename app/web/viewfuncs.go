package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ViewFuncs are the functions every template may call, beside the asset
// URLs and include (see Include) the server adds: building partial
// arguments (dict, options, attrs), avatars' initials, and one way to show
// IDs, sizes and dates.
func ViewFuncs() template.FuncMap {
	return template.FuncMap{
		"dict":      Dict,
		"options":   Options,
		"attrs":     Attrs,
		"initials":  Initials,
		"shortID":   ShortID,
		"bytes":     humanBytesOf,
		"date":      ISODate,
		"datetime":  ISODateTime,
		"timestamp": Timestamp,
		"plural":    Plural,
	}
}

// Dict builds a map from key, value pairs, so a partial can take several
// named arguments: {{template "partials/field" (dict "Name" "email" …)}}.
func Dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
}

// Options builds a fixed list of choices from value, label pairs, for a
// select or a group of partials/field: (options "" "Any" "keep" "Keep").
func Options(pairs ...string) ([]Option, error) {
	if len(pairs)%2 != 0 {
		return nil, errors.New("options: odd number of arguments")
	}
	list := make([]Option, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		list = append(list, Option{Value: pairs[i], Label: pairs[i+1]})
	}
	return list, nil
}

// Attrs builds further attributes of a partial's control from name, value
// pairs: (attrs "hx-get" "/x" "hx-trigger" "change"). html/template
// refuses an attribute whose name is not a constant (it cannot tell how
// to escape its value), so the names allowed are those whose values are
// plain text: htmx's (not hx-on, which runs script), data-*, aria-*,
// role and spellcheck. Values are escaped.
func Attrs(pairs ...string) (template.HTMLAttr, error) {
	if len(pairs)%2 != 0 {
		return "", errors.New("attrs: odd number of arguments")
	}
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		name := pairs[i]
		if !plainAttr(name) {
			return "", fmt.Errorf("attrs: attribute %q is not allowed", name)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name + `="` + template.HTMLEscapeString(pairs[i+1]) + `"`)
	}
	return template.HTMLAttr(b.String()), nil
}

// plainAttr reports whether Attrs may write an attribute named name: one
// html/template would escape as plain text, not as a URL, style or script.
func plainAttr(name string) bool {
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	if name == "role" || name == "spellcheck" {
		return true
	}
	rest, ok := strings.CutPrefix(name, "data-")
	if !ok {
		rest, ok = strings.CutPrefix(name, "aria-")
	}
	if !ok {
		rest, ok = strings.CutPrefix(name, "hx-")
	}
	return ok && rest != "" && !strings.HasPrefix(rest, "on") && rest != "style" && rest != "href" && rest != "action" &&
		!strings.Contains(rest, "src") && !strings.Contains(rest, "uri") && !strings.Contains(rest, "url")
}

// Include draws the template name of set with data, for an argument of a
// partial that holds markup (a hint with <code>, the boxes of a group):
// the server adds it to the view funcs as (include "name" data). The
// result is safe HTML because html/template escaped it while drawing.
func Include(set *template.Template, name string, data any) (template.HTML, error) {
	t := set.Lookup(name)
	if t == nil {
		return "", fmt.Errorf("include: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("include %s: %w", name, err)
	}
	return template.HTML(buf.String()), nil
}

// Initials are what an avatar without a picture shows: the first letters
// of the first and last words of a name, upper-cased ("Ada King Lovelace"
// → "AL"), or "?" for a name without letters or digits.
func Initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var b strings.Builder
	for i, w := range words {
		if i == 0 || i == len(words)-1 {
			r, _ := utf8.DecodeRuneInString(w)
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
}

// shortIDMax is the longest value ShortID shows whole.
const shortIDMax = 16

// ShortID shortens a long identifier in the middle ("CDE25DA0…C4F1"), so
// a UUID fits a table cell; the whole value goes in a tooltip beside it.
// Values of up to 16 characters are kept.
func ShortID(s string) string {
	r := []rune(s)
	if len(r) <= shortIDMax {
		return s
	}
	return string(r[:8]) + "…" + string(r[len(r)-5:])
}

// HumanBytes is a size in binary units with one decimal ("1.5 MiB", "2
// GiB", "512 B").
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	for v /= unit; (v >= unit || v <= -unit) && i < len(units)-1; i++ {
		v /= unit
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}

// humanBytesOf is HumanBytes for a template, whose sizes are int or int64.
func humanBytesOf(n any) (string, error) {
	switch v := n.(type) {
	case int64:
		return HumanBytes(v), nil
	case int:
		return HumanBytes(int64(v)), nil
	case int32:
		return HumanBytes(int64(v)), nil
	}
	return "", fmt.Errorf("bytes: %T is not a size", n)
}

// ISODate is t's date as YYYY-MM-DD, the one date format of the console
// and the portal; "" for a nil or zero time. It takes a time.Time or a
// *time.Time.
func ISODate(t any) string { return formatTime(t, time.DateOnly) }

// ISODateTime is t as YYYY-MM-DD HH:MM; "" for a nil or zero time.
func ISODateTime(t any) string { return formatTime(t, "2006-01-02 15:04") }

// Timestamp is a log entry's time to the second, in UTC: YYYY-MM-DD
// HH:MM:SS.
func Timestamp(t any) string {
	switch v := t.(type) {
	case time.Time:
		return formatTime(v.UTC(), time.DateTime)
	case *time.Time:
		if v != nil {
			return formatTime(v.UTC(), time.DateTime)
		}
	}
	return ""
}

func formatTime(t any, layout string) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.Format(layout)
	case *time.Time:
		if v == nil || v.IsZero() {
			return ""
		}
		return v.Format(layout)
	}
	return ""
}

// Plural is "1 license", "2 licenses": n with one or many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
