package web

import (
	"html/template"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/licensor/licensor/views"
)

// fieldViews parses the field partials as the server does (each file named
// by its path without .html), with the view funcs and include, plus pages
// for the test.
func fieldViews(t *testing.T, pages map[string]string) *template.Template {
	t.Helper()
	set := template.New("")
	set.Funcs(ViewFuncs()).Funcs(template.FuncMap{
		"include": func(name string, data any) (template.HTML, error) { return Include(set, name, data) },
	})
	files, err := fs.Glob(views.FS, "partials/field*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(views.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := set.New(strings.TrimSuffix(f, path.Ext(f))).Parse(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for name, text := range pages {
		template.Must(set.New(name).Parse(text))
	}
	return set
}

// TestFieldPartial draws every variant of partials/field: the label (a
// group's legend) names the control, the hint and the error have ids the
// control's aria-describedby points to, and an error sets aria-invalid.
func TestFieldPartial(t *testing.T) {
	set := fieldViews(t, map[string]string{
		"test/text":     `{{template "partials/field" (dict "Name" "email" "ID" "f-email" "Label" "Email" "Type" "email" "Value" .V "Hint" "Where mail goes." "Error" .E "Required" true)}}`,
		"test/select":   `{{template "partials/field" (dict "Name" "product" "ID" "f-product" "Label" "Product" "Type" "select" "Value" .V "Prompt" "Choose a product" "Options" (options "a" "Alpha" "b" "Beta") "Error" .E "Attrs" (attrs "hx-get" "/p?x=1&y=2" "hx-trigger" "change"))}}`,
		"test/file":     `{{template "partials/field" (dict "Name" "avatar" "ID" "f-avatar" "Label" "Picture" "Type" "file" "Accept" "image/png,image/jpeg" "Error" .E "Hint" (include "test/hint" "PNG"))}}`,
		"test/radios":   `{{template "partials/field" (dict "Name" "type" "ID" "f-type" "Label" "Type" "Type" "radios" "Value" .V "Options" (options "external" "External" "internal" "Internal") "Error" .E)}}`,
		"test/boxes":    `{{template "partials/field" (dict "Name" "forms" "ID" "f-forms" "Label" "Forms" "Type" "checkboxes" "Options" .Options "Disabled" true "Hint" "Where it applies.")}}`,
		"test/group":    `{{template "partials/field" (dict "Name" "scopes" "ID" "f-scopes" "Label" "Scopes" "Type" "group" "Body" (include "test/body" .) "Error" .E)}}`,
		"test/checkbox": `{{template "partials/field" (dict "Name" "debug" "ID" "f-debug" "Label" "Debug" "Type" "checkbox" "Value" "true" "Checked" true "Attrs" (attrs "role" "switch"))}}`,
		"test/hint":     `Only <code>{{.}}</code> files.`,
		"test/body":     `<label><input type="checkbox" name="scopes" value="{{.V}}"> <code>{{.V}}</code></label>`,
	})
	draw := func(name string, data any) string {
		t.Helper()
		var b strings.Builder
		if err := set.ExecuteTemplate(&b, name, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		data any
		want []string
		not  []string
	}{
		{"test/text", map[string]any{"V": "a@b.c"}, []string{
			`<label for="f-email">Email <span aria-hidden="true">*</span></label>`,
			`<input id="f-email" type="email" name="email" value="a@b.c" required aria-describedby="f-email-hint">`,
			`<small class="field-hint" id="f-email-hint">Where mail goes.</small>`,
		}, []string{"aria-invalid", "field-error"}},
		{"test/text", map[string]any{"E": "The email is invalid."}, []string{
			`aria-invalid="true" aria-describedby="f-email-error">`,
			`<small class="field-error" id="f-email-error">The email is invalid.</small>`,
		}, []string{"f-email-hint"}},
		{"test/select", map[string]any{"V": "b", "E": "Pick one."}, []string{
			`<label for="f-product">Product</label>`,
			`<select id="f-product" name="product" hx-get="/p?x=1&amp;y=2" hx-trigger="change" aria-invalid="true" aria-describedby="f-product-error">`,
			`<option value="">Choose a product</option>`, `<option value="a">Alpha</option>`, `<option value="b" selected>Beta</option>`,
			`<small class="field-error" id="f-product-error">Pick one.</small>`,
		}, nil},
		{"test/select", map[string]any{}, []string{`<option value="" selected>Choose a product</option>`}, []string{"aria-describedby"}},
		{"test/file", map[string]any{}, []string{
			`<label for="f-avatar">Picture</label>`,
			`<input id="f-avatar" type="file" name="avatar" accept="image/png,image/jpeg" aria-describedby="f-avatar-hint">`,
			`<small class="field-hint" id="f-avatar-hint">Only <code>PNG</code> files.</small>`,
		}, []string{"value="}},
		{"test/file", map[string]any{"E": "Not a picture."}, []string{
			`accept="image/png,image/jpeg" aria-invalid="true" aria-describedby="f-avatar-error">`,
			`<small class="field-error" id="f-avatar-error">Not a picture.</small>`,
		}, []string{"f-avatar-hint"}},
		{"test/radios", map[string]any{"V": "internal", "E": "Choose a type."}, []string{
			`<fieldset aria-invalid="true" aria-describedby="f-type-error">`, `<legend>Type</legend>`,
			`<label><input type="radio" name="type" value="external"> External</label>`,
			`<label><input type="radio" name="type" value="internal" checked> Internal</label>`,
			`<small class="field-error" id="f-type-error">Choose a type.</small>` + "\n  </fieldset>",
		}, nil},
		{"test/boxes", map[string]any{"Options": []Option{{Value: "login", Label: "Sign-in", Checked: true}, {Value: "register", Label: "Registration"}}}, []string{
			`<fieldset aria-describedby="f-forms-hint">`, `<legend>Forms</legend>`,
			`<label><input type="checkbox" name="forms" value="login" checked disabled> Sign-in</label>`,
			`<label><input type="checkbox" name="forms" value="register" disabled> Registration</label>`,
			`<small class="field-hint" id="f-forms-hint">Where it applies.</small>`,
		}, nil},
		{"test/group", map[string]any{"V": `a"b`, "E": "Choose a scope."}, []string{
			`<fieldset aria-invalid="true" aria-describedby="f-scopes-error">`, `<legend>Scopes</legend>`,
			`<label><input type="checkbox" name="scopes" value="a&#34;b"> <code>a&#34;b</code></label>`,
			`<small class="field-error" id="f-scopes-error">Choose a scope.</small>`,
		}, nil},
		{"test/checkbox", nil, []string{
			`<label for="f-debug"><input id="f-debug" type="checkbox" name="debug" value="true" checked role="switch"> Debug</label>`,
		}, []string{"aria-describedby"}},
	} {
		out := draw(tc.name, tc.data)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s %v: no %s in\n%s", tc.name, tc.data, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("%s %v: %s in\n%s", tc.name, tc.data, w, out)
			}
		}
	}
}

