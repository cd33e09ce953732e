// Package api holds Licensor's JSON API: the public health check now; the
// external and internal APIs (external/, internal/) will join it. Every
// route is listed in routes.go.
package api

import (
	"context"
	"log/slog"
)

// Pinger is the database check the health endpoint needs (*db.DB has it).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the API handlers need.
type Deps struct {
	DB     Pinger
	Logger *slog.Logger
}

type handlers struct {
	deps Deps
}
