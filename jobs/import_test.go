package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/test/eventually"
)

// Starting an import queues its job; a node's River client runs it to the
// end (app/imports tests what Run does with the rows).
func TestImportJobRunsTheImport(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	svc := imports.New(imports.Options{DB: d.Bun, Settings: store, Queue: q})
	startClient(t, d, jobs.Deps{Imports: svc}, jobs.Options{})
	im, err := svc.Upload(ctx, system, imports.Customers, "people.csv", []byte("name,email\nAda Lovelace,ada@example.com\nGrace Hopper,grace@example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx, system, im.ID, imports.Skip, false); err != nil {
		t.Fatal(err)
	}
	var done *imports.Import
	eventually.True(t, 30*time.Second, "the import job finishes the import", func() bool {
		done, err = svc.Get(ctx, im.ID)
		return err == nil && done.Finished()
	})
	if done.Status != imports.StatusDone || done.Inserted != 2 {
		t.Fatalf("import after its job: %+v", done)
	}
	if n := count(t, d, "SELECT count(*) FROM customers"); n != 2 {
		t.Fatalf("%d customers, want 2", n)
	}
}
