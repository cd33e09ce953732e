// Package sourcescan is what the repository-wide source checks
// (test/clockscan, test/secretcmp, test/importrules) share: where the
// repository is, which of its Go files a scan reads and how it parses
// them, and the rule that an allow-list entry gives a reason and still
// matches something. Each check keeps its own rule and its own messages.
package sourcescan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// CodeFolders are the folders under the root that hold Go code: the
// places a scan reads.
var CodeFolders = []string{"app", "jobs", "plugins", "bench", "test"}

// Root is the folder holding go.mod, the first one up from the test's
// working directory (its package's folder).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Walk parses every Go file under root's CodeFolders for which keep says
// yes, and hands it to fn with its slash-separated path from root
// ("app/licensing/verify.go"). It passes over testdata and node_modules
// folders (not code the build sees) and generated .pb.go files, and
// returns how many files it parsed, so a caller can tell a walk rooted in
// the wrong place from a clean one. A file that does not parse fails t.
func Walk(t testing.TB, root string, keep func(rel string) bool, fn func(fset *token.FileSet, f *ast.File, rel string)) int {
	t.Helper()
	fset := token.NewFileSet()
	files := 0
	for _, dir := range CodeFolders {
		if _, err := os.Stat(filepath.Join(root, dir)); err != nil {
			continue
		}
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".pb.go") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !keep(rel) {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files++
			fn(fset, f, rel)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// CheckAllowList fails t for each entry of allowed (key -> the reason the
// finding is safe) that gives no reason, or that no finding used: an
// entry that matches nothing any more would let a new finding with the
// same key through unexamined.
func CheckAllowList(t testing.TB, allowed map[string]string, used map[string]bool) {
	t.Helper()
	var keys []string
	for k := range allowed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.TrimSpace(allowed[k]) == "" {
			t.Errorf("allow-list entry %q gives no reason", k)
		}
		if !used[k] {
			t.Errorf("allow-list entry %q matches nothing any more: remove it", k)
		}
	}
}
