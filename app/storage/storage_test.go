package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/storage"
)

// backends returns each Store to test with the folder where it spools
// uploads (which must be empty after every Put).
func backends(t *testing.T) map[string]func(t *testing.T) (storage.Store, string) {
	return map[string]func(t *testing.T) (storage.Store, string){
		"disk": func(t *testing.T) (storage.Store, string) {
			dir := t.TempDir()
			s, err := storage.NewDisk(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s, filepath.Join(dir, "tmp")
		},
		"s3": func(t *testing.T) (storage.Store, string) {
			mem := s3mem.New()
			if err := mem.CreateBucket("licensor"); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(gofakes3.New(mem).Server())
			t.Cleanup(srv.Close)
			spool := filepath.Join(t.TempDir(), "spool")
			s, err := storage.NewS3(storage.S3Config{
				Endpoint: srv.URL, Bucket: "licensor", Region: "us-east-1",
				AccessKeyID: "key", SecretAccessKey: "secret", PathStyle: true, Prefix: "files/", SpoolDir: spool,
			})
			if err != nil {
				t.Fatal(err)
			}
			return s, spool
		},
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s keeps %d temporary files", dir, len(entries))
	}
}

// failingReader yields some bytes then fails, like a client that goes away
// or a disk that fills mid-upload.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), f.n)
	for i := range n {
		p[i] = 'x'
	}
	f.n -= n
	return n, nil
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s, spool := open(t)
			content := bytes.Repeat([]byte("0123456789abcdef"), 70_000) // 1.1 MB: several reads, a multi-part size
			obj, err := s.Put(ctx, bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			if obj.Key != sum(content) || obj.SHA256 != obj.Key || obj.Size != int64(len(content)) || !obj.Created {
				t.Fatalf("%+v", obj)
			}
			emptyDir(t, spool)

			again, err := s.Put(ctx, bytes.NewReader(content))
			if err != nil || again.Key != obj.Key || again.Created {
				t.Fatalf("same content is stored once: %+v %v", again, err)
			}

			st, err := s.Stat(ctx, obj.Key)
			if err != nil || st.Size != obj.Size {
				t.Fatal(st, err)
			}

			f, err := s.Open(ctx, obj.Key)
			if err != nil {
				t.Fatal(err)
			}
			if f.Size() != int64(len(content)) || f.ModTime().IsZero() {
				t.Fatal(f.Size(), f.ModTime())
			}
			whole, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(whole, content) {
				t.Fatalf("round trip: %d bytes, %v", len(whole), err)
			}
			// A Range request: bytes 100000-100099, then the last 10 bytes.
			if _, err := f.Seek(100_000, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			part := make([]byte, 100)
			if _, err := io.ReadFull(f, part); err != nil || !bytes.Equal(part, content[100_000:100_100]) {
				t.Fatalf("range read %q %v", part, err)
			}
			if _, err := f.Seek(-10, io.SeekEnd); err != nil {
				t.Fatal(err)
			}
			tail, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(tail, content[len(content)-10:]) {
				t.Fatalf("suffix range %q %v", tail, err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			if err := s.Delete(ctx, obj.Key); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Open(ctx, obj.Key); !errors.Is(err, storage.ErrNotFound) {
				t.Fatal("deleted file still opens:", err)
			}
			if _, err := s.Stat(ctx, obj.Key); !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, obj.Key); err != nil {
				t.Fatal("deleting twice:", err)
			}
			for _, bad := range []string{"../../etc/passwd", "", "ABC", sum(nil)[:63] + "/"} {
				if _, err := s.Open(ctx, bad); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("key %q: %v", bad, err)
				}
			}

			// A failing upload keeps nothing, neither temporary nor named.
			if _, err := s.Put(ctx, &failingReader{n: 300_000}); err == nil {
				t.Fatal("a failed read must fail Put")
			}
			emptyDir(t, spool)
			if _, err := s.Stat(ctx, sum(bytes.Repeat([]byte("x"), 300_000))); !errors.Is(err, storage.ErrNotFound) {
				t.Fatal("partial file stored:", err)
			}

			// Over the limit: ErrTooLarge and nothing kept; exactly at it: fine.
			big := bytes.Repeat([]byte("y"), 5000)
			if _, err := s.Put(ctx, storage.Limit(bytes.NewReader(big), 4999)); !errors.Is(err, storage.ErrTooLarge) {
				t.Fatal(err)
			}
			emptyDir(t, spool)
			if _, err := s.Stat(ctx, sum(big)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
			if o, err := s.Put(ctx, storage.Limit(bytes.NewReader(big), 5000)); err != nil || o.Size != 5000 {
				t.Fatal(o, err)
			}

			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Put(cctx, bytes.NewReader(big)); !errors.Is(err, context.Canceled) {
				t.Fatal("cancelled upload:", err)
			}
			emptyDir(t, spool)
		})
	}
}

func TestFromConfig(t *testing.T) {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	s, err := storage.FromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Put(context.Background(), bytes.NewReader([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "files", obj.Key[:2], obj.Key)); err != nil {
		t.Fatal("disk files live under <data_dir>/files:", err)
	}
	cfg.Storage.Driver = "s3"
	cfg.Storage.S3.Endpoint = "http://127.0.0.1:1"
	cfg.Storage.S3.Bucket = "b"
	if _, err := storage.FromConfig(&cfg); err != nil {
		t.Fatal(err)
	}
}
