package downloads_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/listing"
)

// fixture makes a product with one version and returns their ids.
func fixture(t *testing.T, d *db.DB) (productID, versionID int64) {
	t.Helper()
	err := d.Bun.QueryRowContext(context.Background(), `WITH p AS (INSERT INTO products (name, reference_id) VALUES ('Acme CMS', 'ACME') RETURNING id)
		INSERT INTO product_versions (product_id, version_id, version) SELECT id, 'V1', '1.0.0' FROM p RETURNING product_id, id`).Scan(&productID, &versionID)
	if err != nil {
		t.Fatal(err)
	}
	return productID, versionID
}

func TestLinksExpireAndCap(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	pid, vid := fixture(t, d)
	now := time.Now()
	two := 2
	token, link, err := downloads.CreateLink(ctx, d.Bun, audit.Source{}, downloads.LinkParams{ProductID: pid, VersionID: vid, Type: "main", MaxDownloads: &two}, now)
	if err != nil || len(token) != 40 {
		t.Fatalf("CreateLink = %q, %v", token, err)
	}
	var stored string
	if err := d.Bun.NewSelect().TableExpr("download_tokens").Column("token_hash").Scan(ctx, &stored); err != nil || stored == token {
		t.Fatalf("token stored in clear: %q %v", stored, err)
	}
	if _, err := downloads.FindLink(ctx, d.Bun, token, now); err != nil {
		t.Fatal(err)
	}
	// Change the last character (to one it is not: a random token ends in
	// "x" now and then).
	wrong := token[:39] + "x"
	if token[39] == 'x' {
		wrong = token[:39] + "y"
	}
	if _, err := downloads.FindLink(ctx, d.Bun, wrong, now); !errors.Is(err, downloads.ErrLinkNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
	for i := range 2 {
		if err := downloads.Consume(ctx, d.Bun, link.ID, now, full); err != nil {
			t.Fatalf("download %d: %v", i+1, err)
		}
	}
	if err := downloads.Consume(ctx, d.Bun, link.ID, now, full); !errors.Is(err, downloads.ErrLinkUsedUp) {
		t.Fatalf("third download: %v", err)
	}
	if _, err := downloads.FindLink(ctx, d.Bun, token, now); !errors.Is(err, downloads.ErrLinkUsedUp) {
		t.Fatalf("FindLink after cap: %v", err)
	}

	past := now.Add(-time.Minute)
	token, link, err = downloads.CreateLink(ctx, d.Bun, audit.Source{}, downloads.LinkParams{ProductID: pid, VersionID: vid, Type: "main", ExpiresAt: &past}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := downloads.FindLink(ctx, d.Bun, token, now); !errors.Is(err, downloads.ErrLinkExpired) {
		t.Fatalf("expired link: %v", err)
	}
	if err := downloads.Consume(ctx, d.Bun, link.ID, now, full); !errors.Is(err, downloads.ErrLinkExpired) {
		t.Fatalf("Consume expired: %v", err)
	}
	if err := downloads.Consume(ctx, d.Bun, 99999, now, full); !errors.Is(err, downloads.ErrLinkNotFound) {
		t.Fatalf("Consume missing: %v", err)
	}
}

// full is a whole download of a 5000-byte file.
var full = downloads.Claim{Bytes: 5000, FileSize: 5000, Download: true}

// Issue 15.2: once a link's cap is used, a resume (a Range from byte 1) is
// refused as a download is; a download cut off is resumed within the cap
// without counting twice, once its unsent bytes are released.
func TestLinkCapCountsResumes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	pid, vid := fixture(t, d)
	now := time.Now()
	one := 1
	_, link, err := downloads.CreateLink(ctx, d.Bun, audit.Source{}, downloads.LinkParams{ProductID: pid, VersionID: vid, Type: "main", MaxDownloads: &one}, now)
	if err != nil {
		t.Fatal(err)
	}
	resume := func(from int64) downloads.Claim { return downloads.Claim{Bytes: 5000 - from, FileSize: 5000} }
	if err := downloads.Consume(ctx, d.Bun, link.ID, now, full); err != nil {
		t.Fatal(err)
	}
	// Cut off after 3000 bytes: 2000 given back, the resume fits once.
	if err := downloads.Release(ctx, d.Bun, link.ID, 2000); err != nil {
		t.Fatal(err)
	}
	if err := downloads.Consume(ctx, d.Bun, link.ID, now, resume(3000)); err != nil {
		t.Fatalf("resume of a cut-off download: %v", err)
	}
	for _, cl := range []downloads.Claim{resume(3000), resume(1), resume(4999), full} {
		if err := downloads.Consume(ctx, d.Bun, link.ID, now, cl); !errors.Is(err, downloads.ErrLinkUsedUp) {
			t.Errorf("%+v after the cap: %v", cl, err)
		}
	}
	var got downloads.Link
	if err := d.Bun.NewSelect().Model(&got).Where("dt.id = ?", link.ID).Scan(ctx); err != nil || got.Downloads != 1 || got.BytesReserved != 5000 {
		t.Fatalf("after a download and its resume: %d downloads, %d bytes (%v); want 1 and 5000", got.Downloads, got.BytesReserved, err)
	}
}

// 20 concurrent downloads of a link capped at 5: exactly 5 are counted.
func TestLinkCapUnderConcurrency(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	pid, vid := fixture(t, d)
	five := 5
	_, link, err := downloads.CreateLink(ctx, d.Bun, audit.Source{}, downloads.LinkParams{ProductID: pid, VersionID: vid, Type: "main", MaxDownloads: &five}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			switch err := downloads.Consume(ctx, d.Bun, link.ID, time.Now(), full); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, downloads.ErrLinkUsedUp):
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	var n int
	if err := d.Bun.NewSelect().TableExpr("download_tokens").Column("downloads").Where("id = ?", link.ID).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if ok.Load() != 5 || refused.Load() != 15 || n != 5 {
		t.Fatalf("succeeded %d, refused %d, counter %d; want 5, 15, 5", ok.Load(), refused.Load(), n)
	}
}

func TestLogRecordListDelete(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	pid, vid := fixture(t, d)
	by := audit.Source{Actor: audit.System}
	if _, err := downloads.Record(ctx, d.Bun, downloads.Attempt{Source: downloads.SourceAPI, ProductID: pid, VersionID: vid, Version: "1.0.0",
		Type: "main", Domain: "shop.example.com", IP: "203.0.113.9", Valid: true}); err != nil {
		t.Fatal(err)
	}
	a := downloads.Attempt{Source: downloads.SourceAPI, ProductID: pid, VersionID: vid, Version: "1.0.0", Type: "main",
		URL: "https://bad.example", Domain: "bad.example", Reason: "LICENSE_EXPIRED"}
	if err := downloads.RecordRefused(ctx, d.Bun, a, false, "Acme CMS", audit.System); err != nil {
		t.Fatal(err)
	}
	if err := downloads.RecordRefused(ctx, d.Bun, a, true, "Acme CMS", audit.System); err != nil {
		t.Fatal(err)
	}
	all, total, err := downloads.List(ctx, d.Bun, downloads.Filter{}, listing.Page{})
	if err != nil || total != 2 || len(all[0].DownloadID) != 15 || *all[0].ProductName != "Acme CMS" {
		t.Fatalf("List = %+v, %d, %v (one refused attempt was not to be logged)", all, total, err)
	}
	refused, total, err := downloads.List(ctx, d.Bun, downloads.Filter{ProductID: pid, Version: "1.0.0", Valid: "0"}, listing.Page{})
	if err != nil || total != 1 || refused[0].IsValid || *refused[0].Reason != "LICENSE_EXPIRED" {
		t.Fatalf("refused = %+v, %d, %v", refused, total, err)
	}
	if _, total, _ := downloads.List(ctx, d.Bun, downloads.Filter{Search: "shop.example"}, listing.Page{}); total != 1 {
		t.Fatalf("search: %d", total)
	}
	var msgs []string
	if err := d.Bun.NewSelect().TableExpr("activity_log").Column("message").Scan(ctx, &msgs); err != nil || len(msgs) != 2 ||
		msgs[0] != "Product Acme CMS 1.0.0 update download attempt from URL https://bad.example was blocked as provided license was found to be invalid." {
		t.Fatalf("activity = %q, %v", msgs, err)
	}
	if n, err := downloads.Delete(ctx, d.Bun, by, []int64{refused[0].ID}); err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if n, err := downloads.DeleteBefore(ctx, d.Bun, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteBefore = %d, %v", n, err)
	}
}

// TestCreateLinkLogsIt: a new link writes its activity-log line in the same
// transaction, naming the file and who asked for it.
func TestCreateLinkLogsIt(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	pid, vid := fixture(t, d)
	keyID := int64(7)
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAPIKey, ID: &keyID, Name: "shop"}, IP: "192.0.2.1"}
	if _, _, err := downloads.CreateLink(ctx, d.Bun, by, downloads.LinkParams{ProductID: pid, VersionID: vid,
		ProductName: "Acme CMS", Version: "1.0.0", Type: "main"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var got audit.Activity
	if err := d.Bun.NewSelect().Model(&got).Where("type = ?", "download_link.created").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Message != "Download link for Acme CMS 1.0.0 (main) created via API." || got.ActorName != "shop" ||
		got.SubjectID == nil || *got.SubjectID != vid || got.IP == nil || *got.IP != "192.0.2.1" {
		t.Fatalf("activity = %+v", got)
	}
}
