package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/storage"
)

// TestVersionsBackfillChecksums: rows without checksum and size (as an
// import from an older install leaves them) get them from the stored
// files, one query per --batch files; a file shared by two rows is read
// once; a missing file and one whose bytes do not match its key are
// reported and left alone; a second run reads only those.
func TestVersionsBackfillChecksums(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.NewDSN(t)
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	dataDir := t.TempDir()
	store, err := storage.NewDisk(filepath.Join(dataDir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(content string) string {
		obj, err := store.Put(ctx, strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return obj.Key
	}
	shared := "PK\x03\x04" + strings.Repeat("shared release ", 200_000) // 3 MB: several reads
	keyShared, keySQL := put(shared), put("CREATE TABLE t (id int);")
	keyDamaged := put("PK\x03\x04damaged")
	if err := os.WriteFile(filepath.Join(dataDir, "files", keyDamaged[:2], keyDamaged), []byte("PK\x03\x04bit rot"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("never stored"))
	keyMissing := hex.EncodeToString(sum[:])
	keyChecked := put("PK\x03\x04already")

	for _, q := range []string{
		`INSERT INTO products (name, reference_id) VALUES ('Acme CMS', 'ACME')`,
		`INSERT INTO product_versions (product_id, version_id, version) VALUES (1, 'V1', '1.0.0'), (1, 'V2', '1.1.0'), (1, 'V3', '1.2.0'), (1, 'V4', '1.3.0')`,
		fmt.Sprintf(`INSERT INTO version_files (version_id, type, file_name, storage_key) VALUES
			(1, 'main', 'a.zip', '%[1]s'), (2, 'main', 'b.zip', '%[1]s'), (2, 'sql', 'b.sql', '%[2]s'),
			(3, 'main', 'c.zip', '%[3]s'), (4, 'main', 'd.zip', '%[4]s')`, keyShared, keySQL, keyDamaged, keyMissing),
		fmt.Sprintf(`INSERT INTO version_files (version_id, type, file_name, storage_key, sha256, size) VALUES (3, 'sql', 'c.sql', '%[1]s', '%[1]s', 11)`, keyChecked),
	} {
		if _, err := sqldb.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_DATA_DIR=" + dataDir, "LICENSOR_LOG_LEVEL=warn"}

	code, out, errOut := runCLI(t, env, "versions", "backfill-checksums", "--batch", "1")
	lines := map[string]string{
		keyShared:  fmt.Sprintf("%s %d bytes, 2 rows", keyShared, len(shared)),
		keySQL:     keySQL + " 24 bytes, 1 rows",
		keyDamaged: keyDamaged + " skipped: content does not match its key",
		keyMissing: keyMissing + " skipped: storage: file not found",
	}
	for _, line := range lines {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
	if code != 1 || strings.Contains(out, keyChecked) || !strings.HasSuffix(out, "Files checksummed: 2 (3 rows)\nFiles skipped:     2\n") ||
		!strings.Contains(errOut, "2 stored files were skipped") {
		t.Fatalf("exit %d\n%s\nstderr %s", code, out, errOut)
	}
	rows := func() string {
		r, err := sqldb.QueryContext(ctx, `SELECT file_name, coalesce(sha256, '-'), coalesce(size, -1) FROM version_files ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.Close() }()
		var b strings.Builder
		for r.Next() {
			var name, sha string
			var size int64
			if err := r.Scan(&name, &sha, &size); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s %d\n", name, sha, size)
		}
		return b.String()
	}
	want := fmt.Sprintf("a.zip %[1]s %[2]d\nb.zip %[1]s %[2]d\nb.sql %[3]s 24\nc.zip - -1\nd.zip - -1\nc.sql %[4]s 11\n", keyShared, len(shared), keySQL, keyChecked)
	if got := rows(); got != want {
		t.Fatalf("rows:\n%s\nwant\n%s", got, want)
	}

	// Again: only the two it could not do are read.
	code, out, _ = runCLI(t, env, "versions", "backfill-checksums")
	if code != 1 || out != lines[keyDamaged]+"\n"+lines[keyMissing]+"\n"+"Files checksummed: 0 (0 rows)\nFiles skipped:     2\n" &&
		out != lines[keyMissing]+"\n"+lines[keyDamaged]+"\n"+"Files checksummed: 0 (0 rows)\nFiles skipped:     2\n" {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if got := rows(); got != want {
		t.Fatalf("second run changed rows:\n%s", got)
	}
	// Once the damaged file is restored and the missing row gone: done.
	if err := os.WriteFile(filepath.Join(dataDir, "files", keyDamaged[:2], keyDamaged), []byte("PK\x03\x04damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqldb.ExecContext(ctx, `DELETE FROM version_files WHERE file_name = 'd.zip'`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, env, "versions", "backfill-checksums")
	if code != 0 || out != keyDamaged+" 11 bytes, 1 rows\nFiles checksummed: 1 (1 rows)\nFiles skipped:     0\n" {
		t.Fatalf("third run: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, env, "versions", "backfill-checksums", "--batch", "0"); code != 2 {
		t.Fatalf("--batch 0: exit %d %s", code, out)
	}
}
