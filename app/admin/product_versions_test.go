package admin_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/storage"
	"github.com/licensor/licensor/app/web/webtest"
)

// zipOf returns a real zip archive holding one file.
func zipOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type upload struct {
	field, name string
	body        []byte
}

// postVersion sends the version form as multipart. header true sends the
// CSRF token as the upload script does (X-CSRF-Token), false as the plain
// form does (the _csrf query parameter of its action); token "" sends none.
func postVersion(t *testing.T, c *webtest.Client, path, token string, header bool, values url.Values, files ...upload) *webtest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range values {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.body)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if token != "" && !header {
		path += "?_csrf=" + url.QueryEscape(token)
	}
	req, err := http.NewRequest(http.MethodPost, webtest.BaseURL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" && header {
		req.Header.Set("X-CSRF-Token", token)
	}
	return c.Do(req)
}

func storeOf(t *testing.T, e *servertest.Env) storage.Store {
	t.Helper()
	s, err := storage.FromConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVersionUploadListPublishDelete(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	p := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	c := e.SignIn(t)
	base := fmt.Sprintf("/admin/products/%d/versions", p.ID)
	ctx := context.Background()

	r := c.Get(base + "/new")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `enctype="multipart/form-data"`) || !strings.Contains(r.Body, "data-upload-progress") ||
		!strings.Contains(r.Body, "js/upload-progress") {
		t.Fatalf("new form: %d\n%s", r.StatusCode, r.Body)
	}
	tok := c.CSRF
	archive := zipOf(t, "acme/index.php", "<?php echo 'v1';")
	sum := sha256.Sum256(archive)
	r = postVersion(t, c, base, tok, true, url.Values{
		"version": {"1.0.0"}, "released_at": {"2026-11-01"}, "summary": {"First"},
		"changelog": {"# Hello\n\n- fixed <script>alert(1)</script> things\n\n<a href=\"javascript:alert(2)\" onclick=\"x()\">link</a>"},
		"published": {"1"},
	}, upload{"main_file", "acme-1.0.0.zip", archive}, upload{"sql_file", "update.sql", []byte("ALTER TABLE x ADD y int;\n")})
	if r.StatusCode != 303 {
		t.Fatalf("upload: %d\n%s", r.StatusCode, r.Body)
	}
	vs, err := catalog.Versions(ctx, e.DB.Bun, p.ID)
	if err != nil || len(vs) != 1 {
		t.Fatal(vs, err)
	}
	v := vs[0]
	if r.Header.Get("Location") != fmt.Sprintf("%s/%d", base, v.ID) || !v.IsActive || v.ReleasedAt.Format("2006-01-02") != "2026-11-01" {
		t.Fatalf("stored: %q %+v", r.Header.Get("Location"), v)
	}
	main := v.File(catalog.FileMain)
	if main == nil || main.SHA256 != hex.EncodeToString(sum[:]) || main.Size != int64(len(archive)) || main.FileName != "acme-1.0.0.zip" {
		t.Fatalf("main file: %+v", main)
	}
	f, err := storeOf(t, e).Open(ctx, main.StorageKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	_ = f.Close()
	if !bytes.Equal(got, archive) {
		t.Fatal("stored file differs from the upload")
	}

	// Listed on the product page with its files; the version page shows
	// the changelog rendered and inert.
	r = c.Get(fmt.Sprintf("/admin/products/%d", p.ID))
	if !strings.Contains(r.Body, ">1.0.0</a>") || !strings.Contains(r.Body, "acme-1.0.0.zip") || !strings.Contains(r.Body, "update.sql") ||
		!strings.Contains(r.Body, main.SHA256[:12]) || !strings.Contains(r.Body, base+"/new") || !strings.Contains(r.Body, "Version 1.0.0 of Acme CMS uploaded.") {
		t.Fatalf("product page:\n%s", r.Body)
	}
	r = c.Get(fmt.Sprintf("%s/%d", base, v.ID))
	if r.StatusCode != 200 || !strings.Contains(r.Body, "<h1>Hello</h1>") || !strings.Contains(r.Body, "<li>fixed  things</li>") ||
		!strings.Contains(r.Body, main.SHA256) {
		t.Fatalf("version page: %d\n%s", r.StatusCode, r.Body)
	}
	if strings.Contains(r.Body, "alert(1)</script>") || strings.Contains(r.Body, "javascript:alert") || strings.Contains(r.Body, "onclick") {
		t.Fatalf("changelog not sanitised:\n%s", r.Body)
	}

	// Bad input: 422, the message next to the field, what was typed kept.
	r = postVersion(t, c, base, c.CSRF, true, url.Values{"version": {"one.two"}, "summary": {"Kept summary"}},
		upload{"main_file", "a.zip", zipOf(t, "a", "a")})
	if r.StatusCode != 422 || !strings.Contains(r.Body, `id="version-version-error"`) || !strings.Contains(r.Body, `value="one.two"`) ||
		!strings.Contains(r.Body, `value="Kept summary"`) {
		t.Fatalf("bad version: %d\n%s", r.StatusCode, r.Body)
	}
	r = postVersion(t, c, base, c.CSRF, true, url.Values{"version": {"1.1.0"}}, upload{"main_file", "notes.txt", []byte("just text")})
	if r.StatusCode != 422 || !strings.Contains(r.Body, `<small class="field-error" id="version-main_file-error">`+catalog.MsgMainFileType) {
		t.Fatalf("non-archive: %d\n%s", r.StatusCode, r.Body)
	}
	r = postVersion(t, c, base, c.CSRF, true, url.Values{"version": {"1.0.0"}}, upload{"main_file", "b.zip", zipOf(t, "b", "b")})
	if r.StatusCode != 422 || !strings.Contains(html.UnescapeString(r.Body), "The version has already been taken.") ||
		!strings.Contains(r.Body, `id="version-version-error"`) {
		t.Fatalf("duplicate: %d\n%s", r.StatusCode, r.Body)
	}
	r = postVersion(t, c, base, c.CSRF, true, url.Values{"version": {"1.2.0"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, catalog.MsgMainRequired) {
		t.Fatalf("no file: %d\n%s", r.StatusCode, r.Body)
	}

	// The plain form (no script): the token in the _csrf field.
	archive2 := zipOf(t, "acme/index.php", "<?php echo 'v2';")
	r = postVersion(t, c, base, c.CSRF, false, url.Values{"version": {"1.1.0"}}, upload{"main_file", "acme-1.1.0.zip", archive2})
	if r.StatusCode != 303 {
		t.Fatalf("plain upload: %d\n%s", r.StatusCode, r.Body)
	}
	v2, err := catalog.GetVersion(ctx, e.DB.Bun, p.ID, "1.1.0")
	if err != nil || v2.IsActive {
		t.Fatalf("plain upload stored: %+v %v (published left unticked)", v2, err)
	}

	// Edit: metadata and a replaced main file.
	vpath := fmt.Sprintf("%s/%d", base, v2.ID)
	if r := c.Get(vpath + "/edit"); r.StatusCode != 200 || !strings.Contains(r.Body, `value="1.1.0"`) || !strings.Contains(r.Body, "acme-1.1.0.zip") {
		t.Fatalf("edit form: %d\n%s", r.StatusCode, r.Body)
	}
	archive3 := zipOf(t, "acme/index.php", "<?php echo 'v2 fixed';")
	r = postVersion(t, c, vpath+"/edit", c.CSRF, true, url.Values{"version": {"1.1.0"}, "summary": {"Fixed build"}},
		upload{"main_file", "acme-1.1.0-fixed.zip", archive3})
	if r.StatusCode != 303 {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.Body)
	}
	v2, _ = catalog.GetVersion(ctx, e.DB.Bun, p.ID, "1.1.0")
	sum3 := sha256.Sum256(archive3)
	if v2.Summary == nil || *v2.Summary != "Fixed build" || v2.File(catalog.FileMain).SHA256 != hex.EncodeToString(sum3[:]) {
		t.Fatalf("edited: %+v %+v", v2, v2.File(catalog.FileMain))
	}
	if r := postVersion(t, c, vpath+"/edit", c.CSRF, true, url.Values{"version": {"bad version"}}); r.StatusCode != 422 ||
		!strings.Contains(r.Body, `value="bad version"`) || !strings.Contains(r.Body, `id="version-version-error"`) {
		t.Fatalf("bad edit: %d\n%s", r.StatusCode, r.Body)
	}

	// Publish and unpublish.
	if r := c.PostForm(vpath+"/publish", url.Values{}); r.StatusCode != 303 {
		t.Fatalf("publish: %d", r.StatusCode)
	}
	if v2, _ = catalog.GetVersion(ctx, e.DB.Bun, p.ID, "1.1.0"); !v2.IsActive {
		t.Fatal("not published")
	}
	if r := c.Get(vpath); !strings.Contains(r.Body, "Version 1.1.0 published.") || !strings.Contains(r.Body, ">Unpublish</button>") {
		t.Fatalf("after publish:\n%s", r.Body)
	}
	if r := c.PostForm(vpath+"/unpublish", url.Values{}); r.StatusCode != 303 {
		t.Fatalf("unpublish: %d", r.StatusCode)
	}
	if v2, _ = catalog.GetVersion(ctx, e.DB.Bun, p.ID, "1.1.0"); v2.IsActive {
		t.Fatal("still published")
	}

	// Delete asks first, then removes the row and its unused file.
	if r := c.Get(fmt.Sprintf("%s/%d", base, v.ID)); !strings.Contains(r.Body, `data-confirm="Delete version 1.0.0 of Acme CMS?`) {
		t.Fatalf("delete does not ask:\n%s", r.Body)
	}
	r = c.PostForm(fmt.Sprintf("%s/%d/delete", base, v.ID), url.Values{})
	if r.StatusCode != 303 {
		t.Fatalf("delete: %d\n%s", r.StatusCode, r.Body)
	}
	if _, err := catalog.VersionByID(ctx, e.DB.Bun, p.ID, v.ID); err != catalog.ErrVersionNotFound {
		t.Fatalf("row kept: %v", err)
	}
	if _, err := storeOf(t, e).Stat(ctx, main.StorageKey); err != storage.ErrNotFound {
		t.Fatalf("file kept: %v", err)
	}
	if r := c.Get(fmt.Sprintf("%s/%d", base, v.ID)); r.StatusCode != 404 {
		t.Errorf("deleted version page: %d", r.StatusCode)
	}
	// Every change is in the activity log, by this admin.
	var types []string
	if err := e.DB.Bun.NewRaw("SELECT type FROM activity_log WHERE subject_type = 'product' AND subject_id = ? AND actor_type = 'admin' AND type LIKE 'version.%' ORDER BY id", p.ID).
		Scan(ctx, &types); err != nil {
		t.Fatal(err)
	}
	if want := "version.created version.created version.updated"; !strings.HasPrefix(strings.Join(types, " "), want) || !strings.HasSuffix(strings.Join(types, " "), "version.deleted") {
		t.Errorf("activity log: %v", types)
	}
	if r := c.Get(fmt.Sprintf("/admin/products/%d", p.ID)); !strings.Contains(r.Body, "Version 1.0.0 deleted.") || strings.Contains(r.Body, ">1.0.0</a>") {
		t.Fatalf("after delete:\n%s", r.Body)
	}
}

func TestVersionPagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	p := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	c := e.SignIn(t)
	base := fmt.Sprintf("/admin/products/%d/versions", p.ID)
	if r := postVersion(t, c, base, c.CSRF, true, url.Values{"version": {"1.0.0"}, "changelog": {"First"}, "published": {"1"}},
		upload{"main_file", "a.zip", zipOf(t, "a", "a")}); r.StatusCode != 303 {
		t.Fatalf("seed upload: %d\n%s", r.StatusCode, r.Body)
	}
	v, err := catalog.GetVersion(context.Background(), e.DB.Bun, p.ID, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	vpath := fmt.Sprintf("%s/%d", base, v.ID)

	anon := e.Client(t)
	for _, path := range []string{base + "/new", vpath, vpath + "/edit"} {
		if r := anon.Get(path); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d", path, r.StatusCode)
		}
	}
	anon.GetCSRF("/admin/login")
	for _, path := range []string{base, vpath + "/edit"} {
		if r := postVersion(t, anon, path, anon.CSRF, true, url.Values{"version": {"2.0.0"}}, upload{"main_file", "b.zip", zipOf(t, "b", "b")}); r.StatusCode != 403 {
			// Refused unread (web.BodyLimit), not sent to sign in.
			t.Errorf("anonymous upload %s: %d, want 403", path, r.StatusCode)
		}
	}
	for _, path := range []string{vpath + "/publish", vpath + "/unpublish", vpath + "/delete"} {
		if r := anon.PostForm(path, url.Values{}); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", path, r.StatusCode)
		}
	}

	for _, path := range []string{base, vpath + "/edit"} {
		if r := postVersion(t, c, path, "", true, url.Values{"version": {"2.0.0"}}, upload{"main_file", "b.zip", zipOf(t, "b", "b")}); r.StatusCode != 403 {
			t.Errorf("upload %s without token: %d, want 403", path, r.StatusCode)
		}
		if r := postVersion(t, c, path, "wrong-token", true, url.Values{"version": {"2.0.0"}}, upload{"main_file", "b.zip", zipOf(t, "b", "b")}); r.StatusCode != 403 {
			t.Errorf("upload %s with a wrong header token: %d, want 403", path, r.StatusCode)
		}
	}
	c.CSRF = ""
	for _, path := range []string{vpath + "/publish", vpath + "/unpublish", vpath + "/delete"} {
		if r := c.PostForm(path, url.Values{}); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", path, r.StatusCode)
		}
	}
	vs, err := catalog.Versions(context.Background(), e.DB.Bun, p.ID)
	if err != nil || len(vs) != 1 || vs[0].Version != "1.0.0" || !vs[0].IsActive {
		t.Errorf("versions changed: %+v %v", vs, err)
	}
}
