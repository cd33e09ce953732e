package apirequest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/fields"
)

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

func mustParse(t *testing.T, ct, body string, query url.Values) *Fields {
	t.Helper()
	f, err := Parse(ct, []byte(body), query, nil)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", ct, body, err)
	}
	return f
}

func multipartBody(t *testing.T, fieldsAndFiles map[string]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fieldsAndFiles {
		if name, ok := strings.CutPrefix(k, "file:"); ok {
			fw, err := w.CreateFormFile(name, "acme-1.2.0.zip")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write([]byte(v)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.String()
}

func TestParseMalformed(t *testing.T) {
	cases := []struct{ ct, body string }{
		{ctJSON, `{"product_id":`},
		{ctJSON, `["a"]`},
		{ctJSON, `"text"`},
		{ctJSON, `null`},
		{ctJSON, `42`},
		{ctJSON, `{"a":1} {"b":2}`},
		{ctJSON, `{"a":1} x`},
		{ctJSON, "{\"a\":\"\xff\"}"},
		{ctJSON, "{\"\xc3\":1}"},
		{ctJSON, `{"a":"nul\u0000here"}`},
		{ctJSON, `{"a":{"b\u0000":1}}`},
		{"application/vnd.api+json", `{`},
		{"", `{"a":`},
		{ctForm, "a=%ff"},
		{ctForm, "a%00=1"},
		{ctForm, "a=\xc3"},
		{"multipart/form-data", "--x\r\n"},
		{"multipart/form-data; boundary=xyz", "garbage"},
	}
	for _, c := range cases {
		if _, err := Parse(c.ct, []byte(c.body), nil, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q, %q) = %v, want ErrMalformed", c.ct, c.body, err)
		}
	}
	if _, err := Parse(ctJSON, nil, url.Values{"a": {"\xff"}}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("invalid UTF-8 in the query: %v", err)
	}
}

// PHP's json_encode(array()) is "[]": an empty body, whose fields come
// from the query string, with or without a JSON content type.
func TestParseEmptyJSONArray(t *testing.T) {
	for _, c := range []struct{ ct, body string }{{ctJSON, `[]`}, {ctJSON, " [ \n] "}, {"", `[]`}} {
		f, err := Parse(c.ct, []byte(c.body), url.Values{"product_id": {"ACME"}}, nil)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", c.ct, c.body, err)
		}
		if got, ok := f.String("product_id"); !ok || got != "ACME" || f.Has("0") {
			t.Errorf("Parse(%q, %q): product_id %q %v", c.ct, c.body, got, ok)
		}
	}
}

func TestParseBodies(t *testing.T) {
	mpCT, mpBody := multipartBody(t, map[string]string{"license_code": "ABC", "domains[]": "a.example", "file:main_file": "PK"})
	cases := []struct {
		name, ct, body string
		query          url.Values
		want           map[string]string // String(name) results; "" = absent
	}{
		{"json", ctJSON, `{"license_code":"ABC","client_name":"  Ann  ","n":5}`, nil,
			map[string]string{"license_code": "ABC", "client_name": "Ann", "n": "5", "other": ""}},
		{"json with charset", "Application/JSON; charset=utf-8", `{"a":"x"}`, nil, map[string]string{"a": "x"}},
		{"json suffix type", "application/vnd.api+json", `{"a":"x"}`, nil, map[string]string{"a": "x"}},
		{"empty json body", ctJSON, "  ", url.Values{"a": {"q"}}, map[string]string{"a": "q"}},
		{"form", ctForm, "license_code=A%2BB+C&client_name=J%C3%BCrgen&x=%zz&y=100%", nil,
			map[string]string{"license_code": "A+B C", "client_name": "Jürgen", "x": "%zz", "y": "100%"}},
		{"form last plain key wins", ctForm, "a=1&a=2", nil, map[string]string{"a": "2"}},
		{"form semicolons are literal", ctForm, "a=1;b=2", nil, map[string]string{"a": "1;b=2", "b": ""}},
		{"multipart", mpCT, mpBody, nil, map[string]string{"license_code": "ABC"}},
		{"no content type json", "", ` {"a":"x"}`, nil, map[string]string{"a": "x"}},
		{"no content type form", "", `a=x&b=y`, nil, map[string]string{"a": "x", "b": "y"}},
		{"other content type ignored", "text/plain", `a=x`, url.Values{"b": {"y"}}, map[string]string{"a": "", "b": "y"}},
		{"bad content type", "%%%", `a=x`, nil, map[string]string{"a": ""}},
		{"query fallback", ctJSON, `{"a":"body"}`, url.Values{"a": {"query"}, "b": {"query"}},
			map[string]string{"a": "body", "b": "query"}},
		{"empty body value still wins", ctJSON, `{"a":""}`, url.Values{"a": {"query"}}, map[string]string{"a": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.ct, c.body, c.query)
			for k, want := range c.want {
				got, ok := f.String(k)
				if got != want || ok != (want != "") {
					t.Errorf("String(%q) = %q, %v; want %q", k, got, ok, want)
				}
			}
			if err := f.Err(); err != nil {
				t.Errorf("unexpected errors: %v", err)
			}
		})
	}
}

