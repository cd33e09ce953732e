// Package jobqueue enqueues River jobs from inside Licensor's own bun
// transactions, so a job commits or rolls back with the change that causes
// it (an email with the customer it welcomes, a webhook with the license
// it announces). Domain packages enqueue through a Queue and the argument
// types of jobqueue/jobargs; only jobs/ knows the workers.
package jobqueue

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"
)

// Queue inserts jobs. It is an insert-only River client over the
// database/sql handle bun uses, so it can join a bun.Tx; the worker client
// (jobs.NewClient) picks the jobs up once the transaction commits.
type Queue struct {
	client *river.Client[*sql.Tx]
}

// New returns a Queue over sqldb, the *sql.DB under bun.
func New(sqldb *sql.DB) (*Queue, error) {
	client, err := river.NewClient(riverdatabasesql.New(sqldb), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("jobqueue: %w", err)
	}
	return &Queue{client: client}, nil
}

// Add enqueues one job in idb: inside the transaction when idb is one,
// else on its own.
func (q *Queue) Add(ctx context.Context, idb bun.IDB, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	tx, err := sqlTx(idb)
	if err != nil {
		return nil, err
	}
	var res *rivertype.JobInsertResult
	if tx != nil {
		res, err = q.client.InsertTx(ctx, tx, args, opts)
	} else {
		res, err = q.client.Insert(ctx, args, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

// AddMany enqueues jobs in one statement, as Add does.
func (q *Queue) AddMany(ctx context.Context, idb bun.IDB, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	tx, err := sqlTx(idb)
	if err != nil {
		return err
	}
	if tx != nil {
		_, err = q.client.InsertManyTx(ctx, tx, params)
	} else {
		_, err = q.client.InsertMany(ctx, params)
	}
	if err != nil {
		return fmt.Errorf("enqueue %d %s jobs: %w", len(params), params[0].Args.Kind(), err)
	}
	return nil
}

// sqlTx is the *sql.Tx under idb, or nil when idb is not a transaction.
func sqlTx(idb bun.IDB) (*sql.Tx, error) {
	switch x := idb.(type) {
	case bun.Tx:
		return x.Tx, nil
	case *bun.Tx:
		return x.Tx, nil
	case *bun.DB:
		return nil, nil
	}
	return nil, fmt.Errorf("jobqueue: cannot enqueue through a %T; pass a *bun.DB or a bun.Tx", idb)
}
