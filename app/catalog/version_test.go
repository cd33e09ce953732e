package catalog

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

func TestLatestVersions(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	a, _ := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some("A"), ReferenceID: fields.Some("A")})
	b, _ := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some("B"), ReferenceID: fields.Some("B")})
	c, _ := s.CreateProduct(ctx, d.Bun, api, settings.Defaults(), ProductInput{Name: fields.Some("C"), ReferenceID: fields.Some("C")})
	// 1.10.0 is newer than 1.9.0 by number though released earlier (and
	// text order would put "1.9.0" first); 2.0.0 is unpublished.
	mustExec(t, d, `INSERT INTO product_versions (product_id, version_id, version, released_at, is_active) VALUES
		(?0, 'A1', '1.0.0', '2024-01-01', true), (?0, 'A2', 'v1.10.0', '2024-02-01', true), (?0, 'A3', '1.9.0', '2024-03-01', true),
		(?0, 'A4', '2.0.0', '2024-04-01', false), (?1, 'B1', '0.9', '2023-05-01', false)`, a.ID, b.ID)
	got, err := LatestVersions(ctx, d.Bun, []int64{a.ID, b.ID, c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[a.ID].Version != "v1.10.0" || !got[a.ID].ReleasedAt.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", got)
	}
	if none, err := LatestVersions(ctx, d.Bun, nil); err != nil || len(none) != 0 {
		t.Fatal(none, err)
	}
	if v, err := NewestVersion(ctx, d.Bun, b.ID); err != nil || v != nil {
		t.Fatal("a product with only unpublished versions has no latest", v, err)
	}

	all, err := Versions(ctx, d.Bun, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, v := range all {
		order = append(order, v.Version)
	}
	if want := []string{"2.0.0", "v1.10.0", "1.9.0", "1.0.0"}; len(order) != 4 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Fatalf("order %v", order)
	}

	for _, ref := range []string{"a2", "V1.10.0"} {
		if v, err := GetVersion(ctx, d.Bun, a.ID, ref); err != nil || v.VersionID != "A2" {
			t.Errorf("GetVersion(%q): %v %v", ref, v, err)
		}
	}
	if _, err := GetVersion(ctx, d.Bun, b.ID, "A2"); !errors.Is(err, ErrVersionNotFound) {
		t.Fatal("another product's version", err)
	}
}
