// Package releasekeys owns release integrity on the server side
// (docs/api/signing.md#release-integrity): the vendor's trusted Ed25519 release
// keys (added and revoked in settings → updates, each change in the activity
// log), the signatures stored with versions, and the check that a signature was
// made by a key that is still trusted. The manifest format and the signing
// itself are in package signing.
package releasekeys

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/signing"
)

// ErrNotFound is returned for an unknown key.
var ErrNotFound = errkind.New(errkind.NotFound, "release key not found")

// SubjectReleaseKey is the activity-log subject type of a release key.
const SubjectReleaseKey = "release_key"

// nameMax bounds a key's name (the column's CHECK).
const nameMax = 100

// Key is a trusted (or revoked) release key.
type Key struct {
	bun.BaseModel `bun:"table:release_keys,alias:rk"`

	ID        int64      `bun:"id,pk,autoincrement"`
	Name      string     `bun:"name"`
	KeyID     string     `bun:"key_id"`
	PublicKey []byte     `bun:"public_key"`
	CreatedAt time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

// Revoked reports whether the key no longer verifies.
func (k *Key) Revoked() bool { return k.RevokedAt != nil }

// PublicBase64 is the public key as the console shows it.
func (k *Key) PublicBase64() string { return base64.StdEncoding.EncodeToString(k.PublicKey) }

// ParsePublicKey reads an Ed25519 public key written as base64 (standard
// or URL-safe, padded or not) or hex of the raw 32 bytes, or as a PEM
// "PUBLIC KEY" block (what `openssl pkey -pubout` and `licensor release
// keygen` write).
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	text = strings.TrimSpace(text)
	if block, _ := pem.Decode([]byte(text)); block != nil {
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read PEM public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("the PEM key is not an Ed25519 key")
		}
		return pub, nil
	}
	compact := strings.Join(strings.Fields(text), "")
	if len(compact) == 2*ed25519.PublicKeySize {
		if b, err := hex.DecodeString(compact); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(compact); err == nil && len(b) == ed25519.PublicKeySize {
			return b, nil
		}
	}
	return nil, errors.New("not a 32-byte Ed25519 public key")
}

// Add trusts a new release key named name. Bad input is a *fields.Error on
// "name" or "public_key".
func Add(ctx context.Context, idb bun.IDB, by audit.Source, name, publicKey string, now time.Time) (*Key, error) {
	var verr fields.Error
	name = strings.TrimSpace(name)
	verr.CheckLen("name", name, 1, nameMax)
	var pub ed25519.PublicKey
	if strings.TrimSpace(publicKey) == "" {
		verr.Add("public_key", fields.Required("public_key"))
	} else if p, err := ParsePublicKey(publicKey); err != nil {
		verr.Add("public_key", "The public key must be an Ed25519 public key: base64 or hex of its 32 bytes, or a PEM block.")
	} else {
		pub = p
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	k := &Key{Name: name, KeyID: signing.KeyID(pub), PublicKey: pub, CreatedAt: now}
	res, err := idb.NewInsert().Model(k).On("CONFLICT (key_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("add release key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fields.New("public_key", "This key has already been added (key ID "+k.KeyID+").")
	}
	err = audit.Record(ctx, idb, audit.Entry{
		Type: "release_key.added", Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: SubjectReleaseKey, ID: k.ID},
		Message: fmt.Sprintf("Release key %s (%s) trusted %s.", k.Name, k.KeyID, by.Actor.Via()),
	})
	return k, err
}

// Revoke stops key id from verifying. Revoking a revoked key changes
// nothing and logs nothing.
func Revoke(ctx context.Context, idb bun.IDB, by audit.Source, id int64, now time.Time) (*Key, error) {
	k := new(Key)
	err := idb.NewSelect().Model(k).Where("rk.id = ?", id).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("release key %d: %w", id, err)
	}
	if k.Revoked() {
		return k, nil
	}
	k.RevokedAt = &now
	if _, err := idb.NewUpdate().Model(k).Column("revoked_at").WherePK().Exec(ctx); err != nil {
		return nil, fmt.Errorf("revoke release key %d: %w", id, err)
	}
	err = audit.Record(ctx, idb, audit.Entry{
		Type: "release_key.revoked", Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: SubjectReleaseKey, ID: k.ID},
		Message: fmt.Sprintf("Release key %s (%s) revoked %s.", k.Name, k.KeyID, by.Actor.Via()),
	})
	return k, err
}

// List returns every key, trusted ones first, newest first.
func List(ctx context.Context, idb bun.IDB) ([]Key, error) {
	var ks []Key
	err := idb.NewSelect().Model(&ks).OrderExpr("rk.revoked_at IS NOT NULL, rk.created_at DESC, rk.id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list release keys: %w", err)
	}
	return ks, nil
}

// Trusted returns the public key of a trusted (not revoked) key by its key
// id; false when there is none.
func Trusted(ctx context.Context, idb bun.IDB, keyID string) (ed25519.PublicKey, bool, error) {
	var pub []byte
	err := idb.NewSelect().Model((*Key)(nil)).Column("public_key").
		Where("key_id = ? AND revoked_at IS NULL", strings.ToLower(strings.TrimSpace(keyID))).Scan(ctx, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("release key %q: %w", keyID, err)
	}
	return pub, true, nil
}

// TrustedSet is every trusted key by key id, for checks of many
// signatures at once.
type TrustedSet map[string]ed25519.PublicKey

// LoadTrusted returns the trusted keys.
func LoadTrusted(ctx context.Context, idb bun.IDB) (TrustedSet, error) {
	var ks []Key
	if err := idb.NewSelect().Model(&ks).Where("rk.revoked_at IS NULL").Scan(ctx); err != nil {
		return nil, fmt.Errorf("trusted release keys: %w", err)
	}
	set := make(TrustedSet, len(ks))
	for _, k := range ks {
		set[k.KeyID] = k.PublicKey
	}
	return set, nil
}

// Verify reports whether sig is a valid Ed25519 signature over its own
// manifest by a key in the set.
func (s TrustedSet) Verify(sig signing.ReleaseSignature) bool {
	pub, ok := s[sig.KeyID]
	if !ok || len(pub) != ed25519.PublicKeySize || sig.Algo != signing.AlgEd25519 {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Value)
	return err == nil && len(raw) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(sig.Manifest), raw)
}
