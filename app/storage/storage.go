// Package storage keeps uploaded files (version files) by content: a file's
// key is the hex SHA-256 of its bytes. A Store puts a stream without holding
// it in memory, opens a stored file for reading at any offset (so HTTP Range
// requests are served by Seek), and deletes. Two backends: a folder on disk
// and an S3-compatible bucket.
//
// Content addressing means two uploads of the same bytes share one stored
// file: whoever records keys must only Delete a key nothing else refers to.
package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/licensor/licensor/app/errkind"
)

// ErrNotFound is returned for a key that is not stored.
var ErrNotFound = errkind.New(errkind.NotFound, "storage: file not found")

// ErrTooLarge is returned by Put when the reader passed Limit's bound. The
// partial file is removed.
var ErrTooLarge = errors.New("storage: file too large")

// Object describes a stored file.
type Object struct {
	// Key is the hex SHA-256 of the content, the name it is stored under.
	Key    string
	SHA256 string
	Size   int64
	// Created is false when the same content was already stored; a caller
	// whose record of the upload then fails must not delete it.
	Created bool
}

// File is an open stored file. Seek before Read serves a byte range;
// reading never loads the whole file into memory.
type File interface {
	io.ReadSeekCloser
	// Size is the file's length in bytes.
	Size() int64
	// ModTime is when the file was stored.
	ModTime() time.Time
}

// Store is where files are kept.
type Store interface {
	// Put streams r into the store while hashing it, then names it by its
	// SHA-256. If reading or writing fails (a short write, a full disk, a
	// cancelled context, Limit's bound) nothing is kept and the error is
	// returned.
	Put(ctx context.Context, r io.Reader) (Object, error)
	// Open opens a stored file; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (File, error)
	// Stat returns a stored file's size without opening it.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes a stored file; deleting a missing key is no error.
	Delete(ctx context.Context, key string) error
}

// Limit returns a reader that reads r and fails with ErrTooLarge once more
// than max bytes have been read, so Put keeps nothing of an oversize upload.
func Limit(r io.Reader, max int64) io.Reader {
	return &limitReader{r: r, left: max}
}

type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	// Read one byte past the bound to tell "exactly max" from "more".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

// ValidKey reports whether key is a hex SHA-256, the only keys a Store
// hands out; anything else (a path, "..") never reaches a file system.
func ValidKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for _, c := range key {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// spool copies r into a new temporary file in dir while hashing it. On
// any error the temporary file is removed. The returned file is synced and
// positioned at its start.
func spool(ctx context.Context, dir string, r io.Reader) (_ *os.File, sum string, size int64, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", 0, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, "", 0, fmt.Errorf("storage: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return nil, "", 0, fmt.Errorf("storage: write upload: %w", err)
	}
	if err = f.Sync(); err != nil {
		return nil, "", 0, fmt.Errorf("storage: sync upload: %w", err)
	}
	if _, err = f.Seek(0, io.SeekStart); err != nil {
		return nil, "", 0, fmt.Errorf("storage: rewind upload: %w", err)
	}
	return f, hexSum(h), size, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// ctxReader stops a copy when its context ends (a client gone mid-upload).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// tempDir is where uploads are spooled before they get their name.
func tempDir(root string) string { return filepath.Join(root, "tmp") }
