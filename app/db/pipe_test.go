package db_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
)

// db.RunPipelined sends BEGIN with the transaction's first statement and
// COMMIT with its last (two round trips on the wire, prepared or not); its
// bun statements run in the same transaction; it commits or rolls back as
// one, counted as one write once committed (at the batch's end, which
// holds the COMMIT); and a failed last statement leaves no transaction
// open on the pooled connection.
func TestRunPipelinedSendsBeginAndCommitWithStatements(t *testing.T) {
	t.Parallel()
	for _, prepared := range []bool{true, false} {
		t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			base, tap, d := pipeDB(t, "CREATE TABLE pipe_probe (id int PRIMARY KEY, via text)")
			rows := func() int {
				var n int
				if err := base.Bun.NewRaw("SELECT count(*) FROM pipe_probe").Scan(ctx, &n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			// run inserts id through pgx with the BEGIN, id+1 through bun,
			// and id+2 through pgx with the COMMIT, then fails with fail.
			run := func(id int, fail error) error {
				return db.RunPipelined(ctx, d.Bun, prepared, func(ctx context.Context, p *db.Pipe) error {
					var pid int
					if err := p.Query(ctx, "INSERT INTO pipe_probe VALUES ($1, 'pgx') RETURNING pg_backend_pid()", func(r pgx.Rows) error {
						defer r.Close()
						if !r.Next() {
							return errors.New("no row")
						}
						return r.Scan(&pid)
					}, id); err != nil {
						return err
					}
					var bunPID int
					var xid *int64
					if err := p.Bun().NewRaw("SELECT pg_backend_pid(), txid_current_if_assigned()").Scan(ctx, &bunPID, &xid); err != nil {
						return err
					}
					if bunPID != pid || xid == nil {
						t.Errorf("bun's statement on backend %d (pgx's %d), in a transaction: %v", bunPID, pid, xid != nil)
					}
					if _, err := p.Bun().ExecContext(ctx, "INSERT INTO pipe_probe VALUES (?, 'bun')", id+1); err != nil {
						return err
					}
					if fail != nil {
						return fail
					}
					return p.ExecCommit(ctx, "INSERT INTO pipe_probe VALUES ($1, 'pgx')", id+2)
				})
			}

			// Prepares the statements (prepared) and checks the commit.
			count := d.Writes.Count()
			if err := run(1, nil); err != nil {
				t.Fatal(err)
			}
			if n := rows(); n != 3 || d.Writes.Count() != count+1 {
				t.Fatalf("after a commit: %d rows (want 3), %d writes counted (want 1)", n, d.Writes.Count()-count)
			}

			tap.Take()
			if err := run(10, nil); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, trip := range tap.Take() {
				var kind []string
				for _, s := range trip.Statements {
					s = strings.ToLower(s)
					if i := strings.IndexAny(s, " ("); i > 0 {
						s = s[:i] // insert, select
					}
					kind = append(kind, s)
				}
				kinds = append(kinds, strings.Join(kind, " + "))
				// bun's statements are never prepared.
				if prepared && trip.Parsed && len(kind) > 1 {
					t.Errorf("round trip %+v parsed a statement, want all prepared before", trip)
				}
			}
			if want := []string{"begin + insert", "select", "insert", "insert + commit"}; !slices.Equal(kinds, want) {
				t.Errorf("round trips %q, want %q", kinds, want)
			}

			failed := errors.New("failed")
			count = d.Writes.Count()
			if err := run(20, failed); !errors.Is(err, failed) {
				t.Fatalf("rolled back: %v", err)
			}
			if n := rows(); n != 6 || d.Writes.Count() != count {
				t.Fatalf("after a rollback: %d rows (want 6), %d writes counted", n, d.Writes.Count()-count)
			}

			// The last statement fails (a duplicate key): nothing is
			// committed, and the connection goes back to the pool with no
			// transaction open.
			var pgErr *pgconn.PgError
			if err := run(30, nil); err != nil {
				t.Fatal(err)
			}
			if err := run(28, nil); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
				t.Fatalf("a duplicate in the COMMIT's batch: %v", err)
			}
			if n := rows(); n != 9 {
				t.Fatalf("after a failed last statement: %d rows, want 9", n)
			}
			var status byte
			if err := db.WithPgx(ctx, d.SQL, func(c *pgx.Conn) error {
				status = c.PgConn().TxStatus()
				return nil
			}); err != nil || status != 'I' {
				t.Fatalf("the pooled connection after a failed pipeline: status %q %v", status, err)
			}
			if s := d.SQL.Stats(); s.InUse != 0 {
				t.Fatalf("%d connections still in use", s.InUse)
			}
		})
	}
}

