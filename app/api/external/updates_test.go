package external_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
)

// release is a stored version of the test product.
type release struct {
	id        int64
	versionID string
	main, sql []byte
}

// addVersion stores a version with a main file (and a SQL file when
// withSQL) of product p, released at released, published when active.
func (a *apiEnv) addVersion(p *catalog.Product, version string, released time.Time, active, withSQL bool) release {
	a.t.Helper()
	ctx := context.Background()
	store, err := storage.NewDisk(filepath.Join(a.Config.DataDir, "files"))
	if err != nil {
		a.t.Fatal(err)
	}
	rel := release{versionID: "VID-" + strings.ToUpper(strings.NewReplacer(".", "-").Replace(p.ReferenceID+"-"+version)), main: make([]byte, 5000)}
	_, _ = rand.Read(rel.main)
	err = a.DB.Bun.QueryRowContext(ctx, `INSERT INTO product_versions (product_id, version_id, version, released_at, is_active, summary, changelog)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.ID, rel.versionID, version, released, active, "Fixes in "+version, "<p>"+version+"</p>").Scan(&rel.id)
	if err != nil {
		a.t.Fatal(err)
	}
	put := func(typ, name string, body []byte) {
		obj, err := store.Put(ctx, bytes.NewReader(body))
		if err != nil {
			a.t.Fatal(err)
		}
		a.exec(`INSERT INTO version_files (version_id, type, file_name, storage_key, sha256, size) VALUES (?, ?, ?, ?, ?, ?)`,
			rel.id, typ, name, obj.Key, obj.SHA256, obj.Size)
	}
	put("main", "acme-"+version+".zip", rel.main)
	if withSQL {
		rel.sql = []byte("CREATE TABLE upgrade_" + strings.ReplaceAll(version, ".", "_") + " (id int);\n")
		put("sql", "upgrade.sql", rel.sql)
	}
	return rel
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// setProduct changes a product's update flags (before any request reads it).
func (a *apiEnv) setProduct(p *catalog.Product, licenseUpdate, serveLatest bool) {
	a.t.Helper()
	_, err := catalog.NewService(nil).UpdateProduct(context.Background(), a.DB.Bun, admin, p.ID, catalog.ProductInput{
		LicenseUpdate: fields.Some(licenseUpdate), ServeLatestUpdates: fields.Some(serveLatest),
	})
	if err != nil {
		a.t.Fatal(err)
	}
}

var day = time.Date(2024, 1, 15, 20, 0, 0, 0, time.UTC)

// Version ordering edge cases of update/check
// (docs/api/external.md#update-check, docs/api/version-comparison.md) on both
// path sets: newest or next by serve_latest_updates, pre-releases, a leading v,
// unequal lengths, unpublished versions skipped, and ties broken by the later
// release.
func TestUpdateCheckOrdering(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	b := a.newProduct("STEP", "Step CMS")
	a.setProduct(b, false, false)
	for _, p := range []*catalog.Product{a.product, b} {
		a.addVersion(p, "1.0", day, true, false)
		a.addVersion(p, "1.0.1", day, true, false)
		a.addVersion(p, "1.1.0-beta", day, true, false)
		a.addVersion(p, "1.1.0", day, true, false)
		a.addVersion(p, "1.9.0", day, true, false)
		a.addVersion(p, "1.10.0", day, true, false)
		a.addVersion(p, "v1.10.0", day.Add(time.Hour), true, false) // equal to 1.10.0, released later
		a.addVersion(p, "2.0.0", day, false, false)                 // unpublished
	}
	cases := []struct {
		product        *catalog.Product
		current, offer string // offer "" means no update
	}{
		{a.product, "0.0.0", "v1.10.0"},
		{a.product, "1.9.9", "v1.10.0"},
		{a.product, "1.10.0", ""},
		{a.product, "V1.10.0", ""},
		{a.product, "1.10.0-rc1", "v1.10.0"},
		{a.product, "1.10.0pl1", ""},
		{a.product, "3.0", ""},
		{b, "0.0.0", "1.0"},
		{b, "1.0", "1.0.1"},
		{b, "1.0.0", "1.0.1"}, // 1.0.0 > 1.0
		{b, "1.0.1", "1.1.0-beta"},
		{b, "1.1.0-alpha", "1.1.0-beta"},
		{b, "1.1.0-beta", "1.1.0"},
		{b, "1.1.0", "1.9.0"},
		{b, "1.9.0", "v1.10.0"},
		{b, "1.10.0", ""},
	}
	for _, p := range bothPaths {
		path := map[string]string{"modern": "/api/external/update/check", "legacy": "/api/check_update"}[p.name]
		for _, tc := range cases {
			r := a.call(p, path, map[string]any{"product_id": tc.product.ReferenceID, "current_version": tc.current}, "")
			if tc.offer == "" {
				// LicenseBox-era clients read version and release_date
				// whenever status is true: "no update" is status false there.
				want := `{"status":true,"is_active":true,"message":"You are using the latest version.","update_available":false,"version":null}`
				if p.name == "legacy" {
					want = `{"status":false,"is_active":false,"message":"You have the latest version of ` + tc.product.Name + `.","update_available":false,"version":null}`
				}
				if r.StatusCode != 200 || r.Body != want {
					t.Errorf("%s %s at %s: %s; want no update", p.name, tc.product.ReferenceID, tc.current, r.Body)
				}
				continue
			}
			if r.StatusCode != 200 || r.JSON["status"] != true || r.JSON["update_available"] != true || r.str("version") != tc.offer {
				t.Errorf("%s %s at %s: offered %q; want %q", p.name, tc.product.ReferenceID, tc.current, r.str("version"), tc.offer)
			}
		}
	}
}

// The full update/check and latest answers, dates in the configured time
// zone, and the failures.
func TestUpdateCheckAndLatestBodies(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.SetSettings(t, map[string]string{"timezone": "Asia/Tokyo"}) // 20:00 UTC is the next day there
	rel := a.addVersion(a.product, "1.2.0", day, true, true)
	r := a.call(modern, "/api/external/update/check", map[string]any{"product_id": "acme", "current_version": "1.1"}, "")
	want := fmt.Sprintf(`{"status":true,"is_active":true,"message":"A new update is available.","update_available":true,"version":"1.2.0",`+
		`"release_date":"2024-01-16","released_at":"2024-01-16","summary":"Fixes in 1.2.0","changelog":"<p>1.2.0</p>",`+
		`"update_id":"%s","has_sql":true,"file_size":5000,"checksum":{"algo":"sha256","value":"%s"}}`, rel.versionID, sha(rel.main))
	expect(t, r, 200, want)

	for _, p := range bothPaths {
		path := map[string]string{"modern": "/api/external/update/latest", "legacy": "/api/latest_version"}[p.name]
		r = a.call(p, path, map[string]any{"product_id": "ACME"}, "")
		want = fmt.Sprintf(`{"status":true,"is_active":true,"message":"Latest version found.","product_name":"Acme CMS","latest_version":"1.2.0",`+
			`"release_date":"2024-01-16","summary":"Fixes in 1.2.0","data":{"id":"%[1]s","update_id":"%[1]s","version_id":"%[1]s","product_id":"ACME",`+
			`"version":"1.2.0","released_at":"2024-01-16","release_date":"2024-01-16","summary":"Fixes in 1.2.0","changelog":"<p>1.2.0</p>",`+
			`"has_sql":true,"file_size":5000,"checksum":{"algo":"sha256","value":"%[2]s"}}}`, rel.versionID, sha(rel.main))
		expect(t, r, 200, want)
	}

	expect(t, a.call(modern, "/api/external/update/check", map[string]any{"product_id": "NOPE", "current_version": "1.0"}, ""), 200,
		`{"status":false,"is_active":false,"message":"Product not found.","update_available":false,"version":null}`)
	expect(t, a.call(modern, "/api/external/update/latest", map[string]any{"product_id": "NOPE"}, ""), 404,
		`{"status":false,"is_active":false,"message":"Product not found."}`)
	empty := a.newProduct("EMPTY", "Empty")
	expect(t, a.call(modern, "/api/external/update/latest", map[string]any{"product_id": empty.ReferenceID}, ""), 404,
		`{"status":false,"is_active":false,"message":"Latest version not found."}`)
	r = a.call(modern, "/api/external/update/check", map[string]any{"product_id": "ACME"}, "")
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The current version field is required.") {
		t.Fatalf("missing current_version: %d %s", r.StatusCode, r.Body)
	}
	r = a.call(modern, "/api/external/update/check", map[string]any{"product_id": "ACME", "current_version": strings.Repeat("1", 51)}, "")
	if r.StatusCode != 422 {
		t.Fatalf("long current_version: %d %s", r.StatusCode, r.Body)
	}
}

// A release signed offline with a trusted key: with release integrity on,
// update/check and latest return the signature, which verifies over the
// manifest with the published key; revoking the key drops it.
func TestUpdateAnswersCarryTrustedSignature(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	rel := a.addVersion(a.product, "1.2.0", day, true, false)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := releasekeys.Add(context.Background(), a.DB.Bun, admin, "Vendor", base64.StdEncoding.EncodeToString(pub), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sig := signing.SignRelease(priv, signing.Manifest{Product: "ACME", Version: "1.2.0", SHA256: sha(rel.main), Size: int64(len(rel.main))})
	if err := releasekeys.Save(context.Background(), a.DB.Bun, rel.id, sig); err != nil {
		t.Fatal(err)
	}
	check := func() map[string]any {
		r := a.call(modern, "/api/external/update/check", map[string]any{"product_id": "ACME", "current_version": "1.0"}, "")
		s, _ := r.JSON["signature"].(map[string]any)
		l := a.call(modern, "/api/external/update/latest", map[string]any{"product_id": "ACME"}, "")
		data, _ := l.JSON["data"].(map[string]any)
		if ls, _ := data["signature"].(map[string]any); fmt.Sprint(ls) != fmt.Sprint(s) {
			t.Fatalf("latest signature %v, check %v", ls, s)
		}
		return s
	}
	if s := check(); s != nil {
		t.Fatalf("signature with release integrity off: %v", s)
	}
	a.SetSettings(t, map[string]string{"update_integrity_enabled": "true"})
	s := check()
	if s == nil || s["algo"] != "ed25519" || s["key_id"] != signing.KeyID(pub) || s["manifest"] != sig.Manifest {
		t.Fatalf("signature = %v", s)
	}
	raw, _ := base64.StdEncoding.DecodeString(s["value"].(string))
	if !ed25519.Verify(pub, []byte(s["manifest"].(string)), raw) {
		t.Fatal("the returned signature does not verify with the trusted key")
	}
	if !strings.Contains(s["manifest"].(string), "sha256="+sha(rel.main)) {
		t.Fatal("the manifest does not describe the served file")
	}
	if _, err := releasekeys.Revoke(context.Background(), a.DB.Bun, admin, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := check(); s != nil {
		t.Fatalf("signature of a revoked key still returned: %v", s)
	}
}

// download posts to the modern download path with the key and caller URL.
func (a *apiEnv) download(versionID, typ, callerURL string, body map[string]any, headers ...string) resp {
	a.t.Helper()
	h := []string{"X-API-KEY", a.key}
	if callerURL != "" {
		h = append(h, "X-API-URL", callerURL)
	}
	if body == nil {
		body = map[string]any{}
	}
	return a.do(a.App, req{path: "/api/external/update/" + versionID + "/download/" + typ, headers: append(h, headers...), json: body})
}

type downloadLog struct {
	Valid  bool    `bun:"is_valid"`
	Reason *string `bun:"reason"`
	Source string  `bun:"source"`
	Code   *string `bun:"license_code"`
}

func (a *apiEnv) downloadLogs() []downloadLog {
	a.t.Helper()
	var out []downloadLog
	if err := a.DB.Bun.NewSelect().TableExpr("download_logs").Column("is_valid", "reason", "source", "license_code").Order("id").Scan(context.Background(), &out); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// Every failure of the download license check (docs/api/external.md#download step 5) is an
// empty 401, logged with its reason and in the activity log.
func TestDownloadLicenseCheckFailures(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.setProduct(a.product, true, true)
	other := a.newProduct("OTHER", "Other")
	rel := a.addVersion(a.product, "1.2.0", day, true, false)
	past, future := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	ring := a.Nodes[0].Signing

	a.license(nil, "GOOD", parallel(5))
	a.license(nil, "CUST", customer("CUST-1"))
	a.exec(`INSERT INTO customers (name, email, client_id) VALUES ('Cust One', 'cust@example.com', 'CUST-1')`)
	a.license(nil, "BLOCKED")
	a.exec(`UPDATE licenses SET is_valid = false WHERE license_code = 'BLOCKED'`)
	a.license(nil, "EXPIRED", func(in *licensing.LicenseInput) { in.ExpiresAt = fields.Some(&future) })
	a.exec(`UPDATE licenses SET expires_at = ? WHERE license_code = 'EXPIRED'`, past)
	a.license(nil, "NOUPDATES", func(in *licensing.LicenseInput) { in.UpdatesUntil = fields.Some(&past) })
	a.license(nil, "DOMAINS", domains("allowed.example"))
	a.license(nil, "IPS", ips("10.9.9.9"))
	a.license(nil, "BADCODE")
	a.license(nil, "BADBUYER", customer("Evil Buyer"))
	a.license(other, "OTHERS")
	a.SetSettings(t, map[string]string{"blacklisted_license_codes": "BADCODE", "blacklisted_buyer_names": "evil*"})

	token := a.activate(modern, "GOOD", "https://shop.example.com")
	stale := a.activate(modern, "GOOD", "https://old.example.com")
	staleID := a.findActivationID("old.example.com")
	a.exec(`UPDATE activations SET is_active = false WHERE id = ?`, staleID)
	forged := token[:len(token)-4] + "AAAA"
	otherProduct, _ := ring.IssueToken(staleID, "OTHER", time.Now())
	missing, _ := ring.IssueToken(999999, "ACME", time.Now())

	cases := []struct {
		name, url string
		body      map[string]any
		reason    string
	}{
		{"nothing sent", "", nil, licensing.DownloadNoLicense},
		{"forged token", "https://shop.example.com", map[string]any{"license_data": forged}, licensing.DownloadTokenInvalid},
		{"token of another product", "https://old.example.com", map[string]any{"license_data": otherProduct}, licensing.DownloadTokenInvalid},
		{"unknown activation", "https://shop.example.com", map[string]any{"license_data": missing}, licensing.DownloadActivationInvalid},
		{"deactivated activation", "https://old.example.com", map[string]any{"license_file": stale}, licensing.DownloadActivationInactive},
		{"other host", "https://elsewhere.example.com", map[string]any{"license_data": token}, licensing.DownloadHostMismatch},
		{"unknown code", "", map[string]any{"license_code": "NOPE"}, licensing.DownloadLicenseInvalid},
		{"code of another product", "", map[string]any{"license_code": "OTHERS"}, licensing.DownloadLicenseInvalid},
		{"customer's code without client name", "", map[string]any{"license_code": "CUST"}, licensing.DownloadLicenseInvalid},
		{"customer's code, wrong client", "", map[string]any{"license_code": "CUST", "client_name": "someone"}, licensing.DownloadLicenseInvalid},
		{"blocked", "", map[string]any{"license_code": "BLOCKED"}, licensing.DownloadBlocked},
		{"expired", "", map[string]any{"license_code": "EXPIRED"}, licensing.DownloadExpired},
		{"updates period over", "", map[string]any{"license_code": "NOUPDATES"}, licensing.DownloadUpdatesExpired},
		{"domain not licensed", "https://shop.example.com", map[string]any{"license_code": "DOMAINS"}, licensing.DownloadDomainNotAllowed},
		{"IP not licensed", "", map[string]any{"license_code": "IPS"}, licensing.DownloadIPNotAllowed},
		{"code blacklisted", "", map[string]any{"license_code": "BADCODE"}, licensing.DownloadCodeBlacklisted},
		{"buyer blacklisted", "", map[string]any{"license_code": "BADBUYER", "client_name": "Evil Buyer"}, licensing.DownloadBuyerBlacklisted},
	}
	for i, tc := range cases {
		r := a.download(rel.versionID, "main", tc.url, tc.body)
		if r.StatusCode != 401 || r.Body != "" {
			t.Errorf("%s: %d %q; want an empty 401", tc.name, r.StatusCode, r.Body)
			continue
		}
		logs := a.downloadLogs()
		if len(logs) != i+1 || logs[i].Valid || logs[i].Reason == nil || *logs[i].Reason != tc.reason {
			t.Errorf("%s: log %+v; want reason %s", tc.name, logs[len(logs)-1], tc.reason)
		}
	}
	var blocked int
	_ = a.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE message = ?`,
		"Product Acme CMS 1.2.0 update download attempt from URL https://shop.example.com was blocked as provided license was found to be invalid.").Scan(context.Background(), &blocked)
	if blocked != 3 { // forged token, unknown activation, domain not licensed
		t.Errorf("activity lines for shop.example.com: %d, want 3", blocked)
	}

	// With the setting off, refused attempts are not logged (the activity
	// line still is).
	a.SetSettings(t, map[string]string{"add_entries_for_failed_update_download_attempts": "false"})
	before := len(a.downloadLogs())
	if r := a.download(rel.versionID, "main", "", nil); r.StatusCode != 401 || len(a.downloadLogs()) != before {
		t.Errorf("refused attempt logged with the setting off: %d", r.StatusCode)
	}

	// The license proofs that pass: a token from its host, a code with
	// its customer's name, and the LicenseBox token's code path.
	for _, body := range []map[string]any{
		{"license_data": token},
		{"license_code": "CUST", "client_name": "cust-1"},
		{"license_code": "GOOD", "product_id": "ignored"},
	} {
		r := a.download(rel.versionID, "main", "https://shop.example.com", body)
		if r.StatusCode != 200 || r.Body != string(rel.main) {
			t.Errorf("%v: %d, %d bytes", body, r.StatusCode, len(r.Body))
		}
	}
	// The customer's download is in their activity (update_downloaded).
	var activity []string
	_ = a.DB.Bun.NewRaw(`SELECT ca.data->>'license_code' FROM customer_activity AS ca JOIN customers AS c ON c.id = ca.customer_id
		WHERE c.client_id = 'CUST-1' AND ca.type = 'update_downloaded'`).Scan(context.Background(), &activity)
	if len(activity) != 1 || activity[0] != "CUST" {
		t.Errorf("customer activity update_downloaded: %q", activity)
	}
	logs := a.downloadLogs()
	if last := logs[len(logs)-1]; !last.Valid || last.Reason != nil || last.Source != "api" || last.Code == nil || *last.Code != "GOOD" {
		t.Errorf("success log %+v", last)
	}

	// Without license_update no license is needed, and license fields are
	// ignored.
	a.setProduct(other, false, true)
	orel := a.addVersion(other, "1.0.0", day, true, false)
	if r := a.download(orel.versionID, "main", "", map[string]any{"license_code": "NOPE"}); r.StatusCode != 200 || r.Body != string(orel.main) {
		t.Errorf("free download: %d", r.StatusCode)
	}
}

