package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/plugins/sdk"
)

// scriptPlugin installs a shell script as plugin name with a manifest whose
// sha256 is the script's, or a wrong one.
func scriptPlugin(t *testing.T, dir, name string, rightSum bool) {
	t.Helper()
	pdir := filepath.Join(dir, name)
	_ = os.MkdirAll(pdir, 0o755)
	exe := filepath.Join(pdir, name)
	// The host starts it with no retry: a write descriptor inherited by a
	// child forked meanwhile would make that start fail (ETXTBSY), "crashed"
	// for the wrong reason.
	if err := hosttest.WriteExecutable(exe, []byte("#!/bin/sh\necho not a plugin >&2\nexit 1\n")); err != nil {
		t.Fatal(err)
	}
	sum, _ := sdk.FileSHA256(exe)
	if !rightSum {
		sum = strings.Repeat("ab", 32)
	}
	m := fmt.Sprintf(`{"name":%q,"kind":"captcha","version":"0.0.1","description":"test","executable":%q,"sha256":%q}`, name, name, sum)
	if err := os.WriteFile(filepath.Join(pdir, "manifest.json"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPluginsListCommand(t *testing.T) {
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	hosttest.Install(t, dir, "import-xlsx")
	scriptPlugin(t, dir, "broken", true)
	scriptPlugin(t, dir, "tampered", false)

	dsn := dbtest.NewDSN(t)
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	if _, err := sqldb.ExecContext(context.Background(),
		`INSERT INTO plugin_settings (name, enabled) VALUES ('captcha-recaptcha', true), ('broken', true), ('tampered', true)`); err != nil {
		t.Fatal(err)
	}
	env := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_DATA_DIR=" + t.TempDir(), "LICENSOR_PLUGINS_DIR=" + dir}
	code, out, errOut := runCLI(t, env, "plugins", "list")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		`(?m)^NAME\s+KIND\s+VERSION\s+STATUS`,
		`(?m)^broken\s+captcha\s+0\.0\.1\s+crashed\s+\S`,
		`(?m)^captcha-recaptcha\s+captcha\s+1\.0\.0\s+ok\s*$`,
		`(?m)^import-xlsx\s+importformat\s+1\.0\.0\s+disabled\s*$`,
		`(?m)^tampered\s+captcha\s+0\.0\.1\s+checksum mismatch\s`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", want, out)
		}
	}

	empty := []string{"LICENSOR_DATABASE_URL=" + dsn, "LICENSOR_DATA_DIR=" + t.TempDir(), "LICENSOR_PLUGINS_DIR=" + t.TempDir()}
	if code, out, _ := runCLI(t, empty, "plugins", "list"); code != 0 || !strings.Contains(out, "No plugins in") {
		t.Fatalf("empty dir: %d %q", code, out)
	}
}
