package main

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docCommand is a row of the command table in docs/operations.md.
var docCommand = regexp.MustCompile("(?m)^\\| `licensor ([^`]+)` \\|")

// docFlag is a flag named in a row's synopsis; helpFlag one that --help
// prints (flag.PrintDefaults).
var (
	docFlag  = regexp.MustCompile(`--([a-z][a-z-]*)`)
	helpFlag = regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`)
)

// TestOperationsDocMatchesHelp: the command table of docs/operations.md
// names every command the CLI has and no other, each with exactly the
// flags its --help prints (the global --config aside, which the page
// names once above the table).
func TestOperationsDocMatchesHelp(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	for _, m := range docCommand.FindAllStringSubmatch(string(raw), -1) {
		var name []string
		for _, word := range strings.Fields(m[1]) {
			if word != strings.ToLower(word) || strings.HasPrefix(word, "-") || strings.HasPrefix(word, "[") {
				break
			}
			name = append(name, word)
		}
		documented[strings.Join(name, " ")] = flagNames(docFlag, m[1])
	}

	var names []string
	for name := range commands() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		docFlags, ok := documented[name]
		if !ok {
			t.Errorf("docs/operations.md has no row for licensor %s", name)
			continue
		}
		delete(documented, name)
		code, out, _ := runCLI(t, nil, append(strings.Fields(name), "--help")...)
		if code != 0 {
			t.Errorf("licensor %s --help: exit %d", name, code)
			continue
		}
		if help := flagNames(helpFlag, out); !slices.Equal(docFlags, help) {
			t.Errorf("licensor %s: docs/operations.md names the flags %v, --help prints %v", name, docFlags, help)
		}
	}
	for name := range documented {
		t.Errorf("docs/operations.md documents licensor %s, which the CLI does not have", name)
	}
}

// flagNames are the distinct flags re finds in s, sorted, without config.
func flagNames(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if m[1] != "config" && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}
