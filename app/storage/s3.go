package storage

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config is what the s3 driver needs (config storage.s3.*).
type S3Config struct {
	Endpoint        string // http(s)://host[:port]
	Bucket          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	PathStyle       bool
	Prefix          string
	// SpoolDir holds uploads while they are hashed, before they are sent
	// under their name (a content-named object needs its hash first).
	SpoolDir string
	// Transport replaces the HTTP transport (tests); nil means the default.
	Transport http.RoundTripper
}

// S3 keeps files in an S3-compatible bucket as <prefix><key>.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	spool  string
}

// NewS3 returns an S3 store. It does not create the bucket.
func NewS3(cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("storage: s3 endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 client: %w", err)
	}
	if cfg.SpoolDir == "" {
		return nil, fmt.Errorf("storage: s3 spool folder not set")
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, spool: cfg.SpoolDir}, nil
}

func (s *S3) name(key string) string { return s.prefix + key }

// Put implements Store: the upload is spooled to a local temporary file
// while hashed, then sent under its name with its length known, and the
// temporary file removed. A failed send leaves no object (S3 writes are
// all or nothing).
func (s *S3) Put(ctx context.Context, r io.Reader) (Object, error) {
	f, sum, size, err := spool(ctx, s.spool, r)
	if err != nil {
		return Object{}, err
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	obj := Object{Key: sum, SHA256: sum, Size: size}
	if _, err := s.Stat(ctx, sum); err == nil {
		return obj, nil
	}
	_, err = s.client.PutObject(ctx, s.bucket, s.name(sum), f, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
	})
	if err != nil {
		return Object{}, fmt.Errorf("storage: upload %s: %w", sum, err)
	}
	obj.Created = true
	return obj, nil
}

// Open implements Store. Reads after a Seek ask the bucket for that range.
func (s *S3) Open(ctx context.Context, key string) (File, error) {
	if !ValidKey(key) {
		return nil, ErrNotFound
	}
	o, err := s.client.GetObject(ctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.err("open", key, err)
	}
	info, err := o.Stat()
	if err != nil {
		_ = o.Close()
		return nil, s.err("open", key, err)
	}
	return &s3File{Object: o, size: info.Size, mod: info.LastModified}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if !ValidKey(key) {
		return Object{}, ErrNotFound
	}
	info, err := s.client.StatObject(ctx, s.bucket, s.name(key), minio.StatObjectOptions{})
	if err != nil {
		return Object{}, s.err("stat", key, err)
	}
	return Object{Key: key, SHA256: key, Size: info.Size}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return nil
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.name(key), minio.RemoveObjectOptions{}); err != nil {
		if isNoSuchKey(err) {
			return nil
		}
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}

func (s *S3) err(op, key string, err error) error {
	if isNoSuchKey(err) {
		return ErrNotFound
	}
	return fmt.Errorf("storage: %s %s: %w", op, key, err)
}

func isNoSuchKey(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound ||
		strings.Contains(resp.Code, "NotFound")
}

type s3File struct {
	*minio.Object
	size int64
	mod  time.Time
}

func (f *s3File) Size() int64        { return f.size }
func (f *s3File) ModTime() time.Time { return f.mod }
