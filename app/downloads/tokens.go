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
)

// Why a download link cannot be used (api.md §4.12).
var (
	ErrLinkNotFound = errors.New("download link not found")
	ErrLinkExpired  = errors.New("download link has expired")
	ErrLinkUsedUp   = errors.New("download limit reached")
)

// tokenAlphabet is URL-safe; a token is 40 of its characters (§5.6).
const (
	tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tokenLength   = 40
)

// Link is a download link. Only the SHA-256 of its token is stored.
type Link struct {
	bun.BaseModel `bun:"table:download_tokens,alias:dt"`

	ID           int64      `bun:"id,pk,autoincrement"`
	TokenHash    string     `bun:"token_hash"`
	ProductID    int64      `bun:"product_id"`
	VersionID    int64      `bun:"version_id"`
	Type         string     `bun:"type"`
	MaxDownloads *int       `bun:"max_downloads"`
	Downloads    int        `bun:"downloads"`
	ExpiresAt    *time.Time `bun:"expires_at"`
	CreatedAt    time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// LinkParams describe a new link: a version's file of a type, an optional
// cap (nil: unlimited) and an optional expiry (nil: never). The caller has
// validated them.
type LinkParams struct {
	ProductID, VersionID int64
	Type                 string
	MaxDownloads         *int
	ExpiresAt            *time.Time
}

// CreateLink stores a new link and returns its token, which exists only in
// this answer.
func CreateLink(ctx context.Context, idb bun.IDB, p LinkParams, now time.Time) (string, *Link, error) {
	token := randomString(tokenLength, tokenAlphabet)
	l := &Link{TokenHash: hashToken(token), ProductID: p.ProductID, VersionID: p.VersionID, Type: p.Type,
		MaxDownloads: p.MaxDownloads, ExpiresAt: p.ExpiresAt, CreatedAt: now}
	if _, err := idb.NewInsert().Model(l).Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("create download link: %w", err)
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

// Consume counts one download of link id. The cap and expiry are checked
// in the same UPDATE that raises the counter, which PostgreSQL serialises
// per row: a cap of N allows exactly N downloads whatever the concurrency.
// It returns ErrLinkUsedUp or ErrLinkExpired when the download may not
// happen (ErrLinkNotFound when the link is gone).
func Consume(ctx context.Context, idb bun.IDB, id int64, now time.Time) error {
	var downloads int
	err := idb.NewRaw(`UPDATE download_tokens SET downloads = downloads + 1
		WHERE id = ? AND (max_downloads IS NULL OR downloads < max_downloads) AND (expires_at IS NULL OR expires_at > ?)
		RETURNING downloads`, id, now).Scan(ctx, &downloads)
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
	if err := l.usable(now); err != nil {
		return err
	}
	return ErrLinkUsedUp
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
