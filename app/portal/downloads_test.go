package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/storage"
)

func TestLatestVersionDownload(t *testing.T) {
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
