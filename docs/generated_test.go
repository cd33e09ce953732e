package docs

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/api"
	"github.com/licensor/licensor/app/api/storewebhooks"
	"github.com/licensor/licensor/app/settings"
)

var update = flag.Bool("update", false, "rewrite the generated blocks of docs/ from the code")

// A generated block sits between <!-- begin NAME --> and <!-- end NAME -->
// in a Markdown file under docs/.
var blockRe = regexp.MustCompile(`(?s)<!-- begin ([a-z]+:?[A-Za-z0-9:_-]*) -->\n(.*?)<!-- end ([a-z]+:?[A-Za-z0-9:_-]*) -->`)

// TestGeneratedBlocks fails when a generated block differs from what the
// code says today, when an API operation or setting is documented nowhere,
// or when a block names nothing. Run go test ./docs/ -update to rewrite.
func TestGeneratedBlocks(t *testing.T) {
	t.Parallel()
	doc, err := decodeAPIDoc(api.Document(storewebhooks.Operation).Document())
	if err != nil {
		t.Fatal(err)
	}
	ops := doc.operations()
	blocks := map[string]string{"settings": settingsBlock(settings.Definitions())}
	for _, op := range ops {
		blocks["openapi:"+op.ID] = operationBlock(op)
	}
	for name, s := range doc.Components.Schemas {
		blocks["openapi:schema:"+name] = schemaBlock(s)
	}

	files := markdownFiles(t, ".")
	// Where each block is, so the index can link to the section holding it.
	where := map[string]string{}
	for _, f := range files {
		text := read(t, f)
		for _, m := range blockRe.FindAllStringSubmatchIndex(text, -1) {
			name := text[m[2]:m[3]]
			where[name] = filepath.ToSlash(f) + "#" + headingBefore(text, m[0])
		}
	}
	blocks["openapi:index"] = indexBlock(ops, where)

	used := map[string]bool{}
	for _, f := range files {
		text := read(t, f)
		var stale []string
		out := blockRe.ReplaceAllStringFunc(text, func(whole string) string {
			m := blockRe.FindStringSubmatch(whole)
			name, body, end := m[1], m[2], m[3]
			if end != name {
				t.Errorf("%s: block %s ends with %s", f, name, end)
				return whole
			}
			want, ok := blocks[name]
			if !ok {
				t.Errorf("%s: block %s names nothing the code documents", f, name)
				return whole
			}
			if used[name] {
				t.Errorf("%s: block %s appears twice", f, name)
			}
			used[name] = true
			if body != want {
				stale = append(stale, name)
			}
			return "<!-- begin " + name + " -->\n" + want + "<!-- end " + name + " -->"
		})
		if len(stale) == 0 {
			continue
		}
		if *update {
			if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote %s", f, strings.Join(stale, ", "))
			continue
		}
		t.Errorf("docs/%s is stale in %s: run go test ./docs/ -update", f, strings.Join(stale, ", "))
	}
	for _, op := range ops {
		if !used["openapi:"+op.ID] {
			t.Errorf("%s %s (%s) is not in the API reference: add <!-- begin openapi:%s --><!-- end openapi:%s --> to its section under docs/api/",
				op.method, op.path, op.ID, op.ID, op.ID)
		}
	}
	for _, name := range []string{"settings", "openapi:index"} {
		if !used[name] {
			t.Errorf("block %s is in no document", name)
		}
	}
}

// indexBlock is the table of every endpoint, linked to its section.
func indexBlock(ops []apiOp, where map[string]string) string {
	var b strings.Builder
	b.WriteString("| method and path | scope | legacy paths | section |\n|---|---|---|---|\n")
	for _, op := range ops {
		scope := "public"
		if op.Scope != "" {
			scope = "`" + op.Scope + "`"
		}
		var legacy []string
		for _, l := range op.Legacy {
			legacy = append(legacy, "`"+l+"`")
		}
		section := where["openapi:"+op.ID]
		link := ""
		if section != "" {
			file, anchor, _ := strings.Cut(strings.TrimPrefix(section, "api/"), "#")
			link = fmt.Sprintf("[%s](%s#%s)", strings.ReplaceAll(anchor, "-", " "), file, anchor)
		}
		fmt.Fprintf(&b, "| `%s %s` | %s | %s | %s |\n", op.method, op.path, scope, cell(strings.Join(legacy, ", ")), link)
	}
	return b.String()
}

// settingsBlock is the table of every run-time setting.
func settingsBlock(defs []settings.Definition) string {
	var b strings.Builder
	b.WriteString("| setting | console tab | type | default | meaning |\n|---|---|---|---|---|\n")
	for _, d := range defs {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", d.Key, d.Group, cell(settingType(d)), cell(settingDefault(d.Default)), cell(d.Description))
	}
	return b.String()
}

func settingType(d settings.Definition) string {
	bounds := func() string {
		switch {
		case d.Max > 0:
			return fmt.Sprintf(" %d–%d", d.Min, d.Max)
		case d.Min != 0:
			return fmt.Sprintf(" ≥ %d", d.Min)
		}
		return ""
	}
	switch d.Kind {
	case settings.Bool:
		return "boolean"
	case settings.Int:
		return "integer" + bounds()
	case settings.Enum:
		return "`" + strings.Join(d.Options, "` | `") + "`"
	case settings.List:
		if len(d.Options) > 0 {
			return "list of `" + strings.Join(d.Options, "`, `") + "`"
		}
		return "list"
	case settings.IntList:
		return "list of integers" + bounds()
	}
	if d.MaxLen > 0 {
		return fmt.Sprintf("text, ≤ %d characters", d.MaxLen)
	}
	return "text"
}

func settingDefault(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "on"
		}
		return "off"
	case int:
		return strconv.Itoa(v)
	case string:
		if v == "" {
			return "empty"
		}
		return "`" + v + "`"
	case []string:
		if len(v) == 0 {
			return "empty"
		}
		return "`" + strings.Join(v, "`, `") + "`"
	case []int:
		s := make([]string, len(v))
		for i, n := range v {
			s[i] = strconv.Itoa(n)
		}
		return "`" + strings.Join(s, ",") + "`"
	}
	return fmt.Sprint(v)
}

// markdownFiles lists the Markdown files under dir, relative to this
// package's folder.
func markdownFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
