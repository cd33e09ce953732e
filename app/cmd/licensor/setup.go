package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
)

// loadConfig reads the configuration named by --config, else
// LICENSOR_CONFIG, else ./config.yaml when it exists.
func (c *cli) loadConfig() (config.Config, error) {
	path, explicit := c.configPath, c.configPath != ""
	if !explicit {
		if p := c.getenv("LICENSOR_CONFIG"); p != "" {
			path, explicit = p, true
		} else {
			path = "config.yaml"
		}
	}
	return config.Load(path, explicit, c.env)
}

func (c *cli) getenv(name string) string {
	for _, kv := range c.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func newLogger(w io.Writer, cfg config.Log) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Level]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// database is an open database and, when Licensor runs its own, the private
// cluster behind it. close stops both.
type database struct {
	*db.DB
	cluster *db.Cluster
}

func (d *database) close() {
	if d.DB != nil {
		_ = d.DB.Close()
	}
	if d.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = d.cluster.Stop(ctx)
	}
}

// openDatabase connects to database.url, or starts the private cluster under
// data_dir when no URL is configured.
func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*database, error) {
	out := &database{}
	dsn := cfg.Database.URL
	if dsn == "" {
		cl, err := db.StartEmbedded(ctx, db.EmbeddedOptions{
			Dir:    filepath.Join(cfg.DataDir, "postgres"),
			BinDir: cfg.Database.PostgresBin,
			Logger: log,
		})
		if err != nil {
			if errors.Is(err, db.ErrPostgresNotFound) {
				return nil, fmt.Errorf("%w\nOr set database.url (LICENSOR_DATABASE_URL) to use an existing PostgreSQL server", err)
			}
			return nil, fmt.Errorf("start the private PostgreSQL cluster: %w", err)
		}
		out.cluster = cl
		dsn = cl.DSN()
	}
	d, err := db.Open(ctx, dsn, db.PoolOptions{
		MaxOpenConns:    cfg.Database.MaxOpenConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		ConnMaxLifetime: cfg.Database.ConnMaxLifetime,
		DirectURL:       cfg.Database.ListenURL,
		Replicas:        db.ReplicaOptions{URLs: cfg.Database.ReplicaURLs, MaxLag: cfg.Database.ReplicaMaxLag, Logger: log},
		Logger:          log,
	})
	if err != nil {
		out.close()
		return nil, err
	}
	out.DB = d
	return out, nil
}

// instanceSecret returns instance_secret, or the one kept in
// <data_dir>/instance.secret, generating it on first use.
func instanceSecret(cfg config.Config) ([]byte, error) {
	if cfg.InstanceSecret != "" {
		return []byte(cfg.InstanceSecret), nil
	}
	path := filepath.Join(cfg.DataDir, "instance.secret")
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return []byte(s), nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(s), nil
}
