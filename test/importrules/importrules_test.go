package importrules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/licensor/licensor/test/sourcescan"
)

// module is this repository's module path.
const module = "github.com/licensor/licensor/"

// A scratch package placed at dir whose only file imports imp. rule is the
// depguard rule that must refuse it, "" when the import is allowed (the
// cases that prove a deny pattern does not catch a neighbour: app/api is
// not app/apikeys, app/web is not app/webhooks).
type scratch struct {
	dir, imp, rule string
	test           bool // the import is in a _test.go file
}

var scratches = []scratch{
	// A domain package, existing or future, importing HTTP or a worker.
	{dir: "app/reports", imp: "github.com/gofiber/fiber/v3", rule: "domain-has-no-http"},
	{dir: "app/reports", imp: module + "app/api/filesend", rule: "domain-has-no-http"},
	{dir: "app/reports", imp: module + "app/web/webtest", rule: "domain-has-no-http", test: true},
	{dir: "app/plugins", imp: "github.com/gofiber/fiber/v3", rule: "domain-has-no-http"},
	{dir: "app/charts", imp: "github.com/gofiber/template/html/v2", rule: "domain-has-no-http"},
	{dir: "app/resources", imp: module + "app/portal", rule: "domain-has-no-http"},
	{dir: "app/captcha", imp: module + "app/server/servertest", rule: "domain-has-no-http", test: true},
	{dir: "app/outbound", imp: module + "jobs", rule: "domain-has-no-http"},
	{dir: "app/somefuturepackage", imp: module + "app/admin", rule: "domain-has-no-http"},
	// Jobs call the domain, never delivery packages.
	{dir: "jobs", imp: module + "app/api/external", rule: "jobs-call-the-domain"},
	{dir: "jobs", imp: module + "app/web", rule: "jobs-call-the-domain"},
	// Plugins stand alone.
	{dir: "plugins/sdk", imp: module + "app/fields", rule: "plugins-stand-alone"},
	// Nothing imports main.
	{dir: "app/admin", imp: module + "app/cmd/importrulestarget", rule: "no-cmd"},
	// The core imports one way.
	{dir: "app/catalog", imp: module + "app/customers", rule: "core-catalog"},
	{dir: "app/catalog", imp: module + "app/licensing", rule: "core-catalog"},
	{dir: "app/customers", imp: module + "app/licensing", rule: "core-customers"},
	{dir: "app/customers", imp: module + "app/catalog", rule: "core-customers"},
	{dir: "app/settings", imp: module + "app/customers", rule: "core-base"},
	{dir: "app/listing", imp: module + "app/licensing", rule: "core-base"},
	{dir: "app/pgnotify", imp: module + "app/settings", rule: "core-pgnotify"},
	// Only main and the test harness build a node.
	{dir: "app/admin", imp: module + "app/node", rule: "one-composition-root"},
	{dir: "jobs", imp: module + "app/node", rule: "one-composition-root"},
	// Background work sits above the core.
	{dir: "app/licensing", imp: module + "app/mail", rule: "background-above-core"},
	{dir: "app/customers", imp: module + "app/jobqueue/jobargs", rule: "background-above-core"},
	{dir: "app/audit", imp: module + "app/webhooks", rule: "background-above-core"},
	{dir: "app/catalog", imp: module + "app/imports", rule: "background-above-core"},

	// Allowed.
	{dir: "app/catalog", imp: module + "app/apikeys"},
	{dir: "app/expiry", imp: module + "app/webhooks"},
	{dir: "app/licensing", imp: module + "app/customers"},
	{dir: "app/webhooks", imp: module + "app/jobqueue/jobargs"},
	{dir: "app/api/external", imp: "github.com/gofiber/fiber/v3"},
	{dir: "app/admin", imp: module + "app/licensing"},
	{dir: "jobs", imp: module + "app/imports"},
	{dir: "app/node", imp: module + "app/server"},    // the composition root
	{dir: "app/plugins", imp: module + "app/fields"}, // app/plugins is not plugins/
}

