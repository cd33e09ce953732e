// Package config loads Licensor's infrastructure configuration: a YAML file
// overlaid with LICENSOR_* environment variables. Settings that admins change
// at run time live in the database (package settings), not here.
//
// There is no global configuration: Load returns a value that main passes down.
package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is the whole configuration. Every field carries a `key` tag with its
// dotted path; the environment variable is LICENSOR_ plus that path in upper
// case with dots turned into underscores.
type Config struct {
	BaseURL        string `key:"base_url"`
	DataDir        string `key:"data_dir"`
	InstanceSecret string `key:"instance_secret"`

	Log      Log
	Database Database
	HTTP     HTTP
	Mail     Mail
	Uploads  Uploads
	Storage  Storage
	Jobs     Jobs
	Plugins  Plugins
	API      API
	Metrics  Metrics
}

// Metrics configures GET /metrics (docs/deploy.md#metrics).
type Metrics struct {
	// Allow lists the addresses (IPs or CIDR ranges) the main listener
	// serves /metrics to; a request through a proxy is served only when
	// every forwarded address is allowed too. Empty: nobody.
	Allow []string `key:"metrics.allow"`
	// Addr, when set, serves /metrics on a listener of its own (host:port)
	// to anyone who reaches it, and the main listener not at all.
	Addr string `key:"metrics.addr"`
}

// API tunes the JSON API's per-node state.
type API struct {
	// VerifyCacheSize is how many activations verify keeps in memory per
	// node (about 200 bytes each); 0 turns the cache off.
	VerifyCacheSize int `key:"api.verify_cache_size"`
}

// Log configures the structured logger.
type Log struct {
	Level  string `key:"log.level"`
	Format string `key:"log.format"`
}

// Database configures PostgreSQL. An empty URL means "run the private cluster
// under data_dir/postgres".
type Database struct {
	URL             string        `key:"database.url"`
	MaxOpenConns    int           `key:"database.max_open_conns"`
	MaxIdleConns    int           `key:"database.max_idle_conns"`
	ConnMaxLifetime time.Duration `key:"database.conn_max_lifetime"`
	// ListenURL is a direct connection (never through a transaction
	// pooler) for what needs a session of its own: the NOTIFY listener,
	// River's workers and leader election, and the migrations' advisory
	// lock. Empty: URL.
	ListenURL string `key:"database.listen_url"`
	// PreparedStatements lets the hot paths keep prepared statements per
	// connection; false sends them unprepared, for poolers that do not
	// carry prepared statements across transactions (PgBouncer before
	// 1.21 in transaction mode).
	PreparedStatements bool `key:"database.prepared_statements"`
	// ReplicaURLs are streaming replicas for reads that tolerate a little
	// lag (console lists and reports); ReplicaMaxLag is the replay lag past
	// which a replica is skipped (docs/deploy.md#read-replicas).
	ReplicaURLs   []string      `key:"database.replica_urls"`
	ReplicaMaxLag time.Duration `key:"database.replica_max_lag"`
	// PostgresBin is where the private cluster's binaries are; empty means
	// search PATH and /usr/lib/postgresql/*/bin.
	PostgresBin string `key:"database.postgres_bin"`
}

// HTTP configures the web server.
type HTTP struct {
	Addr            string        `key:"http.addr"`
	TrustedProxies  []string      `key:"http.trusted_proxies"`
	MaxBodyBytes    int           `key:"http.max_body_bytes"`
	ReadTimeout     time.Duration `key:"http.read_timeout"`
	WriteTimeout    time.Duration `key:"http.write_timeout"`
	ShutdownTimeout time.Duration `key:"http.shutdown_timeout"`
	// SecureCookies is "auto" (secure when base_url is https), "true" or "false".
	SecureCookies string `key:"http.secure_cookies"`
}

// Mail configures outgoing email. An empty SMTP URL sends mail to the outbox.
type Mail struct {
	SMTPURL string `key:"mail.smtp_url"`
}

// Uploads bounds uploaded files.
type Uploads struct {
	MaxFileBytes int64 `key:"uploads.max_file_bytes"`
	// MaxAvatarBytes bounds a portal avatar upload (default 2 MB); the
	// effective limit is also below http.max_body_bytes.
	MaxAvatarBytes int64 `key:"uploads.max_avatar_bytes"`
	// MaxImportBytes bounds a console import file (default 32 MiB); the
	// import route's body limit follows it.
	MaxImportBytes int64 `key:"uploads.max_import_bytes"`
}

// Storage says where version files are kept: on disk under a folder, or
// in an S3-compatible bucket.
type Storage struct {
	// Driver is "disk" or "s3".
	Driver string `key:"storage.driver"`
	// Dir is the disk driver's folder; empty means <data_dir>/files.
	Dir string `key:"storage.dir"`
	S3  S3
}

