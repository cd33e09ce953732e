package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/storage"
)

// ErrChecksumMismatch is a stored file whose content does not hash to its
// key: it was damaged or copied in under the wrong name.
var ErrChecksumMismatch = errors.New("content does not match its key")

// Checksummed is what BackfillChecksums did with one stored file.
type Checksummed struct {
	Key  string
	Size int64
	Rows int64 // version_files rows given the checksum and size
	// Err is why the file was left without them (ErrChecksumMismatch,
	// storage.ErrNotFound, a read error); nil when it was checksummed.
	Err error
}

// Checked reports whether f's checksum and size are recorded; rows
// imported without them wait for BackfillChecksums.
func (f *VersionFile) Checked() bool { return f.SHA256 != "" }

// BackfillChecksums records the SHA-256 and size of the version files
// that lack them, batch stored files at a time. Each stored file is
// streamed once (never loaded whole), however many rows share it, and
// checked against its key (the hex SHA-256 it is stored under). A file
// that is missing or does not match is reported through each and left
// unchanged. Running it again does nothing more: only rows still lacking
// a checksum are read.
func BackfillChecksums(ctx context.Context, idb bun.IDB, store storage.Store, batch int, each func(Checksummed)) error {
	buf := make([]byte, 1<<20)
	after := ""
	for {
		var keys []string
		err := idb.NewSelect().Model((*VersionFile)(nil)).Distinct().Column("storage_key").
			Where("(sha256 IS NULL OR size IS NULL) AND storage_key > ?", after).
			OrderExpr("storage_key").Limit(int64(batch)).Scan(ctx, &keys)
		if err != nil {
			return fmt.Errorf("version files without checksum: %w", err)
		}
		for _, key := range keys {
			res := Checksummed{Key: key}
			res.Size, res.Err = hashMatches(ctx, store, key, buf)
			if res.Err == nil {
				n, err := idb.NewUpdate().Model((*VersionFile)(nil)).Set("sha256 = ?", key).Set("size = ?", res.Size).
					Where("storage_key = ? AND (sha256 IS NULL OR size IS NULL)", key).Exec(ctx)
				if err != nil {
					return fmt.Errorf("record checksum of %s: %w", key, err)
				}
				res.Rows, _ = n.RowsAffected()
			}
			each(res)
		}
		if len(keys) < batch {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// hashMatches streams the stored file key through SHA-256 and returns its
// size, or ErrChecksumMismatch.
func hashMatches(ctx context.Context, store storage.Store, key string, buf []byte) (int64, error) {
	f, err := store.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	// Not io.Copy: a file's WriteTo would copy in small chunks.
	size, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != key {
		return size, ErrChecksumMismatch
	}
	return size, nil
}