// TestForbiddenImportsFailLint copies the repository, adds one scratch
// package per case beside the real ones, and runs golangci-lint's depguard
// with the repository's .golangci.yml on the whole copy: every arrow that
// docs/architecture.md says must never exist fails lint, the allowed
// neighbours pass, and no real package breaks an arrow. It needs
// golangci-lint, so make lint runs it (make test skips it: building
// golangci-lint takes minutes; LICENSOR_GOLANGCI_LINT is the command, e.g. "go run
// github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0").
func TestForbiddenImportsFailLint(t *testing.T) {
	lint := strings.Fields(os.Getenv("LICENSOR_GOLANGCI_LINT"))
	if len(lint) == 0 {
		t.Skip("make lint runs this test (LICENSOR_GOLANGCI_LINT unset)")
	}
	root := sourcescan.Root(t)
	checkEveryRuleHasACase(t, root)

	copyDir := t.TempDir()
	copyTree(t, root, copyDir)
	// app/cmd holds only main packages, which nothing can import at all;
	// the no-cmd case imports a library placed there.
	target := filepath.Join(copyDir, "app", "cmd", "importrulestarget")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(target, "target.go"), "package importrulestarget\n")
	want := map[string]string{} // scratch file (relative) -> rule
	for i, s := range scratches {
		rel := filepath.Join(s.dir, fmt.Sprintf("importrulescase%d", i))
		dir := filepath.Join(copyDir, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := "scratch.go"
		if s.test {
			name = "scratch_test.go"
			write(t, filepath.Join(dir, "doc.go"), fmt.Sprintf("package importrulescase%d\n", i))
		}
		write(t, filepath.Join(dir, name), fmt.Sprintf("package importrulescase%d\n\nimport _ %q\n", i, s.imp))
		want[filepath.ToSlash(filepath.Join(rel, name))] = s.rule
	}

	out := filepath.Join(t.TempDir(), "issues.json")
	args := append(lint[1:], "run", "--allow-parallel-runners", "--enable-only", "depguard",
		"--max-same-issues", "0", "--max-issues-per-linter", "0", "--uniq-by-line=false",
		"--output.json.path", out, "--config", filepath.Join(copyDir, ".golangci.yml"))
	// Every package of the copy: the scratch cases and the real code.
	cmd := exec.Command(lint[0], append(args, "./...")...)
	cmd.Dir = copyDir
	text, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: issues found
		t.Fatalf("golangci-lint: %v\n%s", err, text)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("golangci-lint wrote no report: %v\n%s", err, text)
	}
	var report struct {
		Issues []struct {
			FromLinter string
			Text       string
			Pos        struct{ Filename string }
		}
	}
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatalf("golangci-lint report: %v\n%s", err, raw)
	}
	fromList := regexp.MustCompile(`not allowed from list '([^']+)'`)
	got := map[string][]string{}
	for _, is := range report.Issues {
		if is.FromLinter != "depguard" {
			// A scratch file that does not compile hides the others.
			t.Fatalf("%s: %s: %s", is.FromLinter, is.Pos.Filename, is.Text)
		}
		m := fromList.FindStringSubmatch(is.Text)
		if m == nil {
			t.Errorf("unexpected depguard text: %s", is.Text)
			continue
		}
		got[filepath.ToSlash(is.Pos.Filename)] = append(got[filepath.ToSlash(is.Pos.Filename)], m[1])
	}
	for i, s := range scratches {
		file := filepath.ToSlash(filepath.Join(s.dir, fmt.Sprintf("importrulescase%d", i), map[bool]string{false: "scratch.go", true: "scratch_test.go"}[s.test]))
		rules := got[file]
		switch {
		case s.rule == "" && len(rules) > 0:
			t.Errorf("%s importing %s is allowed by the codemap, but lint refused it: %v", s.dir, s.imp, rules)
		case s.rule != "" && !slices.Contains(rules, s.rule):
			t.Errorf("%s importing %s: want lint to refuse it by rule %s, got %v", s.dir, s.imp, s.rule, rules)
		}
		delete(got, file)
	}
	for file, rules := range got {
		t.Errorf("%s breaks an import rule of docs/architecture.md: %v", file, rules)
	}
}

// checkEveryRuleHasACase fails when .golangci.yml has a depguard rule no
// scratch case breaks: a rule nothing proves.
func checkEveryRuleHasACase(t *testing.T, root string) {
	raw, err := os.ReadFile(filepath.Join(root, ".golangci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Linters struct {
			Settings struct {
				Depguard struct {
					Rules map[string]any
				}
			}
		}
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	rules := cfg.Linters.Settings.Depguard.Rules
	if len(rules) == 0 {
		t.Fatal("no depguard rules in .golangci.yml")
	}
	for name := range rules {
		if !slices.ContainsFunc(scratches, func(s scratch) bool { return s.rule == name }) {
			t.Errorf("depguard rule %s has no case here that breaks it", name)
		}
	}
}

// copyTree copies the repository's files (not .git, node_modules or build
// output) from src to dst. A file that vanishes while it is copied (another
// package's test under make test removing its own) is skipped.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	skip := map[string]bool{".git": true, "node_modules": true, "bin": true, "var": true, "test-output": true, "testdata-out": true}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[rel] {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
