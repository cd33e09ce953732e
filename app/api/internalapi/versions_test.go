package internalapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

func TestVersionsListAndRead(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	a.exec(`INSERT INTO product_versions (id, product_id, version_id, version, released_at, summary, is_active) VALUES
		(1, 1, '01HV-A', '1.2.0', '2024-01-15 00:00:00+00', 'Bug fixes', true),
		(2, 1, '01HV-B', '1.10.0', '2024-03-01 00:00:00+00', NULL, false),
		(3, 1, '01HV-C', 'v1.9.0', '2024-02-01 00:00:00+00', NULL, true)`)
	a.exec(`INSERT INTO version_files (version_id, type, file_name, storage_key, sha256, size) VALUES
		(1, 'main', 'acme-1.2.0.zip', repeat('ab', 32), repeat('ab', 32), 300000),
		(2, 'main', 'acme-1.10.0.zip', repeat('cd', 32), repeat('cd', 32), 10),
		(2, 'sql', 'update.sql', repeat('ef', 32), repeat('ef', 32), 5)`)

	r := a.get("/api/internal/products/acme/versions")
	items, _ := list(t, r)
	if got := field(items, "version"); !slices.Equal(got, []string{"1.10.0", "v1.9.0", "1.2.0"}) {
		t.Fatalf("newest first by version number: %v", got)
	}
	if _, paged := wantStatus(t, r, 200)["links"]; paged {
		t.Fatal("versions are not paginated")
	}

	r = a.get("/api/internal/products/ACME/versions/01hv-a")
	wantBody := `{"data":{"version_id":"01HV-A","product_reference_id":"ACME","version":"1.2.0","released_at":"2024-01-15T00:00:00.000000Z",` +
		`"summary":"Bug fixes","changelog":null,"main_file":"acme-1.2.0.zip","sql_file":null,"is_active":true,"has_sql":false,` +
		`"file_size":300000,"checksum":{"algo":"sha256","value":"` + strings.Repeat("ab", 32) + `"},` +
		`"created_at":"` + data(t, r, 200)["created_at"].(string) + `","updated_at":"` + data(t, r, 200)["updated_at"].(string) + `"}}`
	want(t, r, 200, wantBody)
	if d := data(t, a.get("/api/internal/products/1/versions/1.10.0"), 200); d["version_id"] != "01HV-B" || d["has_sql"] != true {
		t.Fatal(d)
	}
	want(t, a.get("/api/internal/products/ACME/versions/9.9.9"), 404, `{"status":false,"is_active":false,"message":"Product version not found."}`)
	want(t, a.get("/api/internal/products/NOPE/versions/1.2.0"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	want(t, a.get("/api/internal/products/NOPE/versions"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
}

// upload is a multipart body: fields, and files as name → [filename, content].
func (a *api) upload(method, path string, values map[string]string, files map[string][2]string, headers ...string) *webtest.Response {
	a.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range values {
		if err := w.WriteField(k, v); err != nil {
			a.t.Fatal(err)
		}
	}
	for k, f := range files {
		fw, err := w.CreateFormFile(k, f[0])
		if err != nil {
			a.t.Fatal(err)
		}
		if _, err := io.WriteString(fw, f[1]); err != nil {
			a.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		a.t.Fatal(err)
	}
	r, err := http.NewRequest(method, path, &buf)
	if err != nil {
		a.t.Fatal(err)
	}
	r.Header.Set("Content-Type", w.FormDataContentType())
	r.Header.Set("X-API-KEY", a.full)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return a.c.Do(r)
}

func zipOf(s string) string { return "PK\x03\x04" + s }

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// storedFiles lists the files under the test node's <data_dir>/files.
func (a *api) storedFiles() []string {
	a.t.Helper()
	var out []string
	root := filepath.Join(a.env.Config.DataDir, "files")
	_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if rel, _ := filepath.Rel(root, p); err == nil && !e.IsDir() && !strings.HasPrefix(rel, "tmp"+string(filepath.Separator)) {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestVersionUploadCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	base := "/api/internal/products/acme/versions"

	// Validation: every docs/api/internal.md#versions message on its field, nothing stored.
	d := wantStatus(t, a.upload("POST", base, map[string]string{"summary": strings.Repeat("s", 256)}, nil), 422)
	errs := d["errors"].(map[string]any)
	for field, msg := range map[string]string{
		"version": "The version field is required.", "main_file": "Main file is required.",
		"changelog": "Changelog is required, because this product does not have old version.",
		"summary":   "The summary field must not be greater than 255 characters.",
	} {
		if got, _ := errs[field].([]any); len(got) != 1 || got[0] != msg {
			t.Errorf("%s: %v, want %q", field, errs[field], msg)
		}
	}
	if d["message"] != "The version field is required. (and 3 more errors)" {
		t.Error(d["message"])
	}
	want(t, a.upload("POST", base, map[string]string{"version": "1.0 beta", "changelog": "x"}, map[string][2]string{"main_file": {"a.zip", zipOf("a")}}), 422,
		`{"status":false,"is_active":false,"message":"The version field format is invalid.","errors":{"version":["The version field format is invalid."]}}`)
	want(t, a.upload("POST", base, map[string]string{"version": "1.0.0", "changelog": "x"}, map[string][2]string{"main_file": {"a.zip", "MZ not an archive"}}), 422,
		`{"status":false,"is_active":false,"message":"The main file must be a zip, gz, tgz, tar.gz, tar.bz2 or tar.xz archive.","errors":{"main_file":["The main file must be a zip, gz, tgz, tar.gz, tar.bz2 or tar.xz archive."]}}`)
	want(t, a.upload("POST", base, map[string]string{"version": "1.0.0", "changelog": "x"}, map[string][2]string{"main_file": {"a.zip", zipOf("a")}, "sql_file": {"x.sql", "\x00\x01bin"}}), 422,
		`{"status":false,"is_active":false,"message":"The sql file must be a plain-text .sql file.","errors":{"sql_file":["The sql file must be a plain-text .sql file."]}}`)
	want(t, a.upload("POST", "/api/internal/products/NOPE/versions", map[string]string{"version": "1.0.0"}, nil), 404,
		`{"status":false,"is_active":false,"message":"Product not found."}`)
	if got := a.storedFiles(); len(got) != 0 {
		t.Fatalf("refused uploads stored %v", got)
	}

	// Create: 201 with the docs/api/resources.md shape; larger than http.max_body_bytes, so
	// the body streams (the limit applies to every other route).
	big := zipOf(strings.Repeat("0123456789", 150_000)) // 1.5 MB
	r := a.upload("POST", base, map[string]string{
		"version": "1.0.0", "released": "2024-01-15", "summary": "First", "changelog": "<p>Hello <script>x()</script></p>",
		"version_id": "V-ONE", "version_status": "off",
	}, map[string][2]string{"main_file": {"acme-1.0.0.zip", big}, "sql_file": {"install.sql", "CREATE TABLE t (id int);"}})
	d = data(t, r, 201)
	if d["version_id"] != "V-ONE" || d["version"] != "1.0.0" || d["released_at"] != "2024-01-15T00:00:00.000000Z" || d["is_active"] != false ||
		d["main_file"] != "acme-1.0.0.zip" || d["sql_file"] != "install.sql" || d["has_sql"] != true || d["summary"] != "First" ||
		d["changelog"] != "<p>Hello </p>" || d["file_size"] != float64(len(big)) {
		t.Fatalf("%v", d)
	}
	if c := d["checksum"].(map[string]any); c["algo"] != "sha256" || c["value"] != sha(big) {
		t.Fatal(c)
	}
	if got := a.storedFiles(); !slices.Equal(got, sortedOf(sha(big), sha("CREATE TABLE t (id int);"))) {
		t.Fatalf("stored %v", got)
	}
	if acts := a.activity(1); acts[0].Message != "Product Acme CMS version 1.0.0 created via API." {
		t.Fatal(acts)
	}

	// Lower and taken versions; a version id in use.
	for ver, msg := range map[string]string{"0.9.0": "Your version is lower than latest version of product.", "1.0.0": "The version has already been taken."} {
		want(t, a.upload("POST", base, map[string]string{"version": ver}, map[string][2]string{"main_file": {"b.zip", zipOf("b")}}), 422,
			`{"status":false,"is_active":false,"message":"`+msg+`","errors":{"version":["`+msg+`"]}}`)
	}

	// A second version with delete_old_versions removes 1.0.0 and its files.
	d = data(t, a.upload("POST", base, map[string]string{"version": "1.1.0", "delete_old_versions": "yes"}, map[string][2]string{"main_file": {"b.zip", zipOf("b")}}), 201)
	vid := d["version_id"].(string)
	if len(vid) != 26 || d["is_active"] != true || d["sql_file"] != nil || d["changelog"] != nil {
		t.Fatal(d)
	}
	want(t, a.get(base+"/V-ONE"), 404, `{"status":false,"is_active":false,"message":"Product version not found."}`)
	if got := a.storedFiles(); !slices.Equal(got, []string{sha(zipOf("b"))}) {
		t.Fatalf("old version's files kept: %v", got)
	}

	// Update: JSON (PATCH) partial, then multipart POST replacing the main
	// file; the version string addresses it too.
	d = data(t, a.do("PATCH", base+"/"+vid, map[string]any{"summary": "Fixes", "is_active": false}), 200)
	if d["summary"] != "Fixes" || d["is_active"] != false || d["main_file"] != "b.zip" {
		t.Fatal(d)
	}
	d = data(t, a.upload("POST", base+"/1.1.0", map[string]string{"version": "1.1.1"}, map[string][2]string{"main_file": {"c.zip", zipOf("c")}, "sql_file": {"u.sql", "SELECT 1;"}}), 200)
	if d["version"] != "1.1.1" || d["main_file"] != "c.zip" || d["summary"] != "Fixes" || d["sql_file"] != "u.sql" {
		t.Fatal(d)
	}
	if got := a.storedFiles(); !slices.Equal(got, sortedOf(sha(zipOf("c")), sha("SELECT 1;"))) {
		t.Fatalf("replaced file kept: %v", got)
	}
	d = data(t, a.do("PUT", base+"/"+vid, map[string]any{"sql_file": nil}), 200)
	if d["sql_file"] != nil || d["has_sql"] != false {
		t.Fatal(d)
	}
	want(t, a.do("PATCH", base+"/"+vid, map[string]any{"version": "2.0"}, "Content-Type", "application/json"), 200, a.get(base+"/"+vid).Body)
	want(t, a.do("PATCH", base+"/"+vid, map[string]any{"released_at": "yesterday"}), 422,
		`{"status":false,"is_active":false,"message":"The released at field must be a valid date.","errors":{"released_at":["The released at field must be a valid date."]}}`)
	want(t, a.do("PATCH", base+"/9.9.9", map[string]any{"summary": "x"}), 404, `{"status":false,"is_active":false,"message":"Product version not found."}`)

	// Delete.
	want(t, a.do("DELETE", base+"/"+vid, nil), 200, `{"status":true,"message":"Product version deleted successfully."}`)
	want(t, a.do("DELETE", base+"/"+vid, nil), 404, `{"status":false,"is_active":false,"message":"Product version not found."}`)
	if got := a.storedFiles(); len(got) != 0 {
		t.Fatalf("deleted version's files kept: %v", got)
	}

	// Scopes.
	want(t, a.upload("POST", base, map[string]string{"version": "3.0.0"}, nil, "X-API-KEY", a.listOnly), 403,
		`{"status":false,"is_active":false,"message":"You are not allowed to access this endpoint."}`)
	want(t, a.do("DELETE", base+"/x", nil, "X-API-KEY", a.listOnly), 403,
		`{"status":false,"is_active":false,"message":"You are not allowed to access this endpoint."}`)

	// Deleting the product deletes its versions' files.
	data(t, a.upload("POST", base, map[string]string{"version": "4.0.0", "changelog": "Again"}, map[string][2]string{"main_file": {"d.zip", zipOf("d")}}), 201)
	if got := a.storedFiles(); len(got) != 1 {
		t.Fatal(got)
	}
	want(t, a.do("DELETE", "/api/internal/products/acme", nil), 200, `{"status":true,"message":"Product deleted successfully."}`)
	if got := a.storedFiles(); len(got) != 0 {
		t.Fatalf("deleted product's files kept: %v", got)
	}
}

func TestVersionUploadLimits(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *config.Config) { c.Uploads.MaxFileBytes = 2 << 20 })
	a := &api{t: t, env: env, c: env.Client(t)}
	a.full = a.key(apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeInternal})
	withProduct(t, a, nil)
	base := "/api/internal/products/acme/versions"

	// A file over uploads.max_file_bytes: 422 on the field, nothing kept.
	r := a.upload("POST", base, map[string]string{"version": "1.0.0", "changelog": "x"}, map[string][2]string{"main_file": {"a.zip", zipOf(strings.Repeat("x", 3<<20))}})
	want(t, r, 422, `{"status":false,"is_active":false,"message":"The main file may not be greater than 2097152 bytes.","errors":{"main_file":["The main file may not be greater than 2097152 bytes."]}}`)
	// A body over the upload bound (two files and the fields): 413.
	r = a.upload("POST", base, map[string]string{"version": "1.0.0"}, map[string][2]string{"main_file": {"a.zip", zipOf(strings.Repeat("x", 6<<20))}})
	want(t, r, 413, `{"status":false,"is_active":false,"message":"The request body is too large."}`)
	// Broken multipart: 400.
	req, _ := http.NewRequest("POST", base, strings.NewReader("--xx\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n1.0"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xx")
	req.Header.Set("X-API-KEY", a.full)
	want(t, a.c.Do(req), 400, `{"status":false,"is_active":false,"message":"The request body could not be read."}`)
	// Other routes keep http.max_body_bytes.
	want(t, a.do("POST", "/api/internal/products", `{"name":"`+strings.Repeat("x", 2<<20)+`"}`), 413,
		`{"status":false,"is_active":false,"message":"The request body is too large."}`)
	if got := a.storedFiles(); len(got) != 0 {
		t.Fatalf("stored %v", got)
	}
}

func sortedOf(s ...string) []string {
	sort.Strings(s)
	return s
}
