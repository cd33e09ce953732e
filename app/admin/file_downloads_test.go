package admin_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/signing"
)

// The license page offers the signed license file; what it downloads
// verifies with the keys of /api/external/public-keys and names the
// customer the linking rule gives the license.
func TestLicenseFileFromTheLicensePage(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := seedCustomer(t, e, "Ann Buyer", "ann@example.org", "CLIENT-ANN", true)
	seedLicense(t, e, "FILE-1111-2222", "CLIENT-ANN", "")
	l := licenseByCode(t, e, "FILE-1111-2222")
	c := e.SignIn(t)

	page := c.Get(fmt.Sprintf("/admin/licenses/%d", l.ID))
	href := fmt.Sprintf(`href="/admin/licenses/%d/file"`, l.ID)
	if page.StatusCode != 200 || !strings.Contains(page.Body, href) {
		t.Fatalf("license page has no license file link: %d", page.StatusCode)
	}
	r := c.Get(fmt.Sprintf("/admin/licenses/%d/file", l.ID))
	if r.StatusCode != 200 || r.Header.Get("Content-Disposition") != `attachment; filename="ACME_FILE-1111-2222.lic"` {
		t.Fatalf("license file: %d %q\n%s", r.StatusCode, r.Header.Get("Content-Disposition"), r.Body)
	}
	pub := e.Client(t).Get("/api/external/public-keys")
	var keys signing.PublicKeysJSON
	if err := json.Unmarshal([]byte(pub.Body), &keys); err != nil || len(keys.Data) == 0 {
		t.Fatalf("public keys: %v\n%s", err, pub.Body)
	}
	lookup := func(kid string) (ed25519.PublicKey, bool) {
		for _, k := range keys.Data {
			if k.KID == kid {
				b, err := base64.StdEncoding.DecodeString(k.PublicKey)
				return ed25519.PublicKey(b), err == nil
			}
		}
		return nil, false
	}
	lf, err := signing.VerifyLicenseFile([]byte(r.Body), lookup)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, r.Body)
	}
	if lf.LicenseCode != "FILE-1111-2222" || lf.Email == nil || *lf.Email != cu.Email || lf.ClientID == nil || *lf.ClientID != "CLIENT-ANN" {
		t.Errorf("license file names %+v", lf)
	}
	if r := c.Get("/admin/licenses/999999/file"); r.StatusCode != 404 {
		t.Errorf("unknown license's file: %d", r.StatusCode)
	}
}

// A version's page links its main and SQL files, which download whole (or
// one range) with the API's names, sized in human units.
func TestVersionFilesDownload(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	p := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	c := e.SignIn(t)
	base := fmt.Sprintf("/admin/products/%d/versions", p.ID)
	archive := zipOf(t, "acme/index.php", strings.Repeat("<?php echo 'v1';\n", 200))
	sql := "ALTER TABLE x ADD y int;\n"
	r := postVersion(t, c, base, c.CSRF, true, url.Values{"version": {"1.2.0"}, "released_at": {"2020-01-02"}, "changelog": {"- first"}, "published": {"1"}},
		upload{"main_file", "acme-1.2.0.zip", archive}, upload{"sql_file", "update.sql", []byte(sql)})
	if r.StatusCode != 303 {
		t.Fatalf("upload: %d\n%s", r.StatusCode, r.Body)
	}
	vpath := r.Header.Get("Location")
	page := c.Get(vpath)
	for _, want := range []string{`href="` + vpath + `/files/main"`, `href="` + vpath + `/files/sql"`, "(25 B)"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("version page lacks %s", want)
		}
	}
	if strings.Contains(page.Body, " bytes)") {
		t.Error("version page still counts sizes in bytes")
	}
	m := c.Get(vpath + "/files/main")
	if m.StatusCode != 200 || m.Body != string(archive) || m.Header.Get("Content-Disposition") != "attachment; filename=main_ACME_1.2.0.zip" {
		t.Fatalf("main file: %d %q (%d bytes)", m.StatusCode, m.Header.Get("Content-Disposition"), len(m.Body))
	}
	s := c.Get(vpath+"/files/sql", "Range", "bytes=0-4")
	if s.StatusCode != 206 || s.Body != sql[:5] {
		t.Errorf("sql range: %d %q", s.StatusCode, s.Body)
	}
	if n := c.Get(vpath + "/files/other"); n.StatusCode != 404 {
		t.Errorf("unknown file type: %d", n.StatusCode)
	}
	if n := countRows(t, e, "download_logs"); n != 0 {
		t.Errorf("an admin's download was logged as an update download (%d rows)", n)
	}
}
