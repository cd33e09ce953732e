package internalapi_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Hostile file names in version uploads are never used as paths: the file
// is stored by its content hash, the name kept is a plain base name, and
// the download's Content-Disposition name is built from the product,
// version and a letters-and-digits extension.
func TestVersionUploadHostileFileNames(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	base := "/api/internal/products/acme/versions"
	disposition := regexp.MustCompile(`^attachment; filename=main_ACME_1\.0\.\d+\.[a-z0-9]+$`)
	for i, name := range []string{
		"../../etc/passwd", `..\..\x.zip`, "/etc/cron.d/evil.zip", `C:\Windows\evil.zip`,
		"a\x00b.zip", "..", "x.zip\r\nSet-Cookie: a=b", `x."; evil=1`,
	} {
		content := zipOf(fmt.Sprintf("file %d", i))
		ver := fmt.Sprintf("1.0.%d", i)
		r := a.upload("POST", base, map[string]string{"version": ver, "changelog": "x"}, map[string][2]string{"main_file": {name, content}})
		if r.StatusCode != 201 && r.StatusCode != 400 && r.StatusCode != 422 {
			t.Fatalf("%q: %d %s", name, r.StatusCode, r.Body)
		}
		if r.StatusCode != 201 {
			continue // refused is fine too (a NUL in a part header: 400); never a 5xx
		}
		var stored string
		if err := a.env.DB.Bun.NewRaw(`SELECT f.file_name FROM version_files f JOIN product_versions v ON v.id = f.version_id WHERE v.version = ?`, ver).
			Scan(context.Background(), &stored); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if strings.ContainsAny(stored, "/\\\x00\r\n") || stored == ".." || stored == "." {
			t.Errorf("%q kept as %q", name, stored)
		}
		if got := a.storedFiles(); !strings.Contains(strings.Join(got, ","), sha(content)) {
			t.Errorf("%q: stored files %v, want one named by its SHA-256", name, got)
		}
		d := a.do("POST", base+"/"+ver+"/download/main", nil)
		if d.StatusCode != 200 {
			t.Fatalf("%q download: %d %s", name, d.StatusCode, d.Body)
		}
		if cd := d.Header.Get("Content-Disposition"); !disposition.MatchString(cd) {
			t.Errorf("%q: Content-Disposition %q", name, cd)
		}
		if d.Header.Get("Set-Cookie") != "" {
			t.Errorf("%q: a header injected", name)
		}
	}
	for _, f := range a.storedFiles() {
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(f) {
			t.Errorf("a stored file named %q", f)
		}
	}
}
