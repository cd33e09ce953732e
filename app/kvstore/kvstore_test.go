package kvstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/kvstore"
)

func TestGetSetDelete(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := kvstore.New(d.Bun, "test:")

	if v, err := s.Get("missing"); err != nil || v != nil {
		t.Fatalf("Get(missing) = %v, %v; want nil, nil", v, err)
	}
	if err := s.Set("k", []byte{0, 1, 2, 0xff}, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetWithContext(ctx, "k"); err != nil || !bytes.Equal(v, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("Get(k) = %v, %v", v, err)
	}
	// Set replaces.
	if err := s.SetWithContext(ctx, "k", []byte("second"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("k"); string(v) != "second" {
		t.Fatalf("after overwrite Get(k) = %q", v)
	}
	// Empty key or value is ignored without error.
	if err := s.Set("", []byte("x"), 0); err != nil {
		t.Error(err)
	}
	if err := s.Set("empty", nil, 0); err != nil {
		t.Error(err)
	}
	if v, _ := s.Get("empty"); v != nil {
		t.Errorf("empty value was stored: %q", v)
	}

	if err := s.Delete("k"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("k"); v != nil {
		t.Fatalf("after Delete Get(k) = %q", v)
	}
	if err := s.DeleteWithContext(ctx, "never-there"); err != nil {
		t.Errorf("Delete(missing) = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestPrefixesAndReset(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	a := kvstore.New(d.Bun, "a:")
	b := kvstore.New(d.Bun, "b:")
	must(t, a.Set("k", []byte("from a"), 0))
	must(t, b.Set("k", []byte("from b"), 0))
	if v, _ := a.Get("k"); string(v) != "from a" {
		t.Fatalf("a.Get = %q", v)
	}
	must(t, a.Reset())
	if v, _ := a.Get("k"); v != nil {
		t.Errorf("a.Get after a.Reset = %q", v)
	}
	if v, _ := b.Get("k"); string(v) != "from b" {
		t.Errorf("b.Get after a.Reset = %q; Reset crossed prefixes", v)
	}
	// Prefixes are matched literally, not as LIKE patterns.
	pct := kvstore.New(d.Bun, "%")
	must(t, pct.ResetWithContext(context.Background()))
	if v, _ := b.Get("k"); v == nil {
		t.Error("Reset with prefix % deleted other keys")
	}
}

func TestExpiryAndPrune(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := kvstore.New(d.Bun, "exp:")
	must(t, s.Set("short", []byte("x"), time.Minute))
	must(t, s.Set("long", []byte("y"), time.Hour))
	must(t, s.Set("forever", []byte("z"), 0))
	if v, _ := s.Get("short"); v == nil {
		t.Fatal("short-lived key missing before it expired")
	}
	// Expiry is on the database clock; move the rows into the past instead
	// of sleeping.
	if _, err := d.Bun.ExecContext(ctx, `UPDATE kv_store SET expires_at = now() - interval '1 second' WHERE key = 'exp:short'`); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("short"); v != nil {
		t.Errorf("expired key returned %q", v)
	}
	n, err := s.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Prune deleted %d rows, want 1", n)
	}
	var rows int
	if err := d.Bun.QueryRowContext(ctx, `SELECT count(*) FROM kv_store`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Errorf("%d rows left, want 2 (long, forever)", rows)
	}
	var forever *time.Time
	if err := d.Bun.QueryRowContext(ctx, `SELECT expires_at FROM kv_store WHERE key = 'exp:forever'`).Scan(&forever); err != nil {
		t.Fatal(err)
	}
	if forever != nil {
		t.Errorf("exp 0 stored expires_at %v, want NULL", forever)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
