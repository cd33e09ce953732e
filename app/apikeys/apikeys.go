// Package apikeys owns API keys: creation (shown once, stored as SHA-256),
// lookup by presented key, scopes, revocation and expiry.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
)

// Key is a stored API key. The key itself is never stored, only its hash.
type Key struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         int64      `bun:"id,pk,autoincrement"`
	Name       string     `bun:"name"`
	Type       string     `bun:"type"`
	KeyHash    []byte     `bun:"key_hash"`
	KeyHint    string     `bun:"key_hint"`
	Scopes     []string   `bun:"scopes,array"`
	Special    bool       `bun:"special"`
	Revoked    bool       `bun:"revoked"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	CreatedAt  time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt  time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// HasScope reports whether the key may call an endpoint needing scope.
// Special keys skip scope checks.
func (k *Key) HasScope(scope string) bool {
	return k.Special || slices.Contains(k.Scopes, scope)
}

// Usable reports whether the key authenticates at time now for keyType.
func (k *Key) Usable(keyType string, now time.Time) bool {
	if k.Revoked || k.Type != keyType {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// ValidationError maps field names to messages.
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		parts = append(parts, f+": "+m)
	}
	slices.Sort(parts)
	return "invalid API key: " + strings.Join(parts, "; ")
}

// ErrKeyTaken is returned when an admin-typed key string already exists.
var ErrKeyTaken = errkind.New(errkind.Conflict, "this key is already in use")

// CreateParams describe a new key. Scopes empty means every scope of the
// type. Key empty means generate one.
type CreateParams struct {
	Name      string
	Type      string
	Scopes    []string
	Special   bool
	ExpiresAt *time.Time
	Key       string
}

const (
	keyAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	generatedLen = 40
)

// Create validates p, stores the key's hash and returns the plain key, which
// is never retrievable again.
func Create(ctx context.Context, idb bun.IDB, p CreateParams, now time.Time) (string, *Key, error) {
	verr := map[string]string{}
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		verr["name"] = "The name field is required."
	} else if len(p.Name) > 255 {
		verr["name"] = "The name field must not be greater than 255 characters."
	}
	all := ScopesFor(p.Type)
	if all == nil {
		verr["type"] = "The selected type is invalid."
	}
	scopes := all
	if len(p.Scopes) > 0 && all != nil {
		scopes = nil
		for _, s := range p.Scopes {
			if !slices.Contains(all, s) {
				verr["scopes"] = fmt.Sprintf("The scope %q does not exist for %s keys.", s, p.Type)
				break
			}
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	if p.ExpiresAt != nil {
		if !p.ExpiresAt.After(now) {
			verr["expires_at"] = "The expires at field must be a date after now."
		} else if p.ExpiresAt.After(now.AddDate(1, 0, 1)) {
			verr["expires_at"] = "The expires at field must be at most one year ahead."
		}
	}
	if p.Key != "" && (len(p.Key) < MinCustomLen || len(p.Key) > 100 || strings.TrimSpace(p.Key) != p.Key) {
		verr["key"] = fmt.Sprintf("The key must be %d to 100 characters without surrounding spaces.", MinCustomLen)
	}
	if len(verr) > 0 {
		return "", nil, &ValidationError{Fields: verr}
	}

	plain := p.Key
	if plain == "" {
		var err error
		if plain, err = generate(); err != nil {
			return "", nil, err
		}
	}
	k := &Key{
		Name:      p.Name,
		Type:      p.Type,
		KeyHash:   Hash(plain),
		KeyHint:   hint(plain),
		Scopes:    scopes,
		Special:   p.Special,
		ExpiresAt: p.ExpiresAt,
	}
	res, err := idb.NewInsert().Model(k).On("CONFLICT (key_hash) DO NOTHING").Returning("*").Exec(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("insert api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", nil, ErrKeyTaken
	}
	return plain, k, nil
}

// Lookup finds a key by its plain value. It returns (nil, nil) when no key
// has that hash; callers decide what an unusable key means.
func Lookup(ctx context.Context, idb bun.IDB, plain string) (*Key, error) {
	k := new(Key)
	err := idb.NewSelect().Model(k).Where("key_hash = ?", Hash(plain)).Scan(ctx)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("look up api key: %w", err)
	}
	return k, nil
}

// Hash is the stored form of a key. Keys are long random strings, so a fast
// hash is enough; it also keeps the lookup a single indexed equality match.
func Hash(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

func generate() (string, error) {
	b := make([]byte, generatedLen)
	max := big.NewInt(int64(len(keyAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate api key: %w", err)
		}
		b[i] = keyAlphabet[n.Int64()]
	}
	return string(b), nil
}

// MinCustomLen is the shortest key an admin may type (a shipped legacy
// key, say): shorter ones are guessable (docs/deploy.md#api-key-hints).
const MinCustomLen = 32

// hintLen characters at the end of a key tell keys apart in lists: 4 of at
// least 32 leave 28 unknown, far too many to guess.
const hintLen = 4

// hint is what the console shows of a key: its last hintLen characters.
func hint(plain string) string {
	if len(plain) < MinCustomLen {
		return ""
	}
	return plain[len(plain)-hintLen:]
}
