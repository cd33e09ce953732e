package internalapi_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestLegacyEditOrCreateVersion: edit_or_create_version under both
// prefixes, through the real server with multipart bodies: create, edit of
// the version with that version string, and each failure message.
func TestLegacyEditOrCreateVersion(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"/api", "/api_internal"} {
		t.Run(prefix, func(t *testing.T) {
			a := newAPI(t)
			withProduct(t, a, nil)
			a.env.SetSettings(t, map[string]string{"timezone": "America/New_York"})
			call := prefix + "/edit_or_create_version"
			post := func(values map[string]string, files map[string][2]string, headers ...string) (int, string) {
				r := a.upload("POST", call, values, files, headers...)
				return r.StatusCode, r.Body
			}
			wantCall := func(values map[string]string, files map[string][2]string, status int, body string) {
				t.Helper()
				if gotStatus, got := post(values, files); gotStatus != status || got != body {
					t.Fatalf("got %d %s\nwant %d %s", gotStatus, got, status, body)
				}
			}
			invalid := func(field, msg string) string {
				return `{"status":false,"is_active":false,"message":"` + msg + `","errors":{"` + field + `":["` + msg + `"]}}`
			}
			main := map[string][2]string{"main_file": {"acme-1.0.0.zip", zipOf("one")}}

			// Failures, nothing stored.
			wantCall(map[string]string{"version": "1.0.0"}, main, 400, legacyMissing)
			wantCall(map[string]string{"product_id": "ACME"}, main, 400, legacyMissing)
			wantCall(map[string]string{"product_id": "ACME", "version": " "}, main, 400, legacyMissing)
			wantCall(map[string]string{"product_id": "NOPE", "version": "1.0.0"}, main, 404, noProduct)
			wantCall(map[string]string{"product_id": "ACME", "version": "1.0.0", "changelog": "x"}, nil, 422, invalid("main_file", "Main file is required."))
			wantCall(map[string]string{"product_id": "ACME", "version": "1.0.0"}, main, 422,
				invalid("changelog", "Changelog is required, because this product does not have old version."))
			wantCall(map[string]string{"product_id": "ACME", "version": "1.0 beta", "changelog": "x"}, main, 422,
				invalid("version", "The version field format is invalid."))
			wantCall(map[string]string{"product_id": "ACME", "version": "1.0.0", "changelog": "x"}, map[string][2]string{"main_file": {"a.zip", "MZ"}}, 422,
				invalid("main_file", "The main file must be a zip, gz, tgz, tar.gz, tar.bz2 or tar.xz archive."))
			wantCall(map[string]string{"product_id": "ACME", "version": "1.0.0", "changelog": "x"},
				map[string][2]string{"main_file": {"a.zip", zipOf("a")}, "sql_file": {"x.sql", "\x00bin"}}, 422,
				invalid("sql_file", "The sql file must be a plain-text .sql file."))
			wantCall(map[string]string{"product_id": "ACME", "version": "1.0.0", "changelog": "x", "released": "soon"}, main, 422,
				invalid("released", "The released field must be a valid date."))
			if got := a.storedFiles(); len(got) != 0 {
				t.Fatalf("refused calls stored %v", got)
			}

			// Create: larger than http.max_body_bytes, so the route streams.
			big := zipOf(strings.Repeat("0123456789", 150_000))
			status, body := post(map[string]string{
				"product_id": "acme", "version": "1.0.0", "released": "2024-01-15", "version_status": "off", "changelog": "<p>First</p>",
			}, map[string][2]string{"main_file": {"acme-1.0.0.zip", big}, "sql_file": {"install.sql", "CREATE TABLE t (id int);"}})
			m := regexp.MustCompile(`^\{"status":true,"message":"Version created successfully.","data":\{"vid":"([^"]+)","version":"1.0.0","release_date":"2024-01-15 00:00:00"\}\}$`).FindStringSubmatch(body)
			if status != 200 || m == nil {
				t.Fatalf("%d %s", status, body)
			}
			d := data(t, a.get("/api/internal/products/ACME/versions/"+m[1]), 200)
			if d["is_active"] != false || d["main_file"] != "acme-1.0.0.zip" || d["sql_file"] != "install.sql" || d["changelog"] != "<p>First</p>" ||
				d["file_size"] != float64(len(big)) || d["checksum"].(map[string]any)["value"] != sha(big) {
				t.Fatal(d)
			}
			if got := a.storedFiles(); !slices.Equal(got, sortedOf(sha(big), sha("CREATE TABLE t (id int);"))) {
				t.Fatalf("stored %v", got)
			}
			if log := a.activity(1)[0]; log.Message != "Product Acme CMS version 1.0.0 created via API." || log.ActorName != "Shop" {
				t.Fatal(log)
			}

			// A second version; then lower than the newest is refused.
			status, body = post(map[string]string{"product_id": "ACME", "version": "1.1.0", "released": "2024-02-01 12:30:00"},
				map[string][2]string{"main_file": {"b.zip", zipOf("b")}})
			if status != 200 || !strings.HasPrefix(body, `{"status":true,"message":"Version created successfully.","data":{"vid":"`) {
				t.Fatalf("%d %s", status, body)
			}
			wantCall(map[string]string{"product_id": "ACME", "version": "0.9.0"}, main, 422,
				invalid("version", "Your version is lower than latest version of product."))

			// Edit: the version with that version string (any case), not a
			// version id; files replaced, absent fields kept.
			status, body = post(map[string]string{"product_id": "ACME", "version": "1.0.0", "version_status": "on", "sql_file": ""},
				map[string][2]string{"main_file": {"acme-1.0.0-fixed.zip", zipOf("fixed")}})
			if want := `{"status":true,"message":"Version updated successfully.","data":{"vid":"` + m[1] + `","version":"1.0.0","release_date":"2024-01-15 00:00:00"}}`; status != 200 || body != want {
				t.Fatalf("%d %s\nwant %s", status, body, want)
			}
			d = data(t, a.get("/api/internal/products/ACME/versions/"+m[1]), 200)
			if d["is_active"] != true || d["main_file"] != "acme-1.0.0-fixed.zip" || d["sql_file"] != nil || d["changelog"] != "<p>First</p>" {
				t.Fatal(d)
			}
			if got := a.storedFiles(); !slices.Equal(got, sortedOf(sha(zipOf("fixed")), sha(zipOf("b")))) {
				t.Fatalf("replaced files kept: %v", got)
			}
			if log := a.activity(1)[0]; log.Message != "Product Acme CMS version 1.0.0 updated via API." {
				t.Fatal(log)
			}
			// Editing without a main file keeps it; delete_old_versions on
			// an edit removes the lower versions with their files.
			status, body = post(map[string]string{"product_id": "ACME", "version": "1.1.0", "delete_old_versions": "yes", "summary": "Second"}, nil)
			if status != 200 || !strings.HasPrefix(body, `{"status":true,"message":"Version updated successfully.","data":{"vid":"`) ||
				!strings.HasSuffix(body, `","version":"1.1.0","release_date":"2024-02-01 12:30:00"}}`) {
				t.Fatalf("%d %s", status, body)
			}
			want(t, a.get("/api/internal/products/ACME/versions/"+m[1]), 404, `{"status":false,"is_active":false,"message":"Product version not found."}`)
			if got := a.storedFiles(); !slices.Equal(got, []string{sha(zipOf("b"))}) {
				t.Fatalf("old version's files kept: %v", got)
			}

			// The scope is versions:create, edits included.
			if s, b := post(map[string]string{"product_id": "ACME", "version": "1.1.0"}, nil, "X-API-KEY", a.listOnly); s != 403 ||
				b != `{"status":false,"is_active":false,"message":"You are not allowed to access this endpoint."}` {
				t.Fatalf("%d %s", s, b)
			}
		})
	}
}
