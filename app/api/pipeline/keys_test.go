package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db/dbtest"
)

// A revoked key keeps working on a node that cached it for at most KeyTTL,
// and at once where the revocation is notified (Drop, Clear).
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
	revoke := func(revoked bool) {
		t.Helper()
		if _, err := d.Bun.NewRaw("UPDATE api_keys SET revoked = ? WHERE id = ?", revoked, k.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}

	if got, err := c.Lookup(ctx, plain, clock); err != nil || got == nil || got.ID != k.ID || got.Revoked {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	revoke(true)
	clock = clock.Add(KeyTTL - time.Second)
	if got, _ := c.Lookup(ctx, plain, clock); got == nil || got.Revoked {
		t.Fatal("within the cache window the cached record is served")
	}
	clock = clock.Add(time.Second)
	if got, _ := c.Lookup(ctx, plain, clock); got == nil || !got.Revoked {
		t.Fatal("after the cache window the revocation must be seen")
	}

	revoke(false)
	c.Drop(k.ID)
	if got, _ := c.Lookup(ctx, plain, clock); got == nil || got.Revoked {
		t.Fatal("a dropped key is read again at once")
	}
	// Revoked and notified: refused by the very next lookup, however
	// recently the key was cached.
	revoke(true)
	c.Drop(k.ID)
	if got, _ := c.Lookup(ctx, plain, clock); got == nil || !got.Revoked {
		t.Fatal("a revoked key dropped from the cache must be seen revoked at once")
	}
	revoke(false)
	c.Clear()
	if got, _ := c.Lookup(ctx, plain, clock); got == nil || got.Revoked {
		t.Fatal("after Clear the key is read again at once")
	}
	if got, err := c.Lookup(ctx, "no-such-key", clock); got != nil || err != nil {
		t.Fatalf("unknown key: %+v %v", got, err)
	}
}

// The cache remembers a key by the string presented, which may be a view
// of the request's buffer (fasthttp reuses it for the next request): the
// entry must keep a copy, so that buffer's next contents neither change
// nor lose it.
func TestKeyCacheKeepsItsOwnCopyOfThePresentedKey(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	plain, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeExternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewKeyCache(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	buf := []byte(plain)
	if got, err := c.Lookup(ctx, unsafe.String(&buf[0], len(buf)), now); err != nil || got == nil || got.ID != k.ID {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	copy(buf, strings.Repeat("x", len(buf))) // the next request's bytes
	// Revoked without a notification: only a cache hit still says not revoked.
	if _, err := d.Bun.NewRaw("UPDATE api_keys SET revoked = true WHERE id = ?", k.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Lookup(ctx, plain, now); err != nil || got == nil || got.Revoked {
		t.Fatalf("the key is no longer found in the cache: %+v %v", got, err)
	}
	if got, err := c.Lookup(ctx, string(buf), now); err != nil || got != nil {
		t.Fatalf("the overwritten bytes find a key: %+v %v", got, err)
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
