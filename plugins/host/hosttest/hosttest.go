// Package hosttest builds real plugin executables for tests and installs
// them, with their manifests, into a plugin directory.
package hosttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	mu    sync.Mutex
	built = map[string]string{} // package → executable, per test binary
)

// Build compiles the plugin main package pkg (a path relative to the
// plugins folder, e.g. "captcha-recaptcha") and returns the executable's
// path. Executables are shared by every test binary of every run: each is
// kept under the system's temporary directory, named after a hash of what
// it is built from (every Go file under plugins/, go.mod, go.sum and the
// Go version), so a test run builds a plugin only when its sources
// changed, and a file lock makes parallel test binaries wait for one
// build instead of each doing its own.
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
	plugins := filepath.Join(filepath.Dir(self), "..", "..")
	key, err := sourceKey(plugins)
	if err != nil {
		t.Fatalf("hash plugin sources: %v", err)
	}
	name := strings.ReplaceAll(pkg, "/", "_")
	exe := filepath.Join(dir, name+"-"+key)
	if _, err := os.Stat(exe); err != nil {
		unlock, err := lockFile(exe + ".lock")
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		// Another process may have built it while this one waited.
		if _, err := os.Stat(exe); err != nil {
			tmp := fmt.Sprintf("%s.%d.tmp", exe, os.Getpid())
			cmd := exec.Command("go", "build", "-o", tmp, ".")
			cmd.Dir = filepath.Join(plugins, pkg)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build plugin %s: %v\n%s", pkg, err, out)
			}
			if err := os.Rename(tmp, exe); err != nil {
				t.Fatal(err)
			}
			pruneOld(dir, name, exe)
		}
	}
	built[pkg] = exe
	return exe
}

var (
	keyOnce sync.Once
	key     string
	keyErr  error
)

// sourceKey hashes what the plugins are built from: plugins/ never imports
// app/ (docs/architecture.md), so its Go files, the module's requirements
// and the toolchain decide the executables.
func sourceKey(plugins string) (string, error) {
	keyOnce.Do(func() {
		h := sha256.New()
		fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		var files []string
		keyErr = filepath.WalkDir(plugins, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if keyErr != nil {
			return
		}
		root := filepath.Dir(plugins)
		files = append(files, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				keyErr = err
				return
			}
			rel, _ := filepath.Rel(root, f)
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
			h.Write(b)
		}
		key = hex.EncodeToString(h.Sum(nil))[:16]
	})
	return key, keyErr
}

// lockFile takes an exclusive lock on path, waiting for it, and returns
// its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// pruneOld removes executables of plugin name built from older sources
// and unused for a day, so the folder does not grow with every change.
func pruneOld(dir, name, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, name+"-*"))
	for _, p := range old {
		if p == keep || strings.HasPrefix(p, keep) {
			continue
		}
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
			_ = os.Remove(p)
		}
	}
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
	if err := WriteExecutable(bin, data); err != nil {
		t.Fatal(err)
	}
	manifest, err := manifestOf(bin, nil)
	if err != nil {
		t.Fatalf("%s manifest: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(target, "manifest.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	return target
}

// WriteExecutable writes data to the executable path (created with mode
// 0755) so that this process and its children can start it at once.
//
// A plain os.WriteFile can leave a new executable unstartable for a while:
// a child that another goroutine forks while the file is open for writing
// inherits the write descriptor and holds it until the child execs
// (golang.org/issue/22315), and the kernel refuses to execute a file that
// any descriptor can still write to (ETXTBSY: "text file busy"). Writing
// elsewhere and renaming into place does not help, since the inherited
// descriptor is the same file's. So the file is opened, written and closed
// holding syscall.ForkLock for reading: every fork of this process
// (os/exec, os.StartProcess) holds it for writing, so none can happen
// while the descriptor is open, and once WriteExecutable returns no
// process has one. (data must not come from a child started meanwhile:
// the fork would wait for the lock.)
func WriteExecutable(path string, data []byte) error {
	return writeExecutable(path, bytes.NewReader(data))
}

func writeExecutable(path string, r io.Reader) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("create executable: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("write executable %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write executable %s: %w", path, err)
	}
	return nil
}

// manifestOf runs bin's manifest command. If bin cannot start because a
// descriptor open for writing to it is left somewhere (ETXTBSY), the start
// is retried for a while, calling busy (if not nil) after each refusal.
// WriteExecutable leaves no such descriptor in this process's children;
// the retry covers one forked outside Go's ForkLock (cgo, a raw clone),
// which goes away as soon as that child execs or exits. Once bin has run,
// no write descriptor to it is left anywhere, so later starts (the host's)
// cannot meet it.
func manifestOf(bin string, busy func()) ([]byte, error) {
	wait := time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := exec.Command(bin, "manifest").Output()
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 100 {
			return out, err
		}
		if busy != nil {
			busy()
		}
		time.Sleep(wait) // at most about 10 s in all
		wait = min(2*wait, 100*time.Millisecond)
	}
}
