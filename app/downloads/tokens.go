package downloads

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
)

// Why a download link cannot be used (docs/api/external.md#download-links).
var (
	ErrLinkNotFound = errkind.New(errkind.NotFound, "download link not found")
	ErrLinkExpired  = errors.New("download link has expired")
	ErrLinkUsedUp   = errors.New("download limit reached")
)

// tokenAlphabet is URL-safe; a token is 40 of its characters (docs/api/internal.md#downloads).
const (
	tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tokenLength   = 40
)

// Link is a download link. Only the SHA-256 of its token is stored.
type Link struct {
	bun.BaseModel `bun:"table:download_tokens,alias:dt"`

	ID           int64  `bun:"id,pk,autoincrement"`
	TokenHash    string `bun:"token_hash"`
	ProductID    int64  `bun:"product_id"`
	VersionID    int64  `bun:"version_id"`
	Type         string `bun:"type"`
	MaxDownloads *int   `bun:"max_downloads"`
	Downloads    int    `bun:"downloads"`
	// BytesReserved are the bytes of the link's requests being or having
	// been served (Claim, Release).
	BytesReserved int64      `bun:"bytes_reserved"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// LinkParams describe a new link: a version's file of a type, an optional
// cap (nil: unlimited) and an optional expiry (nil: never). The caller has
// validated them. ProductName and Version name the file in the activity
// log.
type LinkParams struct {
	ProductID, VersionID int64
	ProductName, Version string
	Type                 string
	MaxDownloads         *int
	ExpiresAt            *time.Time
}

// CreateLink stores a new link and logs it (download_link.created) in idb,
// and returns its token, which exists only in this answer.
func CreateLink(ctx context.Context, idb bun.IDB, by audit.Source, p LinkParams, now time.Time) (string, *Link, error) {
	token := randomString(tokenLength, tokenAlphabet)
	l := &Link{TokenHash: hashToken(token), ProductID: p.ProductID, VersionID: p.VersionID, Type: p.Type,
		MaxDownloads: p.MaxDownloads, ExpiresAt: p.ExpiresAt, CreatedAt: now}
	if _, err := idb.NewInsert().Model(l).Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("create download link: %w", err)
	}
	err := audit.Record(ctx, idb, audit.Entry{
		Type: "download_link.created", Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: audit.SubjectVersion, ID: p.VersionID},
		Message: "Download link for " + p.ProductName + " " + p.Version + " (" + p.Type + ") created " + by.Actor.Via() + ".",
	})
	if err != nil {
		return "", nil, err
	}
	return token, l, nil
}

// FindLink returns the link of token: ErrLinkNotFound when there is none,
// ErrLinkExpired when it has expired, ErrLinkUsedUp (with the link) when its
// cap is reached.
func FindLink(ctx context.Context, idb bun.IDB, token string, now time.Time) (*Link, error) {
	if len(token) != tokenLength {
		return nil, ErrLinkNotFound
	}
	l := new(Link)
	err := idb.NewSelect().Model(l).Where("dt.token_hash = ?", hashToken(token)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrLinkNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find download link: %w", err)
	}
	return l, l.usable(now)
}

func (l *Link) usable(now time.Time) error {
	switch {
	case l.ExpiresAt != nil && !l.ExpiresAt.After(now):
		return ErrLinkExpired
	case l.MaxDownloads != nil && l.Downloads >= *l.MaxDownloads:
		return ErrLinkUsedUp
	}
	return nil
}

// A Claim is one request for a link's file: Bytes of it (the Range asked
// for) out of a file of FileSize, a Download when it starts at byte 0 (or
// is the link's first request).
type Claim struct {
	Bytes, FileSize int64
	Download        bool
}

// Consume claims one request of link id (docs/deploy.md#download-links-and-range).
// A capped link serves at most max_downloads downloads and max_downloads
// times its file's size in bytes: a request reserves the bytes it asks for
// and Release gives back what was not sent, so once the cap is used every
// request is refused, resumed (Range) or not, while a download cut off and
// resumed fits in what its first request left. The checks are in the same
// UPDATE that counts, which PostgreSQL serialises per row: a cap of N
// allows exactly N downloads whatever the concurrency. It returns
// ErrLinkUsedUp or ErrLinkExpired when the request may not be served
// (ErrLinkNotFound when the link is gone).
func Consume(ctx context.Context, idb bun.IDB, id int64, now time.Time, cl Claim) error {
	unit, cost := max(cl.FileSize, 1), max(cl.Bytes, 1)
	var downloads int
	err := idb.NewRaw(`UPDATE download_tokens
		SET downloads = downloads + CASE WHEN ? THEN 1 ELSE 0 END,
			bytes_reserved = CASE WHEN max_downloads IS NULL THEN 0 ELSE bytes_reserved + ? END
		WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)
			AND (max_downloads IS NULL OR ((NOT ? OR downloads < max_downloads)
				AND bytes_reserved + ? <= max_downloads::bigint * ?))
		RETURNING downloads`, cl.Download, cost, id, now, cl.Download, cost, unit).Scan(ctx, &downloads)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("count download of link %d: %w", id, err)
	}
	l := new(Link)
	if err := idb.NewSelect().Model(l).Where("dt.id = ?", id).Scan(ctx); errors.Is(err, sql.ErrNoRows) {
		return ErrLinkNotFound
	} else if err != nil {
		return fmt.Errorf("download link %d: %w", id, err)
	}
	if l.ExpiresAt != nil && !l.ExpiresAt.After(now) {
		return ErrLinkExpired
	}
	return ErrLinkUsedUp
}

// Release gives back the unsent bytes of a request Consume counted (its
// answer was cut off or failed), so its resume fits in the link's cap.
func Release(ctx context.Context, idb bun.IDB, id, unsent int64) error {
	if unsent <= 0 {
		return nil
	}
	_, err := idb.NewRaw(`UPDATE download_tokens SET bytes_reserved = GREATEST(bytes_reserved - ?, 0)
		WHERE id = ? AND max_downloads IS NOT NULL`, unsent, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release bytes of link %d: %w", id, err)
	}
	return nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