func TestParseMultipartFiles(t *testing.T) {
	ct, body := multipartBody(t, map[string]string{"version": "1.2.0", "file:main_file": "PK\x03\x04"})
	f, err := Parse(ct, []byte(body), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fh, ok := f.File("main_file")
	if !ok || fh.Filename != "acme-1.2.0.zip" || fh.Size != 4 {
		t.Fatalf("File = %+v, %v", fh, ok)
	}
	if _, ok := f.File("sql_file"); ok {
		t.Fatal("no sql file was sent")
	}
	// A form the caller already parsed is used as it is.
	form := &multipart.Form{Value: map[string][]string{"version": {"2.0.0"}}, File: map[string][]*multipart.FileHeader{
		"main_file": {{Filename: "x.zip"}}}}
	f, err = Parse(ct, nil, nil, form)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.String("version"); v != "2.0.0" {
		t.Fatalf("version = %q", v)
	}
	form.File["main_file"][0].Filename = "bad\xff.zip"
	if _, err := Parse(ct, nil, nil, form); !errors.Is(err, ErrMalformed) {
		t.Fatalf("invalid UTF-8 file name: %v", err)
	}
}

func TestSentAndHas(t *testing.T) {
	f := mustParse(t, ctJSON, `{"a":"","b":null,"c":"  ","d":[],"e":"x","f":0,"g":false}`, url.Values{"q": {""}})
	cases := []struct {
		name      string
		sent, has bool
	}{
		{"a", true, false}, {"b", true, false}, {"c", true, false}, {"d", true, false},
		{"e", true, true}, {"f", true, true}, {"g", true, true}, {"q", true, false}, {"z", false, false},
	}
	for _, c := range cases {
		if f.Sent(c.name) != c.sent || f.Has(c.name) != c.has {
			t.Errorf("%s: Sent %v Has %v, want %v %v", c.name, f.Sent(c.name), f.Has(c.name), c.sent, c.has)
		}
	}
}

func TestString(t *testing.T) {
	f := mustParse(t, ctJSON, `{"product_id":"ACME","long":"ééé","num":12.50,"flag":true,"list":["a"],"obj":{},
		"pw":"  secret  ","blank":"   "}`, nil)
	cases := []struct {
		name  string
		rules []Rule
		want  string
		ok    bool
		msg   string
	}{
		{"product_id", []Rule{Required(), MaxLen(100)}, "ACME", true, ""},
		{"missing", []Rule{Required()}, "", false, "The missing field is required."},
		{"blank", []Rule{Required()}, "", false, "The blank field is required."},
		{"missing_too", nil, "", false, ""},
		{"long", []Rule{MaxLen(2)}, "", false, "The long field must not be greater than 2 characters."},
		{"long", []Rule{MaxLen(3), MinLen(3)}, "ééé", true, ""},
		{"long", []Rule{MinLen(4)}, "", false, "The long field must be at least 4 characters."},
		{"num", nil, "12.50", true, ""},
		{"flag", nil, "", false, "The flag field must be a string."},
		{"list", nil, "", false, "The list field must be a string."},
		{"obj", nil, "", false, "The obj field must be a string."},
		{"pw", []Rule{KeepSpace()}, "  secret  ", true, ""},
		{"pw", nil, "secret", true, ""},
	}
	for _, c := range cases {
		f.errs = Errors{}
		got, ok := f.String(c.name, c.rules...)
		if got != c.want || ok != c.ok {
			t.Errorf("String(%q) = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
		if msg := f.errs.Message(); msg != c.msg {
			t.Errorf("String(%q) message %q, want %q", c.name, msg, c.msg)
		}
	}
}

func TestRequiredWithout(t *testing.T) {
	for _, c := range []struct {
		body, want, msg string
	}{
		{`{"license_code":"L","purchase_code":"P"}`, "L", ""},
		{`{"purchase_code":"P"}`, "", ""},
		{`{"purchase_code":""}`, "", "The license code field is required when purchase code is not present."},
		{`{}`, "", "The license code field is required when purchase code is not present."},
	} {
		f := mustParse(t, ctJSON, c.body, nil)
		got, _ := f.String("license_code", RequiredWithout("purchase_code"), MaxLen(255))
		if got != c.want || f.errs.Message() != c.msg {
			t.Errorf("%s: got %q, message %q", c.body, got, f.errs.Message())
		}
	}
}

func TestInt(t *testing.T) {
	cases := []struct {
		body  string
		rules []Rule
		want  int
		ok    bool
		msg   string
	}{
		{`{"n":5}`, nil, 5, true, ""},
		{`{"n":-5}`, nil, -5, true, ""},
		{`{"n":"42"}`, nil, 42, true, ""},
		{`{"n":" +42 "}`, nil, 42, true, ""},
		{`{"n":"-0"}`, nil, 0, true, ""},
		{`{"n":"007"}`, nil, 7, true, ""},
		{`{"n":2.0}`, nil, 2, true, ""},
		{`{"n":1e3}`, nil, 1000, true, ""},
		{`{"n":2.5}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":"2.5"}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":"1e3"}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":"ten"}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":"+-1"}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":"-"}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":true}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":[1]}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":"99999999999999999999"}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":1e300}`, nil, 0, false, "The n field must be an integer."},
		{`{"n":-1}`, []Rule{Min(0)}, 0, false, "The n field must be at least 0."},
		{`{"n":0}`, []Rule{Min(0)}, 0, true, ""},
		{`{"n":101}`, []Rule{Max(100)}, 0, false, "The n field must not be greater than 100."},
		{`{"n":""}`, []Rule{Min(0)}, 0, false, ""},
		{`{"n":null}`, []Rule{Required()}, 0, false, "The n field is required."},
	}
	for _, c := range cases {
		f := mustParse(t, ctJSON, c.body, nil)
		got, ok := f.Int("n", c.rules...)
		if got != c.want || ok != c.ok || f.errs.Message() != c.msg {
			t.Errorf("%s: Int = %d, %v, %q; want %d, %v, %q", c.body, got, ok, f.errs.Message(), c.want, c.ok, c.msg)
		}
	}
	f := mustParse(t, ctForm, "uses=12&bad=1.5", nil)
	if n, ok := f.Int("uses"); n != 12 || !ok {
		t.Errorf("form int: %d %v", n, ok)
	}
}

func TestBool(t *testing.T) {
	truthy := []string{`true`, `1`, `"1"`, `"true"`, `"TRUE"`, `"on"`, `"On"`, `"yes"`, `"YES"`, `" yes "`}
	falsy := []string{`false`, `0`, `"0"`, `"false"`, `"False"`, `"off"`, `"OFF"`, `"no"`, `"No"`}
	bad := []string{`2`, `"2"`, `"y"`, `"n"`, `"enabled"`, `1.0`, `[]`, `{}`, `["1"]`, `-1`}
	check := func(raw string, wantV, wantOK bool) {
		f := mustParse(t, ctJSON, `{"b":`+raw+`}`, nil)
		v, ok := f.Bool("b")
		if v != wantV || ok != wantOK {
			t.Errorf("Bool(%s) = %v, %v", raw, v, ok)
		}
		if !wantOK && f.Has("b") && f.errs.Message() != "The b field must be true or false." {
			t.Errorf("Bool(%s) message %q", raw, f.errs.Message())
		}
	}
	for _, s := range truthy {
		check(s, true, true)
	}
	for _, s := range falsy {
		check(s, false, true)
	}
	for _, s := range bad {
		check(s, false, false)
	}
	f := mustParse(t, ctForm, "is_active=off&confirmed=1", nil)
	if v, ok := f.Bool("is_active"); v || !ok {
		t.Error("form off")
	}
	if v, ok := f.Bool("confirmed"); !v || !ok {
		t.Error("form 1")
	}
}

func TestList(t *testing.T) {
	cases := []struct {
		name, ct, body string
		query          url.Values
		rules          []Rule
		want           []string
		msg            string
	}{
		{"json array", ctJSON, `{"domains":[" a.example ","b.example","a.example","",null]}`, nil, nil,
			[]string{"a.example", "b.example"}, ""},
		{"json string split", ctJSON, `{"domains":"a.example, b.example\nc.example\r\n,,a.example"}`, nil, nil,
			[]string{"a.example", "b.example", "c.example"}, ""},
		{"json numbers", ctJSON, `{"ids":[1,2,2]}`, nil, nil, []string{"1", "2"}, ""},
		{"json bad item", ctJSON, `{"domains":["a",{"x":1},["b"]]}`, nil, nil, nil,
			"The domains.1 field must be a string. (and 1 more error)"},
		{"json object", ctJSON, `{"domains":{"a":"b"}}`, nil, nil, nil, "The domains field must be a string."},
		{"json bool", ctJSON, `{"domains":true}`, nil, nil, nil, "The domains field must be a string."},
		{"form brackets", ctForm, "domains[]=a.example&domains[]=b.example&domains[]=a.example", nil, nil,
			[]string{"a.example", "b.example"}, ""},
		{"form indexes keep order", ctForm, "ips[1]=10.0.0.2&ips[0]=10.0.0.1", nil, nil,
			[]string{"10.0.0.2", "10.0.0.1"}, ""},
		{"form repeated plain key", ctForm, "ips=10.0.0.1&ips=10.0.0.2", nil, nil, []string{"10.0.0.1", "10.0.0.2"}, ""},
		{"form comma string", ctForm, "licensed_ips=10.0.0.1%2C10.0.0.2", nil, nil, []string{"10.0.0.1", "10.0.0.2"}, ""},
		{"query indexes sorted by number", ctJSON, "", url.Values{"d[10]": {"k"}, "d[2]": {"c"}, "d[1]": {"b"}}, nil,
			[]string{"b", "c", "k"}, ""},
		{"empty list is absent", ctJSON, `{"domains":[]}`, nil, []Rule{Required()}, nil, "The domains field is required."},
		{"only blanks is absent", ctJSON, `{"domains":" , ,"}`, nil, []Rule{Required()}, nil, "The domains field is required."},
		{"item length", ctJSON, `{"domains":["ok","","toolong"]}`, nil, []Rule{MaxLen(3)}, nil,
			"The domains.2 field must not be greater than 3 characters."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.ct, c.body, c.query)
			name := "domains"
			for _, n := range []string{"ids", "ips", "licensed_ips", "d"} {
				if f.Sent(n) {
					name = n
				}
			}
			got, ok := f.List(name, c.rules...)
			if !reflect.DeepEqual(got, c.want) || ok != (c.want != nil) {
				t.Errorf("List = %q, %v; want %q", got, ok, c.want)
			}
			if msg := f.errs.Message(); msg != c.msg {
				t.Errorf("message %q, want %q", msg, c.msg)
			}
		})
	}
}

func TestDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		raw   string
		rules []Rule
		want  time.Time
		msg   string
	}{
		{`"2025-03-01"`, nil, time.Date(2025, 3, 1, 0, 0, 0, 0, berlin), ""},
		{`"2025-03-01 13:45:10"`, nil, time.Date(2025, 3, 1, 13, 45, 10, 0, berlin), ""},
		{`"2025-03-01T13:45:10Z"`, nil, time.Date(2025, 3, 1, 13, 45, 10, 0, time.UTC), ""},
		{`"2025-03-01T13:45:10.5+02:00"`, nil, time.Date(2025, 3, 1, 11, 45, 10, 5e8, time.UTC), ""},
		{`" 2025-03-01 "`, nil, time.Date(2025, 3, 1, 0, 0, 0, 0, berlin), ""},
		{`1740787200`, nil, time.Time{}, "The d field must be a valid date."},
		{`"1740787200"`, nil, time.Time{}, "The d field must be a valid date."},
		{`"2025-02-30"`, nil, time.Time{}, "The d field must be a valid date."},
		{`"2025-3-1"`, nil, time.Time{}, "The d field must be a valid date."},
		{`"01/03/2025"`, nil, time.Time{}, "The d field must be a valid date."},
		{`"2025-03-01 13:45"`, nil, time.Time{}, "The d field must be a valid date."},
		{`"2025-03-01T13:45:10"`, nil, time.Time{}, "The d field must be a valid date."},
		{`"tomorrow"`, nil, time.Time{}, "The d field must be a valid date."},
		{`true`, nil, time.Time{}, "The d field must be a valid date."},
		{`"2025-03-02"`, []Rule{After(now)}, time.Date(2025, 3, 2, 0, 0, 0, 0, berlin), ""},
		{`"2025-03-01"`, []Rule{After(now)}, time.Time{}, "The d field must be a date after now."},
		{`"2025-03-01T12:00:00Z"`, []Rule{After(now)}, time.Time{}, "The d field must be a date after now."},
		{`""`, []Rule{Required()}, time.Time{}, "The d field is required."},
	}
	for _, c := range cases {
		f := mustParse(t, ctJSON, `{"d":`+c.raw+`}`, nil)
		got, ok := f.Date("d", berlin, c.rules...)
		if !got.Equal(c.want) || ok != !c.want.IsZero() || f.errs.Message() != c.msg {
			t.Errorf("Date(%s) = %v, %v, %q; want %v, %q", c.raw, got, ok, f.errs.Message(), c.want, c.msg)
		}
	}
	// A nil location is UTC.
	f := mustParse(t, ctJSON, `{"d":"2025-03-01"}`, nil)
	if got, _ := f.Date("d", nil); !got.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("nil location: %v", got)
	}
}

