package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// docCitation is a citation of a document under docs/ as code writes it:
// docs/api/external.md#verify.
var docCitation = regexp.MustCompile(`\bdocs/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md(#[A-Za-z0-9_-]+)?`)

// mdLink is a relative link of a Markdown file: [text](path#anchor).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestCitationsResolve fails when a citation of docs/… in the repository,
// or a relative link of a Markdown file, names a file or heading that does
// not exist.
func TestCitationsResolve(t *testing.T) {
	t.Parallel()
	anchors := map[string][]string{}
	check := func(where, target string) {
		file, anchor, _ := strings.Cut(target, "#")
		info, err := os.Stat(filepath.Join(root, file))
		if err != nil {
			t.Errorf("%s: %s does not exist", where, file)
			return
		}
		if anchor == "" || info.IsDir() {
			return
		}
		list, ok := anchors[file]
		if !ok {
			list = headingAnchors(read(t, filepath.Join(root, file)))
			anchors[file] = list
		}
		if !slices.Contains(list, anchor) {
			t.Errorf("%s: %s has no heading #%s", where, file, anchor)
		}
	}
	for _, f := range sourceFiles(t) {
		rel, _ := filepath.Rel(root, f)
		rel = filepath.ToSlash(rel)
		isMarkdown := strings.HasSuffix(f, ".md")
		fence := false
		forLines(t, f, func(n int, line string) {
			where := fmt.Sprintf("%s:%d", rel, n)
			if isMarkdown && strings.HasPrefix(strings.TrimSpace(line), "```") {
				fence = !fence
			}
			if !isMarkdown || !fence {
				for _, c := range docCitation.FindAllString(line, -1) {
					if strings.HasSuffix(f, "docs_test.go") {
						continue
					}
					check(where, c)
				}
			}
			if !isMarkdown || fence {
				return
			}
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "<") {
					continue
				}
				if strings.HasPrefix(target, "#") {
					target = rel + target
				} else {
					target = filepath.ToSlash(filepath.Join(filepath.Dir(rel), target))
				}
				check(where, target)
			}
		})
	}
}

// headingAnchors lists the anchors GitHub gives a Markdown file's headings.
func headingAnchors(text string) []string {
	var out []string
	seen := map[string]int{}
	fence := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		a := slug(strings.TrimLeft(line, "#"))
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// headingBefore is the anchor of the last heading before offset.
func headingBefore(text string, offset int) string {
	list := headingAnchors(text[:offset])
	if len(list) == 0 {
		return ""
	}
	return list[len(list)-1]
}

// slug is GitHub's heading anchor: lower case, letters, digits, spaces
// as hyphens, hyphens and underscores kept, everything else dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// inlineCode is a `code span` of a Markdown line.
var inlineCode = regexp.MustCompile("`([^`]+)`")

var (
	repoPath  = regexp.MustCompile(`^(app|plugins|jobs|bench|migrations|views|static|test|scripts|docs)/[A-Za-z0-9_./-]*$`)
	makeCmd   = regexp.MustCompile(`^make ([a-z-]+)`)
	configKey = regexp.MustCompile(`^(log|database|http|mail|uploads|storage|jobs|plugins|api)\.[a-z0-9_.]+$`)
	envVar    = regexp.MustCompile(`\bLICENSOR_[A-Z0-9_]*[A-Z0-9]`)
	goDotted  = regexp.MustCompile(`"([a-z_]+\.[a-z0-9_.]+)"`)
)

// notYet are paths the documents name before they exist, with the reason.
// An entry that exists is logged, to be removed (not failed: the engineer
// landing the path should not find this test broken by it).
var notYet = map[string]string{}

// TestDocumentedNamesExist fails when the README or a document names, in
// a code span, a repository path, a make target, a configuration key or a
// LICENSOR_ variable that does not exist.
func TestDocumentedNamesExist(t *testing.T) {
	t.Parallel()
	makefile := read(t, filepath.Join(root, "Makefile"))
	keys := configKeys(read(t, filepath.Join(root, "config.example.yaml")))
	env := map[string]bool{}
	for _, k := range keys {
		env["LICENSOR_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = true
	}
	code := map[string]bool{}   // LICENSOR_ variables the code reads
	dotted := map[string]bool{} // dotted names the Go code spells ("jobs.view", a permission)
	for _, f := range sourceFiles(t) {
		if strings.HasSuffix(f, ".go") || strings.HasSuffix(f, ".sh") || filepath.Base(f) == "Makefile" || filepath.Base(f) == "run" {
			text := read(t, f)
			for _, v := range envVar.FindAllString(text, -1) {
				code[v] = true
			}
			if strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, "_test.go") {
				for _, m := range goDotted.FindAllStringSubmatch(text, -1) {
					dotted[m[1]] = true
				}
			}
		}
	}
	for p, why := range notYet {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Logf("%s exists now: remove it from notYet (%s)", p, why)
		}
	}
	files := append(markdownFiles(t, "."), filepath.Join(root, "README.md"))
	files = append(files, markdownFiles(t, filepath.Join(root, "plugins"))...)
	seen := map[string]int{}
	for _, f := range files {
		fence := false
		forLines(t, f, func(n int, line string) {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fence = !fence
			}
			if fence {
				return
			}
			for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
				span := strings.TrimSpace(m[1])
				where := fmt.Sprintf("%s:%d", f, n)
				switch {
				case repoPath.MatchString(span) && !strings.Contains(span, "..."):
					seen["path"]++
					_, err := os.Stat(filepath.Join(root, span))
					if _, planned := notYet[span]; err != nil && !planned {
						t.Errorf("%s: %s does not exist", where, span)
					}
				case makeCmd.MatchString(span):
					seen["make"]++
					target := makeCmd.FindStringSubmatch(span)[1]
					if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).MatchString(makefile) {
						t.Errorf("%s: the Makefile has no target %s", where, target)
					}
				case configKey.MatchString(span):
					seen["config"]++
					if !dotted[span] && !slices.Contains(keys, span) && !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, span+".") }) {
						t.Errorf("%s: config.example.yaml has no key %s, and no Go code names it", where, span)
					}
				}
				for _, v := range envVar.FindAllString(span, -1) {
					seen["env"]++
					if !env[v] && !code[v] {
						t.Errorf("%s: nothing reads %s", where, v)
					}
				}
			}
		})
	}
	for _, kind := range []string{"path", "make", "config", "env"} {
		if seen[kind] < 3 {
			t.Errorf("only %d %s names checked: is the scan reading the documents?", seen[kind], kind)
		}
	}
}

// configKeys flattens the keys of config.example.yaml (two-space indents).
func configKeys(yaml string) []string {
	var out, path []string
	for _, line := range strings.Split(yaml, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || !strings.Contains(trimmed, ":") {
			continue
		}
		depth := (len(line) - len(strings.TrimLeft(line, " "))) / 2
		name, _, _ := strings.Cut(trimmed, ":")
		path = append(path[:min(depth, len(path))], name)
		out = append(out, strings.Join(path, "."))
	}
	return out
}
