package apikeys_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/listing"
)

func TestListRevokeDelete(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	by := audit.Source{Actor: audit.System}
	_, a, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Alpha", Type: apikeys.TypeExternal}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Beta", Type: apikeys.TypeInternal}, now)
	if err != nil {
		t.Fatal(err)
	}
	list, total, err := apikeys.List(ctx, d.Bun, apikeys.Filter{}, "name", listing.Page{PerPage: 10})
	if err != nil || total != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("List = %v, %d, %v", list, total, err)
	}

	k, changed, err := apikeys.Revoke(ctx, d.Bun, by, a.ID, now)
	if err != nil || !changed || !k.Revoked {
		t.Fatalf("Revoke = %+v, %v, %v", k, changed, err)
	}
	if _, changed, err := apikeys.Revoke(ctx, d.Bun, by, a.ID, now); err != nil || changed {
		t.Fatalf("second Revoke = %v, %v; want unchanged", changed, err)
	}
	if _, _, err := apikeys.Revoke(ctx, d.Bun, by, 999999, now); !errors.Is(err, apikeys.ErrNotFound) {
		t.Fatalf("Revoke(missing) = %v", err)
	}
	if _, err := apikeys.Delete(ctx, d.Bun, by, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := apikeys.Delete(ctx, d.Bun, by, b.ID); !errors.Is(err, apikeys.ErrNotFound) {
		t.Fatalf("second Delete = %v", err)
	}
	if _, err := apikeys.Get(ctx, d.Bun, b.ID); !errors.Is(err, apikeys.ErrNotFound) {
		t.Fatalf("Get(deleted) = %v", err)
	}
	n, err := d.Bun.NewSelect().TableExpr("activity_log").Where("subject_type = ?", apikeys.SubjectAPIKey).Count(ctx)
	if err != nil || n != 2 {
		t.Fatalf("activity entries = %d, %v; want 2 (revoke, delete)", n, err)
	}
}

func TestGroupedScopes(t *testing.T) {
	g := apikeys.GroupedScopes(apikeys.TypeExternal)
	if len(g) != 3 || g[0].Area != "connection" || g[1].Area != "license" || len(g[1].Scopes) != 4 || g[2].Area != "update" {
		t.Fatalf("external groups = %+v", g)
	}
	n := 0
	for _, x := range apikeys.GroupedScopes(apikeys.TypeInternal) {
		n += len(x.Scopes)
	}
	if n != len(apikeys.InternalScopes) || apikeys.GroupedScopes("nope") != nil {
		t.Fatal("internal groups must hold every scope; unknown type none")
	}
}
