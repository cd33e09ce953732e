package sourcescan_test

import (
	"fmt"
	"go/ast"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/licensor/licensor/test/sourcescan"
)

// tree is a repository in miniature: code to read, and beside it what a
// scan passes over (testdata, node_modules, generated code, a folder that
// holds no code, a file that is not Go).
const tree = "testdata/tree"

func TestWalkReadsTheCodeFoldersGoFiles(t *testing.T) {
	t.Parallel()
	var got []string
	n := sourcescan.Walk(t, tree, func(string) bool { return true }, func(_ *token.FileSet, f *ast.File, rel string) {
		got = append(got, rel+" "+f.Name.Name)
	})
	want := []string{"app/a/a.go a", "app/a/a_test.go a", "jobs/jobs.go jobs"}
	if !slices.Equal(got, want) || n != len(want) {
		t.Errorf("walked %q (count %d), want %q", got, n, want)
	}
}

func TestWalkKeepsWhatKeepSays(t *testing.T) {
	t.Parallel()
	var asked, got []string
	keep := func(rel string) bool {
		asked = append(asked, rel)
		return !strings.HasSuffix(rel, "_test.go")
	}
	n := sourcescan.Walk(t, tree, keep, func(_ *token.FileSet, _ *ast.File, rel string) { got = append(got, rel) })
	if want := []string{"app/a/a.go", "app/a/a_test.go", "jobs/jobs.go"}; !slices.Equal(asked, want) {
		t.Errorf("keep asked about %q, want %q", asked, want)
	}
	if want := []string{"app/a/a.go", "jobs/jobs.go"}; !slices.Equal(got, want) || n != len(want) {
		t.Errorf("walked %q (count %d), want %q", got, n, want)
	}
}

func TestRootIsTheFolderHoldingGoMod(t *testing.T) {
	t.Parallel()
	want, err := filepath.Abs("../..") // this package is test/sourcescan
	if err != nil {
		t.Fatal(err)
	}
	if got := sourcescan.Root(t); got != want {
		t.Errorf("Root = %s, want %s", got, want)
	}
}

// reports records what a check reports instead of failing the test.
type reports struct {
	testing.TB
	got []string
}

func (e *reports) Helper() {}
func (e *reports) Errorf(format string, args ...any) {
	e.got = append(e.got, fmt.Sprintf(format, args...))
}

func TestCheckAllowListFailsOnStaleOrUnexplainedEntries(t *testing.T) {
	t.Parallel()
	allowed := map[string]string{
		"a.go: used":         "a reason",
		"b.go: unused":       "a reason",
		"c.go: used, no why": " ",
	}
	used := map[string]bool{"a.go: used": true, "c.go: used, no why": true}
	e := &reports{TB: t}
	sourcescan.CheckAllowList(e, allowed, used)
	want := []string{
		`allow-list entry "b.go: unused" matches nothing any more: remove it`,
		`allow-list entry "c.go: used, no why" gives no reason`,
	}
	if !slices.Equal(e.got, want) {
		t.Errorf("reported %q, want %q", e.got, want)
	}

	e = &reports{TB: t}
	sourcescan.CheckAllowList(e, map[string]string{"a.go: used": "a reason"}, used)
	if len(e.got) != 0 {
		t.Errorf("a used entry with a reason reported %q", e.got)
	}
}