func (a *apiEnv) findActivationID(domain string) int64 {
	a.t.Helper()
	var id int64
	if err := a.DB.Bun.NewRaw(`SELECT id FROM activations WHERE domain = ? ORDER BY id DESC LIMIT 1`, domain).Scan(context.Background(), &id); err != nil {
		a.t.Fatal(err)
	}
	return id
}

// Headers, Range requests (206, Content-Range, 416), resumes not logged,
// SQL files, and the empty 404s.
func TestDownloadRangesAndHeaders(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	rel := a.addVersion(a.product, "1.2.0", day, true, true)
	hidden := a.addVersion(a.product, "1.3.0", day, false, false)

	r := a.download(rel.versionID, "main", "", nil)
	if r.StatusCode != 200 || r.Body != string(rel.main) {
		t.Fatalf("full: %d, %d bytes", r.StatusCode, len(r.Body))
	}
	for h, want := range map[string]string{
		"Content-Type": "application/zip", "Content-Transfer-Encoding": "Binary", "Content-Length": "5000", "Accept-Ranges": "bytes",
		"Content-Disposition": "attachment; filename=main_ACME_1.2.0.zip", "ETag": `"` + sha(rel.main) + `"`, "X-LM-Checksum-SHA256": sha(rel.main),
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	ranges := []struct {
		header, contentRange string
		body                 []byte
	}{
		{"bytes=10-19", "bytes 10-19/5000", rel.main[10:20]},
		{"bytes=4990-", "bytes 4990-4999/5000", rel.main[4990:]},
		{"bytes=-5", "bytes 4995-4999/5000", rel.main[4995:]},
		{"bytes=4995-9999", "bytes 4995-4999/5000", rel.main[4995:]},
		{"bytes=0-0", "bytes 0-0/5000", rel.main[:1]},
	}
	for _, rg := range ranges {
		r := a.download(rel.versionID, "main", "", nil, "Range", rg.header)
		if r.StatusCode != 206 || r.Header.Get("Content-Range") != rg.contentRange || r.Body != string(rg.body) ||
			r.Header.Get("Content-Length") != fmt.Sprint(len(rg.body)) {
			t.Errorf("%s: %d %q, %d bytes", rg.header, r.StatusCode, r.Header.Get("Content-Range"), len(r.Body))
		}
	}
	for _, bad := range []string{"bytes=5000-", "bytes=6000-7000", "bytes=-0"} {
		r := a.download(rel.versionID, "main", "", nil, "Range", bad)
		if r.StatusCode != 416 || r.Header.Get("Content-Range") != "bytes */5000" {
			t.Errorf("%s: %d %q; want 416", bad, r.StatusCode, r.Header.Get("Content-Range"))
		}
	}
	// Logged: the full download and the ranges starting at 0 (2), not the
	// resumes or the refused ranges.
	if n := len(a.downloadLogs()); n != 2 {
		t.Errorf("download log rows: %d, want 2", n)
	}

	r = a.download(rel.versionID, "sql", "", nil)
	if r.StatusCode != 200 || r.Body != string(rel.sql) || r.Header.Get("Content-Type") != "application/sql" ||
		r.Header.Get("Content-Disposition") != "attachment; filename=sql_ACME_1.2.0.sql" || r.Header.Get("X-LM-Checksum-SHA256") != "" {
		t.Errorf("sql: %d %v", r.StatusCode, r.Header)
	}
	for name, path := range map[string][2]string{
		"unknown type": {rel.versionID, "mac"}, "unknown version": {"NOPE", "main"}, "unpublished": {hidden.versionID, "main"},
	} {
		if r := a.download(path[0], path[1], "", nil); r.StatusCode != 404 || r.Body != "" {
			t.Errorf("%s: %d %q; want an empty 404", name, r.StatusCode, r.Body)
		}
	}
	// The version id is matched ignoring case; an inactive product's
	// versions are not found.
	if r := a.download(strings.ToLower(rel.versionID), "main", "", nil); r.StatusCode != 200 {
		t.Errorf("lower-case version id: %d", r.StatusCode)
	}
	a.setProductActive(a.product, false)
	if r := a.download(rel.versionID, "main", "", nil); r.StatusCode != 404 || r.Body != "" {
		t.Errorf("inactive product: %d %q", r.StatusCode, r.Body)
	}
	// Pipeline failures keep their JSON bodies.
	r = a.do(a.App, req{path: "/api/external/update/" + rel.versionID + "/download/main"})
	expect(t, r, 400, `{"status":false,"is_active":false,"message":"Missing X-API-KEY key in the request."}`)
}

// size on modern and legacy paths: HEAD with Content-Length, GET/POST
// JSON with X-File-Size, empty 404s.
func TestUpdateSize(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	rel := a.addVersion(a.product, "1.2.0", day, true, true)
	vid := rel.versionID
	for _, path := range []string{
		"/api/external/update/" + vid + "/download/main/size", "/api/get_update_size/main/" + vid, "/api/get_update_size/" + vid,
		"/api/get_update_size?type=main&vid=" + vid, "/api/get_update_size?version_id=" + vid,
	} {
		key := "X-API-KEY"
		if strings.HasPrefix(path, "/api/get_") {
			key = "LB-API-KEY"
		}
		r := a.do(a.App, req{method: http.MethodHead, path: path, headers: []string{key, a.key}})
		if r.StatusCode != 200 || r.Body != "" || r.ContentLength != 5000 || r.Header.Get("Content-Type") != "application/zip" ||
			r.Header.Get("Content-Disposition") != "attachment; filename=main_ACME_1.2.0.zip" {
			t.Errorf("HEAD %s: %d len %d %v", path, r.StatusCode, r.ContentLength, r.Header)
		}
		r = a.do(a.App, req{method: http.MethodGet, path: path, headers: []string{key, a.key}})
		if r.StatusCode != 200 || r.Body != `{"status":true,"is_active":true,"size":5000}` || r.Header.Get("X-File-Size") != "5000" {
			t.Errorf("GET %s: %d %s", path, r.StatusCode, r.Body)
		}
	}
	r := a.do(a.App, req{path: "/api/get_update_size", headers: []string{"LB-API-KEY", a.key}, form: map[string][]string{"type": {"sql"}, "vid": {vid}}})
	if r.StatusCode != 200 || r.JSON["size"] != float64(len(rel.sql)) {
		t.Errorf("POST legacy size of sql: %d %s", r.StatusCode, r.Body)
	}
	for _, path := range []string{"/api/external/update/NOPE/download/main/size", "/api/external/update/" + vid + "/download/mac/size", "/api/get_update_size"} {
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			if r := a.do(a.App, req{method: m, path: path, headers: []string{"X-API-KEY", a.key}}); r.StatusCode != 404 || r.Body != "" {
				t.Errorf("%s %s: %d %q; want an empty 404", m, path, r.StatusCode, r.Body)
			}
		}
	}
	if n := len(a.downloadLogs()); n != 0 {
		t.Errorf("size requests logged: %d", n)
	}
}

