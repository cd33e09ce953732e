// Package static embeds the files served under /static: our own css/, js/
// and img/, and vendor/, which scripts/build-assets.sh fills from npm
// (htmx, Pico CSS) and git ignores apart from .gitkeep.
package static

import "embed"

// FS holds the static files, with paths like "css/app.css".
//
//go:embed all:css all:js all:img all:vendor
var FS embed.FS
