package main

import (
	"context"
	"fmt"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/storage"
)

// runVersionsBackfillChecksums records the SHA-256 and size of the stored
// version files that lack them (rows imported from an older install),
// streaming each file, --batch files per query, and prints each file and
// the totals. A file that is missing or does not hash to its key is
// reported, left as it is, and makes the exit status 1. Safe to repeat:
// only files still lacking a checksum are read.
func runVersionsBackfillChecksums(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "versions backfill-checksums", "versions backfill-checksums [--batch N] [--config FILE]")
	batch := fs.Int("batch", 100, "stored files read per query")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if *batch < 1 {
		fmt.Fprintln(c.stderr, "--batch must be at least 1")
		fs.Usage()
		return errUsage
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	store, err := storage.FromConfig(&cfg)
	if err != nil {
		return err
	}
	d, err := openDatabase(ctx, cfg, newLogger(c.stderr, cfg.Log))
	if err != nil {
		return err
	}
	defer d.close()
	var files, rows, skipped int64
	err = catalog.BackfillChecksums(ctx, d.Bun, store, *batch, func(r catalog.Checksummed) {
		if r.Err != nil {
			skipped++
			fmt.Fprintf(c.stdout, "%s skipped: %v\n", r.Key, r.Err)
			return
		}
		files++
		rows += r.Rows
		fmt.Fprintf(c.stdout, "%s %d bytes, %d rows\n", r.Key, r.Size, r.Rows)
	})
	fmt.Fprintf(c.stdout, "Files checksummed: %d (%d rows)\nFiles skipped:     %d\n", files, rows, skipped)
	if err != nil {
		return err
	}
	if skipped > 0 {
		return fmt.Errorf("%d stored files were skipped", skipped)
	}
	return nil
}
