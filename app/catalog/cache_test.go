package catalog

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/test/eventually"
)

func TestCacheDroppedOnEveryNodeWhenAProductChanges(t *testing.T) {
	t.Parallel()
	dsn := dbtest.NewDSN(t)
	ctx := context.Background()
	node := func() (*db.DB, *Cache) {
		d, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpenConns: 8, MaxIdleConns: 2, ConnMaxLifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		l := pgnotify.New(d.Pool, nil)
		c, err := NewCache(d.Bun, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(); d.Close() })
		return d, c
	}
	d1, _ := node()
	_, c2 := node()
	// Node 2's clock stands still, so its entries never go stale: only the
	// NOTIFYs can drop them (a cache whose listener is down rereads after
	// staleAfter). The waits below go to ten times the documented second,
	// as test/cluster's (settingBound): a loaded CI box may lag past a
	// second; a change that never arrives still fails.
	stopped := time.Now()
	c2.now = func() time.Time { return stopped }
	s := newService()
	p, err := s.CreateProduct(ctx, d1.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some("Acme"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}

	// The create's own NOTIFY may still be on its way to node 2 and drop
	// the first copy node 2 caches; once it has arrived, two reads in a
	// row (any case) must return the same copy from memory.
	for deadline := time.Now().Add(2 * time.Second); ; {
		a, err := c2.ByRef(ctx, "acme")
		if err != nil || a.Name != "Acme" {
			t.Fatal(a, err)
		}
		if again, _ := c2.ByRef(ctx, "ACME"); again == a {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a second read of the same product (any case) must come from memory")
		}
	}
	for _, bad := range []string{"", "no such", "ÄCME", "x' OR '1'='1"} {
		if _, err := c2.ByRef(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q: %v", bad, err)
		}
	}

	err = d1.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.UpdateProduct(ctx, tx, api, p.ID, ProductInput{Name: fields.Some("Acme Pro")}); err != nil {
			return err
		}
		_, _, err := s.SetProductActive(ctx, tx, api, p.ID, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*staleAfter, "the other node serves the changed product", func() bool {
		got, err := c2.ByRef(ctx, "ACME")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name == "Acme Pro" && got.IsActive {
			t.Fatal("saw the name change but not the deactivation of the same transaction")
		}
		return got.Name == "Acme Pro"
	})
	if _, err := c2.ActiveByRef(ctx, "ACME"); !errors.Is(err, ErrNotFound) {
		t.Fatal("an inactive product is not found by ActiveByRef", err)
	}

	if err := s.DeleteProduct(ctx, d1.Bun, api, p.ID); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*staleAfter, "the other node no longer serves the deleted product", func() bool {
		_, err := c2.ByRef(ctx, "ACME")
		return errors.Is(err, ErrNotFound)
	})
}

func TestCacheWithoutListenerRereadsAfterASecond(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	p, _ := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some("Acme"), ReferenceID: fields.Some("ACME")})
	c, _ := NewCache(d.Bun, nil)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	if _, err := c.ByRef(ctx, "ACME"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateProduct(ctx, d.Bun, api, p.ID, ProductInput{Name: fields.Some("New")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.ByRef(ctx, "ACME"); got.Name != "Acme" {
		t.Fatal("served from memory within the second")
	}
	now = now.Add(staleAfter)
	if got, _ := c.ByRef(ctx, "ACME"); got.Name != "New" {
		t.Fatal("not reloaded after a second")
	}
}
