// Package signing owns the server's Ed25519 signing keys
// (docs/api/signing.md#signing-keys) and what they sign: activation tokens
// (docs/api/signing.md#activation-tokens) and license files
// (docs/api/signing.md#license-files). It also opens the tokens of a migrated
// License Manager or LicenseBox installation
// (docs/api/signing.md#migrated-tokens), and checks vendors' signed release
// manifests (docs/api/signing.md#release-integrity).
//
// Keys live in the signing_keys table, private halves sealed with the
// instance secret (seal.go). A node loads them once into a KeyRing; signing
// and verifying are then pure computation, and Reload picks up a rotation
// made by another node (Subscribe wires that to NOTIFY).
//
//	signing.EnsureKey(ctx, db, secret, time.Now()) // at start-up
//	ring, err := signing.Load(ctx, db, secret)
//	token, err := ring.IssueToken(activationID, productRef, now)
//	claims, err := ring.VerifyToken(token)
package signing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/pgnotify"
)

const (
	// AlgEd25519 is the only signing algorithm.
	AlgEd25519 = "ed25519"
	// StatusActive marks the key that signs; there is at most one.
	StatusActive = "active"
	// StatusRetired marks keys that only verify what they signed.
	StatusRetired = "retired"
	// KeysChannel is NOTIFYed in the transaction of every key change, so
	// each node's KeyRing reloads (see Subscribe).
	KeysChannel = "licensor_signing_keys"
)

// keysLockKey serialises key creation and rotation across nodes
// ("LICSIGN" in ASCII, as a number).
const keysLockKey = 0x4c49435349474e

var (
	// ErrNoKey is returned when signing without an active key.
	ErrNoKey = errors.New("signing: no active signing key")
	// ErrNotFound is returned for an unknown key id.
	ErrNotFound = errkind.New(errkind.NotFound, "signing: key not found")
	// ErrActiveKey is returned when deleting the active key: rotate first.
	ErrActiveKey = errkind.New(errkind.Conflict, "signing: the active key cannot be deleted; rotate first")
)

// Key is one server signing key.
type Key struct {
	// KID is the first 16 hex characters of SHA-256 of the public key.
	KID       string
	Algorithm string
	Public    ed25519.PublicKey
	// Private is set only on the active key of a KeyRing (retired keys
	// never sign, so their private halves are not opened).
	Private   ed25519.PrivateKey
	Status    string
	CreatedAt time.Time
	RetiredAt *time.Time
}

// KeyID derives a key id (docs/api/signing.md#signing-keys): the first 16 hex characters of
// SHA-256 of the raw 32-byte public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// NewKey makes an active Key from a private key, for rings built without a
// database (tests, benchmarks, tools).
func NewKey(priv ed25519.PrivateKey, createdAt time.Time) Key {
	pub := priv.Public().(ed25519.PublicKey)
	return Key{KID: KeyID(pub), Algorithm: AlgEd25519, Public: pub, Private: priv, Status: StatusActive, CreatedAt: createdAt}
}

// keyRow is a row of signing_keys.
type keyRow struct {
	bun.BaseModel `bun:"table:signing_keys"`

	ID         int64      `bun:"id,pk,autoincrement"`
	KID        string     `bun:"kid"`
	Algorithm  string     `bun:"algorithm"`
	PublicKey  []byte     `bun:"public_key"`
	PrivateKey []byte     `bun:"private_key"`
	Status     string     `bun:"status"`
	CreatedAt  time.Time  `bun:"created_at"`
	RetiredAt  *time.Time `bun:"retired_at"`
}

func (r *keyRow) key() Key {
	return Key{KID: r.KID, Algorithm: r.Algorithm, Public: ed25519.PublicKey(r.PublicKey), Status: r.Status,
		CreatedAt: r.CreatedAt, RetiredAt: r.RetiredAt}
}

// selectKeys orders keys as they are tried and published: the active key,
// then retired keys newest first.
func selectKeys(idb bun.IDB, rows *[]keyRow) *bun.SelectQuery {
	return idb.NewSelect().Model(rows).
		OrderExpr("status = 'active' DESC, created_at DESC, id DESC")
}

// EnsureKey creates an active key when there is none (first start, or
// after the active key was deleted) and reports whether it did. Nodes
// starting at once take turns on an advisory lock, so exactly one key is
// made.
func EnsureKey(ctx context.Context, idb bun.IDB, secret []byte, now time.Time) (created bool, err error) {
	// Every start of every node calls this, and but for the first a key
	// exists: one read answers it, with no key generated for nothing and
	// no locked transaction. Without one, the lock decides who creates it.
	exists, err := activeKeyExists(ctx, idb)
	if err != nil {
		return false, fmt.Errorf("ensure signing key: %w", err)
	}
	if exists {
		return false, nil
	}
	row, err := newKeyRow(secret, now)
	if err != nil {
		return false, err
	}
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := lockKeys(ctx, tx); err != nil {
			return err
		}
		exists, err := activeKeyExists(ctx, tx)
		if err != nil || exists {
			return err
		}
		if err := insertKey(ctx, tx, row); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("ensure signing key: %w", err)
	}
	return created, nil
}

