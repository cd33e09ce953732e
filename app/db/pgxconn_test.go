package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
)

// db.RunInTx's statements through pgx (Tx.WithPgx) and through bun are one
// transaction on one connection: committed together, rolled back together,
// and counted as one write at its commit.
func TestRunInTxSendsPgxStatementsInTheTransaction(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	if _, err := d.Bun.ExecContext(ctx, "CREATE TABLE tx_probe (id int PRIMARY KEY, via text)"); err != nil {
		t.Fatal(err)
	}
	both := func(ctx context.Context, tx db.Tx, id int) error {
		var bunPID, pgxPID int
		if err := tx.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &bunPID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO tx_probe VALUES (?, 'bun')", id); err != nil {
			return err
		}
		return tx.WithPgx(func(c *pgx.Conn) error {
			if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pgxPID); err != nil {
				return err
			}
			if pgxPID != bunPID {
				t.Errorf("pgx on backend %d, bun on %d", pgxPID, bunPID)
			}
			// bun's insert gave the transaction its id.
			var xid *int64
			if err := c.QueryRow(ctx, "SELECT txid_current_if_assigned()").Scan(&xid); err != nil || xid == nil {
				t.Errorf("pgx's statement is not in bun's transaction (%v)", err)
			}
			_, err := c.Exec(ctx, "INSERT INTO tx_probe VALUES ($1, 'pgx')", id+1)
			return err
		})
	}
	rows := func() int {
		var n int
		if err := d.Bun.NewRaw("SELECT count(*) FROM tx_probe").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	failed := errors.New("failed")
	count := d.Writes.Count()
	if err := db.RunInTx(ctx, d.Bun, func(ctx context.Context, tx db.Tx) error {
		if err := both(ctx, tx, 1); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("rolled back: %v", err)
	}
	if n := rows(); n != 0 || d.Writes.Count() != count {
		t.Fatalf("after a rollback: %d rows, %d writes counted", n, d.Writes.Count()-count)
	}

	if err := db.RunInTx(ctx, d.Bun, func(ctx context.Context, tx db.Tx) error { return both(ctx, tx, 1) }); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 2 || d.Writes.Count() != count+1 {
		t.Fatalf("after a commit: %d rows (want 2), %d writes counted (want 1)", n, d.Writes.Count()-count)
	}
	// Every connection went back to the pool: none is held.
	if s := d.SQL.Stats(); s.InUse != 0 {
		t.Fatalf("%d connections still in use", s.InUse)
	}
}
