package external_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
)

// createLink asks the internal API for a download link.
func (a *apiEnv) createLink(internalKey string, body map[string]any) resp {
	a.t.Helper()
	return a.do(a.App, req{path: "/api/internal/products/ACME/download-tokens", headers: []string{"X-API-KEY", internalKey}, json: body})
}

// Download links (docs/api/external.md#download-links,
// docs/api/internal.md#downloads): created by the internal API, served publicly
// with Range support; unknown 404, expired 410, used up 403; HEAD and resumes
// are not counted; 20 concurrent downloads of a link capped at 5 give exactly 5
// files.
func TestDownloadLinks(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.setProduct(a.product, true, true) // links need no license
	old := a.addVersion(a.product, "1.1.0", day, true, false)
	rel := a.addVersion(a.product, "1.2.0", day, true, true)
	internal := a.newKey(apikeys.CreateParams{Name: "shop", Type: apikeys.TypeInternal})

	r := a.createLink(internal, map[string]any{"max_downloads": 5, "expires_at": "2099-12-31 23:59:59"})
	data, _ := r.JSON["data"].(map[string]any)
	token, _ := data["token"].(string)
	if r.StatusCode != 201 || r.JSON["error"] != false || r.JSON["status"] != true || len(token) != 40 ||
		data["url"] != a.Config.BaseURL+"/api/download/"+token || data["product_reference_id"] != "ACME" || data["version"] != "1.2.0" ||
		data["type"] != "main" || data["max_downloads"] != float64(5) || data["expires_at"] != "2099-12-31T23:59:59.000000Z" {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	if strings.Contains(a.dump("download_tokens"), token) {
		t.Fatal("the token is stored in clear")
	}

	// HEAD and a resume after a counted download are not counted.
	link := "/api/download/" + token
	if r := a.do(a.App, req{method: http.MethodHead, path: link}); r.StatusCode != 200 || r.ContentLength != 5000 {
		t.Fatalf("HEAD: %d %d", r.StatusCode, r.ContentLength)
	}

	// 20 at once, cap 5: exactly 5 files, 15 refusals.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	start := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := a.do(a.App, req{method: http.MethodGet, path: link})
			if r.StatusCode == 200 && r.Body != string(rel.main) {
				t.Error("a counted download served the wrong bytes")
			}
			if r.StatusCode == 403 && r.Body != `{"status":false,"is_active":false,"message":"Download limit reached."}` {
				t.Errorf("403 body %s", r.Body)
			}
			mu.Lock()
			codes[r.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if codes[200] != 5 || codes[403] != 15 {
		t.Fatalf("answers %v; want 5×200 and 15×403", codes)
	}
	var counted int
	_ = a.DB.Bun.NewRaw("SELECT downloads FROM download_tokens").Scan(t.Context(), &counted)
	if counted != 5 || len(a.downloadLogs()) != 5 {
		t.Fatalf("counter %d, log rows %d; want 5 and 5", counted, len(a.downloadLogs()))
	}
	expectLink := func(path string, status int, message string, headers ...string) {
		t.Helper()
		expect(t, a.do(a.App, req{method: http.MethodGet, path: path, headers: headers}), status, `{"status":false,"is_active":false,"message":"`+message+`"}`)
	}
	// Issue 15.2: once the cap is used, a resume is refused too, as often
	// as it is asked (the first byte of a zip is known).
	for _, rng := range []string{"bytes=1-", "bytes=4000-", "bytes=-4999", "bytes=1-1"} {
		for range 3 {
			expectLink(link, 403, "Download limit reached.", "Range", rng)
		}
	}
	expectLink(link, 403, "Download limit reached.")
	expectLink("/api/download/"+strings.Repeat("x", 40), 404, "Download link not found.")
	expectLink("/api/download/short", 404, "Download link not found.")

	// A resume of a link never downloaded counts as its download.
	r = a.createLink(internal, map[string]any{"max_downloads": 1})
	once := "/api/download/" + r.JSON["data"].(map[string]any)["token"].(string)
	if r := a.do(a.App, req{method: http.MethodGet, path: once, headers: []string{"Range", "bytes=100-"}}); r.StatusCode != 206 || r.Body != string(rel.main[100:]) {
		t.Fatalf("first request resuming: %d", r.StatusCode)
	}
	expectLink(once, 403, "Download limit reached.")
	if r := a.do(a.App, req{method: http.MethodHead, path: once}); r.StatusCode != 403 {
		t.Fatalf("HEAD of a used-up link: %d", r.StatusCode)
	}

	// A resumed download of a link with room left is served without
	// counting as another download; once the bytes of its downloads are
	// served, resumes stop too.
	r = a.createLink(internal, map[string]any{"max_downloads": 2})
	two := "/api/download/" + r.JSON["data"].(map[string]any)["token"].(string)
	if r := a.do(a.App, req{method: http.MethodGet, path: two, headers: []string{"Range", "bytes=0-2999"}}); r.StatusCode != 206 || r.Body != string(rel.main[:3000]) {
		t.Fatalf("first part: %d", r.StatusCode)
	}
	if r := a.do(a.App, req{method: http.MethodGet, path: two, headers: []string{"Range", "bytes=3000-"}}); r.StatusCode != 206 || r.Body != string(rel.main[3000:]) {
		t.Fatalf("resumed: %d", r.StatusCode)
	}
	var twoCount int
	_ = a.DB.Bun.NewRaw("SELECT downloads FROM download_tokens WHERE max_downloads = 2").Scan(t.Context(), &twoCount)
	if twoCount != 1 {
		t.Fatalf("a download and its resume counted %d downloads, want 1", twoCount)
	}
	if r := a.do(a.App, req{method: http.MethodGet, path: two}); r.StatusCode != 200 {
		t.Fatalf("second download: %d", r.StatusCode)
	}
	expectLink(two, 403, "Download limit reached.", "Range", "bytes=1-")
	expectLink(two, 403, "Download limit reached.")

	// A named version and type, unlimited; expiry.
	r = a.createLink(internal, map[string]any{"version": "1.1.0"})
	token = r.JSON["data"].(map[string]any)["token"].(string)
	for range 3 {
		if r := a.do(a.App, req{method: http.MethodGet, path: "/api/download/" + token}); r.StatusCode != 200 || r.Body != string(old.main) {
			t.Fatalf("unlimited link: %d", r.StatusCode)
		}
	}
	r = a.createLink(internal, map[string]any{"type": "sql", "expires_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)})
	sqlToken := r.JSON["data"].(map[string]any)["token"].(string)
	if r := a.do(a.App, req{method: http.MethodGet, path: "/api/download/" + sqlToken}); r.StatusCode != 200 || r.Body != string(rel.sql) {
		t.Fatalf("sql link: %d", r.StatusCode)
	}
	a.exec(`UPDATE download_tokens SET expires_at = now() - interval '1 second'`)
	expectLink("/api/download/"+sqlToken, 410, "Download link has expired.")

	// Validation and lookups of the internal endpoint.
	for _, tc := range []struct {
		body   map[string]any
		status int
		want   string
	}{
		{map[string]any{"max_downloads": 0}, 422, "The max downloads field must be at least 1."},
		{map[string]any{"max_downloads": "many"}, 422, "The max downloads field must be an integer."},
		{map[string]any{"expires_at": "2001-01-01"}, 422, "The expires at field must be a date after now."},
		{map[string]any{"version": "1.1.0", "type": "sql"}, 422, "The selected type is invalid."},
		{map[string]any{"version": "9.9.9"}, 404, "Product version not found."},
	} {
		r := a.createLink(internal, tc.body)
		if r.StatusCode != tc.status || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%v: %d %s", tc.body, r.StatusCode, r.Body)
		}
	}
	if r := a.createLink(a.key, nil); r.StatusCode != 401 {
		t.Errorf("external key: %d", r.StatusCode)
	}
	if r := a.do(a.App, req{path: "/api/internal/products/NOPE/download-tokens", headers: []string{"X-API-KEY", internal}}); r.StatusCode != 404 {
		t.Errorf("unknown product: %d", r.StatusCode)
	}
}

func (a *apiEnv) dump(table string) string {
	a.t.Helper()
	var rows []string
	if err := a.DB.Bun.NewRaw("SELECT t::text FROM "+table+" AS t").Scan(a.t.(*testing.T).Context(), &rows); err != nil {
		a.t.Fatal(err)
	}
	return strings.Join(rows, "\n")
}

// Server downloads of the internal API (docs/api/internal.md#downloads): no license even when
// the product requires one, Range support, logged with source internal.
func TestServerDownloads(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.setProduct(a.product, true, true)
	old := a.addVersion(a.product, "1.1.0", day, true, false)
	rel := a.addVersion(a.product, "1.2.0", day, true, true)
	internal := a.newKey(apikeys.CreateParams{Name: "shop", Type: apikeys.TypeInternal})
	post := func(path string, headers ...string) resp {
		return a.do(a.App, req{path: path, headers: append([]string{"X-API-KEY", internal}, headers...)})
	}
	for path, want := range map[string][]byte{
		"/api/internal/products/ACME/download":                                     rel.main,
		"/api/internal/products/acme/versions/latest/download/sql":                 rel.sql,
		"/api/internal/products/ACME/versions/1.1.0/download/main":                 old.main,
		"/api/internal/products/ACME/versions/" + old.versionID + "/download/main": old.main,
	} {
		r := post(path)
		if r.StatusCode != 200 || r.Body != string(want) || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment; filename=") {
			t.Errorf("%s: %d, %d bytes", path, r.StatusCode, len(r.Body))
		}
	}
	r := post("/api/internal/products/ACME/download", "Range", "bytes=1-2")
	if r.StatusCode != 206 || r.Body != string(rel.main[1:3]) || r.Header.Get("Content-Range") != "bytes 1-2/5000" {
		t.Errorf("range: %d %q", r.StatusCode, r.Header.Get("Content-Range"))
	}
	logs := a.downloadLogs()
	if len(logs) != 4 || logs[0].Source != "internal" || !logs[0].Valid {
		t.Errorf("logs %+v; want 4 internal rows", logs)
	}
	for path, status := range map[string]int{
		"/api/internal/products/NOPE/download":                    404,
		"/api/internal/products/ACME/versions/9.9/download/main":  404,
		"/api/internal/products/ACME/versions/1.1.0/download/sql": 404,
	} {
		if r := post(path); r.StatusCode != status || r.JSON["status"] != false {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.Body)
		}
	}
	if r := a.do(a.App, req{path: "/api/internal/products/ACME/download", headers: []string{"X-API-KEY", a.key}}); r.StatusCode != 401 {
		t.Errorf("external key: %d", r.StatusCode)
	}
}
