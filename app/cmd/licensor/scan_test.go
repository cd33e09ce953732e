package main

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/licensor/licensor/app/db/dbtest"
)

func TestExpiryScanAndBlacklistScanCommands(t *testing.T) {
	dsn := dbtest.NewDSN(t)
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	for _, q := range []string{
		`INSERT INTO products (name, reference_id) VALUES ('Acme CMS', 'ACME')`,
		`INSERT INTO licenses (product_id, license_code, email, expires_at) VALUES
			(1, 'SOON', 'a@example.com', now() + interval '2 days'),
			(1, 'GONE', 'b@example.com', now() - interval '1 day')`,
		`INSERT INTO licenses (product_id, license_code, updates_until) VALUES (1, 'NO-UPDATES', now() - interval '1 hour')`,
		`INSERT INTO settings (key, value) VALUES ('blacklist_domain_after_failed_attempts', '2')`,
		// Failed from the domain's own address (the system resolver's
		// localhost), so they count (docs/deploy.md#auto-blacklist).
		`INSERT INTO activations (product_id, license_code, domain, peer_ip, is_valid, is_active) VALUES
			(1, 'X', 'localhost', '127.0.0.1', false, false), (1, 'X', 'localhost', '127.0.0.1', false, false)`,
	} {
		if _, err := sqldb.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_DATA_DIR=" + t.TempDir(), "LICENSOR_LOG_LEVEL=warn"}

	code, out, errOut := runCLI(t, env, "expiry-scan")
	want := "Warnings sent:   1\nExpired logged:  1\nUpdates expired: 1\n"
	if code != 0 || out != want {
		t.Fatalf("expiry-scan: exit %d\n%s\nstderr %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "expiry-scan")
	if code != 0 || out != "Warnings sent:   0\nExpired logged:  0\nUpdates expired: 0\n" {
		t.Fatalf("second expiry-scan: exit %d\n%s", code, out)
	}

	code, out, errOut = runCLI(t, env, "blacklist-scan")
	if code != 0 || out != "Domains blacklisted: 1 (localhost)\nIPs blacklisted:     0\n" {
		t.Fatalf("blacklist-scan: exit %d\n%s\nstderr %s", code, out, errOut)
	}

	for _, cmd := range []string{"expiry-scan", "blacklist-scan"} {
		code, out, _ := runCLI(t, nil, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Usage: licensor "+cmd) {
			t.Errorf("%s --help: %d %q", cmd, code, out)
		}
	}
	if _, out, _ := runCLI(t, nil, "--help"); !strings.Contains(out, "expiry-scan") || !strings.Contains(out, "blacklist-scan") {
		t.Errorf("usage does not list the scan commands:\n%s", out)
	}
}
