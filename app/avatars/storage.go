package avatars

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/licensor/licensor/app/errkind"
)

// ErrNotFound is returned by Storage.Get for a key it does not hold.
var ErrNotFound = errkind.New(errkind.NotFound, "avatar not found")

// Storage keeps thumbnails by key. Keys are made by NewKey: they never
// contain anything a user typed.
type Storage interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// NewKey returns a fresh key for a thumbnail of customer id: a new key per
// upload, so a cached old picture is never served for a new one.
func NewKey(customerID int64) (string, error) {
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return strconv.FormatInt(customerID, 10) + "-" + hex.EncodeToString(raw) + ".png", nil
}

// DirStorage keeps thumbnails as files in one directory (the data
// directory's avatars/), created on first write.
type DirStorage struct{ Dir string }

func (s DirStorage) path(key string) (string, error) {
	if key == "" || key != filepath.Base(key) || key[0] == '.' {
		return "", fmt.Errorf("avatar: bad key %q", key)
	}
	return filepath.Join(s.Dir, key), nil
}

// Put writes the file atomically (temporary file, then rename).
func (s DirStorage) Put(_ context.Context, key string, data []byte) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return fmt.Errorf("avatar: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("avatar: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("avatar: write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("avatar: write: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("avatar: %w", err)
	}
	return nil
}

// Get reads the file of key.
func (s DirStorage) Get(_ context.Context, key string) ([]byte, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, ErrNotFound
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return data, err
}

// Delete removes the file of key.
func (s DirStorage) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("avatar: %w", err)
	}
	return nil
}
