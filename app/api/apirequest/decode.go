// Package apirequest reads the fields of an API request as docs/api/conventions.md#requests
// says every endpoint does: from a JSON, form-urlencoded or multipart body,
// else from the query string, with empty strings counting as absent, and
// typed getters that record the validation messages of docs/api/conventions.md#validation-messages.
//
// It takes plain inputs, not a framework's context, so handlers of any
// group use it the same way:
//
//	f, err := apirequest.Parse(contentType, body, query, nil)
//	if errors.Is(err, apirequest.ErrMalformed) { … 400 … }
//	code, _ := f.String("license_code", apirequest.Required(), apirequest.MaxLen(255))
//	name, hasName := f.String("client_name", apirequest.MaxLen(255))
//	if err := f.Err(); err != nil { … 422 from f.Errors() … }
package apirequest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrMalformed means the body could not be read: bad JSON, JSON that is not
// an object, broken multipart, or invalid UTF-8 (or a NUL character, which
// PostgreSQL text cannot hold) in any field name or value. The API answers
// 400 "The request body could not be read." (docs/api/conventions.md#error-envelope).
var ErrMalformed = errors.New("apirequest: malformed request body")

// Fields are the fields of one request. Getters record failures in it;
// Err and Errors report them.
type Fields struct {
	body map[string]value
	// flat holds, in place of body, the fields of a flat JSON object
	// (readFlatJSON) in the order sent, a later duplicate winning as in a
	// map: read without a map, and without boxing strings until a getter
	// other than String or Has asks. flatBuf is its room for the few
	// fields a client sends, in the same allocation as Fields.
	flat    []flatField
	flatBuf [6]flatField
	query   map[string]value
	files   map[string][]*multipart.FileHeader
	errs    Errors
}

// flatField is one field of a flat JSON object.
type flatField struct {
	k, s string
	kind flatKind
}

type flatKind uint8

const (
	flatNull flatKind = iota
	flatString
	flatTrue
	flatFalse
)

// value is the field as the generic decoder would have stored it.
func (fl flatField) value() value {
	switch fl.kind {
	case flatString:
		return value{v: fl.s}
	case flatTrue:
		return value{v: true}
	case flatFalse:
		return value{v: false}
	}
	return value{}
}

// flatLookup finds name among the flat fields, the last one sent winning.
func (f *Fields) flatLookup(name string) (flatField, bool) {
	for i := len(f.flat) - 1; i >= 0; i-- {
		if f.flat[i].k == name {
			return f.flat[i], true
		}
	}
	return flatField{}, false
}

// value is one field as sent. v holds what JSON decoding gives (nil, bool,
// json.Number, string, []any, map[string]any); form fields are strings, or
// []any of strings for "key[]" keys. many holds every value of a plain form
// key sent more than once (v is then the last, as PHP reads it).
type value struct {
	v    any
	many []string
}

// Parse reads a request's fields. contentType is the Content-Type header;
// body the raw body; query the parsed query string. For multipart bodies
// the caller may pass the form it already parsed (its files are then
// available through File); with form nil, body is parsed here.
//
// Bodies are read by content type: JSON ("…/json", "…+json"),
// application/x-www-form-urlencoded, multipart/form-data. Without a
// Content-Type a body that starts with "{" or "[" is read as JSON, anything
// else as a form; a body of any other type is ignored. An empty body has
// no fields. Form keys "name[]" (or "name[0]", "name[key]") collect a list.
func Parse(contentType string, body []byte, query url.Values, form *multipart.Form) (*Fields, error) {
	f := &Fields{}
	if len(query) > 0 {
		f.query = map[string]value{}
		if err := f.readValues(f.query, valuesPairs(query)); err != nil {
			return nil, err
		}
	}
	if form == nil && isJSONType(contentType) {
		// What API clients send, known without mime's parameter map.
		return f, f.readJSON(body)
	}
	f.body = map[string]value{}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case form != nil:
		return f, f.readMultipart(form)
	case strings.Contains(mediaType, "/json") || strings.Contains(mediaType, "+json"):
		return f, f.readJSON(body)
	case mediaType == "application/x-www-form-urlencoded":
		return f, f.readValues(f.body, parseForm(body))
	case mediaType == "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, ErrMalformed
		}
		// The body is already in memory (and size-limited), so the form is
		// kept in memory too: no temporary files.
		mf, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(int64(len(body)) + 1)
		if err != nil {
			return nil, ErrMalformed
		}
		return f, f.readMultipart(mf)
	case mediaType == "":
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			return f, f.readJSON(body)
		}
		return f, f.readValues(f.body, parseForm(body))
	}
	return f, nil
}

