package admins

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Token purposes of admin links and how long each is valid: the
// invitation 7 days (as the customers' set-password link), a password
// reset 60 minutes (as the portal's), the confirmation of a new email
// address 24 hours.
const (
	TokenInvitation    = "invitation"
	TokenPasswordReset = "password_reset"
	TokenEmailChange   = "email_change"
)

// TokenTTL is how long a token of each purpose is valid.
var TokenTTL = map[string]time.Duration{
	TokenInvitation:    7 * 24 * time.Hour,
	TokenPasswordReset: 60 * time.Minute,
	TokenEmailChange:   24 * time.Hour,
}

// ErrTokenInvalid is returned for a token that is unknown, expired, used,
// of another purpose, or cancelled by the use of a sibling.
var ErrTokenInvalid = errors.New("admin link invalid or expired")

// Token is a stored admin link (its hash only).
type Token struct {
	bun.BaseModel `bun:"table:admin_tokens,alias:t"`

	ID        int64      `bun:"id,pk,autoincrement"`
	AdminID   int64      `bun:"admin_id"`
	Purpose   string     `bun:"purpose"`
	TokenHash []byte     `bun:"token_hash"`
	Email     string     `bun:"email"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
	CreatedAt time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// CreateToken stores a new single-use token of purpose for a, sent to
// email, and returns it (43 URL-safe characters; stored as SHA-256).
func CreateToken(ctx context.Context, idb bun.IDB, a *Admin, purpose, email string, now time.Time) (string, error) {
	ttl, ok := TokenTTL[purpose]
	if !ok {
		return "", fmt.Errorf("create admin token: unknown purpose %q", purpose)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	t := &Token{AdminID: a.ID, Purpose: purpose, TokenHash: hashToken(token), Email: email, ExpiresAt: now.Add(ttl), CreatedAt: now}
	if _, err := idb.NewInsert().Model(t).Exec(ctx); err != nil {
		return "", fmt.Errorf("create admin token: %w", err)
	}
	return token, nil
}

// PeekToken returns the outstanding token of purpose without using it (a
// form's GET shows whether its link is still good).
func PeekToken(ctx context.Context, idb bun.IDB, token, purpose string, now time.Time) (*Token, error) {
	if token == "" {
		return nil, ErrTokenInvalid
	}
	t := new(Token)
	err := idb.NewSelect().Model(t).Where("token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", hashToken(token), purpose, now).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("check admin token: %w", err)
	}
	return t, nil
}

// ConsumeToken uses token once: it must be of purpose, unused and
// unexpired at now. Using it cancels the admin's other outstanding tokens
// of the same purpose. Call it in the transaction that applies the change.
func ConsumeToken(ctx context.Context, idb bun.IDB, token, purpose string, now time.Time) (*Token, error) {
	if token == "" {
		return nil, ErrTokenInvalid
	}
	t := new(Token)
	err := idb.NewUpdate().Model(t).Set("used_at = ?", now).
		Where("token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", hashToken(token), purpose, now).
		Returning("*").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("use admin token: %w", err)
	}
	if err := cancelTokens(ctx, idb, t.AdminID, now, purpose); err != nil {
		return nil, err
	}
	return t, nil
}

// cancelTokens marks the admin's outstanding tokens of purposes used.
func cancelTokens(ctx context.Context, idb bun.IDB, adminID int64, now time.Time, purposes ...string) error {
	_, err := idb.NewUpdate().Model((*Token)(nil)).Set("used_at = ?", now).
		Where("admin_id = ? AND purpose IN (?) AND used_at IS NULL", adminID, bun.List(purposes)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("cancel admin tokens: %w", err)
	}
	return nil
}

// PruneTokens deletes tokens that expired or were used before cutoff.
func PruneTokens(ctx context.Context, idb bun.IDB, cutoff time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Token)(nil)).Where("expires_at < ? OR used_at < ?", cutoff, cutoff).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune admin tokens: %w", err)
	}
	return res.RowsAffected()
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