// S3 configures the s3 storage driver.
type S3 struct {
	// Endpoint is the service's URL (https://s3.eu-west-1.amazonaws.com,
	// http://minio:9000); http means no TLS.
	Endpoint        string `key:"storage.s3.endpoint"`
	Bucket          string `key:"storage.s3.bucket"`
	Region          string `key:"storage.s3.region"`
	AccessKeyID     string `key:"storage.s3.access_key_id"`
	SecretAccessKey string `key:"storage.s3.secret_access_key"`
	// PathStyle addresses the bucket as endpoint/bucket rather than
	// bucket.endpoint (MinIO and most self-hosted services need it).
	PathStyle bool `key:"storage.s3.path_style"`
	// Prefix is prepended to every object key ("licensor/"), so one bucket
	// can hold other things too.
	Prefix string `key:"storage.s3.prefix"`
}

// Jobs configures the River worker client.
type Jobs struct {
	Workers int `key:"jobs.workers"`
	// Timeout bounds one run of a job. RescueAfter is how long a job may
	// stay running before it is taken for dead (its node was killed) and
	// retried on another node; it must exceed Timeout.
	Timeout     time.Duration `key:"jobs.timeout"`
	RescueAfter time.Duration `key:"jobs.rescue_after"`
	// ImportTimeout bounds one run of the import job. A run cut short is
	// retried after its last committed batch, and an import whose node was
	// killed is rescued after the longer of this and RescueAfter.
	ImportTimeout time.Duration `key:"jobs.import_timeout"`
	// MaxRetryWait caps the wait before a failed email or webhook is sent
	// again, so both go out soon after a long SMTP or receiver outage ends;
	// zero keeps River's backoff for email (attempt⁴ seconds) and the
	// webhook schedule of docs/api/webhooks.md#delivery (1 min … 14 h).
	MaxRetryWait time.Duration `key:"jobs.max_retry_wait"`
}

// Plugins configures the plugin host.
type Plugins struct {
	Dir string `key:"plugins.dir"`
	// CallTimeout bounds every call to a plugin (an import's parse gets
	// twelve times as long).
	CallTimeout time.Duration `key:"plugins.call_timeout"`
}

// Defaults returns the configuration used when nothing overrides it. The
// values here are the ones documented in config.example.yaml.
func Defaults() Config {
	return Config{
		BaseURL: "http://localhost:8080",
		DataDir: "./var",
		Log:     Log{Level: "info", Format: "text"},
		Database: Database{
			MaxOpenConns:       20,
			MaxIdleConns:       20,
			ConnMaxLifetime:    30 * time.Minute,
			PreparedStatements: true,
			ReplicaMaxLag:      5 * time.Second,
		},
		HTTP: HTTP{
			Addr:            "127.0.0.1:8080",
			MaxBodyBytes:    1 << 20,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    120 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			SecureCookies:   "auto",
		},
		Uploads: Uploads{MaxFileBytes: 2 << 30, MaxAvatarBytes: 2 << 20, MaxImportBytes: 32 << 20},
		Storage: Storage{Driver: "disk", S3: S3{Region: "us-east-1", PathStyle: true}},
		Jobs:    Jobs{Workers: 10, Timeout: 5 * time.Minute, RescueAfter: 15 * time.Minute, ImportTimeout: 30 * time.Minute},
		Plugins: Plugins{Dir: "./var/plugins", CallTimeout: 10 * time.Second},
		API:     API{VerifyCacheSize: 100_000},
		Metrics: Metrics{Allow: []string{"127.0.0.1", "::1"}},
	}
}

// FieldError names the configuration key whose value is wrong.
type FieldError struct {
	Key    string
	Source string // "config file", "environment (LICENSOR_…)"
	Reason string
}

func (e *FieldError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config: %s (from %s): %s", e.Key, e.Source, e.Reason)
	}
	return fmt.Sprintf("config: %s: %s", e.Key, e.Reason)
}