func (f *Fields) readJSON(body []byte) error {
	trimmed := bytes.TrimSpace(body)
	// PHP's json_encode(array()) sends "[]" for a client with nothing to
	// send: that is an empty body, not a malformed one.
	if len(trimmed) == 0 || isEmptyArray(trimmed) {
		return nil
	}
	if !utf8.Valid(body) {
		return ErrMalformed
	}
	// JSON's white space only: the decoder refuses a body ending in a
	// vertical tab, which bytes.TrimSpace would have cut off.
	if f.readFlatJSON(trimJSONSpace(body)) {
		return nil
	}
	if f.body == nil {
		f.body = map[string]value{}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ErrMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrMalformed // something after the object
	}
	obj, ok := v.(map[string]any)
	if !ok || !cleanJSON(obj) {
		return ErrMalformed
	}
	for k, x := range obj {
		f.body[k] = value{v: x}
	}
	return nil
}

// readFlatJSON reads the bodies API clients nearly always send — one
// object whose values are strings, true, false or null — without the
// generic decoder's map and reflection: verify, the hottest path, reads
// its five fields from it. It stores exactly what readJSON's decoder
// would, and reports false, storing nothing, for anything else (a nested
// value, a number, a \u escape, a NUL, bad syntax), which the decoder
// then reads or refuses. b is valid UTF-8 without JSON white space around it.
func (f *Fields) readFlatJSON(b []byte) bool {
	out := f.flatBuf[:0]
	// One copy of the body holds every key and unescaped value.
	text := string(b)
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		i++
		start := i
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
		if i < len(b) && b[i] == '"' {
			i++
			return text[start : i-1], true
		}
		var sb []byte
		sb = append(sb, b[start:i]...)
		for i < len(b) {
			c := b[i]
			switch {
			case c == '"':
				i++
				return string(sb), true
			case c < 0x20:
				return "", false
			case c != '\\':
				sb = append(sb, c)
				i++
				continue
			}
			if i+1 >= len(b) {
				return "", false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				sb = append(sb, e)
			case 'b':
				sb = append(sb, '\b')
			case 'f':
				sb = append(sb, '\f')
			case 'n':
				sb = append(sb, '\n')
			case 'r':
				sb = append(sb, '\r')
			case 't':
				sb = append(sb, '\t')
			default: // \u and anything invalid: the decoder's job
				return "", false
			}
			i += 2
		}
		return "", false
	}
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	i = 1
	ws()
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			ws()
			k, ok := str()
			if !ok || strings.IndexByte(k, 0) >= 0 {
				return false
			}
			ws()
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i++
			ws()
			fl := flatField{k: k}
			switch {
			case i < len(b) && b[i] == '"':
				sv, ok := str()
				if !ok || strings.IndexByte(sv, 0) >= 0 {
					return false
				}
				fl.s, fl.kind = sv, flatString
			case bytes.HasPrefix(b[i:], []byte("null")):
				i += 4
			case bytes.HasPrefix(b[i:], []byte("true")):
				fl.kind, i = flatTrue, i+4
			case bytes.HasPrefix(b[i:], []byte("false")):
				fl.kind, i = flatFalse, i+5
			default:
				return false
			}
			out = append(out, fl)
			ws()
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return false
		}
	}
	if i != len(b) {
		return false
	}
	f.flat = out
	return true
}

