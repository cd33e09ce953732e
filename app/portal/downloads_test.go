package portal_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/storage"
)

func TestLatestVersionDownload(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	c := mustSignIn(t, s.e, "cora@example.com")
	page := fmt.Sprintf("/customer/product-licenses/%d", s.coraLic.ID)
	latest := page + "/latest"

	// No version yet: a note, and the download refused.
	if r := c.Get(page); r.StatusCode != 200 || !strings.Contains(r.Body, "No version of this product is available for download yet.") ||
		strings.Contains(r.Body, `id="download-latest"`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	if r := c.Get(latest); r.StatusCode != 403 {
		t.Fatal(r.StatusCode)
	}

	// Two published versions and a newer unpublished one: the newest
	// published is offered.
	store, err := storage.NewDisk(filepath.Join(s.e.Config.DataDir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := s.e.Nodes[0].Settings.Get(ctx)
	vs := catalog.NewVersionService(s.e.DB.Bun, store, 1<<20, nil)
	by := audit.Source{Actor: audit.System}
	content := "PK\x03\x04" + strings.Repeat("widget", 5000)
	for _, v := range []struct{ version, body string }{{"1.0.0", "PK\x03\x04old"}, {"1.1.0", content}, {"2.0.0-beta", "PK\x03\x04beta"}} {
		in := catalog.VersionInput{Version: fields.Some(v.version), Changelog: fields.Some(ptr("x")), Summary: fields.Some(ptr("Faster")),
			MainFile: &catalog.Upload{Name: "widget-" + v.version + ".zip", Body: strings.NewReader(v.body)}}
		if v.version == "2.0.0-beta" {
			in.IsActive = fields.Some(false)
		}
		if _, err := vs.CreateVersion(ctx, by, set, s.product, in); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Get(page)
	if !strings.Contains(r.Body, `href="`+latest+`"`) || !strings.Contains(r.Body, "widget-1.1.0.zip") || strings.Contains(r.Body, "download-refused") {
		t.Fatalf("download offered: %s", r.Body)
	}
	r = c.Get(latest)
	if r.StatusCode != 200 || !bytes.Equal([]byte(r.Body), []byte(content)) {
		t.Fatalf("download: %d, %d bytes", r.StatusCode, len(r.Body))
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="widget-1.1.0.zip"` {
		t.Fatal(cd)
	}
	if n := countRows(t, s.e, `SELECT count(*) FROM download_logs WHERE source = 'portal' AND is_valid AND version = '1.1.0' AND license_id = ?`, s.coraLic.ID); n != 1 {
		t.Fatal("download not logged", n)
	}

	// Another customer's license, and anonymous callers, get nothing.
	other := fmt.Sprintf("/customer/product-licenses/%d/latest", s.ottoLic.ID)
	if r := c.Get(other); r.StatusCode != 404 {
		t.Fatal("another customer's license:", r.StatusCode)
	}
	if r := s.e.Client(t).Get(latest); r.StatusCode != 302 && r.StatusCode != 303 {
		t.Fatal("anonymous:", r.StatusCode)
	}

	// Updates period ended, then blocked: refused with the reason.
	if _, err := s.e.DB.Bun.ExecContext(ctx, `UPDATE licenses SET updates_until = '2020-01-01' WHERE id = ?`, s.coraLic.ID); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(page); !strings.Contains(r.Body, "The updates period of this license ended on 2020-01-01") || strings.Contains(r.Body, `id="download-latest"`) {
		t.Fatal(r.Body)
	}
	if r := c.Get(latest); r.StatusCode != 403 {
		t.Fatal("updates expired:", r.StatusCode)
	}
	if _, err := s.e.DB.Bun.ExecContext(ctx, `UPDATE licenses SET updates_until = NULL, is_valid = false WHERE id = ?`, s.coraLic.ID); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(page); !strings.Contains(r.Body, "This license is blocked") {
		t.Fatal(r.Body)
	}
	if r := c.Get(latest); r.StatusCode != 403 {
		t.Fatal("blocked:", r.StatusCode)
	}
}

func ptr(s string) *string { return &s }

// TestLatestVersionDownloadRange: the portal download honours one Range
// as the API's downloads do (filesend): a full download, a range, a
// download resumed from where it stopped whose two parts make the file
// (by SHA-256), and 416 past the end; only the request from byte 0 is
// logged.
func TestLatestVersionDownloadRange(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	c := mustSignIn(t, s.e, "cora@example.com")
	latest := fmt.Sprintf("/customer/product-licenses/%d/latest", s.coraLic.ID)
	store, err := storage.NewDisk(filepath.Join(s.e.Config.DataDir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := s.e.Nodes[0].Settings.Get(ctx)
	vs := catalog.NewVersionService(s.e.DB.Bun, store, 8<<20, nil)
	// Several send chunks (256 KiB) and not a multiple of them.
	var b strings.Builder
	b.WriteString("PK\x03\x04")
	for i := 0; b.Len() < 700_000; i++ {
		fmt.Fprintf(&b, "line %d of the widget release\n", i)
	}
	content := b.String()
	sum := sha256.Sum256([]byte(content))
	_, err = vs.CreateVersion(ctx, audit.Source{Actor: audit.System}, set, s.product, catalog.VersionInput{
		Version: fields.Some("1.0.0"), Changelog: fields.Some(ptr("x")),
		MainFile: &catalog.Upload{Name: "widget-1.0.0.zip", Body: strings.NewReader(content)},
	})
	if err != nil {
		t.Fatal(err)
	}
	size := len(content)

	r := c.Get(latest)
	if r.StatusCode != 200 || r.Body != content || r.Header.Get("Accept-Ranges") != "bytes" || r.Header.Get("Content-Length") != strconv.Itoa(size) {
		t.Fatalf("full: %d, %d bytes, %v", r.StatusCode, len(r.Body), r.Header)
	}
	r = c.Get(latest, "Range", "bytes=300000-300099")
	if r.StatusCode != 206 || r.Body != content[300000:300100] || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 300000-300099/%d", size) {
		t.Fatalf("range: %d %q %v", r.StatusCode, r.Body, r.Header)
	}
	r = c.Get(latest, "Range", "bytes=-10")
	if r.StatusCode != 206 || r.Body != content[size-10:] {
		t.Fatalf("suffix range: %d %q", r.StatusCode, r.Body)
	}

	// A download cut after 123,457 bytes, then resumed.
	first := c.Get(latest, "Range", "bytes=0-123456")
	rest := c.Get(latest, "Range", "bytes=123457-")
	if first.StatusCode != 206 || rest.StatusCode != 206 || rest.Header.Get("Content-Range") != fmt.Sprintf("bytes 123457-%d/%d", size-1, size) {
		t.Fatalf("resume: %d %d %v", first.StatusCode, rest.StatusCode, rest.Header)
	}
	if got := sha256.Sum256([]byte(first.Body + rest.Body)); got != sum {
		t.Fatalf("resumed download: %d + %d bytes, SHA-256 differs", len(first.Body), len(rest.Body))
	}

	r = c.Get(latest, "Range", fmt.Sprintf("bytes=%d-", size))
	if r.StatusCode != 416 || r.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) || r.Body != "" {
		t.Fatalf("unsatisfiable: %d %v %q", r.StatusCode, r.Header, r.Body)
	}
	// The full download and the first part of the resumed one.
	if n := countRows(t, s.e, `SELECT count(*) FROM download_logs WHERE source = 'portal' AND license_id = ?`, s.coraLic.ID); n != 2 {
		t.Fatal("logged downloads:", n)
	}
}
