package apirequest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/app/fields"
)

// FuzzParse feeds arbitrary bodies of each content type through Parse and
// every getter: nothing may panic, a JSON body is accepted only when it is
// a valid JSON object, and every value read back is valid UTF-8.
func FuzzParse(f *testing.F) {
	seeds := []struct {
		ct   string
		body string
	}{
		{ctJSON, `{"product_id":"ACME","license_code":"X","domains":["a.example","b"],"uses":3,"is_active":"yes","expires_at":"2025-03-01"}`},
		{ctJSON, `{"a":{"b":[1,2,{"c":null}]},"n":1e400,"s":"\u00e9\ud83d\ude00"}`},
		{ctJSON, `{"domains":"a, b\nc","ips":[1,"2",null,true]}`},
		{ctJSON, `[]`},
		{ctJSON, `{"a":1}garbage`},
		{ctJSON, "{\"a\":\"\xff\"}"},
		{ctForm, "license_code=A%2BB&domains[]=x&domains[]=y&domains[5]=z&uses=07&x=%zz&y=%"},
		{ctForm, "a=1&a=2&a[]=3&=4&&b"},
		{ctForm, "uses=2147483648&expires_at=0000-01-01&d=9999-12-31T23%3A59%3A59-23%3A59"},
		{"", " {\"a\":\"b\"}"},
		{"", "a=b"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--X--\r\n"},
		{"text/plain", "anything"},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(checkParse)
}

// FuzzParseJSON concentrates on JSON bodies.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"product_id":"ACME","license_code":"X","client_name":null,"domains":["a.example"],"uses":"3","is_active":true}`,
		`{"expires_at":"2025-03-01 10:00:00","d":"2025-03-01T10:00:00+02:00","n":-0.0,"e":"a@b.io"}`,
		`{"a":"\u0000"}`, `{"a":[[[[]]]]}`, `{}`, ` `, `{"a":"x","a":"y"}`,
		// Issue 15.8: past PostgreSQL's integer, year 0000, an offset that
		// turns 9999-12-31 into year 10000.
		`{"uses":2147483648,"n":"99999999999","e":"-2147483649"}`,
		`{"expires_at":"0000-01-01","d":"9999-12-31T23:59:59-23:59","x":"10000-01-01"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParse(t, ctJSON, body) })
}

var fuzzNames = []string{"a", "b", "d", "e", "n", "s", "product_id", "license_code", "domains", "ips", "uses", "is_active", "expires_at", "x", "y"}

func checkParse(t *testing.T, ct string, body []byte) {
	t.Helper()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fs, err := Parse(ct, body, url.Values{"q": {"1"}}, nil)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Parse error %v is not ErrMalformed", err)
		}
		return
	}
	if ct == ctJSON && len(bytes.TrimSpace(body)) > 0 && !isEmptyArray(bytes.TrimSpace(body)) {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&obj) != nil || obj == nil || !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not a JSON object: %q", body)
		}
	}
	names := slices.Clone(fuzzNames)
	for k := range fs.body {
		names = append(names, k)
	}
	for _, fl := range fs.flat {
		names = append(names, fl.k)
	}
	for _, n := range names {
		if s, ok := fs.String(n, MaxLen(10)); ok && !utf8.ValidString(s) {
			t.Fatalf("String(%q) = %q", n, s)
		}
		if v, ok := fs.Int(n, Min(0)); ok && v > fields.MaxCount {
			t.Fatalf("Int(%q) = %d, past a PostgreSQL integer", n, v)
		}
		fs.Bool(n)
		if l, ok := fs.List(n, MaxLen(50)); ok {
			for _, s := range l {
				if s == "" || !utf8.ValidString(s) {
					t.Fatalf("List(%q) item %q", n, s)
				}
			}
		}
		if d, ok := fs.Date(n, time.UTC, After(now)); ok && !fields.DateInRange(d) {
			t.Fatalf("Date(%q) = %v, outside the years stored", n, d)
		}
		fs.Email(n)
		fs.Enum(n, []string{"a"})
		fs.Sent(n)
		fs.Has(n)
	}
	e := fs.Errors()
	if (e.Len() == 0) != (fs.Err() == nil) || (e.Len() > 0 && e.Message() == "") {
		t.Fatalf("errors %d, message %q", e.Len(), e.Message())
	}
	if _, err := json.Marshal(e); err != nil {
		t.Fatalf("errors do not marshal: %v", err)
	}
}

// The flat fast path of readJSON stores exactly what the generic decoder
// would, for every body it accepts.
func FuzzFlatJSONMatchesDecoder(f *testing.F) {
	for _, s := range []string{
		`{"product_id":"ACME","license_data":"v1.abc.def"}`, `{}`, ` { "a" : null , "b":true,"c":false } `,
		`{"a":"x\/y\"z\\n\t"}`, `{"a":"\u00e9"}`, `{"a":1}`, `{"a":"x","a":"y"}`, `{"a":"x",}`, `{"a":"x"} x`,
		`{"a":[]}`, `{"a":"nul\u0000"}`, "{\"a\":\"tab\there\"}", `{"a":"\q"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		trimmed := bytes.TrimSpace(body)
		if !utf8.Valid(body) || len(trimmed) == 0 {
			return
		}
		fast := &Fields{}
		if !fast.readFlatJSON(bytes.Trim(body, " \t\r\n")) {
			return
		}
		stored := map[string]any{}
		for _, fl := range fast.flat {
			stored[fl.k] = fl.value().v
		}
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil || obj == nil {
			t.Fatalf("fast path accepted %q, the decoder did not: %v", body, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("fast path accepted trailing data in %q", body)
		}
		if len(obj) != len(stored) {
			t.Fatalf("%q: %d fields, decoder %d", body, len(stored), len(obj))
		}
		for k, v := range obj {
			if got, ok := fast.lookup(k); !ok || got.v != v {
				t.Fatalf("%q: field %q = %#v, decoder %#v", body, k, got.v, v)
			}
		}
	})
}
