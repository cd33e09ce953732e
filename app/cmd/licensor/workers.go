package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// startWorkers starts the job client: serve calls it once it is listening,
// since nothing a request needs waits for the workers (jobs are queued in
// the requests' own transactions), and River's start-up (leader election,
// producers) would otherwise hold back the first answer. River gets its
// own context: on SIGTERM it is stopped after the HTTP server
// (stopWorkers), not cancelled mid-job by the signal.
//
// A database that is away at that moment (restarting, failing over) is
// waited for: the node already answers requests, and River's start-up
// fails on its first query, so it is tried again until it starts or serve
// is told to stop.
func startWorkers(ctx context.Context, client *river.Client[pgx.Tx], log *slog.Logger) error {
	wait := 250 * time.Millisecond
	for {
		err := client.Start(context.WithoutCancel(ctx))
		if err == nil {
			return nil
		}
		log.Warn("background jobs not started; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("start background jobs: %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// stopWorkers lets running jobs finish for up to timeout, then cancels
// them: a cancelled job is retried later, here or on another node (and a
// job of a node killed outright is rescued after jobs.Options.RescueAfter).
func stopWorkers(client *river.Client[pgx.Tx], timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := client.Stop(ctx)
	if err == nil {
		return
	}
	log.Warn("background jobs still running at the shutdown timeout; cancelling them", "err", err)
	hard, cancelHard := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelHard()
	if err := client.StopAndCancel(hard); err != nil {
		log.Warn("background jobs did not stop", "err", err)
	}
}
