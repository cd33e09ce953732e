package catalog

import (
	"bytes"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// Changelogs arrive as HTML (the API, LicenseBox-era shops) or Markdown
// (the console). Markdown passes HTML through, so both are rendered as
// Markdown, then sanitised (docs/api/internal.md#versions: no scripts, event attributes or
// javascript: URLs) and stored as HTML. Rendering stored HTML again gives
// the same HTML, so an edit that keeps the changelog keeps it unchanged.
//
// Both are built at first use, not at start-up: the policy compiles dozens
// of regular expressions, which every start of the server would pay.
var (
	changelogMarkdown = sync.OnceValue(func() goldmark.Markdown {
		return goldmark.New(
			goldmark.WithExtensions(extension.GFM),
			goldmark.WithRendererOptions(html.WithUnsafe()),
		)
	})
	changelogPolicy = sync.OnceValue(bluemonday.UGCPolicy)
)

// RenderChangelog turns a changelog as typed (Markdown or HTML) into safe
// HTML. Blank input gives "".
func RenderChangelog(src string) string {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := changelogMarkdown().Convert([]byte(src), &buf); err != nil {
		// goldmark fails only on writer errors; a bytes.Buffer has none.
		return changelogPolicy().Sanitize(src)
	}
	return strings.TrimSpace(changelogPolicy().Sanitize(buf.String()))
}

// SanitizeHTML removes anything unsafe from stored HTML before a page
// shows it, whatever wrote the row.
func SanitizeHTML(s string) string { return changelogPolicy().Sanitize(s) }
