// Package views embeds the HTML templates. Each file is a template named by
// its path without ".html" ("admin/login"); the engine compiles all of them
// into one set, so every {{define}} block is named by its path as well
// ("admin/login/form") to keep names unique.
package views

import "embed"

// FS holds the templates.
//
//go:embed layouts partials admin portal errors emails
var FS embed.FS
