// Package hosttest builds real plugin executables for tests and installs
// them, with their manifests, into a plugin directory.
package hosttest

import (
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{} // package → executable, per test binary
)

// Build compiles the plugin main package pkg (a path relative to the
// plugins folder, e.g. "captcha-recaptcha") once per test binary and
// returns the executable's path. Executables live under one fixed folder
// in the system's temporary directory, one per plugin and checkout,
// replaced atomically by each build, so test runs neither leak copies nor
// disturb each other.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if exe, ok := built[pkg]; ok {
		return exe
	}
	dir := filepath.Join(os.TempDir(), "licensor-hosttest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "..", pkg)
	// Named after the source folder too: checkouts side by side (git
	// worktrees) build different versions of one plugin.
	exe := filepath.Join(dir, fmt.Sprintf("%s-%08x", strings.ReplaceAll(pkg, "/", "_"), crc32.ChecksumIEEE([]byte(src))))
	tmp := fmt.Sprintf("%s.%d.tmp", exe, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build plugin %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, exe); err != nil {
		t.Fatal(err)
	}
	built[pkg] = exe
	return exe
}

// Install builds pkg and installs it as plugins/<name>/<name> with the
// manifest the executable prints, returning the plugin's directory.
func Install(t testing.TB, pluginsDir, pkg string) string {
	t.Helper()
	exe := Build(t, pkg)
	name := filepath.Base(pkg)
	target := filepath.Join(pluginsDir, name)
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(target, name)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest, err := exec.Command(bin, "manifest").Output()
	if err != nil {
		t.Fatalf("%s manifest: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(target, "manifest.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	return target
}
