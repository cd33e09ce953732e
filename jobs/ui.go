package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
)

// UIPrefix is where the console mounts River's web UI.
const UIPrefix = "/admin/jobs"

// NewUI returns River's web UI (queues, jobs, retries) for client, serving
// its pages, assets and API under UIPrefix. Its background services run
// until ctx ends. It has no access control of its own: mount it behind the
// admin sign-in.
func NewUI(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) (*riverui.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger,
		Prefix:    UIPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	return h, nil
}