func TestEmailAndEnum(t *testing.T) {
	f := mustParse(t, ctJSON, `{"email":" ann@example.com ","bad":"Ann <ann@example.com>","long":"`+
		strings.Repeat("a", 250)+`@x.io","verify_type":"envato","status":"Envato"}`, nil)
	if v, ok := f.Email("email", Required(), MaxLen(254)); v != "ann@example.com" || !ok {
		t.Errorf("Email = %q, %v", v, ok)
	}
	if _, ok := f.Email("bad"); ok {
		t.Error("display names are not addresses")
	}
	if _, ok := f.Email("long", MaxLen(254)); ok {
		t.Error("too long")
	}
	types := []string{"non_envato", "envato", "gumroad"}
	if v, ok := f.Enum("verify_type", types); v != "envato" || !ok {
		t.Errorf("Enum = %q, %v", v, ok)
	}
	if _, ok := f.Enum("status", types); ok {
		t.Error("enums compare exactly")
	}
	want := map[string][]string{
		"bad":    {"The bad field must be a valid email address."},
		"long":   {"The long field must be a valid email address."},
		"status": {"The selected status is invalid."},
	}
	for k, v := range want {
		if got := f.Errors().Get(k); !reflect.DeepEqual(got, v) {
			t.Errorf("errors[%s] = %q, want %q", k, got, v)
		}
	}
	if msg := f.Errors().Message(); msg != "The bad field must be a valid email address. (and 2 more errors)" {
		t.Errorf("message %q", msg)
	}
}