func activeKeyExists(ctx context.Context, idb bun.IDB) (bool, error) {
	return idb.NewSelect().Model((*keyRow)(nil)).Where("status = ?", StatusActive).Exists(ctx)
}

// Rotate makes a new active key and retires the previous one at now; the
// retired key keeps verifying what it signed. It returns the new key
// (without its private half).
func Rotate(ctx context.Context, idb bun.IDB, secret []byte, now time.Time) (Key, error) {
	row, err := newKeyRow(secret, now)
	if err != nil {
		return Key{}, err
	}
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := lockKeys(ctx, tx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Model((*keyRow)(nil)).
			Set("status = ?", StatusRetired).Set("retired_at = ?", now).
			Where("status = ?", StatusActive).Exec(ctx)
		if err != nil {
			return err
		}
		return insertKey(ctx, tx, row)
	})
	if err != nil {
		return Key{}, fmt.Errorf("rotate signing key: %w", err)
	}
	return row.key(), nil
}

// List returns every key (public halves only), the active one first, then
// retired keys newest first.
func List(ctx context.Context, idb bun.IDB) ([]Key, error) {
	var rows []keyRow
	if err := selectKeys(idb, &rows).Column("id", "kid", "algorithm", "public_key", "status", "created_at", "retired_at").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	keys := make([]Key, len(rows))
	for i := range rows {
		keys[i] = rows[i].key()
	}
	return keys, nil
}

// Delete removes a retired key: every token and license file it signed
// stops verifying. The active key cannot be deleted (ErrActiveKey).
func Delete(ctx context.Context, idb bun.IDB, kid string) error {
	return idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row keyRow
		err := tx.NewSelect().Model(&row).Column("id", "status").Where("kid = ?", kid).For("UPDATE").Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("delete signing key %s: %w", kid, err)
		case row.Status == StatusActive:
			return ErrActiveKey
		}
		if _, err := tx.NewDelete().Model((*keyRow)(nil)).Where("id = ?", row.ID).Exec(ctx); err != nil {
			return fmt.Errorf("delete signing key %s: %w", kid, err)
		}
		return notifyKeys(ctx, tx)
	})
}

func newKeyRow(secret []byte, now time.Time) (*keyRow, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing: generate key: %w", err)
	}
	kid := KeyID(pub)
	sealed, err := sealSeed(secret, kid, priv.Seed(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &keyRow{KID: kid, Algorithm: AlgEd25519, PublicKey: pub, PrivateKey: sealed, Status: StatusActive, CreatedAt: now}, nil
}

func lockKeys(ctx context.Context, tx bun.Tx) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", keysLockKey)
	return err
}

func insertKey(ctx context.Context, tx bun.Tx, row *keyRow) error {
	if _, err := tx.NewInsert().Model(row).ExcludeColumn("retired_at").Returning("id").Exec(ctx); err != nil {
		return err
	}
	return notifyKeys(ctx, tx)
}

func notifyKeys(ctx context.Context, idb bun.IDB) error {
	_, err := idb.ExecContext(ctx, "SELECT pg_notify(?, '')", KeysChannel)
	return err
}

// KeyRing holds a node's signing keys in memory: the active key signs;
// every key verifies. It is safe for concurrent use.
type KeyRing struct {
	secret   []byte
	set      atomic.Pointer[keySet]
	reloadMu sync.Mutex
}

// keySet is an immutable snapshot: the active key (nil when there is
// none), then retired keys newest first.
type keySet struct {
	keys   []Key
	active *Key
	byKID  map[string]*Key
}

func newKeySet(keys []Key) (*keySet, error) {
	s := &keySet{keys: keys, byKID: make(map[string]*Key, len(keys))}
	for i := range s.keys {
		k := &s.keys[i]
		if len(k.Public) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing: key %s: bad public key", k.KID)
		}
		if k.Status == StatusActive {
			if s.active != nil {
				return nil, fmt.Errorf("signing: two active keys (%s, %s)", s.active.KID, k.KID)
			}
			if len(k.Private) != ed25519.PrivateKeySize || !k.Public.Equal(k.Private.Public()) {
				return nil, fmt.Errorf("signing: active key %s: private key missing or not the public key's", k.KID)
			}
			s.active = k
		}
		s.byKID[k.KID] = k
	}
	return s, nil
}

// NewKeyRing builds a ring from keys in the order they should be tried
// (the active key first, then retired keys newest first), without a
// database: for tests, benchmarks and tools. At most one key may be
// active, and it must carry its private key. Reload is not available.
func NewKeyRing(keys ...Key) (*KeyRing, error) {
	s, err := newKeySet(append([]Key(nil), keys...))
	if err != nil {
		return nil, err
	}
	r := &KeyRing{}
	r.set.Store(s)
	return r, nil
}

// Load reads every key from the database and opens the active key's
// private half with secret (ErrWrongSecret when it does not open).
func Load(ctx context.Context, idb bun.IDB, secret []byte) (*KeyRing, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	r := &KeyRing{secret: append([]byte(nil), secret...)}
	if err := r.Reload(ctx, idb); err != nil {
		return nil, err
	}
	return r, nil
}

