package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Disk keeps files under a folder as <root>/<first two hex digits>/<key>,
// spooling uploads in <root>/tmp on the same file system so naming a file
// is an atomic rename.
type Disk struct {
	root string
}

// NewDisk returns a Disk store rooted at dir. Folders are created by the
// first Put.
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, fmt.Errorf("storage: disk folder not set")
	}
	return &Disk{root: dir}, nil
}

func (d *Disk) path(key string) string { return filepath.Join(d.root, key[:2], key) }

// Put implements Store.
func (d *Disk) Put(ctx context.Context, r io.Reader) (Object, error) {
	f, sum, size, err := spool(ctx, tempDir(d.root), r)
	if err != nil {
		return Object{}, err
	}
	tmp := f.Name()
	_ = f.Close()
	obj := Object{Key: sum, SHA256: sum, Size: size}
	dst := d.path(sum)
	if _, err := os.Stat(dst); err == nil {
		_ = os.Remove(tmp)
		return obj, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		_ = os.Remove(tmp)
		return Object{}, fmt.Errorf("storage: create %s: %w", filepath.Dir(dst), err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return Object{}, fmt.Errorf("storage: name upload %s: %w", sum, err)
	}
	obj.Created = true
	return obj, nil
}

// Open implements Store.
func (d *Disk) Open(_ context.Context, key string) (File, error) {
	if !ValidKey(key) {
		return nil, ErrNotFound
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: stat %s: %w", key, err)
	}
	return &diskFile{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Stat implements Store.
func (d *Disk) Stat(_ context.Context, key string) (Object, error) {
	if !ValidKey(key) {
		return Object{}, ErrNotFound
	}
	st, err := os.Stat(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, ErrNotFound
	}
	if err != nil {
		return Object{}, fmt.Errorf("storage: stat %s: %w", key, err)
	}
	return Object{Key: key, SHA256: key, Size: st.Size()}, nil
}

// Delete implements Store.
func (d *Disk) Delete(_ context.Context, key string) error {
	if !ValidKey(key) {
		return nil
	}
	if err := os.Remove(d.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}

type diskFile struct {
	*os.File
	size int64
	mod  time.Time
}

func (f *diskFile) Size() int64        { return f.size }
func (f *diskFile) ModTime() time.Time { return f.mod }
