package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/test/eventually"
)

// The periodic prune job is wired through River for real: the client is
// started on a fresh database and the job must run on start.
func TestPruneJobRunsOnStart(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	var calls atomic.Int32
	ran := make(chan struct{}, 1)
	client, err := jobs.NewClient(d.Pool, jobs.Deps{Pruners: []jobs.Pruner{{
		Name: "counter",
		Prune: func(ctx context.Context) (int64, error) {
			calls.Add(1)
			select {
			case ran <- struct{}{}:
			default:
			}
			return 3, nil
		},
	}}}, jobs.Options{Workers: 2, FetchPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = client.Stop(stopCtx)
	})
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("the prune job did not run within 30 s of the client starting")
	}
	var completed int
	eventually.Within(10*time.Second, func() bool {
		if err := d.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'prune_expired' AND state = 'completed'").Scan(ctx, &completed); err != nil {
			t.Fatal(err)
		}
		return completed > 0
	})
	if completed != 1 || calls.Load() != 1 {
		t.Fatalf("want exactly one completed prune job and one call, got %d jobs, %d calls", completed, calls.Load())
	}
}
