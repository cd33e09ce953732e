package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/test/eventually"
)

// postFile uploads content as the "file" field of the import form.
func postFile(t *testing.T, c *webtest.Client, kind, name string, content []byte, csrf bool) *webtest.Response {
	t.Helper()
	return postFileFrom(t, c, kind, name, bytes.NewReader(content), csrf)
}

// postFileFrom uploads what content yields as the "file" field of the
// import form, writing the multipart body while it is sent: a large
// fixture is generated as it streams instead of built in memory first.
func postFileFrom(t *testing.T, c *webtest.Client, kind, name string, content io.Reader, csrf bool) *webtest.Response {
	t.Helper()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if err := w.WriteField("kind", kind); err != nil {
				return err
			}
			fw, err := w.CreateFormFile("file", name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, content); err != nil {
				return err
			}
			return w.Close()
		}()
		_ = pw.CloseWithError(err)
	}()
	path := "/admin/imports"
	if csrf {
		// As the form's action carries it: a multipart body is not read
		// for the token.
		path += "?_csrf=" + url.QueryEscape(c.CSRF)
	}
	req, err := http.NewRequest(http.MethodPost, webtest.BaseURL+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

// repeated yields n bytes of b.
func repeated(b byte, n int) io.Reader {
	return io.LimitReader(byteReader(b), int64(n))
}

type byteReader byte

func (r byteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// customersCSV yields a customers CSV of at least size bytes, one row at a
// time.
type customersCSV struct {
	size, sent, i int
	pending       []byte
}

func (r *customersCSV) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.pending) == 0 {
			switch {
			case r.sent == 0 && r.i == 0:
				r.pending = []byte("name,email\n")
			case r.sent >= r.size:
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			default:
				r.pending = fmt.Appendf(nil, "Customer %d,customer%d@example.com\n", r.i, r.i)
			}
			r.i++
		}
		k := copy(p[n:], r.pending)
		r.pending, n, r.sent = r.pending[k:], n+k, r.sent+k
	}
	return n, nil
}

// startImportWorker runs the import job for e's database.
func startImportWorker(t *testing.T, e *servertest.Env) {
	t.Helper()
	e.StartWorkers(t, jobs.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Imports: e.Nodes[0].Imports})
}

var importPath = regexp.MustCompile(`^/admin/imports/(\d+)$`)

