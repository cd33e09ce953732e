package listing

import (
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

func TestPageNormalize(t *testing.T) {
	cases := []struct{ in, want Page }{
		{Page{}, Page{1, 15}},
		{Page{Number: -3, PerPage: 500}, Page{1, 100}},
		{Page{Number: 4, PerPage: 20}, Page{4, 20}},
	}
	for _, c := range cases {
		if got := c.in.Normalize(); got != c.want {
			t.Errorf("%+v → %+v, want %+v", c.in, got, c.want)
		}
	}
	if off := (Page{Number: 3, PerPage: 10}).Offset(); off != 20 {
		t.Errorf("offset %d", off)
	}
}

func TestOrder(t *testing.T) {
	db := bun.NewDB(nil, pgdialect.New())
	sorts := Sorts{"name": "c.name", "id": "c.id", "created_at": "c.created_at"}
	render := func(sort string) string {
		q := Order(db.NewSelect().Table("customers").Column("id"), sort, sorts, "c.created_at", "c.id")
		s := q.String()
		return s[strings.Index(s, "ORDER BY"):]
	}
	if got := render(""); got != "ORDER BY c.created_at DESC, c.id DESC" {
		t.Error(got)
	}
	if got := render("-name"); got != "ORDER BY c.name DESC NULLS LAST, c.id DESC" {
		t.Error(got)
	}
	if got := render("id"); got != "ORDER BY c.id ASC NULLS LAST" {
		t.Error(got)
	}
	if got := render("password_hash"); got != "ORDER BY c.created_at DESC, c.id DESC" {
		t.Error(got)
	}
	// Newest first is the default order, served by the (created_at DESC,
	// id DESC) indexes; oldest first by a backward scan of them.
	if got := render("-created_at"); got != "ORDER BY c.created_at DESC, c.id DESC" {
		t.Error(got)
	}
	if got := render("created_at"); got != "ORDER BY c.created_at ASC NULLS LAST, c.id ASC" {
		t.Error(got)
	}
	if got := Contains("a\x1fb%"); got != `%ab\%%` {
		t.Errorf("Contains: %q", got)
	}
}
