// Package downloads owns the update-download log
// (docs/api/external.md#download, docs/features.md#updates-and-downloads: every
// attempt, valid or refused, with its reason) and download links
// (docs/api/external.md#download-links, docs/api/internal.md#downloads: hashed
// tokens whose counter is raised atomically with the cap check). Serving the
// bytes is the delivery packages' job; the license check of a download is
// licensing's.
package downloads

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/listing"
)

// Where a download came from.
const (
	SourceAPI      = "api"      // the external update endpoints
	SourceLink     = "link"     // a download link (/api/download/{token})
	SourceInternal = "internal" // the internal API (the vendor's servers)
	SourcePortal   = "portal"   // a customer in the portal
)

// Log is one download attempt.
type Log struct {
	bun.BaseModel `bun:"table:download_logs,alias:dl"`

	ID           int64     `bun:"id,pk,autoincrement"`
	DownloadID   string    `bun:"download_id"`
	Source       string    `bun:"source"`
	ProductID    *int64    `bun:"product_id"`
	VersionID    *int64    `bun:"version_id"`
	Version      string    `bun:"version"`
	Type         string    `bun:"type"`
	URL          *string   `bun:"url"`
	Domain       *string   `bun:"domain"`
	IP           *string   `bun:"ip"`
	PeerIP       *string   `bun:"peer_ip"`
	UserAgent    *string   `bun:"user_agent"`
	LicenseID    *int64    `bun:"license_id"`
	LicenseCode  *string   `bun:"license_code"`
	IsValid      bool      `bun:"is_valid"`
	Reason       *string   `bun:"reason"`
	DownloadedAt time.Time `bun:"downloaded_at,nullzero,notnull,default:current_timestamp"`

	ProductName        *string `bun:"product_name,scanonly"`
	ProductReferenceID *string `bun:"product_reference_id,scanonly"`
}

// Attempt is a download to record.
type Attempt struct {
	Source      string
	ProductID   int64
	VersionID   int64
	Version     string
	Type        string
	URL, Domain string
	IP          string
	// PeerIP is the connection's own address (never X-API-IP): what the
	// auto-blacklist counts.
	PeerIP      string
	UserAgent   string
	LicenseID   *int64
	LicenseCode string
	Valid       bool
	// Reason says why a refused attempt was refused.
	Reason string
	// At defaults to the database's now().
	At time.Time
}

// downloadIDAlphabet makes the random 15-character download_id (docs/api/external.md#download).
const downloadIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Record writes a download-log row in idb.
func Record(ctx context.Context, idb bun.IDB, a Attempt) (*Log, error) {
	l := &Log{
		DownloadID: randomString(15, downloadIDAlphabet), Source: a.Source, Version: a.Version, Type: a.Type,
		URL: nullable(a.URL), Domain: nullable(a.Domain), IP: nullable(a.IP), PeerIP: nullable(a.PeerIP), UserAgent: nullable(a.UserAgent),
		LicenseID: a.LicenseID, LicenseCode: nullable(a.LicenseCode), IsValid: a.Valid, Reason: nullable(a.Reason),
		DownloadedAt: a.At,
	}
	if a.ProductID != 0 {
		l.ProductID = &a.ProductID
	}
	if a.VersionID != 0 {
		l.VersionID = &a.VersionID
	}
	if _, err := idb.NewInsert().Model(l).Exec(ctx); err != nil {
		return nil, fmt.Errorf("record download: %w", err)
	}
	return l, nil
}

// RecordSuccess records a valid download and, when its license links to a
// customer, the customer activity update_downloaded (docs/api/external.md#download step 6).
func RecordSuccess(ctx context.Context, idb bun.IDB, a Attempt, licenseCustomerID, licenseEmail *string, productRef string) (*Log, error) {
	a.Valid, a.Reason = true, ""
	l, err := Record(ctx, idb, a)
	if err != nil || a.LicenseID == nil {
		return l, err
	}
	c, err := customers.LinkedTo(ctx, idb, licenseCustomerID, licenseEmail)
	if err != nil || c == nil {
		return l, err
	}
	return l, audit.RecordCustomer(ctx, idb, audit.CustomerActivity{
		CustomerID: c.ID, Type: audit.CustomerUpdateDownloaded, IP: nullable(a.IP),
		Data: map[string]any{"license_code": a.LicenseCode, "product": productRef, "version": a.Version, "type": a.Type, "download_id": l.DownloadID},
	})
}

// RecordRefused records a refused download: the log row when setting
// add_entries_for_failed_update_download_attempts (logRow) is on, and
// always the activity-log line of docs/api/external.md#download step 5.
func RecordRefused(ctx context.Context, idb bun.IDB, a Attempt, logRow bool, productName string, actor audit.Actor) error {
	a.Valid = false
	if logRow {
		if _, err := Record(ctx, idb, a); err != nil {
			return err
		}
	}
	e := audit.Entry{
		Type: "update.download_refused", Actor: actor, IP: a.IP,
		Message: fmt.Sprintf("Product %s %s update download attempt from URL %s was blocked as provided license was found to be invalid.",
			productName, a.Version, a.URL),
		Data: map[string]any{"reason": a.Reason, "type": a.Type},
	}
	if a.ProductID != 0 {
		e.Subject = &audit.Subject{Type: audit.SubjectProduct, ID: a.ProductID}
	}
	return audit.Record(ctx, idb, e)
}

// Filter narrows the console's list.
type Filter struct {
	ProductID int64
	Version   string
	// Valid: "" all, "1" valid only, "0" refused only.
	Valid  string
	Search string // download id, license code, domain or IP
}

// List returns a page of download attempts, newest first.
func List(ctx context.Context, idb bun.IDB, f Filter, page listing.Page) ([]Log, int, error) {
	var out []Log
	q := idb.NewSelect().Model(&out).ColumnExpr("dl.*").
		ColumnExpr("p.name AS product_name, p.reference_id AS product_reference_id").
		Join("LEFT JOIN products AS p ON p.id = dl.product_id")
	if f.ProductID != 0 {
		q = q.Where("dl.product_id = ?", f.ProductID)
	}
	if v := strings.TrimSpace(f.Version); v != "" {
		q = q.Where("lower(dl.version) = lower(?)", v)
	}
	switch f.Valid {
	case "1":
		q = q.Where("dl.is_valid")
	case "0":
		q = q.Where("NOT dl.is_valid")
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		pat := listing.Contains(s)
		q = q.Where("(dl.download_id ILIKE ? OR dl.license_code ILIKE ? OR dl.domain ILIKE ? OR dl.ip ILIKE ?)", pat, pat, pat, pat)
	}
	q = q.OrderExpr("dl.downloaded_at DESC, dl.id DESC")
	total, err := page.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list downloads: %w", err)
	}
	return out, int(total), nil
}

// Delete removes the given log rows and logs how many.
func Delete(ctx context.Context, idb bun.IDB, by audit.Source, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := idb.NewDelete().Model((*Log)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete downloads: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	return int(n), audit.Record(ctx, idb, audit.Entry{
		Type: "downloads.deleted", Actor: by.Actor, IP: by.IP,
		Message: fmt.Sprintf("%d download log entries deleted %s.", n, by.Actor.Via()),
	})
}

// DeleteBefore removes rows older than t (retention).
func DeleteBefore(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Log)(nil)).Where("downloaded_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune downloads: %w", err)
	}
	return res.RowsAffected()
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// randomString draws n characters of alphabet without modulo bias.
func randomString(n int, alphabet string) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
