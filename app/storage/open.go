package storage

import (
	"fmt"
	"path/filepath"

	"github.com/licensor/licensor/app/config"
)

// FromConfig returns the Store that cfg.Storage names.
func FromConfig(cfg *config.Config) (Store, error) {
	switch cfg.Storage.Driver {
	case "s3":
		s3 := cfg.Storage.S3
		return NewS3(S3Config{
			Endpoint: s3.Endpoint, Bucket: s3.Bucket, Region: s3.Region,
			AccessKeyID: s3.AccessKeyID, SecretAccessKey: s3.SecretAccessKey,
			PathStyle: s3.PathStyle, Prefix: s3.Prefix,
			SpoolDir: filepath.Join(cfg.DataDir, "tmp", "uploads"),
		})
	case "disk", "":
		dir := cfg.Storage.Dir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "files")
		}
		return NewDisk(dir)
	}
	return nil, fmt.Errorf("storage: unknown driver %q", cfg.Storage.Driver)
}
