package portal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/filesend"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/storage"
)

// latestDownload is what a license page says about the product's latest
// version: the version to download, or why there is none.
type latestDownload struct {
	Version  *catalog.Version
	File     *catalog.VersionFile
	Size     string
	Released string
	// Refused explains why the customer cannot download (empty when they can).
	Refused string
}

// latestFor decides whether license l may download its product's latest
// published version (docs/features.md#customer-portal: the license valid and its updates
// period not ended).
func (h *handlers) latestFor(ctx context.Context, idb bun.IDB, l *licensing.License, now time.Time) (latestDownload, error) {
	var d latestDownload
	p, err := catalog.Get(ctx, idb, l.ProductID)
	if err != nil {
		return d, err
	}
	v, err := catalog.NewestVersion(ctx, idb, l.ProductID)
	if err != nil {
		return d, err
	}
	switch {
	case !p.IsActive || v == nil || v.File(catalog.FileMain) == nil:
		d.Refused = "No version of this product is available for download yet."
	case !l.IsValid:
		d.Refused = "This license is blocked, so downloads are not available."
	case l.Expired(now):
		d.Refused = "This license has expired, so downloads are not available."
	case l.UpdatesUntil != nil && !l.UpdatesUntil.After(now):
		d.Refused = "The updates period of this license ended on " + l.UpdatesUntil.UTC().Format("2006-01-02") + ": renew it to download new versions."
	}
	if v != nil {
		d.Version, d.File = v, v.File(catalog.FileMain)
		d.Released = v.ReleasedAt.UTC().Format("2006-01-02")
		if d.File != nil {
			d.Size = byteSize(d.File.Size)
		}
	}
	return d, nil
}

// downloadLatest streams the latest published version's main file to the
// customer owning license :id, when latestFor allows it; a refusal
// answers 403 with the license page's note. One Range is served (206,
// 416) as the API's downloads do, so an interrupted download resumes.
// Each download is logged (source portal) once, by the request that
// starts at byte 0.
func (h *handlers) downloadLatest(c fiber.Ctx) error {
	l, err := h.ownLicense(c, h.db)
	if err != nil {
		return err
	}
	now := h.now()
	d, err := h.latestFor(c.Context(), h.db, l, now)
	if err != nil {
		return err
	}
	if d.Refused != "" {
		return fiber.NewError(fiber.StatusForbidden, d.Refused)
	}
	if h.files == nil {
		return errors.New("portal: no file storage")
	}
	f, err := h.files.Open(c.Context(), d.File.StorageKey)
	// A file the version names but storage lacks says so, rather than the
	// not-found page that a wrong address gets.
	if errors.Is(err, storage.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "The file of this version is missing.")
	}
	if err != nil {
		return fmt.Errorf("portal download: %w", err)
	}
	rng, err := filesend.ParseRange(c.Get(fiber.HeaderRange), f.Size())
	if errors.Is(err, filesend.ErrUnsatisfiable) {
		_ = f.Close()
		return filesend.Unsatisfiable(c, f.Size())
	}
	if rng.Start == 0 {
		_, err = downloads.RecordSuccess(c.Context(), h.db, downloads.Attempt{
			Source: downloads.SourcePortal, ProductID: l.ProductID, VersionID: d.Version.ID, Version: d.Version.Version,
			Type: catalog.FileMain, IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent),
			LicenseID: &l.ID, LicenseCode: l.LicenseCode, At: now,
		}, l.CustomerID, l.Email, l.ProductReferenceID)
		if err != nil {
			_ = f.Close()
			return err
		}
	}
	c.Attachment(d.File.FileName)
	c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	if d.File.Checked() {
		c.Set(fiber.HeaderETag, `"`+d.File.SHA256+`"`)
	}
	c.Set("X-Content-Type-Options", "nosniff")
	return filesend.Stream(c, f, rng)
}

// byteSize formats a file size for people: 512 B, 3.4 MB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTPE"[exp])
}