func TestAttrsAndOptions(t *testing.T) {
	a, err := Attrs("hx-get", `/x?a=1&b="2"`, "data-confirm", "<sure?>", "aria-controls", "x", "role", "switch", "spellcheck", "false")
	if want := `hx-get="/x?a=1&amp;b=&#34;2&#34;" data-confirm="&lt;sure?&gt;" aria-controls="x" role="switch" spellcheck="false"`; err != nil || string(a) != want {
		t.Errorf("Attrs = %s, %v; want %s", a, err, want)
	}
	for _, name := range []string{"onclick", "hx-on:click", "hx-on--click", "href", "style", "data-url", "data-src", "data-onload", "src", "HX-GET", "hx-", "x y", "data-style"} {
		if _, err := Attrs(name, "v"); err == nil {
			t.Errorf("Attrs allows %q", name)
		}
	}
	if _, err := Attrs("hx-get"); err == nil {
		t.Error("Attrs with an odd number of arguments")
	}
	if o, err := Options("", "Any", "keep", "Keep"); err != nil || len(o) != 2 || o[1] != (Option{Value: "keep", Label: "Keep"}) {
		t.Errorf("Options = %v, %v", o, err)
	}
	if _, err := Options("x"); err == nil {
		t.Error("Options with an odd number of arguments")
	}
}