// multipartBody encodes fields as multipart/form-data.
func multipartBody(t *testing.T, fields map[string]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// LicenseBox-era clients post multipart bodies to the legacy download
// paths, with LB-* headers.
func TestLegacyDownloadPathsWithMultipartBodies(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.setProduct(a.product, true, true)
	rel := a.addVersion(a.product, "1.2.0", day, true, true)
	a.license(nil, "LB-CODE", customer("lb-client"))
	cases := []struct {
		path   string
		fields map[string]string
		want   []byte
	}{
		{"/api/download_update/main/" + rel.versionID, map[string]string{"license_code": "LB-CODE", "client_name": "lb-client", "time_based_check": "1"}, rel.main},
		{"/api/download_update/sql/" + rel.versionID, map[string]string{"license_code": "LB-CODE", "client_name": "lb-client"}, rel.sql},
		{"/api/download_update/" + rel.versionID, map[string]string{"license_code": "LB-CODE", "client_name": "lb-client"}, rel.main},
		{"/api/download_update", map[string]string{"vid": rel.versionID, "type": "sql", "license_code": "LB-CODE", "client_name": "lb-client"}, rel.sql},
		{"/api/download_update?type=main&version_id=" + rel.versionID, map[string]string{"license_code": "LB-CODE", "client_name": "lb-client"}, rel.main},
	}
	for _, tc := range cases {
		body, ct := multipartBody(t, tc.fields)
		r := a.do(a.App, req{path: tc.path, raw: body, contentType: ct, headers: []string{"LB-API-KEY", a.key, "LB-URL", "https://lb.example.com/install/index.php?x=1"}})
		if r.StatusCode != 200 || r.Body != string(tc.want) {
			t.Errorf("%s: %d, %d bytes", tc.path, r.StatusCode, len(r.Body))
		}
	}
	body, ct := multipartBody(t, map[string]string{"license_code": "LB-CODE", "client_name": "somebody"})
	if r := a.do(a.App, req{path: "/api/download_update/main/" + rel.versionID, raw: body, contentType: ct, headers: []string{"LB-API-KEY", a.key}}); r.StatusCode != 401 || r.Body != "" {
		t.Errorf("wrong client: %d %q", r.StatusCode, r.Body)
	}
	if r := a.do(a.App, req{path: "/api/download_update/main/" + rel.versionID, raw: "--broken", contentType: "multipart/form-data; boundary=x", headers: []string{"LB-API-KEY", a.key}}); r.StatusCode != 400 {
		t.Errorf("broken multipart: %d %s", r.StatusCode, r.Body)
	}
	var n int
	_ = a.DB.Bun.NewRaw(`SELECT count(*) FROM download_logs WHERE is_valid AND url = 'https://lb.example.com/install/index.php'`).Scan(context.Background(), &n)
	if n != len(cases) {
		t.Errorf("logged legacy downloads with their URL: %d, want %d", n, len(cases))
	}
	_ = json.Valid
	_ = audit.System
}