func TestImportConsoleFlow(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	startImportWorker(t, e)
	c := e.SignIn(t)
	page := c.Get("/admin/imports")
	for _, want := range []string{`name="file"`, `id="import-file"`, `<label for="import-file">`, ">Preview</button>",
		`href="/admin/imports/examples/customers/csv"`, `href="/admin/imports/examples/licenses/jsonl"`} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("import page lacks %s", want)
		}
	}
	if r := c.Get("/admin/imports/examples/customers/csv"); r.StatusCode != 200 || !strings.HasPrefix(r.Body, "name,email,client_id") ||
		!strings.Contains(r.Header.Get("Content-Disposition"), "customers-example.csv") {
		t.Fatalf("example: %d %q", r.StatusCode, r.Body)
	}

	file := "name,email\nAda Lovelace,ada@example.com\nBad Row,not-an-email\nBob Builder,bob@example.com\n"
	r := postFile(t, c, "customers", "people.csv", []byte(file), true)
	m := importPath.FindStringSubmatch(r.Header.Get("Location"))
	if r.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	preview := c.Get(m[0])
	for _, want := range []string{"<td>3</td><td><code>email</code></td><td>The email field must be a valid email address.</td>",
		">Import good rows</button>", ">Import nothing</button>", `id="import-bad">1<`, "ada@example.com"} {
		if !strings.Contains(preview.Body, want) {
			t.Fatalf("preview lacks %s:\n%s", want, preview.Body)
		}
	}
	if r := c.PostForm(m[0]+"/start", map[string][]string{"mode": {"all"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("all or nothing: %d", r.StatusCode)
	}
	if r := c.Get(m[0]); !strings.Contains(r.Body, "Nothing was imported: the file has 1 bad row") {
		t.Fatalf("all or nothing not refused:\n%s", r.Body)
	}
	if r := c.PostForm(m[0]+"/start", map[string][]string{"mode": {"good"}, "on_duplicate": {"skip"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", r.StatusCode)
	}
	var progress *webtest.Response
	eventually.Within(15*time.Second, func() bool {
		progress = c.Get(m[0], "HX-Request", "true")
		return strings.Contains(progress.Body, `id="import-report"`)
	})
	if !strings.Contains(progress.Body, "Done: 2 inserted, 0 updated, 1 skipped.") || strings.Contains(progress.Body, "hx-trigger") ||
		strings.Contains(progress.Body, "<html") {
		t.Fatalf("final report fragment:\n%s", progress.Body)
	}
	if _, err := customers.ByEmail(context.Background(), e.DB.Bun, "bob@example.com"); err != nil {
		t.Fatal("good row missing:", err)
	}
	if _, err := customers.ByEmail(context.Background(), e.DB.Bun, "not-an-email"); err == nil {
		t.Fatal("bad row imported")
	}
	if r := c.Get("/admin/imports"); !strings.Contains(r.Body, "people.csv") {
		t.Fatal("recent imports lack the file")
	}
}

func TestImportUploadRefusesBadFiles(t *testing.T) {
	t.Parallel()
	// http.max_body_bytes far below its default, so a file three times
	// over it is a few thousand rows, not the 75,000 a 3 MB file would be:
	// what is shown is that the import route has a limit of its own.
	// The import limit is small too: a file just over it is quick to send
	// even under -race on a busy machine.
	const maxBody, maxImport = 128 << 10, 1 << 20
	e := servertest.New(t, func(c *config.Config) {
		c.HTTP.MaxBodyBytes = maxBody
		c.Uploads.MaxImportBytes = maxImport
	})
	c := e.SignIn(t)
	c.GetCSRF("/admin/imports")
	for name, content := range map[string]func() io.Reader{
		"binary.csv": func() io.Reader { return bytes.NewReader([]byte{0x50, 0x4b, 0x03, 0x04, 0x00, 0xff}) },
		"notes.txt":  func() io.Reader { return strings.NewReader("name,email\n") },
		"big.csv":    func() io.Reader { return repeated('a', maxImport+10) },
	} {
		r := postFileFrom(t, c, "customers", name, content(), true)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="import-file-error"`) {
			t.Errorf("%s: %d\n%.2000s", name, r.StatusCode, r.Body)
		}
	}
	// A file far over http.max_body_bytes but within the import limit is
	// taken.
	many := &customersCSV{size: 3 * maxBody}
	if r := postFileFrom(t, c, "customers", "many.csv", many, true); r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusFound {
		t.Errorf("a CSV of %d bytes: %d\n%.500s", many.sent, r.StatusCode, r.Body)
	}
	var rows int
	if err := e.DB.Bun.NewRaw("SELECT total_rows FROM imports WHERE filename = 'many.csv'").Scan(context.Background(), &rows); err != nil || rows != many.i-1 {
		t.Errorf("many.csv stored with %d rows (%v), want the %d sent", rows, err, many.i-1)
	}
}

func TestImportAndExportNeedAnAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	anon := e.Client(t)
	for _, path := range []string{"/admin/imports", "/admin/imports/1", "/admin/customers/export?format=csv", "/admin/licenses/export?format=jsonl", "/admin/imports/examples/customers/csv"} {
		if r := anon.Get(path); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("anonymous GET %s: %d", path, r.StatusCode)
		}
	}
	anon.GetCSRF("/admin/login")
	if r := postFile(t, anon, "customers", "a.csv", []byte("name,email\nAda Lovelace,ada@example.com\n"), true); r.StatusCode != http.StatusForbidden {
		// Refused unread (web.BodyLimit), not sent to sign in.
		t.Errorf("anonymous upload: %d, want 403", r.StatusCode)
	}
	c := e.SignIn(t)
	c.GetCSRF("/admin/imports")
	if r := postFile(t, c, "customers", "a.csv", []byte("name,email\nAda Lovelace,ada@example.com\n"), false); r.StatusCode != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d", r.StatusCode)
	}
	r := postFile(t, c, "customers", "a.csv", []byte("name,email\nAda Lovelace,ada@example.com\n"), true)
	m := importPath.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("upload: %d", r.StatusCode)
	}
	for _, action := range []string{"/start", "/cancel"} {
		if r := c.PostForm(m[0]+action, map[string][]string{"_csrf": {"wrong"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s without CSRF: %d", action, r.StatusCode)
		}
	}
	if r := c.PostForm(m[0]+"/cancel", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.StatusCode)
	}
	if r := c.Get(m[0]); !strings.Contains(r.Body, "Nothing imported") {
		t.Fatal("cancelled import not shown as such")
	}
	if _, err := customers.ByEmail(context.Background(), e.DB.Bun, "ada@example.com"); err == nil {
		t.Fatal("cancelled import wrote a row")
	}
}

func TestExportHonoursTheListFilters(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	cs := customers.NewService(nil, customers.Hooks{})
	for _, p := range []customers.CreateParams{{Name: "Ada Lovelace", Email: "ada@example.com"}, {Name: "Bob Builder", Email: "bob@example.com"}} {
		if _, err := cs.Create(ctx, e.DB.Bun, system, settings.Defaults(), p); err != nil {
			t.Fatal(err)
		}
	}
	c := e.SignIn(t)
	list := c.Get("/admin/customers?q=bob")
	if !strings.Contains(list.Body, `href="/admin/customers/export?format=csv&amp;q=bob"`) {
		t.Fatalf("list lacks a filtered export link:\n%s", list.Body)
	}
	r := c.Get("/admin/customers/export?format=csv&q=bob")
	// One charset (the issue 15 probe saw "charset=utf-8" twice).
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(r.Body, "bob@example.com") || strings.Contains(r.Body, "ada@example.com") {
		t.Fatalf("filtered export: %d %s\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
	}
	r = c.Get("/admin/customers/export?format=jsonl")
	if strings.Count(r.Body, "\n") != 2 || !strings.Contains(r.Body, `"email":"ada@example.com"`) {
		t.Fatalf("jsonl export:\n%s", r.Body)
	}
	if r := c.Get("/admin/licenses/export?format=jsonl&status=blocked"); r.StatusCode != 200 || r.Body != "" {
		t.Fatalf("license export: %d %q", r.StatusCode, r.Body)
	}
	if r := c.Get("/admin/licenses?status=blocked"); !strings.Contains(r.Body, `href="/admin/licenses/export?format=csv&amp;status=blocked" hx-boost="false" download`) {
		t.Fatal("license list lacks export links")
	}
	if r := c.Get("/admin/customers/export?format=xml"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown format: %d", r.StatusCode)
	}
}

// An .xlsx workbook through the console's import flow and the real
// import-xlsx plugin: the preview lists the bad row by its line, and the
// good rows are imported.
func TestImportXLSXThroughTheConsole(t *testing.T) {
	t.Parallel()
	e := pluginEnv(t)
	ctx := context.Background()
	plugins := e.Nodes[0].Plugins
	if err := plugins.SetEnabled(ctx, "import-xlsx", true, system); err != nil {
		t.Fatal(err)
	}
	// The import job reads the file again through the plugin.
	worker, err := jobs.NewClient(e.DB.Pool, jobs.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Imports: e.Nodes[0].Imports},
		jobs.Options{FetchPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = worker.Stop(stop)
	})

	book := excelize.NewFile()
	for i, row := range [][]any{
		{"Name", "E-mail"},
		{"Ada Lovelace", "ada@example.com"},
		{"Bad Row", "not-an-email"},
		{"Bob Builder", "bob@example.com"},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := book.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var content bytes.Buffer
	if err := book.Write(&content); err != nil {
		t.Fatal(err)
	}
	_ = book.Close()

	c := e.SignIn(t)
	c.GetCSRF("/admin/imports")
	r := postFile(t, c, "customers", "people.xlsx", content.Bytes(), true)
	m := importPath.FindStringSubmatch(r.Header.Get("Location"))
	if r.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	preview := c.Get(m[0])
	for _, want := range []string{"<td>3</td><td><code>email</code></td><td>The email field must be a valid email address.</td>",
		`id="import-bad">1<`, "ada@example.com", "people.xlsx"} {
		if !strings.Contains(preview.Body, want) {
			t.Fatalf("preview lacks %s:\n%s", want, preview.Body)
		}
	}
	if r := c.PostForm(m[0]+"/start", url.Values{"mode": {"good"}, "on_duplicate": {"skip"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", r.StatusCode)
	}
	var progress *webtest.Response
	eventually.Within(30*time.Second, func() bool {
		progress = c.Get(m[0], "HX-Request", "true")
		return strings.Contains(progress.Body, `id="import-report"`)
	})
	if !strings.Contains(progress.Body, "Done: 2 inserted, 0 updated, 1 skipped.") {
		t.Fatalf("final report:\n%s", progress.Body)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if _, err := customers.ByEmail(ctx, e.DB.Bun, email); err != nil {
			t.Fatalf("%s not imported: %v", email, err)
		}
	}
	if _, err := customers.ByEmail(ctx, e.DB.Bun, "not-an-email"); err == nil {
		t.Fatal("bad row imported")
	}
}
