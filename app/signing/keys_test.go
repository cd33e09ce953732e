package signing

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/test/eventually"
)

var secret = []byte("instance-secret-for-tests")

func TestEnsureKeyOnceAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := dbtest.NewDSN(t)
	var nodes []*db.DB
	for range 4 {
		d, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 1, ConnMaxLifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		nodes = append(nodes, d)
	}
	var wg sync.WaitGroup
	created := make([]bool, len(nodes))
	errs := make([]error, len(nodes))
	for i, d := range nodes {
		wg.Go(func() { created[i], errs[i] = EnsureKey(ctx, d.Bun, secret, t0) })
	}
	wg.Wait()
	n := 0
	for i := range nodes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if created[i] {
			n++
		}
	}
	keys, err := List(ctx, nodes[0].Bun)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(keys) != 1 || keys[0].Status != StatusActive || keys[0].Private != nil {
		t.Fatalf("created by %d nodes, keys %+v", n, keys)
	}
	if again, err := EnsureKey(ctx, nodes[1].Bun, secret, t0); err != nil || again {
		t.Fatalf("second start: %v, %v", again, err)
	}
}

func TestKeyRingFromDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t)
	if _, err := EnsureKey(ctx, d.Bun, nil, t0); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("empty secret: %v", err)
	}
	if _, err := EnsureKey(ctx, d.Bun, secret, t0); err != nil {
		t.Fatal(err)
	}
	ring, err := Load(ctx, d.Bun, secret)
	if err != nil {
		t.Fatal(err)
	}
	first, ok := ring.Active()
	if !ok || first.KID != KeyID(first.Public) || !first.CreatedAt.Equal(t0) {
		t.Fatalf("active key %+v", first)
	}
	tok1, err := ring.IssueToken(1, "ACME", t0)
	if err != nil {
		t.Fatal(err)
	}
	file1, err := ring.SignLicenseFile(LicenseFile{LicenseCode: "X", ProductRef: "ACME", IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}

	// The private key is stored sealed: neither the seed nor the key bytes
	// appear in the row.
	var stored []byte
	if err := d.Bun.NewRaw("SELECT private_key FROM signing_keys WHERE kid = ?", first.KID).Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	seed := ring.set.Load().active.Private.Seed()
	if bytes.Contains(stored, seed) || stored[0] != sealScheme {
		t.Fatal("private key stored in the clear")
	}
	if _, err := Load(ctx, d.Bun, []byte("another secret")); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("wrong secret: %v", err)
	}
	// A sealed key moved to another row does not open (the kid is bound).
	if _, err := openSeed(secret, "0000000000000000", stored); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("sealed key under another kid: %v", err)
	}

	// Rotation: a new active key, the old one retired and still verifying.
	t1 := t0.Add(24 * time.Hour)
	second, err := Rotate(ctx, d.Bun, secret, t1)
	if err != nil {
		t.Fatal(err)
	}
	if second.KID == first.KID || second.Status != StatusActive || second.Private != nil {
		t.Fatalf("rotated key %+v", second)
	}
	if k, _ := ring.Active(); k.KID != first.KID {
		t.Fatal("the ring changes only on Reload")
	}
	if err := ring.Reload(ctx, d.Bun); err != nil {
		t.Fatal(err)
	}
	if k, _ := ring.Active(); k.KID != second.KID {
		t.Fatal("Reload did not pick up the rotation")
	}
	keys, err := List(ctx, d.Bun)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].KID != second.KID || keys[1].KID != first.KID ||
		keys[1].Status != StatusRetired || keys[1].RetiredAt == nil || !keys[1].RetiredAt.Equal(t1) {
		t.Fatalf("keys after rotation %+v", keys)
	}
	pk := ring.PublicKeys().Data
	if len(pk) != 2 || pk[0].KID != second.KID || pk[0].RetiredAt != nil || pk[1].RetiredAt == nil {
		t.Fatalf("public keys %+v", pk)
	}
	if c, err := ring.VerifyToken(tok1); err != nil || c.ActivationID != 1 {
		t.Fatalf("token of the retired key: %v", err)
	}
	if _, err := ring.VerifyLicenseFile(file1); err != nil {
		t.Fatalf("license file of the retired key: %v", err)
	}
	tok2, _ := ring.IssueToken(2, "ACME", t1)

	// Deleting: never the active key; a retired key's signatures stop
	// verifying.
	if err := Delete(ctx, d.Bun, second.KID); !errors.Is(err, ErrActiveKey) {
		t.Fatalf("delete active: %v", err)
	}
	if err := Delete(ctx, d.Bun, "ffffffffffffffff"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	if err := Delete(ctx, d.Bun, first.KID); err != nil {
		t.Fatal(err)
	}
	if err := ring.Reload(ctx, d.Bun); err != nil {
		t.Fatal(err)
	}
	if _, err := ring.VerifyToken(tok1); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of a deleted key: %v", err)
	}
	if _, err := ring.VerifyToken(tok2); err != nil {
		t.Fatal(err)
	}

	// A ring built without a database cannot reload.
	if err := testRing(t, NewKey(testKey(1), t0)).Reload(ctx, d.Bun); err == nil {
		t.Fatal("Reload on a ring from raw keys")
	}
}

func TestSubscribeReloadsOnRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t)
	if _, err := EnsureKey(ctx, d.Bun, secret, t0); err != nil {
		t.Fatal(err)
	}
	ring, err := Load(ctx, d.Bun, secret)
	if err != nil {
		t.Fatal(err)
	}
	l := pgnotify.New(d.Pool, nil)
	if err := ring.Subscribe(l, d.Bun, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	next, err := Rotate(ctx, d.Bun, secret, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 5*time.Second, "the ring reloads after a rotation", func() bool {
		k, _ := ring.Active()
		return k.KID == next.KID
	})
}