func TestAlias(t *testing.T) {
	f := mustParse(t, ctJSON, `{"license_type":"yearly","client_email":"a@b.io","email":"c@d.io"}`, nil)
	f.Alias("type", "license_type")
	f.Alias("email", "client_email")
	f.Alias("customer_id", "client", "client_name")
	if v, _ := f.String("type"); v != "yearly" {
		t.Errorf("type = %q", v)
	}
	if v, _ := f.String("email"); v != "c@d.io" {
		t.Errorf("the field itself wins over its alias: %q", v)
	}
	if f.Sent("customer_id") {
		t.Error("no alias was sent")
	}
	f = mustParse(t, ctJSON, `{}`, url.Values{"vid": {"01HX"}})
	f.Alias("version_id", "vid")
	if v, _ := f.String("version_id"); v != "01HX" {
		t.Errorf("query alias: %q", v)
	}
}

func TestErrors(t *testing.T) {
	var e Errors
	if e.Err() != nil || e.Message() != "" || e.Len() != 0 {
		t.Fatal("empty errors")
	}
	e.Add("product_id", fields.Required("product_id"))
	if e.Message() != "The product id field is required." {
		t.Fatalf("one: %q", e.Message())
	}
	e.Add("domains.0", fields.Domain("domains.0"))
	if e.Message() != "The product id field is required. (and 1 more error)" {
		t.Fatalf("two: %q", e.Message())
	}
	e.Add("product_id", fields.MaxLen("product_id", 100))
	e.Add("product_id", fields.MaxLen("product_id", 100)) // kept once
	if e.Message() != "The product id field is required. (and 2 more errors)" || e.Len() != 3 {
		t.Fatalf("three: %q", e.Message())
	}
	var fe fields.Error
	fe.Add("email", fields.Taken("email"))
	e.Merge(&fe)
	b, err := json.Marshal(map[string]any{"errors": &e})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errors":{"product_id":["The product id field is required.","The product id field must not be greater than 100 characters."],` +
		`"domains.0":["The domains.0 field must be a valid domain name."],"email":["The email has already been taken."]}}`
	if string(b) != want {
		t.Fatalf("json:\n%s\nwant\n%s", b, want)
	}
	if got := e.Fields(); !reflect.DeepEqual(got, []string{"product_id", "domains.0", "email"}) {
		t.Fatalf("fields %q", got)
	}

	if got, ok := FromError(fmt.Errorf("wrapped: %w", e.Err())); !ok || got.Len() != 4 {
		t.Fatal("FromError(*Errors)")
	}
	if got, ok := FromError(fmt.Errorf("create: %w", fe.Err())); !ok || got.Message() != "The email has already been taken." {
		t.Fatal("FromError(*fields.Error)")
	}
	if _, ok := FromError(errors.New("other")); ok {
		t.Fatal("FromError(other)")
	}
	var empty Errors
	if b, _ := json.Marshal(&empty); string(b) != "{}" {
		t.Fatalf("empty json %s", b)
	}
}

func TestGettersRecordInOrder(t *testing.T) {
	f := mustParse(t, ctJSON, `{"license_code":"`+strings.Repeat("x", 256)+`","verify_type":"paypal"}`, nil)
	f.String("product_id", Required(), MaxLen(100))
	f.String("license_code", Required(), MaxLen(255))
	f.String("client_name", MaxLen(255))
	f.Enum("verify_type", []string{"non_envato", "envato"})
	if got := f.Errors().Fields(); !reflect.DeepEqual(got, []string{"product_id", "license_code", "verify_type"}) {
		t.Fatalf("order %q", got)
	}
	if got := f.Errors().Message(); got != "The product id field is required. (and 2 more errors)" {
		t.Fatalf("message %q", got)
	}
	var e *Errors
	if !errors.As(f.Err(), &e) {
		t.Fatal("Err is *Errors")
	}
}