// Rotate makes a new active key sealed with the ring's instance secret,
// retires the previous one (see the package-level Rotate, which `licensor
// keys rotate` calls) and logs the rotation as by (signing_key.rotated).
// idb should be the caller's transaction, so the key and its log line
// commit together; every node's ring, this one included, picks the key up
// from the notification sent when it commits, or from Reload.
func (r *KeyRing) Rotate(ctx context.Context, idb bun.IDB, by audit.Source, now time.Time) (Key, error) {
	if len(r.secret) == 0 {
		return Key{}, errors.New("signing: this key ring was not loaded from the database")
	}
	k, err := Rotate(ctx, idb, r.secret, now)
	if err != nil {
		return k, err
	}
	return k, audit.Record(ctx, idb, audit.Entry{
		Type: "signing_key.rotated", Actor: by.Actor, IP: by.IP,
		Message: fmt.Sprintf("Signing key rotated: %s is now active %s.", k.KID, by.Actor.Via()),
		Data:    map[string]any{"kid": k.KID},
	})
}

// Reload rereads the keys, so a rotation or deletion made by any node is
// used from now on. On error the keys held so far stay in use.
func (r *KeyRing) Reload(ctx context.Context, idb bun.IDB) error {
	if len(r.secret) == 0 {
		return errors.New("signing: this key ring was not loaded from the database")
	}
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	var rows []keyRow
	if err := selectKeys(idb, &rows).Scan(ctx); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	keys := make([]Key, len(rows))
	for i := range rows {
		keys[i] = rows[i].key()
		if rows[i].Status != StatusActive {
			continue
		}
		seed, err := openSeed(r.secret, rows[i].KID, rows[i].PrivateKey)
		if err != nil {
			return fmt.Errorf("load signing key %s: %w", rows[i].KID, err)
		}
		keys[i].Private = ed25519.NewKeyFromSeed(seed)
	}
	s, err := newKeySet(keys)
	if err != nil {
		return err
	}
	r.set.Store(s)
	return nil
}

// Subscribe reloads the ring whenever KeysChannel is notified, and when
// notifications may have been missed. Call before listener.Start. Reload
// errors go to logger; the previous keys stay in use.
func (r *KeyRing) Subscribe(listener *pgnotify.Listener, idb bun.IDB, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reload := func() {
		// Off the listener's goroutine: a query must not hold up other
		// channels' notifications.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Reload(ctx, idb); err != nil {
				logger.Error("reload signing keys", "error", err)
			}
		}()
	}
	return listener.Subscribe(KeysChannel, pgnotify.Subscriber{Notify: func(string) { reload() }, Reset: reload})
}

// Active returns the key that signs (without its private half).
func (r *KeyRing) Active() (Key, bool) {
	s := r.set.Load()
	if s.active == nil {
		return Key{}, false
	}
	k := *s.active
	k.Private = nil
	return k, true
}

// SetID identifies the current key set: it changes whenever the keys are
// loaded again, and costs one atomic load (a verify asks on every request).
func (r *KeyRing) SetID() any { return r.set.Load() }

// Keys returns every key that verifies (public halves only), the active
// key first, then retired keys newest first.
func (r *KeyRing) Keys() []Key {
	s := r.set.Load()
	out := make([]Key, len(s.keys))
	for i, k := range s.keys {
		k.Private = nil
		out[i] = k
	}
	return out
}

// PublicKeyJSON is one key of GET /api/external/public-keys (docs/api/external.md#public-keys).
type PublicKeyJSON struct {
	KID       string  `json:"kid"`
	Alg       string  `json:"alg"`
	PublicKey string  `json:"public_key"` // standard base64 of the 32 raw bytes
	CreatedAt string  `json:"created_at"`
	RetiredAt *string `json:"retired_at"`
}

// PublicKeysJSON is the body of GET /api/external/public-keys:
// {"data":[{"kid":…,"alg":"ed25519","public_key":…,"created_at":…,"retired_at":null}, …]}.
type PublicKeysJSON struct {
	Data []PublicKeyJSON `json:"data"`
}

// PublicKeys returns every key that still verifies, the active key first
// (docs/api/external.md#public-keys).
func (r *KeyRing) PublicKeys() PublicKeysJSON {
	s := r.set.Load()
	out := PublicKeysJSON{Data: make([]PublicKeyJSON, 0, len(s.keys))}
	for _, k := range s.keys {
		pk := PublicKeyJSON{KID: k.KID, Alg: k.Algorithm, PublicKey: base64.StdEncoding.EncodeToString(k.Public),
			CreatedAt: timestamp(k.CreatedAt)}
		if k.RetiredAt != nil {
			t := timestamp(*k.RetiredAt)
			pk.RetiredAt = &t
		}
		out.Data = append(out.Data, pk)
	}
	return out
}

// timestampLayout is how resources carry times (docs/api/conventions.md#responses).
const timestampLayout = "2006-01-02T15:04:05.000000Z"

func timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }
