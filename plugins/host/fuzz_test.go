package host

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/licensor/licensor/plugins/sdk"
)

// FuzzCheckWidget: what a CAPTCHA plugin answers for its widget. An
// accepted answer must be safe where the portal puts it: the response
// field in a form lookup, the origins in the Content-Security-Policy
// header (no spaces, semicolons, quotes or commas that would add
// directives), the script URLs as http(s) src attributes.
func FuzzCheckWidget(f *testing.F) {
	f.Add("g-recaptcha-response", "https://www.google.com/recaptcha/api.js", "https://www.google.com", "https://*.gstatic.com:443")
	f.Add("captcha_answer", "", "", "")
	f.Add("x\"y", "javascript:alert(1)", "https://a.com; script-src *", "'unsafe-inline'")
	f.Add("a", "//evil.example/x.js", "https://a.com\r\nX-Injected: 1", "http://a")
	f.Fuzz(func(t *testing.T, field, script, origin1, origin2 string) {
		w := sdk.Widget{ResponseField: field}
		if script != "" {
			w.ScriptURLs = []string{script}
		}
		for _, o := range []string{origin1, origin2} {
			if o != "" {
				w.Origins = append(w.Origins, o)
			}
		}
		bad := checkWidget(w)
		if !utf8.ValidString(bad) {
			t.Fatalf("message %q", bad)
		}
		if bad != "" {
			return
		}
		if strings.ContainsAny(w.ResponseField, " \"'<>&=\x00") || w.ResponseField == "" {
			t.Fatalf("response field %q accepted", w.ResponseField)
		}
		for _, s := range w.ScriptURLs {
			if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
				t.Fatalf("script URL %q accepted", s)
			}
		}
		for _, o := range w.Origins {
			if strings.ContainsAny(o, " ;,'\"\r\n\t\x00") || !strings.Contains(o, "://") {
				t.Fatalf("origin %q accepted", o)
			}
		}
	})
}

// FuzzCollectSink: the records an import format plugin streams back. What
// the sink keeps must be in order, UTF-8 and within the bound, whatever
// the plugin sends.
func FuzzCollectSink(f *testing.F) {
	f.Add(2, "email", "ann@example.com", 3, "name", "Ann", "", "email")
	f.Add(0, "email", "x", 1, "", "", "", "")
	f.Add(5, "email", "x", 4, "a", "b", "bad row", "e")
	f.Add(1, "e\xffmail", "x", 2, "a", "\xfe", "row \xff", "\xff")
	f.Fuzz(func(t *testing.T, line1 int, k1, v1 string, line2 int, k2, v2, errText, column string) {
		s := &collectSink{max: 1}
		_ = s.Columns([]string{column})
		err1 := s.Record(sdk.ImportRecord{Line: line1, Fields: map[string]string{k1: v1}})
		err2 := s.Record(sdk.ImportRecord{Line: line2, Fields: map[string]string{k2: v2}, Error: errText})
		if (err1 != nil || err2 != nil) != (s.bad != "") {
			t.Fatalf("errors %v, %v but bad %q", err1, err2, s.bad)
		}
		if s.bad != "" {
			return
		}
		if len(s.out.Records) > 1 {
			t.Fatalf("%d records kept, max 1", len(s.out.Records))
		}
		for _, c := range s.out.Columns {
			if !utf8.ValidString(c) {
				t.Fatalf("column %q kept", c)
			}
		}
		last := 0
		for _, r := range s.out.Records {
			if r.Line < 1 || r.Line < last || !utf8.ValidString(r.Error) {
				t.Fatalf("record %+v kept", r)
			}
			last = r.Line
			for k, v := range r.Fields {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("field %q=%q kept", k, v)
				}
			}
		}
	})
}
