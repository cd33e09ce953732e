package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/server/servertest"
)

func TestDownloadsLog(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	var pid int64
	if err := e.DB.Bun.QueryRowContext(ctx, `INSERT INTO products (name, reference_id) VALUES ('Acme CMS', 'ACME') RETURNING id`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	c := e.SignIn(t)
	if r := c.Get("/admin/downloads"); r.StatusCode != 200 || !strings.Contains(r.Body, "No downloads yet") || !strings.Contains(r.Body, `href="/admin/downloads" aria-current="page"`) {
		t.Fatalf("empty log: %d\n%s", r.StatusCode, r.Body)
	}
	for i := range 60 {
		a := downloads.Attempt{Source: downloads.SourceAPI, ProductID: pid, Version: "1.0.0", Type: "main", Domain: fmt.Sprintf("site%d.example", i), IP: "203.0.113.5", Valid: true}
		if i%3 == 0 {
			a.Valid, a.Reason, a.Version = false, "LICENSE_EXPIRED", "1.1.0"
		}
		if _, err := downloads.Record(ctx, e.DB.Bun, a); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Get("/admin/downloads?per_page=50")
	if r.StatusCode != 200 || strings.Count(r.Body, `name="ids"`) != 50 || !strings.Contains(r.Body, "LICENSE_EXPIRED") ||
		!strings.Contains(r.Body, `<a href="/admin/products/`+fmt.Sprint(pid)+`" class="truncate">Acme CMS</a>`) || !strings.Contains(r.Body, "page=2") {
		t.Fatalf("first page:\n%s", r.Body)
	}
	if r := c.Get("/admin/downloads?page=2"); strings.Count(r.Body, `name="ids"`) != 10 {
		t.Fatalf("second page has %d rows", strings.Count(r.Body, `name="ids"`))
	}
	if r := c.Get("/admin/downloads?outcome=refused&product=ACME&version=1.1.0&per_page=25"); strings.Count(r.Body, `name="ids"`) != 20 || strings.Contains(r.Body, "badge-valid") {
		t.Fatalf("refused filter: %d rows", strings.Count(r.Body, `name="ids"`))
	}
	if r := c.Get("/admin/downloads?q=site7.example", "HX-Request", "true"); strings.Count(r.Body, `name="ids"`) != 1 || strings.Contains(r.Body, "<html") {
		t.Fatalf("htmx search: %s", r.Body)
	}
	if r := c.Get("/admin/downloads?outcome=valid&version=9.9"); !strings.Contains(r.Body, "No downloads match") {
		t.Fatal("no empty-filter state")
	}

	list, _, err := downloads.List(ctx, e.DB.Bun, downloads.Filter{}, listing.Page{})
	if err != nil {
		t.Fatal(err)
	}
	r = c.PostForm("/admin/downloads/bulk-delete", url.Values{"ids": {fmt.Sprint(list[0].ID), fmt.Sprint(list[1].ID)}, "back": {"/admin/downloads?outcome=valid"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/downloads?outcome=valid" {
		t.Fatalf("delete: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, total, _ := downloads.List(ctx, e.DB.Bun, downloads.Filter{}, listing.Page{}); total != 58 {
		t.Fatalf("after delete: %d rows", total)
	}
	if r := c.Get("/admin/downloads"); !strings.Contains(r.Body, "Deleted 2 download log entries.") {
		t.Error("no flash after delete")
	}

	anon := e.Client(t)
	if r := anon.Get("/admin/downloads"); r.StatusCode != 302 {
		t.Errorf("anonymous GET: %d", r.StatusCode)
	}
	anon.GetCSRF("/admin/login")
	if r := anon.PostForm("/admin/downloads/bulk-delete", url.Values{"ids": {fmt.Sprint(list[2].ID)}}); r.StatusCode != 302 {
		t.Errorf("anonymous POST: %d", r.StatusCode)
	}
	c.CSRF = ""
	if r := c.PostForm("/admin/downloads/bulk-delete", url.Values{"ids": {fmt.Sprint(list[2].ID)}}); r.StatusCode != 403 {
		t.Errorf("POST without CSRF: %d", r.StatusCode)
	}
	if _, total, _ := downloads.List(ctx, e.DB.Bun, downloads.Filter{}, listing.Page{}); total != 58 {
		t.Fatalf("rows deleted without authorisation: %d left", total)
	}
}
