package captcha

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	dchest "github.com/dchest/captcha"
	"github.com/uptrace/bun"
)

// TTL is how long a challenge can be answered: long enough for a form left
// open a while, short enough that harvested answers go stale.
const TTL = 30 * time.Minute

// Store keeps the answers of one kind of built-in challenge ("math" or
// "image") in the captcha_challenges table, shared by every node. Take
// deletes the answer it returns, so each challenge is checked once.
//
// Store also implements github.com/dchest/captcha's Store interface (Set,
// Get), which has no context and no error: those run with a short timeout
// of their own and log nothing (a failed Set leaves a challenge no one can
// answer; a failed Get answers nil, i.e. wrong).
type Store struct {
	db   bun.IDB
	kind string
	now  func() time.Time
}

var _ dchest.Store = (*Store)(nil)

// NewStore returns the store of kind (ProviderMath or ProviderImage) on
// db; now nil means time.Now.
func NewStore(db bun.IDB, kind string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, kind: kind, now: now}
}

// WithKind is the same table for another kind of challenge.
func (s *Store) WithKind(kind string) *Store {
	return &Store{db: s.db, kind: kind, now: s.now}
}

type challenge struct {
	bun.BaseModel `bun:"table:captcha_challenges,alias:cc"`

	ID        string    `bun:"id,pk"`
	Kind      string    `bun:"kind"`
	Answer    []byte    `bun:"answer"`
	ExpiresAt time.Time `bun:"expires_at"`
	CreatedAt time.Time `bun:"created_at"`
}

// Create stores answer under a new random id, valid for TTL, and prunes
// expired challenges.
func (s *Store) Create(ctx context.Context, answer []byte) (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	if err := s.put(ctx, id, answer); err != nil {
		return "", err
	}
	if _, err := s.db.NewDelete().Model((*challenge)(nil)).Where("expires_at < ?", s.now()).Exec(ctx); err != nil {
		return "", fmt.Errorf("captcha: prune: %w", err)
	}
	return id, nil
}

func (s *Store) put(ctx context.Context, id string, answer []byte) error {
	now := s.now()
	ch := &challenge{ID: id, Kind: s.kind, Answer: answer, ExpiresAt: now.Add(TTL), CreatedAt: now}
	_, err := s.db.NewInsert().Model(ch).
		On("CONFLICT (id) DO UPDATE").
		Set("answer = EXCLUDED.answer, expires_at = EXCLUDED.expires_at").
		Where("cc.kind = EXCLUDED.kind").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("captcha: store challenge: %w", err)
	}
	return nil
}

// Peek returns the answer of a live challenge without using it up (to
// draw its image), or nil.
func (s *Store) Peek(ctx context.Context, id string) ([]byte, error) {
	var answer []byte
	err := s.db.NewSelect().Model((*challenge)(nil)).Column("answer").
		Where("id = ? AND kind = ? AND expires_at > ?", id, s.kind, s.now()).
		Scan(ctx, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("captcha: read challenge: %w", err)
	}
	return answer, nil
}

// Take deletes a challenge and returns its answer, or nil when it is
// unknown, expired or already taken.
func (s *Store) Take(ctx context.Context, id string) ([]byte, error) {
	var ch challenge
	err := s.db.NewDelete().Model(&ch).
		Where("id = ? AND kind = ?", id, s.kind).
		Returning("answer, expires_at").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("captcha: take challenge: %w", err)
	}
	if !ch.ExpiresAt.After(s.now()) {
		return nil, nil
	}
	return ch.Answer, nil
}

// Replace gives a live challenge a new answer (an image reload) and
// reports whether there was one.
func (s *Store) Replace(ctx context.Context, id string, answer []byte) (bool, error) {
	res, err := s.db.NewUpdate().Model((*challenge)(nil)).
		Set("answer = ?", answer).
		Where("id = ? AND kind = ? AND expires_at > ?", id, s.kind, s.now()).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("captcha: reload challenge: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// storeTimeout bounds the context-free calls of dchest/captcha's interface.
const storeTimeout = 5 * time.Second

// Set implements dchest/captcha's Store: it stores digits under id.
func (s *Store) Set(id string, digits []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_ = s.put(ctx, id, digits)
}

// Get implements dchest/captcha's Store: the digits of id, deleted when
// clear is set; nil when unknown or expired.
func (s *Store) Get(id string, clear bool) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var digits []byte
	if clear {
		digits, _ = s.Take(ctx, id)
	} else {
		digits, _ = s.Peek(ctx, id)
	}
	return digits
}
