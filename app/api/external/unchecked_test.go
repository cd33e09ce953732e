package external_test

import (
	"fmt"
	"strings"
	"testing"
)

// A version file recorded without SHA-256 and size (imported, before
// `licensor versions backfill-checksums`): update/check omits checksum and
// file_size (docs/api/conventions.md#responses), the download takes its size from storage for
// Content-Length and Range and sends no checksum headers.
func TestUncheckedFileIsServed(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	rel := a.addVersion(a.product, "1.2.0", day, true, false)
	a.exec(`UPDATE version_files SET sha256 = NULL, size = NULL`)

	r := a.call(modern, "/api/external/update/check", map[string]any{"product_id": "acme", "current_version": "1.1"}, "")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"has_sql":false}`) || strings.Contains(r.Body, "checksum") || strings.Contains(r.Body, "file_size") {
		t.Fatalf("check: %d %s", r.StatusCode, r.Body)
	}
	r = a.download(rel.versionID, "main", "", nil)
	if r.StatusCode != 200 || r.Body != string(rel.main) || r.Header.Get("Content-Length") != fmt.Sprint(len(rel.main)) ||
		r.Header.Get("ETag") != "" || r.Header.Get("X-LM-Checksum-SHA256") != "" {
		t.Fatalf("download: %d, %d bytes, %v", r.StatusCode, len(r.Body), r.Header)
	}
	r = a.download(rel.versionID, "main", "", nil, "Range", "bytes=-10")
	if r.StatusCode != 206 || r.Body != string(rel.main[len(rel.main)-10:]) ||
		r.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", len(rel.main)-10, len(rel.main)-1, len(rel.main)) {
		t.Fatalf("range: %d %v", r.StatusCode, r.Header)
	}
}