// Pipe.QueryRaw binds a prepared statement with the description pgx keeps
// for it (no Describe on the wire once prepared), sends BEGIN with it when
// it is first, hands over its rows in pgx's formats (binary int4 here),
// and its write is counted at the commit (Writes), not at a rollback.
func TestPipeQueryRawBindsWithTheKeptDescription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, tap, d := pipeDB(t, "CREATE TABLE pipe_raw (id int PRIMARY KEY, n int NOT NULL, name text NOT NULL); INSERT INTO pipe_raw VALUES (1, 0, 'one')")
	const raise = "UPDATE pipe_raw SET n = n + 1 WHERE id = $1 RETURNING n, name"
	fail := errors.New("roll back")
	// run raises row 1's n and returns what the statement returned.
	run := func(rollback bool) (n int, name string, err error) {
		err = db.RunPipelined(ctx, d.Bun, true, func(ctx context.Context, p *db.Pipe) error {
			if err := p.QueryRaw(ctx, raise, func(fields []pgconn.FieldDescription, values [][]byte) error {
				if len(fields) != 2 || fields[0].Format != pgx.BinaryFormatCode || len(values[0]) != 4 || fields[1].Format != pgx.TextFormatCode {
					return fmt.Errorf("fields %+v, values %q", fields, values)
				}
				n, name = int(int32(binary.BigEndian.Uint32(values[0]))), string(values[1])
				return nil
			}, []byte("1")); err != nil {
				return err
			}
			if rollback {
				return fail
			}
			return nil
		})
		return n, name, err
	}
	if n, name, err := run(false); err != nil || n != 1 || name != "one" {
		t.Fatalf("first run: %d %q %v, want 1 \"one\"", n, name, err)
	}
	tap.Take()
	count := d.Writes.Count()
	if n, _, err := run(false); err != nil || n != 2 {
		t.Fatalf("second run: %d %v, want 2", n, err)
	}
	if got := d.Writes.Count(); got != count+1 {
		t.Errorf("writes counted %d, want %d: QueryRaw's update, committed", got, count+1)
	}
	trips := tap.Take()
	if len(trips) != 2 || !slices.Equal(trips[0].Statements, []string{"begin", raise}) || trips[0].Parsed || len(trips[0].Described) > 1 ||
		slices.Contains(trips[0].Described, raise) {
		t.Errorf("trips %+v: want BEGIN and the update bound by name, the update not described, then COMMIT", trips)
	}
	if _, _, err := run(true); !errors.Is(err, fail) {
		t.Fatalf("rolled back run: %v", err)
	}
	if got := d.Writes.Count(); got != count+1 {
		t.Errorf("writes counted %d after a rollback, want %d", got, count+1)
	}
	var n int
	if err := base.Bun.NewRaw("SELECT n FROM pipe_raw WHERE id = 1").Scan(ctx, &n); err != nil || n != 2 {
		t.Errorf("n = %d (%v), want 2", n, err)
	}
}

// A pipelined transaction whose COMMIT was answered is committed, even when
// the connection ends before the server is ready again: PostgreSQL shutting
// down reads the batch's Sync after running its COMMIT and may end there
// (test/cluster's TestPostgresRestartUnderLoad saw an activate answered 503
// and stored). RunPipelined reports it done, counts its write, and the next
// transaction runs on a new connection.
func TestRunPipelinedCommitAnsweredBeforeTheConnectionEnds(t *testing.T) {
	t.Parallel()
	for _, prepared := range []bool{true, false} {
		t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			base, tap, d := pipeDB(t, "CREATE TABLE pipe_cut (id int PRIMARY KEY)")
			run := func(id int) error {
				return db.RunPipelined(ctx, d.Bun, prepared, func(ctx context.Context, p *db.Pipe) error {
					if err := p.Exec(ctx, "INSERT INTO pipe_cut VALUES ($1)", id); err != nil {
						return err
					}
					return p.ExecCommit(ctx, "INSERT INTO pipe_cut VALUES ($1)", id+1)
				})
			}
			if err := run(1); err != nil {
				t.Fatal(err)
			}
			count := d.Writes.Count()
			tap.CutAfterNextCommit()
			if err := run(3); err != nil {
				t.Errorf("a transaction whose COMMIT was answered: %v, want it reported committed", err)
			}
			if got := d.Writes.Count() - count; got != 1 {
				t.Errorf("%d writes counted for it, want 1", got)
			}
			if err := run(5); err != nil {
				t.Fatalf("the next transaction, on a new connection: %v", err)
			}
			var n int
			if err := base.Bun.NewRaw("SELECT count(*) FROM pipe_cut").Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			if n != 6 {
				t.Errorf("%d rows stored, want 6", n)
			}
		})
	}
}

// pipeDB is a test database set up by setup, and pools of one connection
// opened on it through a Tap, as RunPipelined's tests need.
func pipeDB(t *testing.T, setup string) (*db.DB, *dbtest.Tap, *db.DB) {
	t.Helper()
	base := dbtest.New(t)
	if _, err := base.Bun.ExecContext(context.Background(), setup); err != nil {
		t.Fatal(err)
	}
	tap := dbtest.StartTap(t, base.DSN)
	d, err := db.Open(context.Background(), tap.URL, db.PoolOptions{MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: time.Hour, DirectURL: base.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return base, tap, d
}
