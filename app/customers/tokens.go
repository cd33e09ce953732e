package customers

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
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Token purposes and how long their links are valid
// (docs/features.md#links-mailed-to-customers): the email confirmation link 24
// hours, a password reset link 60 minutes, the welcome email's set-password
// link 7 days. The reset and set-password links open the same portal page
// (/customer/password/reset/{token}).
const (
	TokenEmailVerification = "email_verification"
	TokenPasswordReset     = "password_reset"
	TokenPasswordSet       = "password_set"
)

// TokenTTL is how long a token of each purpose is valid.
var TokenTTL = map[string]time.Duration{
	TokenEmailVerification: 24 * time.Hour,
	TokenPasswordReset:     60 * time.Minute,
	TokenPasswordSet:       7 * 24 * time.Hour,
}

// ErrTokenInvalid is returned for a token that is unknown, expired, used,
// of another purpose, or cancelled by the use of a sibling.
var ErrTokenInvalid = errors.New("customer token invalid or expired")

// Token is a stored token (its hash only; the token itself is only ever in
// the link that was sent).
type Token struct {
	bun.BaseModel `bun:"table:customer_tokens,alias:ct"`

	ID         int64      `bun:"id,pk,autoincrement"`
	CustomerID int64      `bun:"customer_id"`
	Purpose    string     `bun:"purpose"`
	TokenHash  []byte     `bun:"token_hash"`
	Email      string     `bun:"email"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	UsedAt     *time.Time `bun:"used_at"`
	CreatedAt  time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// CreateToken stores a new single-use token of purpose for customer c,
// valid for TokenTTL[purpose] from now, and returns it: 43 URL-safe
// characters, stored as its SHA-256. email is the address the link goes to
// (for an email change, the new address). Asking for a new token does not
// cancel earlier ones (docs/features.md#links-mailed-to-customers).
func CreateToken(ctx context.Context, idb bun.IDB, c *Customer, purpose, email string, now time.Time) (string, error) {
	ttl, ok := TokenTTL[purpose]
	if !ok {
		return "", fmt.Errorf("create customer token: unknown purpose %q", purpose)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	t := &Token{
		CustomerID: c.ID,
		Purpose:    purpose,
		TokenHash:  hashToken(token),
		Email:      email,
		ExpiresAt:  now.Add(ttl),
		CreatedAt:  now,
	}
	if _, err := idb.NewInsert().Model(t).Exec(ctx); err != nil {
		return "", fmt.Errorf("create customer token: %w", err)
	}
	return token, nil
}

// ConsumeToken uses token once: it must be one of purposes, unused and
// unexpired at now. Using it cancels the customer's other outstanding tokens of
// the same family (any password link cancels the other password links; a
// confirmation link the other confirmation links), as
// docs/features.md#links-mailed-to-customers says. The portal's confirmation
// and reset pages call it inside the transaction that applies the change.
func ConsumeToken(ctx context.Context, idb bun.IDB, token string, now time.Time, purposes ...string) (*Token, error) {
	if token == "" || len(purposes) == 0 {
		return nil, ErrTokenInvalid
	}
	t := new(Token)
	err := idb.NewUpdate().Model(t).
		Set("used_at = ?", now).
		Where("token_hash = ?", hashToken(token)).
		Where("purpose IN (?)", bun.List(purposes)).
		Where("used_at IS NULL").
		Where("expires_at > ?", now).
		Returning("*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("consume customer token: %w", err)
	}
	_, err = idb.NewUpdate().Model((*Token)(nil)).
		Set("used_at = ?", now).
		Where("customer_id = ?", t.CustomerID).
		Where("purpose = ANY(?)", pgdialect.Array(tokenFamily(t.Purpose))).
		Where("used_at IS NULL").
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("cancel sibling customer tokens: %w", err)
	}
	return t, nil
}

// PruneTokens deletes tokens that expired or were used before cutoff.
func PruneTokens(ctx context.Context, idb bun.IDB, cutoff time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Token)(nil)).
		Where("expires_at < ? OR used_at < ?", cutoff, cutoff).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune customer tokens: %w", err)
	}
	return res.RowsAffected()
}

func tokenFamily(purpose string) []string {
	if purpose == TokenEmailVerification {
		return []string{TokenEmailVerification}
	}
	return []string{TokenPasswordReset, TokenPasswordSet}
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
