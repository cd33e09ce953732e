package settings

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor/app/fields"
)

// ParseBool reads the boolean forms of docs/api/conventions.md#requests, in any case.
func ParseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "on", "yes":
		return true, true
	case "false", "0", "off", "no":
		return false, true
	}
	return false, false
}

// parse turns the text form of a value (a form field, an API field) into the
// setting's typed value, or a message.
func (d Definition) parse(in string) (any, string) {
	in = strings.TrimSpace(in)
	switch d.Kind {
	case Bool:
		b, ok := ParseBool(in)
		if !ok {
			return nil, fields.Boolean(d.Key)
		}
		return b, ""
	case Int:
		n, err := strconv.Atoi(in)
		if err != nil {
			return nil, fields.Integer(d.Key)
		}
		if msg := d.checkRange(d.Key, n); msg != "" {
			return nil, msg
		}
		return n, ""
	case Enum:
		for _, o := range d.Options {
			if strings.EqualFold(in, o) {
				return o, ""
			}
		}
		return nil, fields.Selected(d.Key)
	case String:
		if d.MaxLen > 0 && fields.Length(in) > d.MaxLen {
			return nil, fields.MaxLen(d.Key, d.MaxLen)
		}
		if d.check != nil {
			if msg := d.check(d.Key, in); msg != "" {
				return nil, msg
			}
		}
		return in, ""
	case List:
		return d.parseList(in)
	case IntList:
		var out []int
		for i, item := range splitList(in, false) {
			f := fmt.Sprintf("%s.%d", d.Key, i)
			n, err := strconv.Atoi(item)
			if err != nil {
				return nil, fields.Integer(f)
			}
			if msg := d.checkRange(f, n); msg != "" {
				return nil, msg
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		// Thresholds read largest first, as the expiry scan walks them.
		slices.SortFunc(out, func(a, b int) int { return b - a })
		return nonNil(out), ""
	}
	return nil, fields.Format(d.Key)
}

func (d Definition) parseList(in string) (any, string) {
	var out []string
	for i, item := range splitList(in, d.Lines) {
		f := fmt.Sprintf("%s.%d", d.Key, i)
		if len(d.Options) > 0 {
			j := slices.IndexFunc(d.Options, func(o string) bool { return strings.EqualFold(o, item) })
			if j < 0 {
				return nil, fields.Selected(f)
			}
			item = d.Options[j]
		}
		if d.MaxLen > 0 && fields.Length(item) > d.MaxLen {
			return nil, fields.MaxLen(f, d.MaxLen)
		}
		if d.check != nil {
			if msg := d.check(f, item); msg != "" {
				return nil, msg
			}
		}
		// Blacklists compare ignoring case, so case-only duplicates go.
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, item) }) {
			out = append(out, item)
		}
	}
	return nonNil(out), ""
}

func (d Definition) checkRange(f string, n int) string {
	if n < d.Min {
		return fields.Min(f, d.Min)
	}
	if d.Max > 0 && n > d.Max {
		return fields.Max(f, d.Max)
	}
	return ""
}

// splitList splits on newlines, and on commas unless lines is set; items are
// trimmed and empty ones dropped (docs/api/conventions.md#requests).
func splitList(in string, lines bool) []string {
	sep := func(r rune) bool { return r == '\n' || r == '\r' || (!lines && r == ',') }
	var out []string
	for _, item := range strings.FieldsFunc(in, sep) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decode reads a stored JSON value into the setting's Go type.
func (d Definition) decode(raw json.RawMessage) (any, error) {
	var err error
	switch d.Kind {
	case Bool:
		var v bool
		err = json.Unmarshal(raw, &v)
		return v, err
	case Int:
		var v int
		err = json.Unmarshal(raw, &v)
		return v, err
	case Enum, String:
		var v string
		err = json.Unmarshal(raw, &v)
		return v, err
	case List:
		var v []string
		err = json.Unmarshal(raw, &v)
		return nonNil(v), err
	case IntList:
		var v []int
		err = json.Unmarshal(raw, &v)
		return nonNil(v), err
	}
	return nil, fmt.Errorf("setting %s: unknown kind", d.Key)
}

// build makes a snapshot from stored rows over the defaults. A stored value
// that no longer decodes (edited by hand) reads as its default rather than
// breaking every request that needs settings.
func build(defs []Definition, stored map[string]json.RawMessage) *Values {
	v := &Values{}
	rv := reflect.ValueOf(v).Elem()
	index := fieldIndex()
	for _, d := range defs {
		val := d.Default
		if raw, ok := stored[d.Key]; ok {
			if got, err := d.decode(raw); err == nil {
				val = got
			}
		}
		f := rv.Field(index[d.Key])
		switch x := val.(type) {
		case []string:
			f.Set(reflect.ValueOf(append([]string{}, x...)))
		case []int:
			f.Set(reflect.ValueOf(append([]int{}, x...)))
		default:
			f.Set(reflect.ValueOf(x))
		}
	}
	if loc, err := time.LoadLocation(v.Timezone); err == nil {
		v.location = loc
	}
	return v
}

// fieldIndex maps setting keys to Values field indexes by struct tag.
func fieldIndex() map[string]int {
	t := reflect.TypeFor[Values]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if key := t.Field(i).Tag.Get("setting"); key != "" {
			m[key] = i
		}
	}
	return m
}