// trimJSONSpace is bytes.Trim(b, " \t\r\n"), without building the cut
// set on every request.
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isJSONType reports whether a Content-Type is application/json, with or
// without parameters: the media type Parse would find for it (a broken
// parameter still leaves it JSON there).
func isJSONType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// isEmptyArray reports whether b (trimmed) is a JSON array with nothing in it.
func isEmptyArray(b []byte) bool {
	return len(b) >= 2 && b[0] == '[' && b[len(b)-1] == ']' && len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}

// cleanJSON reports whether no string (key or value) holds a NUL.
func cleanJSON(v any) bool {
	switch x := v.(type) {
	case string:
		return !strings.ContainsRune(x, 0)
	case []any:
		for _, e := range x {
			if !cleanJSON(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range x {
			if !cleanText(k) || !cleanJSON(e) {
				return false
			}
		}
	}
	return true
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func (f *Fields) readMultipart(form *multipart.Form) error {
	if f.body == nil {
		f.body = map[string]value{}
	}
	if err := f.readValues(f.body, valuesPairs(form.Value)); err != nil {
		return err
	}
	f.files = map[string][]*multipart.FileHeader{}
	for k, hs := range form.File {
		if !cleanText(k) {
			return ErrMalformed
		}
		for _, h := range hs {
			if !cleanText(h.Filename) {
				return ErrMalformed
			}
		}
		name, _ := baseKey(k)
		f.files[name] = append(f.files[name], hs...)
	}
	return nil
}

// pair is one form field as sent.
type pair struct{ key, value string }

// readValues adds form-style values to dst, collecting "name[…]" keys into
// lists in the order the pairs come.
func (f *Fields) readValues(dst map[string]value, pairs []pair) error {
	for _, p := range pairs {
		if !cleanText(p.key) || !cleanText(p.value) {
			return ErrMalformed
		}
	}
	for _, p := range pairs {
		name, isList := baseKey(p.key)
		if name == "" {
			continue
		}
		cur := dst[name]
		if isList {
			items, _ := cur.v.([]any)
			dst[name] = value{v: append(items, p.value)}
			continue
		}
		if _, isString := cur.v.(string); isString {
			if cur.many == nil {
				cur.many = []string{cur.v.(string)}
			}
			cur.many = append(cur.many, p.value)
		}
		cur.v = p.value
		dst[name] = cur
	}
	return nil
}

// valuesPairs flattens parsed values (whose key order is lost) in a stable
// order that keeps lists in index order: "ips[2]" before "ips[10]".
func valuesPairs(vals url.Values) []pair {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		an, ai := splitIndex(a)
		bn, bi := splitIndex(b)
		if c := strings.Compare(an, bn); c != 0 {
			return c
		}
		if len(ai) != len(bi) {
			return len(ai) - len(bi)
		}
		return strings.Compare(ai, bi)
	})
	var out []pair
	for _, k := range keys {
		for _, v := range vals[k] {
			out = append(out, pair{k, v})
		}
	}
	return out
}

// splitIndex splits "name[index]" (index compared by length, then text, so
// numbers sort by value).
func splitIndex(k string) (name, index string) {
	if i := strings.IndexByte(k, '['); i > 0 {
		return k[:i], k[i:]
	}
	return k, ""
}

// baseKey reads a form key: "domains[]" and "domains[0]" are items of the
// list "domains"; anything else is a plain key.
func baseKey(k string) (name string, list bool) {
	i := strings.IndexByte(k, '[')
	if i <= 0 || !strings.HasSuffix(k, "]") {
		return k, false
	}
	return k[:i], true
}

// parseForm decodes an application/x-www-form-urlencoded body the lenient
// way PHP does: "&"-separated pairs, "+" is a space, and a "%" not followed
// by two hex digits is kept as it is (net/url would refuse the whole body).
func parseForm(body []byte) []pair {
	var out []pair
	for _, kv := range strings.Split(string(body), "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if k = formUnescape(k); k != "" {
			out = append(out, pair{k, formUnescape(v)})
		}
	}
	return out
}

func formUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
