package db_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
)

// Writes counts what changed rows once it is committed, whatever sent it
// (bun, database/sql, a transaction, plain SQL), and nothing else: reads,
// rolled-back transactions, writes that changed no row, bookkeeping.
func TestWritesCountCommittedChanges(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	exec := func(ctx context.Context, q string) {
		t.Helper()
		if _, err := d.Bun.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(ctx, "CREATE TABLE fence_probe (id int PRIMARY KEY, v int)")
	counted := func(what string, want uint64, do func()) {
		t.Helper()
		before := d.Writes.Count()
		do()
		if got := d.Writes.Count() - before; got != want {
			t.Errorf("%s: counted %d writes, want %d", what, got, want)
		}
	}
	counted("autocommit insert", 1, func() { exec(ctx, "INSERT INTO fence_probe VALUES (1, 1), (2, 2)") })
	counted("update of no row", 0, func() { exec(ctx, "UPDATE fence_probe SET v = 0 WHERE id = 99") })
	counted("select", 0, func() {
		var n int
		if err := d.Bun.NewRaw("SELECT count(*) FROM fence_probe").Scan(ctx, &n); err != nil || n != 2 {
			t.Fatal(n, err)
		}
	})
	counted("database/sql update", 1, func() {
		if _, err := d.SQL.ExecContext(ctx, "UPDATE fence_probe SET v = $1 WHERE id = 1", 5); err != nil {
			t.Fatal(err)
		}
	})
	counted("bookkeeping", 0, func() { exec(db.Bookkeeping(ctx), "UPDATE fence_probe SET v = 6 WHERE id = 1") })

	var inside uint64
	counted("transaction, at commit", 1, func() {
		err := d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, q := range []string{"UPDATE fence_probe SET v = 7 WHERE id = 1", "DELETE FROM fence_probe WHERE id = 2"} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			inside = d.Writes.Count()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	if d.Writes.Count() != inside+1 {
		t.Errorf("a transaction's writes were counted before its commit")
	}
	counted("rolled back", 0, func() {
		tx, err := d.Bun.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE fence_probe SET v = 8 WHERE id = 1"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	})
	counted("several statements in one text", 1, func() {
		exec(ctx, "BEGIN; UPDATE fence_probe SET v = 9 WHERE id = 1; COMMIT")
	})
	select {
	case <-d.Writes.Wrote():
	default:
		t.Error("Wrote never signalled")
	}

	// A write that changes nothing a cache holds moves the replicas'
	// fence (Last) and not the caches' (Count), alone or in a
	// transaction; one unmarked write in the transaction counts it.
	uncached := db.NoCacheChange(ctx)
	moved := func(what string, do func()) {
		t.Helper()
		before := d.Writes.Last()
		do()
		if !d.Writes.Last().After(before) {
			t.Errorf("%s: the replicas' fence (Last) did not move", what)
		}
	}
	moved("autocommit, no cache change", func() {
		counted("autocommit, no cache change", 0, func() { exec(uncached, "UPDATE fence_probe SET v = 10 WHERE id = 1") })
	})
	inTx := func(marks ...bool) func() {
		return func() {
			err := d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for i, mark := range marks {
					c := ctx
					if mark {
						c = db.NoCacheChange(ctx)
					}
					if _, err := tx.ExecContext(c, "UPDATE fence_probe SET v = ? WHERE id = 1", 11+i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	moved("transaction, no cache change", func() { counted("transaction, no cache change", 0, inTx(true, true)) })
	moved("transaction, one write unmarked", func() { counted("transaction, one write unmarked", 1, inTx(true, false, true)) })
	moved("several statements in one text, no cache change", func() {
		counted("several statements in one text, no cache change", 0, func() {
			exec(uncached, "BEGIN; UPDATE fence_probe SET v = 20 WHERE id = 1; COMMIT")
		})
	})
}
