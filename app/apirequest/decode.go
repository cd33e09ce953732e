// Package apirequest reads the fields of an API request as api.md §1.2
// says every endpoint does: from a JSON, form-urlencoded or multipart body,
// else from the query string, with empty strings counting as absent, and
// typed getters that record the validation messages of §1.5.
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
// 400 "The request body could not be read." (api.md §1.4).
var ErrMalformed = errors.New("apirequest: malformed request body")

// Fields are the fields of one request. Getters record failures in it;
// Err and Errors report them.
type Fields struct {
	body  map[string]value
	query map[string]value
	files map[string][]*multipart.FileHeader
	errs  Errors
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
	f := &Fields{body: map[string]value{}, query: map[string]value{}}
	if err := f.readValues(f.query, valuesPairs(query)); err != nil {
		return nil, err
	}
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
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !utf8.Valid(body) {
		return ErrMalformed
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