// Validate checks values that parse but make no sense.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Key: "base_url", Reason: fmt.Sprintf("%q is not an http(s) URL", c.BaseURL)}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return &FieldError{Key: "data_dir", Reason: "must not be empty"}
	}
	if c.Database.URL != "" {
		du, err := url.Parse(c.Database.URL)
		if err != nil || (du.Scheme != "postgres" && du.Scheme != "postgresql") {
			return &FieldError{Key: "database.url", Reason: "must be a postgres:// URL"}
		}
	}
	if c.Database.ListenURL != "" {
		du, err := url.Parse(c.Database.ListenURL)
		if err != nil || (du.Scheme != "postgres" && du.Scheme != "postgresql") {
			return &FieldError{Key: "database.listen_url", Reason: "must be a postgres:// URL"}
		}
	}
	for _, r := range c.Database.ReplicaURLs {
		du, err := url.Parse(r)
		if err != nil || (du.Scheme != "postgres" && du.Scheme != "postgresql") {
			return &FieldError{Key: "database.replica_urls", Reason: "each must be a postgres:// URL"}
		}
	}
	if c.Database.ReplicaMaxLag < 100*time.Millisecond {
		return &FieldError{Key: "database.replica_max_lag", Reason: "must be at least 100ms"}
	}
	if c.Database.MaxOpenConns < 1 {
		return &FieldError{Key: "database.max_open_conns", Reason: "must be at least 1"}
	}
	if c.Database.MaxIdleConns < 0 {
		return &FieldError{Key: "database.max_idle_conns", Reason: "must not be negative"}
	}
	if c.HTTP.Addr == "" || !strings.Contains(c.HTTP.Addr, ":") {
		return &FieldError{Key: "http.addr", Reason: fmt.Sprintf("%q is not host:port", c.HTTP.Addr)}
	}
	for _, p := range c.HTTP.TrustedProxies {
		if !validCIDROrIP(p) {
			return &FieldError{Key: "http.trusted_proxies", Reason: fmt.Sprintf("%q is not an IP or CIDR range", p)}
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		return &FieldError{Key: "http.max_body_bytes", Reason: "must be at least 1024"}
	}
	switch c.HTTP.SecureCookies {
	case "auto", "true", "false":
	default:
		return &FieldError{Key: "http.secure_cookies", Reason: "must be auto, true or false"}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return &FieldError{Key: "log.level", Reason: "must be debug, info, warn or error"}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return &FieldError{Key: "log.format", Reason: "must be text or json"}
	}
	if c.Mail.SMTPURL != "" {
		mu, err := url.Parse(c.Mail.SMTPURL)
		if err != nil || (mu.Scheme != "smtp" && mu.Scheme != "smtps") || mu.Host == "" {
			return &FieldError{Key: "mail.smtp_url", Reason: "must be smtp://host:port or smtps://host:port"}
		}
	}
	if c.Uploads.MaxFileBytes < 1 {
		return &FieldError{Key: "uploads.max_file_bytes", Reason: "must be positive"}
	}
	if c.Uploads.MaxAvatarBytes < 1024 {
		return &FieldError{Key: "uploads.max_avatar_bytes", Reason: "must be at least 1024"}
	}
	if c.Uploads.MaxImportBytes < 1024 {
		return &FieldError{Key: "uploads.max_import_bytes", Reason: "must be at least 1024"}
	}
	switch c.Storage.Driver {
	case "disk":
	case "s3":
		eu, err := url.Parse(c.Storage.S3.Endpoint)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return &FieldError{Key: "storage.s3.endpoint", Reason: "must be an http(s) URL when storage.driver is s3"}
		}
		if strings.TrimSpace(c.Storage.S3.Bucket) == "" {
			return &FieldError{Key: "storage.s3.bucket", Reason: "must not be empty when storage.driver is s3"}
		}
	default:
		return &FieldError{Key: "storage.driver", Reason: "must be disk or s3"}
	}
	if c.Jobs.Workers < 1 {
		return &FieldError{Key: "jobs.workers", Reason: "must be at least 1"}
	}
	if c.Jobs.Timeout < time.Second {
		return &FieldError{Key: "jobs.timeout", Reason: "must be at least 1s"}
	}
	if c.Jobs.RescueAfter <= c.Jobs.Timeout {
		return &FieldError{Key: "jobs.rescue_after", Reason: "must be longer than jobs.timeout"}
	}
	if c.Jobs.ImportTimeout < time.Second {
		return &FieldError{Key: "jobs.import_timeout", Reason: "must be at least 1s"}
	}
	if c.Jobs.MaxRetryWait != 0 && c.Jobs.MaxRetryWait < time.Second {
		return &FieldError{Key: "jobs.max_retry_wait", Reason: "must be 0 (no cap) or at least 1s"}
	}
	if c.Plugins.CallTimeout < 100*time.Millisecond {
		return &FieldError{Key: "plugins.call_timeout", Reason: "must be at least 100ms"}
	}
	for _, p := range c.Metrics.Allow {
		if !validCIDROrIP(p) {
			return &FieldError{Key: "metrics.allow", Reason: fmt.Sprintf("%q is not an IP or CIDR range", p)}
		}
	}
	if c.Metrics.Addr != "" && !strings.Contains(c.Metrics.Addr, ":") {
		return &FieldError{Key: "metrics.addr", Reason: fmt.Sprintf("%q is not host:port", c.Metrics.Addr)}
	}
	if c.API.VerifyCacheSize < 0 {
		return &FieldError{Key: "api.verify_cache_size", Reason: "must be 0 (off) or more"}
	}
	return nil
}

// SecureCookiesEnabled resolves http.secure_cookies against the base URL.
func (c *Config) SecureCookiesEnabled() bool {
	switch c.HTTP.SecureCookies {
	case "true":
		return true
	case "false":
		return false
	}
	return strings.HasPrefix(c.BaseURL, "https://")
}
