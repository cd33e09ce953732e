package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db/dbtest"
)

// A revoked key keeps working on a node that cached it for at most KeyTTL,
// and at once where the revocation is notified (Drop).
func TestKeyCacheHonoursRevocationWithinItsWindow(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	plain, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeExternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	c, err := NewKeyCache(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return clock }

	if got, err := c.Lookup(ctx, plain); err != nil || got == nil || got.ID != k.ID || got.Revoked {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	if _, err := d.Bun.NewRaw("UPDATE api_keys SET revoked = true WHERE id = ?", k.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(KeyTTL - time.Second)
	if got, _ := c.Lookup(ctx, plain); got == nil || got.Revoked {
		t.Fatal("within the cache window the cached record is served")
	}
	clock = clock.Add(time.Second)
	if got, _ := c.Lookup(ctx, plain); got == nil || !got.Revoked {
		t.Fatal("after the cache window the revocation must be seen")
	}

	if _, err := d.Bun.NewRaw("UPDATE api_keys SET revoked = false WHERE id = ?", k.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	c.Drop(k.ID)
	if got, _ := c.Lookup(ctx, plain); got == nil || got.Revoked {
		t.Fatal("a dropped key is read again at once")
	}
	if got, err := c.Lookup(ctx, "no-such-key"); got != nil || err != nil {
		t.Fatalf("unknown key: %+v %v", got, err)
	}
}

func TestKeyUsageWritesAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	_, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeExternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u := NewKeyUsage(d.Bun, nil)
	u.flush.Stop() // flushed by hand
	lastUsed := func() *time.Time {
		t.Helper()
		var at *time.Time
		if err := d.Bun.NewRaw("SELECT last_used_at FROM api_keys WHERE id = ?", k.ID).Scan(ctx, &at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	u.Used(k, t0)
	if lastUsed() != nil {
		t.Fatal("last_used_at written synchronously")
	}
	u.Used(k, t0.Add(30*time.Second))
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if at := lastUsed(); at == nil || !at.Equal(t0) {
		t.Fatalf("last_used_at %v, want %v", at, t0)
	}
	u.Used(k, t0.Add(59*time.Second))
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if at := lastUsed(); !at.Equal(t0) {
		t.Fatalf("written again within the minute: %v", at)
	}
	u.Used(k, t0.Add(time.Minute))
	if err := u.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if at := lastUsed(); !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("last_used_at %v, want a minute later", at)
	}
}
