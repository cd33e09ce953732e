// Package docs holds Licensor's documentation and the tests that keep it
// true: the generated parts of the API reference and of the settings table
// match the code (go test ./docs/ -update rewrites them), every citation
// of a document in the repository resolves to a file and heading here, and
// nothing cites the specification outside the repository.
package docs

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// root is the repository, seen from this package's folder.
const root = ".."

// outsideCitation is a citation of the specification that lives outside
// this repository: its two documents by name, its folder, or a bare
// section sign that stood for one of them. Only RFC sections keep §.
var outsideCitation = regexp.MustCompile(`\b(api|product)\.md\b|\.\./shared\b|shared/spec\b|§`)

var rfcSection = regexp.MustCompile(`RFC ?\d+,? §`)

// TestNoOutsideCitations fails when code, SQL, templates or docs cite the
// specification outside the repository again: comments and docs point to
// docs/ (docs/api/… for the HTTP API).
func TestNoOutsideCitations(t *testing.T) {
	t.Parallel()
	for _, f := range sourceFiles(t) {
		if filepath.Base(f) == "docs_test.go" {
			continue // the pattern itself
		}
		forLines(t, f, func(n int, line string) {
			for _, loc := range outsideCitation.FindAllStringIndex(line, -1) {
				if line[loc[0]:loc[1]] == "§" && rfcSection.MatchString(line[:loc[1]]) {
					continue
				}
				t.Errorf("%s:%d cites a document outside the repository (%q): point to docs/ instead: %s",
					f, n, line[loc[0]:loc[1]], strings.TrimSpace(line))
			}
		})
	}
}

// skipDirs are folders of the repository that hold no sources of ours.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, "var": true, "bin": true, "test-output": true}

var sourceExts = []string{".go", ".sql", ".proto", ".md", ".yml", ".yaml", ".sh", ".html", ".js", ".css", ".txt"}

var (
	sourceOnce sync.Once
	sourceList []string
	sourceErr  error
)

// sourceFiles lists the repository's own text files (walked once per run).
func sourceFiles(t *testing.T) []string {
	t.Helper()
	sourceOnce.Do(func() { sourceList, sourceErr = walkSources() })
	if sourceErr != nil {
		t.Fatal(sourceErr)
	}
	if len(sourceList) < 100 {
		t.Fatalf("only %d files found under %s: is the walk reading the repository?", len(sourceList), root)
	}
	return sourceList
}

func walkSources() ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci") {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if slices.Contains(sourceExts, filepath.Ext(name)) || name == "Makefile" || name == "Dockerfile" || name == "run" {
			if name != "common.txt" { // app/passwords' word list
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

func forLines(t *testing.T, path string, fn func(n int, line string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fn(n, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
