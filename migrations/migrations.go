// Package migrations embeds Licensor's SQL migrations: numbered plain-SQL
// files, forward only, applied by bun's migrator (app/db).
package migrations

import "embed"

// FS holds every *.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS
