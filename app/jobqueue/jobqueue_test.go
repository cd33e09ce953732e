package jobqueue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
)

func TestJobsCommitWithTheirTransaction(t *testing.T) {
	d := dbtest.New(t)
	ctx := context.Background()
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := d.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'send_mail'").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	boom := errors.New("rolled back")
	err = d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := q.Add(ctx, tx, jobargs.SendMail{MessageID: 1}, nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != 0 {
		t.Fatalf("job survived its rolled-back transaction: %v, %d jobs", err, count())
	}

	err = d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return q.AddMany(ctx, &tx, []river.InsertManyParams{{Args: jobargs.SendMail{MessageID: 2}}, {Args: jobargs.SendMail{MessageID: 3}}})
	})
	if err != nil || count() != 2 {
		t.Fatalf("committed: %v, %d jobs", err, count())
	}

	// Outside a transaction the job is inserted on its own.
	if _, err := q.Add(ctx, d.Bun, jobargs.SendMail{MessageID: 4}, nil); err != nil || count() != 3 {
		t.Fatalf("without a transaction: %v, %d jobs", err, count())
	}

	// A connection is neither; refuse rather than guess.
	conn, err := d.Bun.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := q.Add(ctx, conn, jobargs.SendMail{MessageID: 5}, nil); err == nil {
		t.Fatal("enqueued through a bun.Conn")
	}
}
