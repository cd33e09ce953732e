package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsWithoutFile(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), false, nil)
	if err != nil {
		t.Fatalf("a missing implicit config.yaml must be fine: %v", err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:8080" || cfg.DataDir != "./var" || cfg.Database.URL != "" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), true, nil); err == nil {
		t.Fatal("an explicitly named config file that does not exist must be an error")
	}
}

func TestFileThenEnvironment(t *testing.T) {
	p := writeFile(t, `
base_url: https://lic.example.com
data_dir: /srv/licensor
database:
  url: postgres://file@db/licensor
  conn_max_lifetime: 5m
http:
  addr: 0.0.0.0:9000
  trusted_proxies: [10.0.0.0/8, 127.0.0.1]
mail:
  smtp_url: smtp://relay:25
`)
	env := []string{
		"LICENSOR_HTTP_ADDR=127.0.0.1:7000",
		"LICENSOR_MAIL_SMTP_URL=smtps://u:p@mail.example.com:465",
		"LICENSOR_DATA_DIR=/data",
		"UNRELATED=1",
	}
	cfg, err := Load(p, true, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != "https://lic.example.com" || cfg.Database.URL != "postgres://file@db/licensor" {
		t.Fatalf("file values not applied: %+v", cfg)
	}
	if cfg.HTTP.Addr != "127.0.0.1:7000" || cfg.DataDir != "/data" || cfg.Mail.SMTPURL != "smtps://u:p@mail.example.com:465" {
		t.Fatalf("environment must override the file: %+v", cfg)
	}
	if cfg.Database.ConnMaxLifetime != 5*time.Minute {
		t.Fatalf("duration: got %v", cfg.Database.ConnMaxLifetime)
	}
	if !slices.Equal(cfg.HTTP.TrustedProxies, []string{"10.0.0.0/8", "127.0.0.1"}) {
		t.Fatalf("list: got %v", cfg.HTTP.TrustedProxies)
	}
	if !cfg.SecureCookiesEnabled() {
		t.Fatal("secure cookies are on by default behind an https base_url")
	}
}

func TestDatabaseURLPrecedence(t *testing.T) {
	cfg, err := Load("", false, []string{"DATABASE_URL=postgres://plain@h/db"})
	if err != nil || cfg.Database.URL != "postgres://plain@h/db" {
		t.Fatalf("DATABASE_URL must be honoured: %v %q", err, cfg.Database.URL)
	}
	cfg, err = Load("", false, []string{"DATABASE_URL=postgres://plain@h/db", "LICENSOR_DATABASE_URL=postgres://ours@h/db"})
	if err != nil || cfg.Database.URL != "postgres://ours@h/db" {
		t.Fatalf("LICENSOR_DATABASE_URL must win over DATABASE_URL: %v %q", err, cfg.Database.URL)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	cases := []struct {
		name string
		file string
		env  []string
		key  string
	}{
		{"bad addr", "", []string{"LICENSOR_HTTP_ADDR=nonsense"}, "http.addr"},
		{"bad base url", "", []string{"LICENSOR_BASE_URL=ftp://x"}, "base_url"},
		{"bad database url", "", []string{"LICENSOR_DATABASE_URL=mysql://x"}, "database.url"},
		{"bad integer", "", []string{"LICENSOR_DATABASE_MAX_OPEN_CONNS=many"}, "database.max_open_conns"},
		{"bad duration in file", "http:\n  read_timeout: soon\n", nil, "http.read_timeout"},
		{"unknown key in file", "htp:\n  addr: x\n", nil, "htp.addr"},
		{"bad proxy", "http:\n  trusted_proxies: [not-an-ip]\n", nil, "http.trusted_proxies"},
		{"bad smtp", "", []string{"LICENSOR_MAIL_SMTP_URL=http://x"}, "mail.smtp_url"},
		{"bad log level", "", []string{"LICENSOR_LOG_LEVEL=loud"}, "log.level"},
		{"bad cookie mode", "", []string{"LICENSOR_HTTP_SECURE_COOKIES=maybe"}, "http.secure_cookies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			_, err := Load(path, path != "", tc.env)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Key != tc.key {
				t.Fatalf("want an error naming %s, got %v", tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("message %q does not name %s", err, tc.key)
			}
		})
	}
}

// config.example.yaml documents every key with its default: it must list
// exactly the keys Config has, and load to the same values as Defaults().
func TestExampleFileDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	values, err := flattenYAML(raw)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for k := range values {
		documented = append(documented, k)
	}
	// An empty list documents the key as a whole.
	sort.Strings(documented)
	if !slices.Equal(documented, Keys()) {
		t.Fatalf("config.example.yaml keys differ from Config:\n file: %v\n code: %v", documented, Keys())
	}
	cfg, err := Load("../../config.example.yaml", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults()
	if cfg.HTTP.Addr != def.HTTP.Addr || cfg.Database.ConnMaxLifetime != def.Database.ConnMaxLifetime ||
		cfg.Uploads.MaxFileBytes != def.Uploads.MaxFileBytes || cfg.HTTP.MaxBodyBytes != def.HTTP.MaxBodyBytes ||
		cfg.Jobs.Workers != def.Jobs.Workers || cfg.Plugins.Dir != def.Plugins.Dir || cfg.BaseURL != def.BaseURL {
		t.Fatalf("config.example.yaml values differ from the defaults:\n file: %+v\n code: %+v", cfg, def)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("mail.smtp_url"); got != "LICENSOR_MAIL_SMTP_URL" {
		t.Fatal(got)
	}
}
